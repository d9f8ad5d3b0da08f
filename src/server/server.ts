import { randomBytes } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import type { DigestAlgorithm } from '../auth/digest.js';
import type { AuthHeader } from '../message/auth-header.js';
import { bareHost } from '../message/host.js';
import type { SipRequest } from '../message/message.js';
import { rawValue } from '../message/response.js';
import { parseSipUri, type SipUri } from '../message/uri.js';
import { ProxyCore } from '../proxy/proxy.js';
import type { ProxyTarget } from '../proxy/target.js';
import type { SipResolver } from '../resolver/resolver.js';
import type { IntakeOptions } from '../stack/intake.js';
import { type IncomingRequest, SipStack } from '../stack/sip-stack.js';
import { ipFamily, type TransportAddress } from '../transport/address.js';
import type { Connection } from '../transport/connection.js';
import type { Source, Target, TlsOptions } from '../transport/transport-layer.js';
import { Authenticator } from './authenticator.js';
import type { GuardOptions } from './guard.js';
import { InflightList } from './inflight.js';
import { createLogger, type Logger } from './log.js';
import { Pipeline } from './pipeline.js';
import { addressOfRecord, Registrar, type RegistrarOptions } from './registrar.js';
import { RouteContext } from './route-context.js';
import { bindingTarget, defaultStages, SERVER_METHODS } from './stages.js';
import { MemoryLocationStore, MemoryUserStore } from './store/memory.js';
import { openDatabase, SqliteLocationStore, SqliteUserStore, setting } from './store/sqlite.js';
import { startSweeper } from './store/sweeper.js';
import type { Binding, Flow, LocationStore, UserStore } from './store/types.js';

/** Option tags the server supports (RFC 3327 Path, RFC 5626 outbound). */
export const SERVER_SUPPORTED = ['path', 'outbound'];

/** The least time between two commits of the SQLite location store by default, ms. */
export const DEFAULT_COMMIT_INTERVAL_MS = 10;
export { SERVER_METHODS };

/** A routes module's entry: rearranges the pipeline (see README, "Routing in TypeScript"). */
export type Routes = (pipeline: Pipeline, server: SipServer) => void | Promise<void>;

export interface ServerOptions {
  /** Addresses to listen on (default UDP and TCP on 0.0.0.0:5060). */
  listen?: string[];
  /** Host written in Via and Contact when listening on a wildcard address. */
  advertise?: string;
  /** The SIP domains served; empty: any domain. */
  domains?: string[];
  /** SQLite database file (default sipwire.db); ':memory:' for none. */
  db?: string;
  /** Serve without authentication. */
  open?: boolean;
  /**
   * The least time between two commits of the SQLite location store, ms
   * (default 10; 0: every event-loop turn's writes at once). A REGISTER is
   * still answered 200 only once its binding is on disk; under load this
   * bounds the syncs per second and makes each cover more registrations,
   * at the cost of up to this much added delay before the 200.
   */
  commitIntervalMs?: number;
  registrar?: RegistrarOptions;
  auth?: {
    algorithms?: DigestAlgorithm[];
    qop?: Array<'auth' | 'auth-int'>;
    nonceTtlMs?: number;
    guard?: GuardOptions;
  };
  tls?: TlsOptions;
  logger?: Logger;
  /** Stores to use instead of the SQLite file (tests, shared stores). */
  stores?: { location: LocationStore; users: UserStore };
  /** How often expired bindings are swept, ms (default 30 s). */
  sweepIntervalMs?: number;
  /** T1 etc. for the transaction layer (tests). */
  timers?: { t1?: number; t2?: number; t4?: number };
  /** Answer requests for our users with 302 and their contacts instead of proxying: true, or the domains to do it for. */
  redirect?: boolean | string[];
  /** Recurse on 3xx responses from downstream (their Contacts become new branches). */
  followRedirects?: boolean;
  /** Relay every request without transactions (RFC 3261 §16.11), as a front end that only forwards. */
  stateless?: boolean;
  /** Proxy options: Timer C, Max-Breadth, and the upstream proxy for other domains (a SIP URI). */
  proxy?: { timerCMs?: number; maxBreadth?: number; upstream?: string };
  /** Rearranges the request pipeline (the `--routes` module's default export). */
  routes?: Routes;
  /** RFC 3263 resolver for requests to other domains (default: the system's DNS servers). */
  resolver?: SipResolver;
  /** Log a line of counters this often, ms (default 60 s; 0: never). */
  statsIntervalMs?: number;
  /** A request still in the pipeline after this long is answered 500 (default 30 s). */
  routeTimeoutMs?: number;
  /** Most server transactions alive at once (default 200,000); new requests beyond are answered 503. */
  maxServerTransactions?: number;
  /** Most bytes of received requests their transactions hold (default a quarter of the heap limit); beyond, 503. */
  maxServerTransactionBytes?: number;
  /** Most TCP, TLS and WebSocket connections open at once (default 10,000). */
  maxConnections?: number;
  /** How messages are queued when many arrive at once (see SipStackOptions.intake). */
  intake?: IntakeOptions | false;
}

/**
 * `sipwire serve`: registrar, proxy and redirect server with digest
 * authentication on a persistent location service, behind a SipStack. Each
 * request runs through a pipeline of stages that a routes module can change.
 */
export class SipServer {
  readonly stack: SipStack;
  readonly proxy: ProxyCore;
  readonly pipeline: Pipeline;
  readonly location: LocationStore;
  readonly users: UserStore;
  readonly registrar: Registrar;
  readonly authenticator: Authenticator;
  readonly log: Logger;
  readonly domains: ReadonlySet<string>;
  /** Option tags this server supports. */
  readonly supported: readonly string[];
  private readonly options: ServerOptions;
  private stopSweeper: (() => void) | undefined;
  /** Addresses (lower case, no brackets) this server answers to, and its ports. */
  private readonly own: Set<string>;
  private readonly ports: Set<number>;
  private closing: boolean;
  /** Counters for the operator. */
  readonly stats: {
    registered: number;
    unregistered: number;
    challenged: number;
    refused: number;
    routeErrors: number;
  };

  constructor(options: ServerOptions = {}) {
    this.options = options;
    let secret: Buffer | undefined;
    this.log = options.logger ?? createLogger();
    if (options.stores !== undefined) {
      this.location = options.stores.location;
      this.users = options.stores.users;
    } else if (options.db === ':memory:') {
      this.location = new MemoryLocationStore();
      this.users = new MemoryUserStore();
    } else {
      const db = openDatabase(options.db ?? 'sipwire.db');
      this.location = new SqliteLocationStore(db, {
        closeDatabase: true,
        commitIntervalMs: options.commitIntervalMs ?? DEFAULT_COMMIT_INTERVAL_MS,
      });
      this.users = new SqliteUserStore(db);
      // Nonces stay valid across restarts (and across processes sharing the file).
      secret = setting(db, 'nonce-secret', () => randomBytes(32));
    }
    this.domains = new Set((options.domains ?? []).map((d) => d.toLowerCase()));
    this.supported = SERVER_SUPPORTED;
    this.registrar = new Registrar(this.location, options.registrar);
    this.authenticator = new Authenticator({ users: this.users, secret, ...options.auth });
    this.stack = new SipStack({
      listen: options.listen ?? ['udp:0.0.0.0:5060', 'tcp:0.0.0.0:5060'],
      advertise: options.advertise,
      tls: options.tls,
      role: 'proxy',
      supported: SERVER_SUPPORTED,
      timers: options.timers,
      resolver: options.resolver,
      maxServerTransactions: options.maxServerTransactions,
      maxServerTransactionBytes: options.maxServerTransactionBytes,
      maxConnections: options.maxConnections,
      intake: options.intake,
    });
    this.proxy = new ProxyCore(this.stack, {
      isOurUri: (u) => this.isOurUri(u),
      timerCMs: options.proxy?.timerCMs,
      maxBreadth: options.proxy?.maxBreadth,
    });
    this.pipeline = new Pipeline(defaultStages(this));
    this.stack.onRequest((incoming) => this.dispatch(incoming.request, incoming.source, incoming));
    this.stack.onAck((ack, source) => this.dispatch(ack, source, undefined));
    this.stack.onError((err, data, source) =>
      this.log.error(
        { err, source: `${source.transport}:${source.address}:${source.port}`, bytes: data.length },
        'a received message could not be handled; dropped',
      ),
    );
    this.stack.onStrayResponse((res) => {
      this.proxy.forwardLateResponse(res).catch(() => {});
    });
    if (options.stateless) {
      this.stack.onRawRequest((req, source) => {
        this.dispatch(req, source, undefined);
        return true;
      });
    }
    this.own = new Set();
    this.ports = new Set();
    this.closing = false;
    this.stopSweeper = undefined;
    this.stats = { registered: 0, unregistered: 0, challenged: 0, refused: 0, routeErrors: 0 };
  }

  /**
   * The Route value (`<uri;lr>`) requests for other domains are sent
   * through, when an upstream proxy is set.
   */
  get upstream(): string | undefined {
    const u = this.options.proxy?.upstream;
    if (u === undefined) return undefined;
    this.upstreamRoute ??= `<${parseSipUri(u).withParam('lr').toString()}>`;
    return this.upstreamRoute;
  }

  private upstreamRoute: string | undefined;

  /** True when the server takes every request without authentication. */
  get open(): boolean {
    return this.options.open === true;
  }

  async start(): Promise<TransportAddress[]> {
    await this.options.routes?.(this.pipeline, this);
    const bound = await this.stack.start();
    for (const b of bound) {
      const h = bareHost(b.host.toLowerCase());
      this.ports.add(b.port);
      if (h === '0.0.0.0' || h === '::' || h === '') {
        // A wildcard listener answers on every address of the machine.
        for (const list of Object.values(networkInterfaces()))
          for (const a of list ?? []) this.own.add(a.address.toLowerCase());
      } else this.own.add(h);
    }
    if (this.options.advertise !== undefined) this.own.add(this.options.advertise.toLowerCase());
    this.stopSweeper = startSweeper(this.location, this.options.sweepIntervalMs ?? 30_000, Date.now);
    const limit = this.options.routeTimeoutMs ?? 30_000;
    this.routeTimer = setInterval(
      () => {
        this.sweepStuckRoutes(limit);
        this.reportOverload();
      },
      Math.min(5000, Math.max(20, limit / 4)),
    );
    this.routeTimer.unref();
    const every = this.options.statsIntervalMs ?? 60_000;
    if (every > 0) {
      this.statsTimer = setInterval(() => this.log.info(this.snapshot(), 'stats'), every);
      this.statsTimer.unref();
    }
    return bound;
  }

  private statsTimer: ReturnType<typeof setInterval> | undefined;
  /** Requests still in the pipeline, with when they entered it. */
  private readonly inflight = new InflightList<RouteContext>();
  private routeTimer: ReturnType<typeof setInterval> | undefined;

  /** Refusals for a full transaction table already logged. */
  private overloadLogged = 0;

  /** Messages dropped unread because too many were waiting, already logged. */
  private shedLogged = 0;

  /**
   * Logs, once per sweep that saw some, the requests refused because the
   * transaction table was full and the messages dropped unread because too
   * many were waiting to be handled.
   */
  private reportOverload(): void {
    const stats = this.stack.stats;
    if (stats.shed !== this.shedLogged) {
      this.log.warn(
        { dropped: stats.shed - this.shedLogged, deferred: stats.deferred },
        'too many messages waiting: new arrivals dropped unread',
      );
      this.shedLogged = stats.shed;
    }
    const refused = stats.overloaded;
    if (refused === this.overloadLogged) return;
    this.log.warn(
      {
        refused: refused - this.overloadLogged,
        limit: this.stack.transactions.maxServerTransactions,
        serverTransactions: this.stack.transactions.size.servers,
        byteLimit: this.stack.transactions.maxServerTransactionBytes,
        heldBytes: this.stack.transactions.serverBytes,
      },
      'transaction table full: new requests answered 503',
    );
    this.overloadLogged = refused;
  }

  /**
   * A stage that never finishes (a routes module waiting on something that
   * never comes) must not hold its request for ever: past the route timeout
   * the request is answered 500 and the stage named in the log.
   */
  private sweepStuckRoutes(limitMs: number): void {
    const now = performance.now();
    for (const { item: ctx, since } of this.inflight.takeOlderThan(limitMs, now)) {
      if (ctx.answered) continue;
      this.stats.routeErrors++;
      this.log.error(
        { stage: ctx.stage, method: ctx.method, waitedMs: Math.round(now - since) },
        'route timed out',
      );
      ctx.reply(500, 'Server Internal Error (route timed out)');
    }
  }

  /** The server's counters now: what it registered, proxied, refused and dropped, and what it holds. */
  snapshot(): Record<string, number> {
    const tx = this.stack.transactions.size;
    const t = this.stack.transports.stats;
    const dns = this.stack.dnsStats;
    return {
      ...this.stats,
      proxied: this.proxy.stats.forwarded,
      relayedStatelessly: this.proxy.stats.statelessForwarded,
      loops: this.proxy.stats.loops,
      lateResponses: this.proxy.stats.lateResponses,
      ...Object.fromEntries(Object.entries(this.stack.stats).map(([k, v]) => [`messages.${k}`, v])),
      'transport.droppedDatagrams': t.droppedDatagrams,
      'transport.framingErrors': t.framingErrors,
      'transport.refusedConnections': t.refusedConnections,
      'transport.stalledConnections': t.stalledConnections,
      'transport.partialOverflows': t.partialOverflows,
      'transport.stunBindings': t.stunBindings,
      'transactions.clients': tx.clients,
      'transactions.servers': tx.servers,
      'transactions.heldBytes': this.stack.transactions.serverBytes,
      'dns.asked': dns.asked,
      'dns.pending': dns.pending,
      'dns.refused': dns.refused,
      ...storeStats(this.location),
      heapMiB: Math.round(process.memoryUsage().heapUsed / 1048576),
    };
  }

  /** Stops taking requests, lets transactions finish (up to `graceMs`), closes the stores. */
  async stop(graceMs = 2000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.stopSweeper?.();
    if (this.statsTimer !== undefined) clearInterval(this.statsTimer);
    if (this.routeTimer !== undefined) clearInterval(this.routeTimer);
    const until = Date.now() + graceMs;
    while (Date.now() < until) {
      const { clients, servers } = this.stack.transactions.size;
      if (clients === 0 && servers === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await this.stack.stop();
    // The user store first: the location store closes the shared database behind it.
    await this.users.close();
    await this.location.close();
  }

  /**
   * True when a URI names this server: a served domain (any port), or one
   * of its addresses at a port it listens on (RFC 3261 §16.4, §16.5).
   */
  isOurUri(uri: SipUri): boolean {
    const h = bareHost(uri.host.toLowerCase());
    if (ipFamily(h) === 0 && h !== 'localhost')
      return this.domains.size === 0 || this.domains.has(h) || this.own.has(h);
    const port = uri.port ?? (uri.scheme === 'sips' || uri.transport === 'tls' ? 5061 : 5060);
    if (!this.ports.has(port)) return false;
    return this.own.has(h) || (h === 'localhost' && (this.own.has('127.0.0.1') || this.own.has('::1')));
  }

  /** True when this server keeps the users and bindings of a domain (a host of a To or From). */
  isServedDomain(host: string): boolean {
    const h = bareHost(host.toLowerCase());
    if (this.domains.size === 0 || this.domains.has(h)) return true;
    return ipFamily(h) !== 0 && this.own.has(h);
  }

  /** The address of record a Request-URI of ours names (the port only when it is not one of ours). */
  aorOf(uri: SipUri): string {
    const bare = uri.port !== undefined && this.ports.has(uri.port) ? uri.with({ port: undefined }) : uri;
    return addressOfRecord(bare);
  }

  /**
   * True when the binding can be reached only over the connection it
   * registered on and that connection is closed: an RFC 5626 binding
   * (instance and reg-id) whose flow is gone (§5.3: the flow failed), or one
   * registered over WebSocket, whose Contact a server cannot open a
   * connection to (RFC 7118 §5). With a Path, the edge proxy keeps the flow.
   */
  flowFailed(b: Binding): boolean {
    const f = b.flow;
    if (f === undefined || f.transport === 'udp' || b.path.length > 0) return false;
    if (b.regId === undefined && f.transport !== 'ws' && f.transport !== 'wss') return false;
    return this.flowConnection(f) === undefined;
  }

  /** The open connection of a connection-oriented flow: the one it came on, or another to the same peer. */
  private flowConnection(f: Flow): Connection | undefined {
    const t = this.stack.transports;
    return (
      (f.connectionId !== undefined ? t.connectionById(f.connectionId) : undefined) ??
      t.findConnection(f.transport as Target['transport'], f.address, f.port)
    );
  }

  /** The proxy target for a registered binding: its Path, or the flow it registered on (RFC 5626 §5.3). */
  targetOf(b: Binding): ProxyTarget {
    let flow: Target | undefined;
    const f = b.flow;
    if (f !== undefined) {
      if (f.transport === 'udp') flow = { transport: 'udp', address: f.address, port: f.port };
      else {
        const c = this.flowConnection(f);
        if (c !== undefined)
          flow = {
            transport: f.transport as Target['transport'],
            address: f.address,
            port: f.port,
            connection: c,
          };
      }
    }
    return bindingTarget(b, flow);
  }

  /** True when requests like this one are answered with a redirect (the `redirect` option). */
  redirects(ctx: RouteContext): boolean {
    const r = this.options.redirect;
    if (r === undefined || r === false) return false;
    if (r === true) return true;
    const host = ctx.sipUri?.host.toLowerCase();
    return host !== undefined && r.some((d) => d.toLowerCase() === host);
  }

  private dispatch(request: SipRequest, source: Source, incoming: IncomingRequest | undefined): void {
    const ctx = new RouteContext(this, request, source, incoming);
    if (this.closing) {
      ctx.reply(503, 'Service Unavailable', [['Retry-After', 5]]);
      return;
    }
    if (this.options.followRedirects) ctx.forwardOptions.followRedirects = true;
    const entry = this.inflight.add(ctx, performance.now());
    this.pipeline.run(ctx).then(
      () => {
        this.inflight.remove(entry);
        if (!ctx.answered && request.method !== 'ACK') {
          this.log.warn(
            { method: request.method, uri: String(request.uri) },
            'no stage answered the request',
          );
          ctx.reply(500, 'Server Internal Error (no route)');
        }
      },
      (e: unknown) => {
        this.inflight.remove(entry);
        // A failing stage answers 500 and is logged; the server goes on (a routes module's bug stays in its request).
        this.stats.routeErrors++;
        this.log.error({ err: e, stage: ctx.stage, method: request.method }, 'route failed');
        if (incoming === undefined || incoming.state === 'trying' || incoming.state === 'proceeding') {
          if (ctx.proxied === undefined) ctx.reply(500, 'Server Internal Error');
        }
      },
    );
  }

  /**
   * Digest authentication of a request for a realm (RFC 3261 §22): sets
   * `ctx.user` and resolves true, or answers the challenge (401 for the
   * server itself, 407 for a request to proxy) or 403, and resolves false.
   */
  async authenticate(ctx: RouteContext, realm: string, proxy: boolean): Promise<boolean> {
    const outcome = await this.authenticator.check(ctx.request, ctx.source, realm, proxy);
    if (outcome.kind === 'ok') {
      ctx.user = `${outcome.username}@${realm}`;
      if (proxy) consumeCredentials(ctx.request, (r) => r === realm);
      return true;
    }
    if (outcome.delayMs > 0) await pause(outcome.delayMs);
    if (outcome.kind === 'challenge') {
      this.stats.challenged++;
      ctx.reply(
        outcome.status,
        outcome.status === 401 ? 'Unauthorized' : 'Proxy Authentication Required',
        outcome.challenges.map((c) => [outcome.header, c] as const),
      );
      // RFC 3261 §8.2.7: challenges are answered statelessly, so requests without
      // credentials hold no transaction (a retransmission gets a fresh challenge).
      // An INVITE's transaction stays to absorb the ACK of its 407 (§17.2.1).
      const incoming = ctx.incoming;
      if (incoming !== undefined && incoming.state === 'completed' && ctx.method !== 'INVITE')
        incoming.forget();
    } else {
      this.stats.refused++;
      this.log.warn(
        { method: ctx.method, realm, source: ctx.source.address },
        `${ctx.method === 'REGISTER' ? 'registration' : ctx.method} refused: bad credentials`,
      );
      ctx.reply(403, outcome.reason);
    }
    return false;
  }

  /** RFC 3261 §10.3 from item 2 on (item 1, the domain, is the registrar stage's). */
  async register(ctx: RouteContext): Promise<void> {
    const req = ctx.request;
    const to = req.to?.uri as SipUri;
    const aor = addressOfRecord(to);
    if (!this.isServedDomain(to.host)) {
      ctx.reply(404, 'Not Found (domain not served here)');
      return;
    }
    if (!this.options.open) {
      // §10.3 items 3 and 4: who is asking, and may they change this AOR.
      const realm = to.host.toLowerCase();
      if (!(await this.authenticate(ctx, realm, false))) return;
      if (ctx.user !== `${to.user ?? ''}@${realm}`) {
        this.stats.refused++;
        ctx.reply(403, `Forbidden (${(ctx.user ?? '').split('@')[0]} may not register ${aor})`);
        return;
      }
    }
    const result = await this.registrar.register(req, aor, ctx.source);
    // Every contact at expiry 0 (by parameter or header), or *: a removal. Read before the
    // answer: the request then only lingers for retransmissions.
    const contacts = req.contact;
    const removing =
      contacts.length > 0 && contacts.every((c) => c.wildcard || (c.expires ?? req.expires) === 0);
    ctx.reply(result.status, result.reason, result.headers);
    if (result.status === 200) {
      if (removing) this.stats.unregistered++;
      else this.stats.registered++;
      // The line's fields are only made when it is written.
      if (this.log.isLevelEnabled('info'))
        this.log.info(
          {
            aor,
            bindings: result.bindings.length,
            source: `${ctx.source.transport}:${ctx.source.address}:${ctx.source.port}`,
          },
          removing ? 'unregistered' : 'registered',
        );
    }
  }
}

/** Takes off the Proxy-Authorization values for our realm: they were for us, and go no further (RFC 3261 §22.3). */
export function consumeCredentials(req: SipRequest, ours: (realm: string) => boolean): void {
  const keep: string[] = [];
  let mine = 0;
  for (const f of req.fields('Proxy-Authorization')) {
    let r: string | undefined;
    try {
      r = (req.parseField(f) as AuthHeader).get('realm');
    } catch {
      r = undefined;
    }
    if (r !== undefined && ours(r.toLowerCase())) mine++;
    else keep.push(f.value);
  }
  if (mine === 0) return;
  req.removeHeader('Proxy-Authorization');
  for (const v of keep) req.appendHeader('Proxy-Authorization', rawValue(v));
}

function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export type { SipRequest };

/** A location store's group-commit counters, when it keeps them (the SQLite store does). */
function storeStats(store: LocationStore): Record<string, number> {
  const stats = store.stats;
  if (stats === undefined) return {};
  return { 'store.commits': stats.batches, 'store.writes': stats.writes };
}
