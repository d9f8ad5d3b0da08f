import { TransactionStateError } from '../errors.js';
import { H } from '../message/header-names.js';
import { SipRequest, type SipResponse } from '../message/message.js';
import { rawValue } from '../message/response.js';
import { sixtyFourT1, timerD } from './timers.js';
import {
  type ClientState,
  type ClientTransaction,
  type ClientTransactionUser,
  type TransactionContext,
  TransactionCore,
  TxTimer,
} from './transaction.js';

/**
 * INVITE client transaction: RFC 3261 §17.1.1 (Figure 5) as RFC 6026 §8.4
 * replaces it, with the Accepted state and Timer M.
 */
export class InviteClientTransaction
  extends TransactionCore<ClientState, ClientTransactionUser>
  implements ClientTransaction
{
  readonly kind = 'invite-client' as const;
  private readonly timerA: TxTimer;
  private readonly timerB: TxTimer;
  /** D serves only a final response other than 2xx: made when first needed. */
  private timerD: TxTimer | undefined;
  private readonly timerM: TxTimer;
  private intervalA: number;
  private ack: SipRequest | undefined;
  /** Set once the TU has sent a CANCEL for this INVITE: Timer B then also runs in Proceeding (§9.1). */
  private cancelled: boolean;

  constructor(request: SipRequest, key: string, ctx: TransactionContext, tu: ClientTransactionUser) {
    if (request.method !== 'INVITE')
      throw new TransactionStateError(`INVITE client transaction for ${request.method}`);
    super(request, key, ctx, tu, 'calling');
    this.intervalA = ctx.timers.t1;
    this.ack = undefined;
    this.cancelled = false;
    this.timerA = new TxTimer(ctx.clock, this);
    this.timerB = new TxTimer(ctx.clock, this);
    this.timerD = undefined;
    this.timerM = new TxTimer(ctx.clock, this);
  }

  /** Sends the INVITE and starts Timers A (unreliable transports) and B (§17.1.1.2). */
  start(): void {
    if (this.stateValue !== 'calling' || this.timerB.running)
      throw new TransactionStateError('transaction already started');
    this.ctx.send(this.request);
    if (!this.ctx.reliable) this.timerA.start(this.intervalA);
    this.timerB.start(sixtyFourT1(this.ctx.timers));
  }

  receiveResponse(response: SipResponse): void {
    const status = response.status;
    switch (this.stateValue) {
      case 'calling':
      case 'proceeding':
        if (status < 200) {
          // "If the client transaction receives a provisional response while in the
          // Calling state, it transitions to the Proceeding state ... SHOULD NOT
          // retransmit the request any longer."
          this.stateValue = 'proceeding';
          this.timerA.stop();
          if (!this.cancelled) this.timerB.stop();
          this.tu.response(response, this);
        } else if (status < 300) {
          // RFC 6026 §8.4: a 2xx moves to Accepted, goes to the TU, and starts Timer M.
          this.stateValue = 'accepted';
          this.timerA.stop();
          this.timerB.stop();
          this.timerM.start(sixtyFourT1(this.ctx.timers));
          this.tu.response(response, this);
        } else {
          // §17.1.1.2: 300-699 -> Completed, pass up, send ACK, start Timer D.
          this.stateValue = 'completed';
          this.timerA.stop();
          this.timerB.stop();
          this.ack = buildAck(this.request, response);
          this.ctx.send(this.ack);
          this.tu.response(response, this);
          this.timerD = this.arm(this.timerD, timerD(this.ctx.timers, this.ctx.reliable));
        }
        return;
      case 'completed':
        // "Any retransmissions of the final response ... MUST cause the ACK to be
        // re-passed to the transport layer ... MUST NOT be passed up to the TU."
        if (status >= 300 && this.ack !== undefined) this.ctx.send(this.ack);
        return;
      case 'accepted':
        // RFC 6026 §8.4: 2xx responses in Accepted go to the TU (retransmissions, forks).
        if (status >= 200 && status < 300) this.tu.response(response, this);
        return;
      case 'terminated':
        return;
      default:
        throw new TransactionStateError(`INVITE client transaction in state ${this.stateValue}`);
    }
  }

  transportError(error: Error): void {
    // Figure 5: Calling and Completed end on a transport error and inform the TU.
    if (
      this.stateValue === 'calling' ||
      this.stateValue === 'proceeding' ||
      this.stateValue === 'completed'
    ) {
      this.tu.transportError(error, this);
      this.terminate();
    }
  }

  private onTimerA(): void {
    if (this.stateValue !== 'calling') return;
    // "When timer A fires 2*T1 seconds later, the request MUST be retransmitted
    // again ... intervals that double after each transmission."
    this.ctx.send(this.request);
    this.intervalA *= 2;
    this.timerA.start(this.intervalA);
  }

  /**
   * The TU has sent a CANCEL for this INVITE. RFC 3261 §9.1: "If there is no
   * final response for the original request in 64*T1 seconds ..., the
   * client SHOULD then consider the original transaction cancelled and
   * SHOULD destroy the client transaction handling the original request."
   * Timer B is (re)started for that, and runs on in Proceeding.
   */
  cancelSent(): void {
    if (this.cancelled || (this.stateValue !== 'calling' && this.stateValue !== 'proceeding')) return;
    this.cancelled = true;
    this.timerB.start(sixtyFourT1(this.ctx.timers));
  }

  private onTimerB(): void {
    if (this.stateValue !== 'calling' && !(this.cancelled && this.stateValue === 'proceeding')) return;
    // "If the client transaction is still in the Calling state when timer B
    // fires, the client transaction SHOULD inform the TU that a timeout has occurred."
    // After a CANCEL, the same in Proceeding (§9.1).
    this.tu.timeout(this);
    this.terminate();
  }

  /** @internal Timers D and M end the transaction. */
  timerFired(timer: TxTimer): void {
    if (timer === this.timerA) this.onTimerA();
    else if (timer === this.timerB) this.onTimerB();
    else this.terminate();
  }

  protected stopTimers(): void {
    this.timerA.stop();
    this.timerB.stop();
    this.timerD?.stop();
    this.timerM.stop();
  }
}

/**
 * The ACK for a non-2xx final response (RFC 3261 §17.1.1.3): same
 * Request-URI, Call-ID, From, CSeq number and single Via (same branch) as
 * the INVITE; To from the response; Route copied from the INVITE.
 */
export function buildAck(invite: SipRequest, response: SipResponse): SipRequest {
  const ack = new SipRequest({ method: 'ACK', uri: invite.uri });
  const via = invite.fieldById(H.VIA);
  if (via !== undefined) ack.appendHeader('Via', rawValue(firstValue(via.value)));
  ack.appendHeader('Max-Forwards', 70);
  for (const f of invite.headers) if (f.id === H.ROUTE) ack.appendHeader('Route', rawValue(f.value));
  const from = invite.fieldById(H.FROM);
  if (from !== undefined) ack.appendHeader('From', rawValue(from.value));
  const to = response.fieldById(H.TO);
  if (to !== undefined) ack.appendHeader('To', rawValue(to.value));
  const callId = invite.fieldById(H.CALL_ID);
  if (callId !== undefined) ack.appendHeader('Call-ID', rawValue(callId.value));
  ack.appendHeader('CSeq', `${invite.cseq?.seq ?? 0} ACK`);
  return ack;
}

/**
 * The CANCEL for an INVITE (RFC 3261 §9.1): same Request-URI, Call-ID, To,
 * From, CSeq number and single top Via (so the same branch) as the INVITE,
 * and its Route header fields.
 */
export function buildCancel(invite: SipRequest): SipRequest {
  const cancel = new SipRequest({ method: 'CANCEL', uri: invite.uri });
  const via = invite.fieldById(H.VIA);
  if (via !== undefined) cancel.appendHeader('Via', rawValue(firstValue(via.value)));
  cancel.appendHeader('Max-Forwards', 70);
  for (const f of invite.headers) if (f.id === H.ROUTE) cancel.appendHeader('Route', rawValue(f.value));
  for (const id of [H.FROM, H.TO, H.CALL_ID]) {
    const f = invite.fieldById(id);
    if (f !== undefined) cancel.appendHeader(f.canonicalName, rawValue(f.value));
  }
  cancel.appendHeader('CSeq', `${invite.cseq?.seq ?? 0} CANCEL`);
  return cancel;
}

function firstValue(viaValue: string): string {
  const v = viaValue;
  let inQuote = false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0x22) inQuote = !inQuote;
    else if (c === 0x2c && !inQuote) return v.slice(0, i).trimEnd();
  }
  return v;
}
