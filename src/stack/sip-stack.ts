import { isIP } from 'node:net';
import { TransactionStateError, TransactionTimeoutError, TransportError } from '../errors.js';
import { newBranch } from '../message/ids.js';
import type { ParseLimits } from '../message/limits.js';
import { type SipMessage, type SipRequest, SipResponse } from '../message/message.js';
import { createResponse } from '../message/response.js';
import { reasonPhrase } from '../message/status-codes.js';
import { own } from '../message/text.js';
import type { SipUri } from '../message/uri.js';
import { inspect, type ValidationRole } from '../message/validate.js';
import { Via } from '../message/via.js';
import { numericTarget, type ResolvedTarget, SipResolver } from '../resolver/resolver.js';
import type { Clock } from '../transaction/clock.js';
import { buildCancel } from '../transaction/invite-client.js';
import { type Channel, TransactionLayer } from '../transaction/layer.js';
import type { TimerSettings } from '../transaction/timers.js';
import type {
  ClientTransaction,
  ClientTransactionUser,
  ServerTransaction,
  ServerTransactionUser,
} from '../transaction/transaction.js';
import {
  hostPort,
  isReliable,
  parseTransportAddress,
  type TransportAddress,
  type TransportName,
  viaTransport,
} from '../transport/address.js';
import { salvageRequestHeaders } from '../transport/salvage.js';
import { type Source, type Target, type TlsOptions, TransportLayer } from '../transport/transport-layer.js';
import { Intake, type IntakeOptions } from './intake.js';

export interface SipStackOptions {
  /** Addresses to listen on, as `transport:host:port` (port 0 picks a free one). */
  listen: ReadonlyArray<string | TransportAddress>;
  /** Host to put in Via sent-by and Contact when the listening host is a wildcard. */
  advertise?: string;
  /** T1, T2, T4 (ms) for this stack. */
  timers?: Partial<TimerSettings>;
  clock?: Clock;
  limits?: Partial<ParseLimits>;
  tls?: TlsOptions;
  /** How incoming requests are validated before they reach the handler (default 'proxy', lenient). */
  role?: ValidationRole;
  /** Option tags this element supports: a Require listing others is answered 420 (RFC 3261 §8.2.2.3). */
  supported?: readonly string[];
  /**
   * Body types this endpoint understands (RFC 3261 §8.2.3): a request with a
   * body, or a multipart body part, of another type is answered 415 unless
   * its Content-Disposition says handling=optional. Default DEFAULT_ACCEPT.
   */
  accept?: readonly string[];
  idleTimeoutMs?: number;
  keepAliveMs?: number;
  maxConnections?: number;
  /** Most bytes waiting to be written on one connection before it is closed (default 1 MiB). */
  maxQueuedBytes?: number;
  /** Most bytes of incomplete messages all stream connections hold together (default 64 MiB). */
  maxPartialBytes?: number;
  /**
   * Most server transactions alive at once (default 200,000); a new request
   * beyond it is answered 503 with Retry-After, without a transaction.
   */
  maxServerTransactions?: number;
  /**
   * Most bytes of received requests held by live server transactions
   * (default a quarter of V8's heap limit); a new request beyond it is
   * answered 503 like one past the count.
   */
  maxServerTransactionBytes?: number;
  /**
   * Locates the server for requests sent without an explicit target
   * (RFC 3263). Default: a SipResolver on the system's DNS servers.
   */
  resolver?: SipResolver;
  /**
   * How received messages are queued when many arrive at once (see
   * stack/intake.ts: responses and in-dialog requests first); false
   * handles every message as soon as it is read, in arrival order.
   */
  intake?: IntakeOptions | false;
}

/** How stack.request() sends. */
export interface RequestOptions {
  /** Where to send, as `transport:host:port` or a Target; default: RFC 3263 on the top Route or the Request-URI. */
  target?: string | Target;
  /**
   * Called once the transport and address are chosen, after the Via is on and
   * before the request is written (again for each failover target): the place
   * to write a Contact that matches the transport.
   */
  prepare?: (request: SipRequest, target: Target) => void;
  /**
   * A second part for every Via branch this request gets (`<unique>.<loopTag>`):
   * what a proxy uses to tell a loop from a spiral (RFC 5393 §4.2.1).
   */
  loopTag?: string;
  /** Resolve the Request-URI even when there is a Route (the next hop is a strict router, RFC 3261 §16.6 item 6). */
  byRequestUri?: boolean;
}

/** A request received by the stack, with its server transaction. */
export class IncomingRequest {
  readonly request: SipRequest;
  readonly source: Source;
  /** @internal */
  readonly tx: ServerTransaction;
  private readonly stack: SipStack;

  /** @internal */
  constructor(stack: SipStack, request: SipRequest, source: Source, tx: ServerTransaction) {
    this.stack = stack;
    this.request = request;
    this.source = source;
    this.tx = tx;
  }

  /** The server transaction's state. */
  get state(): ServerTransaction['state'] {
    return this.tx.state;
  }

  /** Sends a response made from the request (§8.2.6), or one given whole. */
  respond(
    status: number | SipResponse,
    reason?: string,
    options?: Parameters<typeof createResponse>[3],
  ): SipResponse {
    const res =
      typeof status === 'number'
        ? createResponse(this.request, status, reason ?? reasonPhrase(status), options)
        : status;
    this.tx.respond(res);
    return res;
  }

  /**
   * After the final response to a non-INVITE request: ends the transaction
   * now rather than keeping it for retransmissions, which then count as new
   * requests (RFC 3261 §8.2.7). Throws TransactionStateError for an INVITE or
   * before the final response.
   */
  forget(): void {
    this.tx.forget();
  }

  /** For a CANCEL: the INVITE it cancels, if its transaction is still live (RFC 3261 §9.2). */
  get cancelled(): IncomingRequest | undefined {
    return this.stack.inviteFor(this);
  }
}

/** The failover of a leg that has its final response: there is none. */
function noFailover(): boolean {
  return false;
}

/**
 * One attempt at sending a request (one target, one branch): the channel
 * of its client transaction and the user of its events, in one object.
 */
class ClientLeg implements Channel, ClientTransactionUser {
  readonly reliable: boolean;
  /** The client transaction's key, once it exists. */
  key: string;
  private readonly transports: TransportLayer;
  private readonly transactions: TransactionLayer;
  private readonly out: OutgoingRequest;
  private readonly target: Target;
  private failover: () => boolean;
  /** The request goes out again unchanged on each retransmission: it is serialized once. */
  private sent: SipMessage | undefined;
  private bytes: Buffer | undefined;

  constructor(
    transports: TransportLayer,
    transactions: TransactionLayer,
    out: OutgoingRequest,
    failover: () => boolean,
  ) {
    this.transports = transports;
    this.transactions = transactions;
    this.out = out;
    this.target = out.target;
    this.reliable = isReliable(out.target.transport);
    this.failover = failover;
    this.key = '';
    this.sent = undefined;
    this.bytes = undefined;
  }

  send(m: SipMessage): Buffer | undefined {
    if (m !== this.sent) {
      this.sent = m;
      this.bytes = m.toBuffer();
    }
    this.transports.post(this.bytes as Buffer, this.target, (e) => {
      if (this.key !== '') this.transactions.clientTransportError(this.key, e);
      else this.fail(e);
    });
    return this.bytes;
  }

  response(r: SipResponse): void {
    // RFC 3263 §4.3: a 503 from this server means "try the next one".
    if (r.status === 503 && !this.out.answered && this.failover()) return;
    // The request is not sent again after a final response: its bytes can go.
    if (r.status >= 200) {
      this.sent = undefined;
      this.bytes = undefined;
      // Nor is it sent elsewhere: what failover would need goes too.
      this.failover = noFailover;
    }
    this.out.deliver(r);
  }

  timeout(): void {
    const method = this.out.request.method;
    this.fail(
      new TransactionTimeoutError(
        this.out.cancelled
          ? 'no final response to the INVITE 64*T1 after its CANCEL (RFC 3261 §9.1)'
          : `no final response to ${method} (Timer ${method === 'INVITE' ? 'B' : 'F'})`,
      ),
    );
  }

  transportError(e: Error): void {
    this.fail(e instanceof TransportError ? e : new TransportError(e.message, { cause: e }));
  }

  private fail(e: Error): void {
    if (!this.failover()) this.out.reject(e);
  }
}

/**
 * The way back for one received request: the channel its server
 * transaction answers on and the user of that transaction's events.
 */
class ServerLeg implements Channel, ServerTransactionUser {
  readonly reliable: boolean;
  private readonly stack: SipStack;
  private readonly request: SipRequest;
  private readonly source: Source;

  constructor(stack: SipStack, request: SipRequest, source: Source) {
    this.stack = stack;
    this.request = request;
    this.source = source;
    this.reliable = isReliable(source.transport);
  }

  send(m: SipMessage): Buffer {
    // Serialized at each send: a response is retransmitted seldom, and a server
    // holding many answered transactions should not hold their bytes as well.
    const bytes = m.toBuffer();
    this.stack.sendResponse(bytes, m as SipResponse, this.source, this.request);
    return bytes;
  }

  ack(a: SipRequest): void {
    this.stack.ackReceived(a, this.source);
  }

  timeout(tx: ServerTransaction): void {
    // A non-INVITE request its user never answered (not Timer H: a missing ACK is the peer's doing).
    if (tx.kind === 'non-invite-server') this.stack.stats.unanswered++;
  }
}

/** The outcome of a request its user has released. */
const RELEASED = new TransactionStateError('the request was released by its user');

/** Outcome of a request sent through a client transaction. */
export class OutgoingRequest {
  /** The request as last sent (a failover to another server sends a copy with a new branch). */
  request: SipRequest;
  /** Where the request was last sent. */
  target: Target;
  /** Every target tried so far, in order (RFC 3263 §4.3 failover). */
  readonly tried: Target[];
  /** @internal */
  tx: ClientTransaction | undefined;
  private readonly provisionalHandlers: Array<(r: SipResponse) => void>;
  private readonly responseHandlers: Array<(r: SipResponse) => void>;
  private errorHandlers: Array<(e: Error) => void> | undefined;
  /** The final response or the error, once settled. */
  private outcome: SipResponse | Error | undefined;
  /** Made on first use of `final`: a request nobody awaits costs no promise. */
  private finalPromise: Promise<SipResponse> | undefined;
  private settle: ((r: SipResponse) => void) | undefined;
  private fail: ((e: Error) => void) | undefined;

  /** @internal */
  readonly stack: SipStack;

  /** @internal */
  constructor(stack: SipStack, request: SipRequest, target: Target) {
    this.stack = stack;
    this.request = request;
    this.target = target;
    this.tried = [target];
    this.provisionalHandlers = [];
    this.responseHandlers = [];
    this.errorHandlers = undefined;
    this.outcome = undefined;
    this.finalPromise = undefined;
    this.settle = undefined;
    this.fail = undefined;
    this.tx = undefined;
  }

  /** Resolves with the final response; rejects with TransactionTimeoutError or TransportError. */
  get final(): Promise<SipResponse> {
    if (this.finalPromise === undefined) {
      const o = this.outcome;
      if (o === undefined) {
        this.finalPromise = new Promise<SipResponse>((resolve, reject) => {
          this.settle = resolve;
          this.fail = reject;
        });
      } else {
        this.finalPromise = o instanceof Error ? Promise.reject(o) : Promise.resolve(o);
      }
      // The caller may only listen to events: an unobserved rejection is not an error.
      this.finalPromise.catch(() => {});
    }
    return this.finalPromise;
  }

  /**
   * Cancels an INVITE (RFC 3261 §9.1): sends a CANCEL with the INVITE's
   * branch to the same place. It should follow a provisional response.
   * Resolves with the CANCEL's own outgoing request.
   */
  cancel(): Promise<OutgoingRequest> {
    if (this.request.method !== 'INVITE')
      return Promise.reject(new TransportError('only an INVITE can be cancelled'));
    this.cancelled = true;
    return this.stack.sendCancel(this);
  }

  /** @internal Set once cancel() was called: no failover after that. */
  cancelled = false;
  /** @internal Set by the first provisional response: the server is alive, no failover after that. */
  answered = false;
  /** True once a final response or an error settled this request. */
  get settled(): boolean {
    return this.outcome !== undefined;
  }

  /** Calls `fn` for each provisional response. */
  onProvisional(fn: (r: SipResponse) => void): this {
    this.provisionalHandlers.push(fn);
    return this;
  }

  /** Calls `fn` for every response: provisional, final, and later 2xx (retransmissions, forks; RFC 6026). */
  onResponse(fn: (r: SipResponse) => void): this {
    this.responseHandlers.push(fn);
    return this;
  }

  /** Calls `fn` if the request fails without a final response (TransactionTimeoutError, TransportError). */
  onError(fn: (e: Error) => void): this {
    const o = this.outcome;
    if (o instanceof Error) fn(o);
    else if (o === undefined) {
      if (this.errorHandlers === undefined) this.errorHandlers = [fn];
      else this.errorHandlers.push(fn);
    }
    return this;
  }

  /** @internal */
  deliver(r: SipResponse): void {
    this.answered = true;
    for (const h of this.responseHandlers) h(r);
    if (r.status < 200) {
      for (const h of this.provisionalHandlers) h(r);
      return;
    }
    if (this.outcome === undefined) {
      this.outcome = r;
      this.errorHandlers = undefined;
      this.settle?.(r);
    }
  }

  /**
   * @internal Its user is done with this request: the handlers and the
   * outcome are let go, and a response still arriving (a 2xx retransmitted
   * while the INVITE client transaction lingers, RFC 6026 §7.2) goes to
   * `late` alone. Reading `final` afterwards gives an error.
   */
  release(late: (r: SipResponse) => void): void {
    this.provisionalHandlers.length = 0;
    this.responseHandlers.length = 0;
    this.responseHandlers.push(late);
    this.errorHandlers = undefined;
    this.finalPromise = undefined;
    this.settle = undefined;
    this.fail = undefined;
    this.outcome = RELEASED;
  }

  /** @internal */
  reject(e: Error): void {
    if (this.outcome === undefined) {
      this.outcome = e;
      this.fail?.(e);
      const hs = this.errorHandlers;
      this.errorHandlers = undefined;
      if (hs !== undefined) for (const h of hs) h(e);
    }
  }
}

export type RequestHandler = (incoming: IncomingRequest) => void;

/**
 * A SIP stack: transports (RFC 3261 §18) under the transaction layer
 * (§17). Incoming requests reach the request handler with a server
 * transaction to answer; requests are sent through client transactions.
 */
export class SipStack {
  readonly transports: TransportLayer;
  readonly transactions: TransactionLayer;
  private readonly options: SipStackOptions;
  private requestHandler: RequestHandler;
  private ackHandler: (ack: SipRequest, source: Source) => void;
  private strayResponseHandler: (res: SipResponse, source: Source) => void;
  private readonly viaBase: Map<TransportName, string>;
  private readonly incoming: WeakMap<ServerTransaction, IncomingRequest>;
  private resolver: SipResolver | undefined;
  private trace: ((direction: 'in' | 'out', data: Buffer, peer: Source | Target) => void) | undefined;
  private readonly numericTargets: Map<string, Target>;
  /** Counters of what was rejected or dropped. */
  readonly stats: {
    rejected: number;
    dropped: number;
    strayResponses: number;
    internalErrors: number;
    /** Non-INVITE requests never answered by their handler, ended once the client had given up. */
    unanswered: number;
    /** New requests refused with 503 because the transaction table was full. */
    overloaded: number;
    /** Messages that waited in the intake queue (many arrived at once). */
    deferred: number;
    /** Messages dropped unread because the intake queue was full (also counted in `dropped`). */
    shed: number;
  };
  /** How incoming requests are validated: as a proxy (default) or as the endpoint or registrar they reach. */
  role: ValidationRole;

  /** The RFC 3263 resolver's counters: questions asked, answered from its cache or a shared question, refused at its bound, and outstanding now. */
  get dnsStats(): { asked: number; shared: number; cached: number; refused: number; pending: number } {
    const r = this.resolver;
    if (r === undefined) return { asked: 0, shared: 0, cached: 0, refused: 0, pending: 0 };
    return { ...r.stats, pending: r.pendingCount };
  }

  constructor(options: SipStackOptions) {
    this.options = options;
    this.transports = new TransportLayer(
      { message: (data, source) => this.take(data, source) },
      {
        limits: options.limits,
        tls: options.tls,
        idleTimeoutMs: options.idleTimeoutMs,
        keepAliveMs: options.keepAliveMs,
        maxConnections: options.maxConnections,
        maxQueuedBytes: options.maxQueuedBytes,
        maxPartialBytes: options.maxPartialBytes,
      },
    );
    this.transactions = new TransactionLayer({
      clock: options.clock,
      timers: options.timers,
      maxServerTransactions: options.maxServerTransactions,
      maxServerTransactionBytes: options.maxServerTransactionBytes,
    });
    this.requestHandler = (incoming) => {
      // Without a handler every request is refused (RFC 3261 §21.5.4).
      if (incoming.request.method !== 'ACK') incoming.respond(503, 'No Handler');
    };
    this.ackHandler = () => {};
    this.strayResponseHandler = () => {};
    this.viaBase = new Map();
    this.incoming = new WeakMap();
    this.resolver = options.resolver;
    this.role = options.role ?? 'proxy';
    this.trace = undefined;
    this.numericTargets = new Map();
    this.stats = {
      rejected: 0,
      dropped: 0,
      strayResponses: 0,
      internalErrors: 0,
      unanswered: 0,
      overloaded: 0,
      deferred: 0,
      shed: 0,
    };
    const stats = this.stats;
    this.intake =
      options.intake === false
        ? undefined
        : new Intake<Source>(
            {
              handle: (data, source) => this.receive(data, source),
              deferred: () => {
                stats.deferred++;
              },
              shed: () => {
                stats.shed++;
                stats.dropped++;
              },
              now: () => performance.now(),
              later: (fn) => {
                setImmediate(fn);
              },
            },
            options.intake,
          );
  }

  private readonly intake: Intake<Source> | undefined;

  private take(data: Buffer, source: Source): void {
    if (this.intake === undefined) this.receive(data, source);
    else this.intake.push(data, source);
  }

  /** Binds every listening address. */
  async start(): Promise<TransportAddress[]> {
    const bound: TransportAddress[] = [];
    for (const l of this.options.listen) {
      const addr = typeof l === 'string' ? parseTransportAddress(l) : l;
      const actual = await this.transports.listen(addr);
      bound.push(actual);
      if (!this.viaBase.has(actual.transport)) {
        const host = isWildcard(actual.host)
          ? (this.options.advertise ?? (isIP(actual.host) === 6 ? '::1' : '127.0.0.1'))
          : actual.host;
        this.viaBase.set(actual.transport, hostPort(host, actual.port));
      }
    }
    return bound;
  }

  /** Stops every transaction and closes every socket. */
  async stop(): Promise<void> {
    this.transactions.close();
    await this.transports.close();
  }

  /** Sets the handler of new requests (one handler; a later call replaces it). */
  onRequest(handler: RequestHandler): this {
    this.requestHandler = handler;
    return this;
  }

  /** Sets the handler of ACKs that match no transaction (ACK for 2xx, end to end). */
  onAck(handler: (ack: SipRequest, source: Source) => void): this {
    this.ackHandler = handler;
    return this;
  }

  /** Sets the handler of responses that match no client transaction (late 2xx, RFC 3261 §17.1.1.2). */
  onStrayResponse(handler: (res: SipResponse, source: Source) => void): this {
    this.strayResponseHandler = handler;
    return this;
  }

  /** The sent-by this stack writes in Via for a transport, if it listens on it. */
  sentBy(transport: TransportName): string | undefined {
    return (
      this.viaBase.get(transport) ??
      this.viaBase.get(transport === 'tls' ? 'tcp' : transport === 'tcp' ? 'udp' : 'udp')
    );
  }

  // ---- incoming ------------------------------------------------------------

  /**
   * Calls `fn` with every message this stack receives ('in') or sends
   * ('out'), as bytes, with the peer: for logs, ladders and captures.
   */
  onTrace(fn: ((direction: 'in' | 'out', data: Buffer, peer: Source | Target) => void) | undefined): this {
    this.trace = fn;
    this.transports.tap = fn === undefined ? undefined : (data, target) => fn('out', data, target);
    return this;
  }

  private receive(data: Buffer, source: Source): void {
    try {
      this.receiveChecked(data, source);
    } catch (e) {
      // A bug must cost one message, never the process: counted, reported, dropped.
      this.stats.internalErrors++;
      this.stats.dropped++;
      this.errorHandler?.(e as Error, data, source);
    }
  }

  /** Sets the handler of unexpected errors met while handling a received message (for logs). */
  onError(fn: ((error: Error, data: Buffer, source: Source) => void) | undefined): this {
    this.errorHandler = fn;
    return this;
  }

  private errorHandler: ((error: Error, data: Buffer, source: Source) => void) | undefined = undefined;

  private receiveChecked(data: Buffer, source: Source): void {
    this.trace?.('in', data, source);
    const { message, verdict } = inspect(data, {
      supported: this.options.supported,
      accept: this.options.accept,
      role: this.role,
      strict: false,
      limits: this.transports.limits,
      framing:
        source.connection !== undefined && source.transport !== 'ws' && source.transport !== 'wss'
          ? 'stream'
          : 'datagram',
    });
    if (verdict.action === 'drop') {
      this.stats.dropped++;
      return;
    }
    if (verdict.action === 'reject') {
      this.stats.rejected++;
      this.rejectStatelessly(data, message, verdict.status, verdict.reason, verdict.headers, source);
      return;
    }
    if (message === undefined) return;
    if (message.isRequest) this.receiveRequest(message as SipRequest, source);
    else this.receiveResponse(message as SipResponse, source);
  }

  /**
   * Sets a handler that sees each valid request before the transaction
   * layer; returning true takes the request out of it (a stateless proxy,
   * RFC 3261 §16.11). Undefined removes it.
   */
  onRawRequest(fn: ((req: SipRequest, source: Source) => boolean) | undefined): this {
    this.rawRequestHandler = fn;
    return this;
  }

  private rawRequestHandler: ((req: SipRequest, source: Source) => boolean) | undefined = undefined;

  private receiveRequest(req: SipRequest, source: Source): void {
    markReceived(req, source);
    if (this.rawRequestHandler?.(req, source)) return;
    const leg = new ServerLeg(this, req, source);
    const result = this.transactions.receiveRequest(req, leg, leg);
    switch (result.kind) {
      case 'new': {
        const incoming = new IncomingRequest(this, req, source, result.tx);
        // Kept for CANCEL, which can only target an INVITE (§9.2).
        if (req.method === 'INVITE') this.incoming.set(result.tx, incoming);
        try {
          this.requestHandler(incoming);
        } catch (e) {
          // A failing handler answers 500 and never takes the stack down.
          if (result.tx.state === 'trying' || result.tx.state === 'proceeding') {
            result.tx.respond(createResponse(req, 500, 'Server Internal Error'));
          }
          queueMicrotask(() => {
            throw e;
          });
        }
        return;
      }
      case 'ack':
        this.ackHandler(req, source);
        return;
      case 'overloaded':
        // RFC 3261 §21.5.4: 503, with when to try again.
        this.stats.overloaded++;
        this.rejectStatelessly(NO_BYTES, req, 503, 'Service Unavailable', OVERLOAD_HEADERS, source);
        return;
      default:
        return;
    }
  }

  private receiveResponse(res: SipResponse, source: Source): void {
    // §18.1.2: the top Via must name this stack, or the response is discarded.
    const top = res.topVia;
    if (top === undefined || !this.isOurVia(top)) {
      this.stats.dropped++;
      return;
    }
    if (!this.transactions.receiveResponse(res)) {
      this.stats.strayResponses++;
      this.strayResponseHandler(res, source);
    }
  }

  /** The INVITE server transaction a CANCEL targets. */
  inviteFor(cancel: IncomingRequest): IncomingRequest | undefined {
    if (cancel.request.method !== 'CANCEL') return undefined;
    const tx = this.transactions.findInviteForCancel(cancel.request);
    return tx === undefined ? undefined : this.incoming.get(tx);
  }

  private rejectStatelessly(
    data: Buffer,
    message: SipMessage | undefined,
    status: number,
    reason: string,
    headers: ReadonlyArray<readonly [string, string]>,
    source: Source,
  ): void {
    let res: SipResponse | undefined;
    if (message !== undefined && message.isRequest) {
      const req = message as SipRequest;
      if (req.method === 'ACK') return;
      try {
        markReceived(req, source);
        res = createResponse(req, status, reason, { headers: headers.map(([n, v]) => [n, v] as const) });
      } catch {
        res = undefined;
      }
    }
    if (res === undefined) {
      // RFC 3261 §18.3 for a request that did not parse: answer only when the Via can be read.
      const salvaged = salvageRequestHeaders(data);
      if (salvaged === undefined) {
        this.stats.dropped++;
        return;
      }
      res = new SipResponse({ status, reason });
      for (const v of salvaged.via) res.appendHeader('Via', v);
      if (salvaged.from !== undefined) res.appendHeader('From', salvaged.from);
      if (salvaged.to !== undefined) res.appendHeader('To', salvaged.to);
      if (salvaged.callId !== undefined) res.appendHeader('Call-ID', salvaged.callId);
      if (salvaged.cseq !== undefined) res.appendHeader('CSeq', salvaged.cseq);
      // §18.2.1 holds for a request that did not parse too: its top Via, if it
      // reads, gets `received` (and `rport`), so the answer goes back where the
      // request came from rather than to a name looked up in DNS.
      try {
        markReceived(res, source);
      } catch {
        // A Via that does not read: responseTarget() sends it back to the source.
      }
    }
    this.transports.send(res.toBuffer(), responseTarget(res, source)).catch(() => {
      this.stats.dropped++;
    });
  }

  /** Sends responses for a server transaction per §18.2.2. */
  /** @internal Sends a response of a server transaction; on failure tries RFC 3263 §5, then tells the transaction. */
  sendResponse(bytes: Buffer, res: SipResponse, source: Source, req: SipRequest): void {
    const first = responseTarget(res, source);
    this.transports.post(bytes, first, (e) => {
      // RFC 3263 §5: when the connection or address fails, try where sent-by points.
      void this.resendResponse(res, first).then((sent) => {
        if (!sent) this.transactions.findServer(req)?.transportError(e);
      });
    });
  }

  /** @internal An ACK for a 2xx, passed on by its INVITE server transaction (RFC 6026 §8.7). */
  ackReceived(ack: SipRequest, source: Source): void {
    this.ackHandler(ack, source);
  }

  /** Tries the RFC 3263 §5 targets for a response after its first send failed. */
  private async resendResponse(res: SipResponse, failed: Target): Promise<boolean> {
    const via = res.topVia;
    if (via === undefined) return false;
    const transport = via.transport.toLowerCase() as TransportName;
    if (!this.viaBase.has(transport)) return false;
    this.resolver ??= new SipResolver();
    const targets = await this.resolver.resolveSentBy(via.host, via.port, transport).catch(() => []);
    for (const t of targets) {
      if (t.address === failed.address && t.port === failed.port && t.transport === failed.transport)
        continue;
      try {
        await this.transports.send(res.toBuffer(), t);
        return true;
      } catch {
        // The next one (§5: "the next entry on the list is tried").
      }
    }
    return false;
  }

  // ---- outgoing ------------------------------------------------------------

  /**
   * Sends a request through a client transaction. The stack adds the top
   * Via (sent-by, a fresh branch, rport). Without a target the request goes
   * to the server RFC 3263 locates for its top Route (loose routing) or its
   * Request-URI; when that server fails (a transport error, a timeout, or a
   * 503 before any provisional response) the next one is tried with a copy
   * of the request on a new branch (RFC 3263 §4.3).
   */
  async request(req: SipRequest, options: RequestOptions = {}): Promise<OutgoingRequest> {
    const targets = await this.targetsFor(req, options.target, options.byRequestUri);
    const prepare = options.prepare;
    const first = targets[0];
    if (first === undefined) {
      throw new TransportError(`no server found for ${String((req.route[0]?.uri ?? req.uri).toString())}`);
    }
    // A pristine copy for failover attempts, taken before the Via goes on; also
    // when a large UDP request may move to TCP and need to come back (§18.1.1).
    const mayMove = first.transport === 'udp' && first.connection === undefined && this.viaBase.has('tcp');
    const base = targets.length > 1 || (mayMove && req.wireLength() > 1200) ? req.clone() : undefined;
    const loopTag = options.loopTag;
    const target = this.addViaFor(req, first, prepare, loopTag);
    const out = new OutgoingRequest(this, req, target);
    let next = 1;
    // §18.1.1: a request moved from UDP to TCP whose connection fails "SHOULD" be retried over UDP.
    let backToUdp: Target | undefined = target.transport !== first.transport ? first : undefined;
    const failover = (): boolean => {
      if (base === undefined || out.cancelled || out.answered) return false;
      let t: Target;
      const copy = base.clone();
      if (backToUdp !== undefined) {
        this.addVia(copy, backToUdp, loopTag === undefined ? newBranch() : `${newBranch()}.${loopTag}`);
        prepare?.(copy, backToUdp);
        t = backToUdp;
        backToUdp = undefined;
      } else {
        if (next >= targets.length) return false;
        const original = targets[next++] as Target;
        t = this.addViaFor(copy, original, prepare, loopTag);
        if (t.transport !== original.transport) backToUdp = original;
      }
      out.request = copy;
      out.target = t;
      out.tried.push(t);
      this.launch(out, failover);
      return true;
    };
    this.launch(out, failover);
    return out;
  }

  /**
   * Adds the top Via for sending to `target` and returns where the request
   * really goes: §18.1.1 moves a UDP request larger than 1300 bytes to TCP
   * when this stack can send over TCP.
   */
  private addViaFor(
    req: SipRequest,
    target: Target,
    prepare: RequestOptions['prepare'],
    loopTag: string | undefined,
  ): Target {
    const branch = () => (loopTag === undefined ? newBranch() : `${newBranch()}.${loopTag}`);
    this.addVia(req, target, branch());
    prepare?.(req, target);
    if (
      target.transport !== 'udp' ||
      target.connection !== undefined ||
      !this.viaBase.has('tcp') ||
      req.wireLength() <= 1300
    )
      return target;
    req.removeFirstValue('Via');
    const tcp: Target = { transport: 'tcp', address: target.address, port: target.port };
    this.addVia(req, tcp, branch());
    prepare?.(req, tcp);
    return tcp;
  }

  /** @internal Sends the CANCEL for an outgoing INVITE (same branch, same target). */
  sendCancel(invite: OutgoingRequest): Promise<OutgoingRequest> {
    const out = new OutgoingRequest(this, buildCancel(invite.request), invite.target);
    this.launch(out, () => false);
    // §9.1: without a final response 64*T1 after this, the INVITE is given up.
    invite.tx?.cancelSent?.();
    return Promise.resolve(out);
  }

  private launch(out: OutgoingRequest, failover: () => boolean): void {
    const leg = new ClientLeg(this.transports, this.transactions, out, failover);
    const tx = this.transactions.sendRequest(out.request, leg, leg);
    leg.key = tx.key;
    out.tx = tx;
  }

  /** Sends a message without a transaction (a stateless proxy, an ACK for 2xx, a retransmitted 2xx). */
  async sendStateless(message: SipMessage, target?: string | Target): Promise<Target> {
    let t: Target;
    if (target !== undefined) {
      t = typeof target === 'string' ? await this.resolveTarget(parseTransportAddress(target)) : target;
    } else if (message.isRequest) {
      // Where the Route or Request-URI points (RFC 3263), as for a request with a transaction.
      const found = (await this.targetsFor(message as SipRequest, undefined))[0];
      if (found === undefined) throw new TransportError(`no server found for ${(message as SipRequest).uri}`);
      t = found;
    } else {
      throw new TransportError('a response sent statelessly needs a target');
    }
    if (
      message.isRequest &&
      (message as SipRequest).method === 'ACK' &&
      (message as SipRequest).topVia === undefined
    ) {
      this.addVia(message as SipRequest, t);
    }
    await this.transports.send(message.toBuffer(), t);
    return t;
  }

  /**
   * Forwards a request without a transaction (RFC 3261 §16.11, and the ACK
   * for a 2xx, §16.6 via §13.2.2.4): puts a Via with `branch` on top and sends
   * it where `target` says, else where its top Route or Request-URI points.
   */
  async forwardStateless(
    req: SipRequest,
    branch: string,
    target?: Target,
    byRequestUri = false,
  ): Promise<Target> {
    const t = target ?? (await this.targetsFor(req, undefined, byRequestUri))[0];
    if (t === undefined) throw new TransportError(`no server found for ${String(req.uri)}`);
    this.addVia(req, t, branch);
    await this.transports.send(req.toBuffer(), t);
    return t;
  }

  /**
   * Sends a response on toward the next Via (a stateless proxy, a late 2xx):
   * the caller has taken its own Via off (§16.7 item 3, §18.2.2).
   */
  async forwardResponse(res: SipResponse): Promise<void> {
    const via = res.topVia;
    if (via === undefined) throw new TransportError('no Via left to send the response to');
    const t = viaTarget(via, via.transport.toLowerCase() as TransportName);
    const connection =
      t.transport === 'udp' ? undefined : this.transports.findConnection(t.transport, t.address, t.port);
    await this.transports.send(res.toBuffer(), { ...t, connection });
  }

  /** True when a raw Via value contains one of this stack's sent-by values (a quick test before parsing). */
  mentionsOurSentBy(rawVia: string): boolean {
    for (const base of this.viaBase.values()) if (rawVia.includes(base)) return true;
    return false;
  }

  /** True when a Via's sent-by names this stack (§18.1.2). */
  isOurVia(v: Via): boolean {
    const sentBy = v.port === undefined ? v.host : hostPort(v.host, v.port);
    for (const base of this.viaBase.values()) if (base.toLowerCase() === sentBy.toLowerCase()) return true;
    return false;
  }

  private addVia(req: SipRequest, target: Target, branch = newBranch()): void {
    const sentBy = this.sentBy(target.transport);
    if (sentBy === undefined) throw new TransportError(`this stack does not listen on ${target.transport}`);
    // Written as text: its parts are read from it only if asked for.
    req.prependHeader(
      'Via',
      Via.checked(`SIP/2.0/${viaTransport(target.transport)} ${sentBy};branch=${branch};rport`),
    );
  }

  private async targetsFor(
    req: SipRequest,
    target: string | Target | undefined,
    byRequestUri = false,
  ): Promise<Target[]> {
    if (target !== undefined) {
      if (typeof target !== 'string') return [target];
      // Numeric targets given as text are read once.
      const known = this.numericTargets.get(target);
      if (known !== undefined) return [known];
      const a = parseTransportAddress(target);
      const t = await this.resolveTarget(a);
      if (isIP(a.host) !== 0) {
        if (this.numericTargets.size >= 1024) this.numericTargets.clear();
        this.numericTargets.set(own(target), t);
      }
      return [t];
    }
    // §8.1.2: the first Route if any (loose routing), else the Request-URI.
    const route = byRequestUri ? undefined : req.route[0];
    const uri = (route?.uri ?? req.uri) as SipUri;
    if (uri.kind !== 'sip')
      throw new TransportError(`cannot send to a ${String((uri as { scheme: string }).scheme)}: URI`);
    // An IP address needs no resolver (RFC 3263 §4.2): no DNS, no await.
    const direct = numericTarget(uri);
    if (direct !== undefined)
      return [{ transport: direct.transport, address: direct.address, port: direct.port }];
    this.resolver ??= new SipResolver();
    const found: ResolvedTarget[] = await this.resolver.resolve(uri, {
      transports: [...this.viaBase.keys()],
    });
    return found.map((t) => ({ transport: t.transport, address: t.address, port: t.port }));
  }

  private async resolveTarget(a: TransportAddress): Promise<Target> {
    if (isIP(a.host) !== 0) return { transport: a.transport, address: a.host, port: a.port };
    this.resolver ??= new SipResolver();
    const address = (await this.resolver.hostAddresses(a.host))[0];
    if (address === undefined) throw new TransportError(`no address found for ${a.host}`);
    return { transport: a.transport, address, port: a.port };
  }
}

/** §18.2.1 and RFC 3581: note where a request really came from in its top Via. */
const NO_BYTES = Buffer.alloc(0);
const OVERLOAD_HEADERS: ReadonlyArray<readonly [string, string]> = [['Retry-After', '5']];

function markReceived(m: SipMessage, source: Source): void {
  const via = m.topVia;
  if (via === undefined) return;
  const v = via.markedFrom(source.address, source.port);
  if (v !== via) m.replaceFirstValue('Via', v);
}

/** Where a response goes (RFC 3261 §18.2.2, RFC 3581 §4). */
function responseTarget(res: SipResponse, source: Source): Target {
  let via: Via | undefined;
  try {
    via = res.topVia;
  } catch {
    // A Via that does not parse (a rejected request's, salvaged as text): back where it came from.
    via = undefined;
  }
  if (source.connection !== undefined && source.connection.open) {
    return {
      transport: source.transport,
      address: source.address,
      port: source.port,
      connection: source.connection,
    };
  }
  if (via === undefined) return { transport: source.transport, address: source.address, port: source.port };
  return viaTarget(via, source.transport);
}

/** Where a Via says to send a response over `transport`: received/rport when present, else sent-by (§18.2.2, RFC 3581). */
function viaTarget(via: Via, transport: TransportName): Target {
  const address = via.received ?? (via.host.startsWith('[') ? via.host.slice(1, -1) : via.host);
  const rport = via.rport;
  const port = typeof rport === 'number' ? rport : (via.port ?? (transport === 'tls' ? 5061 : 5060));
  return { transport, address, port };
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}
