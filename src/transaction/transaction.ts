import type { SipRequest, SipResponse } from '../message/message.js';
import type { Clock } from './clock.js';
import type { TimerSettings } from './timers.js';

/** What a client transaction tells its user (RFC 3261 §17.1). Each method is called at most once per event. */
export interface ClientTransactionUser {
  /** A provisional or final response; in the Accepted state also 2xx retransmissions and forked 2xx (RFC 6026). */
  response(response: SipResponse, tx: ClientTransaction): void;
  /** Timer B or F fired with no final response (RFC 3261 §8.1.3.1: act as if 408 arrived). */
  timeout(tx: ClientTransaction): void;
  /** The transport could not deliver the request (§8.1.3.1: act as if 503 arrived). */
  transportError(error: Error, tx: ClientTransaction): void;
  /** The transaction reached Terminated (called exactly once). */
  terminated?(tx: ClientTransaction): void;
}

/** What a server transaction tells its user (RFC 3261 §17.2, RFC 6026). */
export interface ServerTransactionUser {
  /** An ACK for a 2xx, received while the INVITE server transaction is Accepted (RFC 6026 §8.7). */
  ack?(ack: SipRequest, tx: ServerTransaction): void;
  /**
   * Timer H fired: no ACK came for a final non-2xx response (§17.2.1); or a
   * non-INVITE transaction ended without a final response from its TU, the
   * client having given up (nonInviteAnswerMs).
   */
  timeout?(tx: ServerTransaction): void;
  /** The transport could not deliver a response (§17.2.4). */
  transportError?(error: Error, tx: ServerTransaction): void;
  /** The transaction reached Terminated (called exactly once). */
  terminated?(tx: ServerTransaction): void;
}

/** How a transaction reaches the network and the clock. */
export interface TransactionContext {
  readonly clock: Clock;
  readonly timers: TimerSettings;
  /** True for TCP, TLS, WS, WSS, SCTP: no retransmissions, zero-length wait timers. */
  readonly reliable: boolean;
  /**
   * Hands a message to the transport; returns the bytes sent for it, when
   * the context has them (undefined otherwise). A failure is reported back
   * through `transportError()`.
   */
  send(message: SipRequest | SipResponse): Buffer | undefined;
}

export type ClientState = 'calling' | 'trying' | 'proceeding' | 'completed' | 'accepted' | 'terminated';
export type ServerState = 'trying' | 'proceeding' | 'completed' | 'confirmed' | 'accepted' | 'terminated';

export interface ClientTransaction {
  readonly kind: 'invite-client' | 'non-invite-client';
  readonly request: SipRequest;
  readonly state: ClientState;
  /** Matching key (RFC 3261 §17.1.3). */
  readonly key: string;
  receiveResponse(response: SipResponse): void;
  transportError(error: Error): void;
  /** Stops all timers and enters Terminated without telling the user (stack shutdown). */
  abort(): void;
  /** An INVITE's: the TU has sent a CANCEL for it (RFC 3261 §9.1). */
  cancelSent?(): void;
}

export interface ServerTransaction {
  readonly kind: 'invite-server' | 'non-invite-server';
  readonly request: SipRequest;
  readonly state: ServerState;
  /** Matching key (RFC 3261 §17.2.3). */
  readonly key: string;
  /** The last response sent, while the transaction may send it again (undefined in Accepted and Confirmed). */
  readonly lastResponse: SipResponse | undefined;
  /** Sends a response from the TU. */
  respond(response: SipResponse): void;
  receiveRequest(request: SipRequest): void;
  transportError(error: Error): void;
  abort(): void;
  /**
   * Ends a non-INVITE transaction that has sent its final response at once,
   * instead of lingering to answer retransmissions: a retransmitted request
   * is then handled as a new one, the way a stateless UAS handles every
   * request (RFC 3261 §8.2.7: how a UAS answers unauthenticated requests
   * with a challenge). Throws TransactionStateError in any other case.
   */
  forget(): void;
}

/** What a TxTimer tells when it fires: the transaction that owns it. */
export interface TimerOwner {
  /** @internal Called with the timer that fired. */
  timerFired(timer: TxTimer): void;
}

/**
 * A one-shot timer of a transaction, bound to a clock. It holds no callback
 * of its own: when it fires it hands itself to its owner, so a transaction's
 * timers cost no closure each.
 */
export class TxTimer {
  private handle: unknown;
  private readonly clock: Clock;
  private readonly owner: TimerOwner;

  constructor(clock: Clock, owner: TimerOwner) {
    this.clock = clock;
    this.owner = owner;
    this.handle = undefined;
  }

  start(ms: number): void {
    this.stop();
    // One shared callback with the timer as its argument: no closure per start.
    this.handle = this.clock.set(ms, expire, this);
  }

  stop(): void {
    if (this.handle !== undefined) {
      this.clock.clear(this.handle);
      this.handle = undefined;
    }
  }

  get running(): boolean {
    return this.handle !== undefined;
  }

  /** @internal */
  expired(): void {
    this.handle = undefined;
    this.owner.timerFired(this);
  }
}

function expire(timer: TxTimer): void {
  timer.expired();
}

/** A listener told when a transaction ends. */
interface EndListener {
  terminated?(tx: never): void;
}

/**
 * What the four transaction machines share: their request, key, state,
 * context and user, and how they end. Each machine names its own timers in
 * stopTimers().
 */
export abstract class TransactionCore<S extends ClientState | ServerState, U extends EndListener>
  implements TimerOwner
{
  readonly request: SipRequest;
  readonly key: string;
  protected stateValue: S;
  protected readonly ctx: TransactionContext;
  protected readonly tu: U;

  protected constructor(request: SipRequest, key: string, ctx: TransactionContext, tu: U, initial: S) {
    this.request = request;
    this.key = key;
    this.ctx = ctx;
    this.tu = tu;
    this.stateValue = initial;
  }

  get state(): S {
    return this.stateValue;
  }

  /** Stops every timer of the machine. */
  protected abstract stopTimers(): void;

  /** @internal One of the machine's timers fired. */
  abstract timerFired(timer: TxTimer): void;

  /** Starts `timer` for `ms`, making it first if the machine had not needed it yet; returns it. */
  protected arm(timer: TxTimer | undefined, ms: number): TxTimer {
    const t = timer ?? new TxTimer(this.ctx.clock, this);
    t.start(ms);
    return t;
  }

  /** Ends the transaction at once without telling its user (shutdown). */
  abort(): void {
    this.stopTimers();
    this.stateValue = 'terminated' as S;
  }

  /** Moves to Terminated (once) and tells the user. */
  protected terminate(): void {
    if (this.stateValue === 'terminated') return;
    this.stopTimers();
    this.stateValue = 'terminated' as S;
    (this.tu.terminated as ((tx: unknown) => void) | undefined)?.call(this.tu, this);
  }
}
