import { TransactionStateError } from '../errors.js';
import type { SipRequest, SipResponse } from '../message/message.js';
import { sixtyFourT1, timerIK } from './timers.js';
import {
  type ClientState,
  type ClientTransaction,
  type ClientTransactionUser,
  type TransactionContext,
  TransactionCore,
  TxTimer,
} from './transaction.js';

/** Non-INVITE client transaction: RFC 3261 §17.1.2 (Figure 6), with RFC 4320. */
export class NonInviteClientTransaction
  extends TransactionCore<ClientState, ClientTransactionUser>
  implements ClientTransaction
{
  readonly kind = 'non-invite-client' as const;
  private readonly timerE: TxTimer;
  private readonly timerF: TxTimer;
  private readonly timerK: TxTimer;
  private intervalE: number;
  private started: boolean;

  constructor(request: SipRequest, key: string, ctx: TransactionContext, tu: ClientTransactionUser) {
    if (request.method === 'INVITE' || request.method === 'ACK') {
      throw new TransactionStateError(`non-INVITE client transaction for ${request.method}`);
    }
    super(request, key, ctx, tu, 'trying');
    this.intervalE = ctx.timers.t1;
    this.started = false;
    this.timerE = new TxTimer(ctx.clock, this);
    this.timerF = new TxTimer(ctx.clock, this);
    this.timerK = new TxTimer(ctx.clock, this);
  }

  /** Sends the request and starts Timers E (unreliable transports) and F (§17.1.2.2). */
  start(): void {
    if (this.started) throw new TransactionStateError('transaction already started');
    this.started = true;
    this.ctx.send(this.request);
    if (!this.ctx.reliable) this.timerE.start(this.intervalE);
    this.timerF.start(sixtyFourT1(this.ctx.timers));
  }

  receiveResponse(response: SipResponse): void {
    const status = response.status;
    switch (this.stateValue) {
      case 'trying':
      case 'proceeding':
        if (status < 200) {
          // "If a provisional response is received while in the Trying state, the
          // response MUST be passed to the TU, and then the client transaction
          // SHOULD move to the Proceeding state."
          this.stateValue = 'proceeding';
          this.tu.response(response, this);
        } else {
          // "If a final response (status codes 200-699) is received while in the
          // Trying [or Proceeding] state, the response MUST be passed to the TU,
          // and the client transaction MUST transition to the Completed state."
          this.stateValue = 'completed';
          this.timerE.stop();
          this.timerF.stop();
          this.tu.response(response, this);
          // "Once the client transaction enters the Completed state, it MUST set Timer K."
          this.timerK.start(timerIK(this.ctx.timers, this.ctx.reliable));
        }
        return;
      case 'completed':
      case 'terminated':
        // Completed absorbs response retransmissions.
        return;
      default:
        throw new TransactionStateError(`non-INVITE client transaction in state ${this.stateValue}`);
    }
  }

  transportError(error: Error): void {
    if (this.stateValue === 'trying' || this.stateValue === 'proceeding') {
      this.tu.transportError(error, this);
      this.terminate();
    }
  }

  private onTimerE(): void {
    if (this.stateValue === 'trying') {
      // "the client transaction MUST retransmit the request ... reset the timer
      // with a value of MIN(2*T1, T2) ... and so on."
      this.ctx.send(this.request);
      this.intervalE = Math.min(2 * this.intervalE, this.ctx.timers.t2);
      this.timerE.start(this.intervalE);
    } else if (this.stateValue === 'proceeding') {
      // "If Timer E fires while in the Proceeding state, the request MUST be
      // passed to the transport layer for retransmission, and Timer E MUST be reset with a value of T2."
      this.ctx.send(this.request);
      this.intervalE = this.ctx.timers.t2;
      this.timerE.start(this.intervalE);
    }
  }

  private onTimerF(): void {
    if (this.stateValue !== 'trying' && this.stateValue !== 'proceeding') return;
    // "If Timer F fires while the client transaction is still in the Trying
    // [or Proceeding] state, the client transaction SHOULD inform the TU about the timeout."
    this.tu.timeout(this);
    this.terminate();
  }

  /** @internal Timer K ends the transaction. */
  timerFired(timer: TxTimer): void {
    if (timer === this.timerE) this.onTimerE();
    else if (timer === this.timerF) this.onTimerF();
    else this.terminate();
  }

  protected stopTimers(): void {
    this.timerE.stop();
    this.timerF.stop();
    this.timerK.stop();
  }
}
