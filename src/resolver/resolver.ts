import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { bareHost } from '../message/host.js';
import { own } from '../message/text.js';
import type { SipUri } from '../message/uri.js';
import { type Clock, systemClock } from '../transaction/clock.js';
import { ipFamily, type TransportName } from '../transport/address.js';
import { DnsClient, type NaptrData, type SrvData } from './dns-client.js';

/** One place to send a request: a transport, an IP address and a port. */
export interface ResolvedTarget {
  readonly transport: TransportName;
  readonly address: string;
  readonly port: number;
}

export interface SipResolverOptions {
  /** DNS servers as "ip" or "ip:port" (default: the system's). */
  servers?: string[];
  /** Transports this client can use, most preferred first (default udp, tcp, tls). */
  transports?: readonly TransportName[];
  /** Longest time any answer is kept, ms, whatever its TTL (default 1 hour). */
  maxTtlMs?: number;
  /** DNS query timeout, ms (default 2000). */
  timeoutMs?: number;
  /**
   * Most questions (DNS queries and system lookups) outstanding at once
   * (default 256). Requests naming hosts are input: without a bound, a flood
   * of them naming fresh hosts would queue lookups without end. A question
   * past the bound is not asked and finds nothing.
   */
  maxPending?: number;
  /** How long a question that failed (timeout, SERVFAIL, network error) is not asked again, ms (default 10,000). */
  failureTtlMs?: number;
  /** The system's name lookup (hosts file, nsswitch): all addresses of a host (default: getaddrinfo through node:dns). */
  systemLookup?: (host: string) => Promise<string[]>;
  clock?: Clock;
  /** Random numbers in [0, 1) for the SRV weighted choice (tests fix it). */
  random?: () => number;
}

/** NAPTR service field -> transport (RFC 3263 §4.1, RFC 7118 §9 for WebSocket). */
const SERVICES: Record<string, TransportName> = {
  'SIP+D2U': 'udp',
  'SIP+D2T': 'tcp',
  'SIPS+D2T': 'tls',
  'SIP+D2W': 'ws',
  'SIPS+D2W': 'wss',
};

/** SRV service prefix per transport (RFC 3263 §4.1, RFC 7118 §9). */
const SRV_PREFIX: Record<TransportName, string> = {
  udp: '_sip._udp.',
  tcp: '_sip._tcp.',
  tls: '_sips._tcp.',
  ws: '_sip._ws.',
  wss: '_sips._ws.',
};

type SrvRecord = SrvData;

interface CacheEntry<T> {
  readonly value: T;
  readonly until: number;
}

/**
 * The target of a URI whose host (or maddr) is an IP address, which needs
 * no DNS (RFC 3263 §4.1, §4.2): the transport parameter, else UDP (TLS for
 * SIPS), and the URI's port or the transport's default. Undefined for a name.
 */
export function numericTarget(uri: SipUri): ResolvedTarget | undefined {
  const host = bareHost(uri.maddr ?? uri.host);
  if (ipFamily(host) === 0) return undefined;
  const secure = uri.scheme === 'sips';
  const explicit = uri.transport as TransportName | undefined;
  const transport: TransportName =
    explicit !== undefined ? normalize(explicit, secure) : secure ? 'tls' : 'udp';
  return { transport, address: host, port: uri.port ?? defaultPort(transport) };
}

/**
 * Locates SIP servers as RFC 3263 §4 describes: transport from the URI or
 * from NAPTR records, then SRV (priority order, weighted choice within a
 * priority, RFC 2782), then A and AAAA. Returns every target in order, for
 * the caller to try one after another (§4.3). Answers are cached.
 */
export class SipResolver {
  private readonly dns: DnsClient;
  private readonly transports: readonly TransportName[];
  private readonly maxTtlMs: number;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly cache: Map<string, CacheEntry<unknown>>;
  /** Whether DNS servers were given: then A/AAAA come from them, else from the system (hosts file, nsswitch). */
  private readonly ownServers: boolean;
  /** Questions being asked, by cache key: a second asker waits for the same answer. */
  private readonly pending = new Map<string, Promise<unknown>>();
  private readonly maxPending: number;
  private readonly failureTtlMs: number;
  private readonly systemLookup: (host: string) => Promise<string[]>;
  /** Questions asked, answered from the cache or a pending question, and refused at the bound. */
  readonly stats = { asked: 0, shared: 0, cached: 0, refused: 0 };

  constructor(options: SipResolverOptions = {}) {
    this.ownServers = options.servers !== undefined && options.servers.length > 0;
    this.dns = new DnsClient({ servers: options.servers, timeoutMs: options.timeoutMs ?? 2000, tries: 2 });
    this.transports = options.transports ?? ['udp', 'tcp', 'tls'];
    this.maxTtlMs = options.maxTtlMs ?? 3_600_000;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.cache = new Map();
    this.maxPending = options.maxPending ?? 256;
    this.failureTtlMs = options.failureTtlMs ?? 10_000;
    this.systemLookup =
      options.systemLookup ??
      (async (host) => (await lookup(host, { all: true })).map((r: { address: string }) => r.address));
    if (!(Number.isSafeInteger(this.maxPending) && this.maxPending >= 1))
      throw new TypeError('maxPending must be a whole number >= 1');
  }

  /** Questions outstanding now. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * The addresses of a host name (or the address itself), through the same
   * cache and bound as every other question: A and AAAA from the configured
   * DNS servers, else the system's lookup.
   */
  async hostAddresses(host: string): Promise<string[]> {
    const bare = bareHost(host);
    if (isIP(bare) !== 0) return [bare];
    if (!this.ownServers || bare === 'localhost' || bare.endsWith('.localhost')) return this.system(bare);
    const [v4, v6] = await Promise.all([this.a(bare, 4), this.a(bare, 6)]);
    const found = [...v4, ...v6];
    // Names DNS does not know may still be in the hosts file ("localhost"): ask the system resolver.
    return found.length > 0 ? found : this.system(bare);
  }

  /**
   * Targets for a SIP or SIPS URI, most preferred first. Empty when nothing
   * resolves. `transports` narrows the transports this call may pick from
   * DNS (a URI's own transport parameter is always honoured).
   */
  async resolve(
    uri: SipUri,
    options: { transports?: readonly TransportName[] } = {},
  ): Promise<ResolvedTarget[]> {
    // §4.1, §4.2: an IP address needs no DNS.
    const direct = numericTarget(uri);
    if (direct !== undefined) return [direct];
    const supported = options.transports ?? this.transports;
    const secure = uri.scheme === 'sips';
    const host = bareHost(uri.maddr ?? uri.host);
    const explicit = uri.transport as TransportName | undefined;
    // RFC 6761 §6.3: "localhost" names are loopback and never go to DNS.
    const local = host === 'localhost' || host.endsWith('.localhost');

    // §4.1: the transport param wins; an explicit port means UDP (TCP/TLS for SIPS).
    if (explicit !== undefined || local || uri.port !== undefined) {
      const transport: TransportName =
        explicit !== undefined ? normalize(explicit, secure) : secure ? 'tls' : 'udp';
      // §4.2: with an explicit port, A/AAAA only; without one, SRV for the chosen transport.
      if (uri.port !== undefined || local)
        return this.addresses(host, transport, uri.port ?? defaultPort(transport));
      return this.viaSrv(host, transport);
    }

    // §4.1: NAPTR for the domain.
    const naptr = await this.naptr(host);
    const usable = naptr
      .filter((r) => r.flags.toLowerCase() === 's')
      .map((r) => ({ ...r, transport: SERVICES[r.service.toUpperCase()] }))
      .filter((r): r is typeof r & { transport: TransportName } => r.transport !== undefined)
      // "a client resolving a SIPS URI MUST discard any services that do not contain SIPS".
      .filter((r) => !secure || r.service.toUpperCase().startsWith('SIPS+'))
      .filter((r) => supported.includes(r.transport))
      .sort((a, b) => a.order - b.order || a.preference - b.preference);
    if (usable.length > 0) {
      const out: ResolvedTarget[] = [];
      for (const r of usable) {
        const srv = await this.srv(r.replacement);
        out.push(...(await this.fromSrv(srv, r.transport)));
      }
      if (out.length > 0) return out;
    }
    // No NAPTR: SRV for each transport the client supports (§4.1), in the client's order.
    const candidates = secure ? supported.filter((t) => t === 'tls' || t === 'wss') : supported;
    let published = false;
    for (const t of candidates) {
      const srv = await this.srv(`${SRV_PREFIX[t]}${host}`);
      if (srv.length === 0) continue;
      published = true;
      const out = await this.fromSrv(srv, t);
      if (out.length > 0) return out;
    }
    if (published) return [];
    // No SRV either: A/AAAA with the default port of the default transport (§4.2).
    const transport: TransportName = secure ? 'tls' : 'udp';
    return this.addresses(host, transport, defaultPort(transport));
  }

  /** SRV for one transport; without SRV records, A/AAAA on the default port (§4.2). */
  /**
   * Where a response goes when the connection or address it was due on has
   * failed (RFC 3263 §5): a numeric sent-by as it is; a domain with a port
   * through A/AAAA; a domain without one through SRV for the Via transport.
   */
  async resolveSentBy(
    host: string,
    port: number | undefined,
    transport: TransportName,
  ): Promise<ResolvedTarget[]> {
    const bare = bareHost(host);
    if (isIP(bare) !== 0) return [{ transport, address: bare, port: port ?? defaultPort(transport) }];
    if (port !== undefined) return this.addresses(bare, transport, port);
    return this.viaSrv(bare, transport);
  }

  private async viaSrv(host: string, transport: TransportName): Promise<ResolvedTarget[]> {
    const srv = await this.srv(`${SRV_PREFIX[transport]}${host}`);
    if (srv.length > 0) return this.fromSrv(srv, transport);
    return this.addresses(host, transport, defaultPort(transport));
  }

  private async fromSrv(records: SrvRecord[], transport: TransportName): Promise<ResolvedTarget[]> {
    const out: ResolvedTarget[] = [];
    for (const r of this.orderSrv(records)) {
      // "A Target of '.' means that the service is decidedly not available at this domain" (RFC 2782).
      if (r.name === '' || r.name === '.') continue;
      out.push(...(await this.addresses(r.name, transport, r.port)));
    }
    return out;
  }

  /** RFC 2782: ascending priority; within a priority, a weighted random order. */
  orderSrv(records: SrvRecord[]): SrvRecord[] {
    const byPriority = new Map<number, SrvRecord[]>();
    for (const r of records) {
      const list = byPriority.get(r.priority) ?? [];
      list.push(r);
      byPriority.set(r.priority, list);
    }
    const out: SrvRecord[] = [];
    for (const p of [...byPriority.keys()].sort((a, b) => a - b)) {
      // Zero-weight records first, as RFC 2782 suggests, so they get a small chance.
      const left = (byPriority.get(p) as SrvRecord[]).slice().sort((a, b) => a.weight - b.weight);
      while (left.length > 0) {
        const total = left.reduce((s, r) => s + r.weight, 0);
        let pick = 0;
        if (total > 0) {
          let n = this.random() * (total + 1);
          for (pick = 0; pick < left.length - 1; pick++) {
            n -= (left[pick] as SrvRecord).weight;
            if (n <= 0) break;
          }
        }
        out.push(left.splice(pick, 1)[0] as SrvRecord);
      }
    }
    return out;
  }

  private async addresses(host: string, transport: TransportName, port: number): Promise<ResolvedTarget[]> {
    return (await this.hostAddresses(host)).map((address) => ({ transport, address, port }));
  }

  private system(host: string): Promise<string[]> {
    // getaddrinfo gives no TTL: the system's answers, "no such host" too, are kept for a minute.
    return this.ask(`HOSTS ${host}`, async () => {
      let addresses: string[];
      try {
        addresses = await this.systemLookup(host);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code !== 'ENOTFOUND' && code !== 'ENODATA') throw e;
        addresses = [];
      }
      return { records: addresses, ttl: 60 };
    });
  }

  private cached<T>(key: string): T | undefined {
    const e = this.cache.get(key);
    if (e === undefined) return undefined;
    if (e.until < this.clock.now()) {
      this.cache.delete(key);
      return undefined;
    }
    return e.value as T;
  }

  private remember<T>(key: string, value: T, ttlMs: number): T {
    // The oldest entry makes room: names from a flood of requests push out each other, not the whole cache.
    if (this.cache.size >= 10_000) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(key, { value, until: this.clock.now() + ttlMs });
    return value;
  }

  private naptr(host: string): Promise<NaptrData[]> {
    return this.ask(`NAPTR ${host}`, () => this.dns.query(host, 'NAPTR'));
  }

  private srv(name: string): Promise<SrvRecord[]> {
    return this.ask(`SRV ${name}`, () => this.dns.query(name, 'SRV'));
  }

  private a(host: string, family: 4 | 6): Promise<string[]> {
    return this.ask(`A${family} ${host}`, () => this.dns.query(host, family === 4 ? 'A' : 'AAAA'));
  }

  /**
   * One cached question: answers (empty ones too) are kept for their TTL,
   * failures for `failureTtlMs` (RFC 2308 §7 lets a resolver keep a server
   * failure for a while). Askers of a question already being asked share
   * its answer; past `maxPending` questions, a new one finds nothing.
   */
  private ask<T>(key: string, query: () => Promise<{ records: T[]; ttl: number }>): Promise<T[]> {
    const hit = this.cached<T[]>(key);
    if (hit !== undefined) {
      this.stats.cached++;
      return Promise.resolve(hit);
    }
    const waiting = this.pending.get(key);
    if (waiting !== undefined) {
      this.stats.shared++;
      return waiting as Promise<T[]>;
    }
    if (this.pending.size >= this.maxPending) {
      this.stats.refused++;
      return Promise.resolve([]);
    }
    this.stats.asked++;
    // The name may be cut from a request: what is remembered keeps its own copy of it.
    const kept = own(key);
    const asked = query().then(
      (answer) => this.remember(kept, answer.records, Math.min(answer.ttl * 1000, this.maxTtlMs)),
      () => this.remember(kept, [] as T[], Math.min(this.failureTtlMs, this.maxTtlMs)),
    );
    const done = asked.finally(() => this.pending.delete(kept));
    this.pending.set(kept, done);
    return done;
  }
}

function normalize(t: string, secure: boolean): TransportName {
  const lower = t.toLowerCase();
  if (lower === 'tcp' && secure) return 'tls';
  if (lower === 'ws' && secure) return 'wss';
  return (['udp', 'tcp', 'tls', 'ws', 'wss'].includes(lower) ? lower : 'udp') as TransportName;
}

function defaultPort(t: TransportName): number {
  return t === 'tls' || t === 'wss' ? 5061 : 5060;
}
