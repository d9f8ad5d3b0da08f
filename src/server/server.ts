import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { DigestAlgorithm } from '../auth/digest.js';
import type { SipRequest } from '../message/message.js';
import type { SipUri } from '../message/uri.js';
import { type IncomingRequest, SipStack } from '../stack/sip-stack.js';
import type { TransportAddress } from '../transport/address.js';
import type { TlsOptions } from '../transport/transport-layer.js';
import { Authenticator } from './authenticator.js';
import type { GuardOptions } from './guard.js';
import { createLogger, type Logger } from './log.js';
import { addressOfRecord, Registrar, type RegistrarOptions } from './registrar.js';
import { MemoryLocationStore, MemoryUserStore } from './store/memory.js';
import { openDatabase, SqliteLocationStore, SqliteUserStore, setting } from './store/sqlite.js';
import { startSweeper } from './store/sweeper.js';
import type { LocationStore, UserStore } from './store/types.js';

/** Methods `sipwire serve` answers itself. */
export const SERVER_METHODS = ['REGISTER', 'OPTIONS'];
/** Option tags the server supports (RFC 3327 Path, RFC 5626 outbound). */
export const SERVER_SUPPORTED = ['path', 'outbound'];

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
}

/**
 * `sipwire serve`: a registrar with digest authentication on a persistent
 * location service, behind a SipStack.
 */
export class SipServer {
  readonly stack: SipStack;
  readonly location: LocationStore;
  readonly users: UserStore;
  readonly registrar: Registrar;
  readonly authenticator: Authenticator;
  readonly log: Logger;
  readonly domains: ReadonlySet<string>;
  private readonly options: ServerOptions;
  private stopSweeper: (() => void) | undefined;
  private readonly own: Set<string>;
  private closing: boolean;
  /** Counters for the operator. */
  readonly stats: { registered: number; unregistered: number; challenged: number; refused: number };

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
      this.location = new SqliteLocationStore(db, { closeDatabase: true });
      this.users = new SqliteUserStore(db);
      // Nonces stay valid across restarts (and across processes sharing the file).
      secret = setting(db, 'nonce-secret', () => randomBytes(32));
    }
    this.domains = new Set((options.domains ?? []).map((d) => d.toLowerCase()));
    this.registrar = new Registrar(this.location, options.registrar);
    this.authenticator = new Authenticator({ users: this.users, secret, ...options.auth });
    this.stack = new SipStack({
      listen: options.listen ?? ['udp:0.0.0.0:5060', 'tcp:0.0.0.0:5060'],
      advertise: options.advertise,
      tls: options.tls,
      role: 'registrar',
      supported: SERVER_SUPPORTED,
      timers: options.timers,
    });
    this.stack.onRequest((incoming) => {
      void this.handle(incoming).catch((e: unknown) => {
        this.log.error({ err: e, method: incoming.request.method }, 'request failed');
        if (incoming.state === 'trying' || incoming.state === 'proceeding')
          incoming.respond(500, 'Server Internal Error');
      });
    });
    this.own = new Set();
    this.closing = false;
    this.stopSweeper = undefined;
    this.stats = { registered: 0, unregistered: 0, challenged: 0, refused: 0 };
  }

  async start(): Promise<TransportAddress[]> {
    const bound = await this.stack.start();
    for (const b of bound) this.own.add(b.host.toLowerCase());
    if (this.options.advertise !== undefined) this.own.add(this.options.advertise.toLowerCase());
    this.stopSweeper = startSweeper(this.location, this.options.sweepIntervalMs ?? 30_000, Date.now);
    return bound;
  }

  /** Stops taking requests, lets transactions finish (up to `graceMs`), closes the stores. */
  async stop(graceMs = 2000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.stopSweeper?.();
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

  /** True when `host` names this server: a served domain or one of its addresses. */
  isOurs(host: string): boolean {
    const h = host.toLowerCase().replace(/^\[|\]$/g, '');
    if (this.own.has(h) || h === 'localhost' || h === '127.0.0.1' || h === '::1') return true;
    if (this.domains.size === 0) return true;
    return this.domains.has(h);
  }

  private isServedDomain(host: string): boolean {
    const h = host.toLowerCase();
    return (
      this.domains.size === 0 ||
      this.domains.has(h) ||
      (isIP(h.replace(/^\[|\]$/g, '')) !== 0 && this.isOurs(h))
    );
  }

  private async handle(incoming: IncomingRequest): Promise<void> {
    const req = incoming.request;
    if (this.closing) {
      incoming.respond(503, 'Service Unavailable', { headers: [['Retry-After', 5]] });
      return;
    }
    switch (req.method) {
      case 'REGISTER':
        await this.register(incoming);
        return;
      case 'OPTIONS':
        incoming.respond(200, 'OK', {
          headers: [
            ['Allow', SERVER_METHODS.join(', ')],
            ['Accept', 'application/sdp'],
            ['Supported', SERVER_SUPPORTED.join(', ')],
          ],
        });
        return;
      case 'ACK':
        return;
      default:
        incoming.respond(501, 'Not Implemented', { headers: [['Allow', SERVER_METHODS.join(', ')]] });
    }
  }

  /** RFC 3261 §10.3. */
  private async register(incoming: IncomingRequest): Promise<void> {
    const req = incoming.request;
    const ruri = req.uri as SipUri;
    // §10.3 item 1: bindings only for the domains served here.
    if (ruri.kind !== 'sip' || !this.isOurs(ruri.host)) {
      incoming.respond(404, 'Not Found (domain not served here)');
      return;
    }
    const to = req.to?.uri as SipUri;
    const aor = addressOfRecord(to);
    if (!this.isServedDomain(to.host)) {
      incoming.respond(404, 'Not Found (domain not served here)');
      return;
    }
    if (!this.options.open) {
      // §10.3 items 3 and 4: who is asking, and may they change this AOR.
      const realm = to.host.toLowerCase();
      const outcome = await this.authenticator.check(req, incoming.source, realm, false);
      if (outcome.kind !== 'ok') {
        await pause(outcome.delayMs);
        if (outcome.kind === 'challenge') {
          this.stats.challenged++;
          incoming.respond(outcome.status, 'Unauthorized', {
            headers: outcome.challenges.map((c) => [outcome.header, c] as const),
          });
        } else {
          this.stats.refused++;
          this.log.warn({ aor, source: incoming.source.address }, 'registration refused: bad credentials');
          incoming.respond(403, outcome.reason);
        }
        return;
      }
      if (outcome.username !== (to.user ?? '')) {
        this.stats.refused++;
        incoming.respond(403, `Forbidden (${outcome.username} may not register ${aor})`);
        return;
      }
    }
    const result = await this.registrar.register(req, aor, incoming.source);
    incoming.respond(result.status, result.reason, { headers: result.headers });
    if (result.status === 200) {
      // Every contact at expiry 0 (by parameter or header), or *: a removal.
      const contacts = req.contact;
      const removing =
        contacts.length > 0 && contacts.every((c) => c.wildcard || (c.expires ?? req.expires) === 0);
      if (removing) this.stats.unregistered++;
      else this.stats.registered++;
      this.log.info(
        {
          aor,
          bindings: result.bindings.length,
          source: `${incoming.source.transport}:${incoming.source.address}:${incoming.source.port}`,
        },
        removing ? 'unregistered' : 'registered',
      );
    }
  }
}

function pause(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}

export type { SipRequest };
