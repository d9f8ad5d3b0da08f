import { TransactionStateError } from '../errors.js';
import type { SipRequest, SipResponse } from '../message/message.js';
import { createResponse } from '../message/response.js';
import { nonInviteAnswerMs, nonInviteTryingMs, timerJ } from './timers.js';
import {
  type ServerState,
  type ServerTransaction,
  type ServerTransactionUser,
  type TransactionContext,
  TransactionCore,
  TxTimer,
} from './transaction.js';

/** Transactions answered in this turn whose requests are to sleep at its end. */
const drowsy: NonInviteServerTransaction[] = [];

function sleepDrowsy(): void {
  for (let i = 0; i < drowsy.length; i++) {
    try {
      (drowsy[i] as NonInviteServerTransaction).sleepRequest();
    } catch {
      // Sleeping only saves memory: a request that cannot sleep stays awake (and
      // a microtask must not throw into the process).
    }
  }
  drowsy.length = 0;
}

/**
 * Non-INVITE server transaction: RFC 3261 §17.2.2 (Figure 8) with the RFC
 * 4320 rules: the only provisional response is 100, it is never sent over
 * an unreliable transport before the client's Timer E would reach T2, and it
 * is sent then if the TU has not answered. A TU that never answers does not
 * keep the transaction for ever: it ends once the client has given up
 * (nonInviteAnswerMs), and the TU hears of it through `timeout`.
 */
export class NonInviteServerTransaction
  extends TransactionCore<ServerState, ServerTransactionUser>
  implements ServerTransaction
{
  readonly kind = 'non-invite-server' as const;
  private last: SipResponse | undefined;
  /** The RFC 4320 100 while Trying; then, in Proceeding, the end of the wait for the TU's answer. */
  private readonly timerTrying: TxTimer;
  private readonly timerJ: TxTimer;
  private readonly bornAt: number;

  constructor(request: SipRequest, key: string, ctx: TransactionContext, tu: ServerTransactionUser) {
    if (request.method === 'INVITE' || request.method === 'ACK') {
      throw new TransactionStateError(`non-INVITE server transaction for ${request.method}`);
    }
    super(request, key, ctx, tu, 'trying');
    this.last = undefined;
    this.bornAt = ctx.clock.now();
    this.timerTrying = new TxTimer(ctx.clock, this);
    this.timerJ = new TxTimer(ctx.clock, this);
    // RFC 4320 §4.1: "an SIP element MUST respond to a non-INVITE request with a
    // Status-Code of 100 if it has not otherwise responded after the amount of
    // time it takes a client transaction's Timer E to be reset to T2."
    this.timerTrying.start(Math.min(nonInviteTryingMs(ctx.timers), nonInviteAnswerMs(ctx.timers)));
  }

  get lastResponse(): SipResponse | undefined {
    return this.last;
  }

  respond(response: SipResponse): void {
    const status = response.status;
    if (status < 200) {
      // RFC 4320 §4.1: "An SIP element MUST NOT send any provisional response with
      // a Status-Code other than 100 to a non-INVITE request."
      if (status !== 100)
        throw new TransactionStateError(`a ${status} provisional response to ${this.request.method}`);
      if (this.stateValue !== 'trying' && this.stateValue !== 'proceeding') {
        throw new TransactionStateError(`cannot send 100 in state ${this.stateValue}`);
      }
      // Over an unreliable transport a 100 may not go out before the RFC 4320 time;
      // the timer sends it then if the TU still has not answered.
      if (!this.ctx.reliable && this.ctx.clock.now() - this.bornAt < nonInviteTryingMs(this.ctx.timers))
        return;
      this.stateValue = 'proceeding';
      this.last = response;
      this.waitForAnswer();
      this.ctx.send(response);
      return;
    }
    if (this.stateValue !== 'trying' && this.stateValue !== 'proceeding') {
      throw new TransactionStateError(`cannot send a ${status} response in state ${this.stateValue}`);
    }
    // "If the TU passes a final response (status codes 200-699) to the server while
    // in the Trying [or Proceeding] state, the transaction MUST transition to the
    // Completed state, and the response MUST be passed to the transport layer."
    this.timerTrying.stop();
    this.stateValue = 'completed';
    this.last = response;
    const wire = this.ctx.send(response);
    // "When the server transaction enters the Completed state, it MUST set Timer J."
    this.timerJ.start(timerJ(this.ctx.timers, this.ctx.reliable));
    // From here the request only serves to recognise retransmissions, and the response to
    // answer them: both sleep while the transaction lingers (64*T1 over UDP). The request
    // sleeps once the TU's work of this turn is done: a TU that ends the transaction at
    // once (a challenge answered statelessly, RFC 3261 §8.2.7) spares it the work.
    if (!this.ctx.reliable) {
      if (drowsy.push(this) === 1) queueMicrotask(sleepDrowsy);
      response.sleep(wire);
    }
  }

  /** @internal The request goes to sleep if the transaction still lingers. */
  sleepRequest(): void {
    if (this.stateValue === 'completed') this.request.sleep();
  }

  forget(): void {
    if (this.stateValue !== 'completed')
      throw new TransactionStateError(`cannot forget a transaction in state ${this.stateValue}`);
    this.terminate();
  }

  receiveRequest(_request: SipRequest): void {
    switch (this.stateValue) {
      case 'trying':
        // "Once in the Trying state, any further request retransmissions are discarded."
        return;
      case 'proceeding':
      case 'completed':
        // A retransmission gets the most recent (provisional or final) response again.
        if (this.last !== undefined) this.ctx.send(this.last);
        return;
      default:
        return;
    }
  }

  transportError(error: Error): void {
    // Figure 8: a transport error in Proceeding or Completed informs the TU and terminates.
    if (this.stateValue === 'proceeding' || this.stateValue === 'completed' || this.stateValue === 'trying') {
      this.tu.transportError?.(error, this);
      this.terminate();
    }
  }

  private onTrying(): void {
    this.stateValue = 'proceeding';
    this.last = createResponse(this.request, 100);
    this.waitForAnswer();
    this.ctx.send(this.last);
  }

  /** In Proceeding: the timer now ends the wait for the TU's final response. */
  private waitForAnswer(): void {
    const left = this.bornAt + nonInviteAnswerMs(this.ctx.timers) - this.ctx.clock.now();
    this.timerTrying.start(Math.max(0, left));
  }

  /** @internal The 100 is due, the TU's time to answer is up, or Timer J ends the transaction. */
  timerFired(timer: TxTimer): void {
    if (timer !== this.timerTrying) this.terminate();
    else if (this.ctx.clock.now() - this.bornAt >= nonInviteAnswerMs(this.ctx.timers)) {
      // The client gave up long ago: a response now would reach no one.
      this.tu.timeout?.(this);
      this.terminate();
    } else if (this.stateValue === 'trying') this.onTrying();
  }

  protected stopTimers(): void {
    this.timerTrying.stop();
    this.timerJ.stop();
  }
}
