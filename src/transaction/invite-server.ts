import { TransactionStateError } from '../errors.js';
import type { SipRequest, SipResponse } from '../message/message.js';
import { createResponse } from '../message/response.js';
import { INVITE_TRYING_MS, sixtyFourT1, timerIK } from './timers.js';
import {
  type ServerState,
  type ServerTransaction,
  type ServerTransactionUser,
  type TransactionContext,
  TransactionCore,
  TxTimer,
} from './transaction.js';

/**
 * INVITE server transaction: RFC 3261 §17.2.1 (Figure 7) as RFC 6026 §8.6
 * replaces it, with the Accepted state and Timer L, and the automatic
 * 100 (Trying) when the TU has not answered within 200 ms.
 */
export class InviteServerTransaction
  extends TransactionCore<ServerState, ServerTransactionUser>
  implements ServerTransaction
{
  readonly kind = 'invite-server' as const;
  private last: SipResponse | undefined;
  private readonly timerTrying: TxTimer;
  /** G, H and I serve only a final response other than 2xx: made when first needed. */
  private timerG: TxTimer | undefined;
  private timerH: TxTimer | undefined;
  private timerI: TxTimer | undefined;
  private readonly timerL: TxTimer;
  private intervalG: number;

  constructor(request: SipRequest, key: string, ctx: TransactionContext, tu: ServerTransactionUser) {
    if (request.method !== 'INVITE')
      throw new TransactionStateError(`INVITE server transaction for ${request.method}`);
    super(request, key, ctx, tu, 'proceeding');
    this.last = undefined;
    this.intervalG = ctx.timers.t1;
    this.timerTrying = new TxTimer(ctx.clock, this);
    this.timerG = undefined;
    this.timerH = undefined;
    this.timerI = undefined;
    this.timerL = new TxTimer(ctx.clock, this);
    // "the server transaction MUST generate a 100 (Trying) response unless it
    // knows that the TU will generate a provisional or final response within 200 ms".
    this.timerTrying.start(INVITE_TRYING_MS);
  }

  get lastResponse(): SipResponse | undefined {
    return this.last;
  }

  respond(response: SipResponse): void {
    const status = response.status;
    switch (this.stateValue) {
      case 'proceeding': {
        this.timerTrying.stop();
        this.last = response;
        const wire = this.ctx.send(response);
        if (status < 200) return;
        // From here the request only serves to recognise retransmissions: it sleeps.
        this.request.sleep();
        if (status < 300) {
          // RFC 6026 §8.5: a 2xx is sent once (the TU retransmits it) and the
          // transaction moves to Accepted with Timer L.
          this.stateValue = 'accepted';
          this.timerL.start(sixtyFourT1(this.ctx.timers));
          // In Accepted the TU sends every 2xx itself: the transaction keeps none.
          this.last = undefined;
          return;
        }
        // §17.2.1: 300-699 -> Completed; Timer G for unreliable transports, Timer H always.
        this.stateValue = 'completed';
        if (!this.ctx.reliable) this.timerG = this.arm(this.timerG, this.intervalG);
        this.timerH = this.arm(this.timerH, sixtyFourT1(this.ctx.timers));
        // Kept to answer retransmissions (and for Timer G): asleep.
        response.sleep(wire);
        return;
      }
      case 'accepted':
        // RFC 6026 §8.7: "While in the Accepted state, if the TU passes a 2xx
        // response, the server transaction MUST pass the response to the transport layer."
        if (status >= 200 && status < 300) {
          this.ctx.send(response);
          return;
        }
        throw new TransactionStateError(
          `a ${status} response after a 2xx (INVITE server transaction Accepted)`,
        );
      default:
        throw new TransactionStateError(`cannot send a ${status} response in state ${this.stateValue}`);
    }
  }

  /** An INVITE transaction stays: it absorbs the ACK of a non-2xx answer (RFC 3261 §17.2.1). */
  forget(): void {
    throw new TransactionStateError('an INVITE server transaction cannot be forgotten');
  }

  receiveRequest(request: SipRequest): void {
    const ack = request.method === 'ACK';
    switch (this.stateValue) {
      case 'proceeding':
        // "If a request retransmission is received while in the Proceeding state,
        // the most recent provisional response ... MUST be passed to the transport layer."
        if (!ack && this.last !== undefined) this.ctx.send(this.last);
        return;
      case 'completed':
        if (ack) {
          // "If an ACK is received while the server transaction is in the Completed
          // state, the server transaction MUST transition to the Confirmed state."
          this.stateValue = 'confirmed';
          this.timerG?.stop();
          this.timerH?.stop();
          // §17.2.1: Confirmed absorbs ACKs; the response is never sent again.
          this.last = undefined;
          this.timerI = this.arm(this.timerI, timerIK(this.ctx.timers, this.ctx.reliable));
        } else if (this.last !== undefined) {
          // A retransmitted INVITE gets the final response again.
          this.ctx.send(this.last);
        }
        return;
      case 'accepted':
        // RFC 6026 §8.7: INVITE retransmissions are absorbed; an ACK goes to the TU.
        if (ack) this.tu.ack?.(request, this);
        return;
      case 'confirmed':
      case 'terminated':
        return;
      default:
        throw new TransactionStateError(`INVITE server transaction in state ${this.stateValue}`);
    }
  }

  transportError(error: Error): void {
    // RFC 6026 §8.8: inform the TU and remain in the current state.
    if (this.stateValue !== 'terminated') this.tu.transportError?.(error, this);
  }

  private onTrying(): void {
    if (this.stateValue !== 'proceeding' || this.last !== undefined) return;
    this.last = createResponse(this.request, 100);
    this.ctx.send(this.last);
  }

  private onTimerG(): void {
    if (this.stateValue !== 'completed' || this.last === undefined) return;
    // "If timer G fires, the response is passed to the transport layer once more
    // for retransmission, and timer G is set to fire in MIN(2*T1, T2) seconds."
    this.ctx.send(this.last);
    this.intervalG = Math.min(2 * this.intervalG, this.ctx.timers.t2);
    this.timerG = this.arm(this.timerG, this.intervalG);
  }

  private onTimerH(): void {
    if (this.stateValue !== 'completed') return;
    // "If timer H fires while in the Completed state, it implies that the ACK was
    // never received. In this case, the server transaction MUST transition to the
    // Terminated state, and MUST indicate to the TU that a transaction failure has occurred."
    this.tu.timeout?.(this);
    this.terminate();
  }

  /** @internal Timers I and L end the transaction. */
  timerFired(timer: TxTimer): void {
    if (timer === this.timerTrying) this.onTrying();
    else if (timer === this.timerG) this.onTimerG();
    else if (timer === this.timerH) this.onTimerH();
    else this.terminate();
  }

  protected stopTimers(): void {
    this.timerTrying.stop();
    this.timerG?.stop();
    this.timerH?.stop();
    this.timerI?.stop();
    this.timerL.stop();
  }
}
