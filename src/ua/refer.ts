import type { HeaderValue, SipRequest, SipResponse } from '../message/message.js';
import { type NameAddr, parseNameAddr } from '../message/name-addr.js';
import type { TokenWithParams } from '../message/token-list.js';
import type { SipUri } from '../message/uri.js';
import type { IncomingRequest } from '../stack/sip-stack.js';
import type { CallOptions, OutgoingCall } from './call.js';
import { uriHeaderFields } from './uri-headers.js';

/*
 * Call transfer with REFER (RFC 3515): the transferor asks the other party
 * of a call to call a third one, and hears how that call goes through the
 * implicit subscription's NOTIFYs, each carrying a status line as
 * message/sipfrag (RFC 3420). The REFER and its NOTIFYs travel in the
 * call's dialog.
 */

/** How a transfer went, from the NOTIFYs of the one asked to make it. */
export interface ReferOutcome {
  /** The final status of the call it made to the target (200 when answered). */
  readonly status: number;
  readonly reason: string;
}

export interface ReferOptions {
  /** Called for each status the other party reports (100 Trying, 180 Ringing, ..., the final one). */
  onProgress?: (status: number, reason: string) => void;
  /** How long to wait for the final report, ms (default 120,000). */
  timeoutMs?: number;
}

/** The part of a call the REFER code works through. */
export interface ReferDialog {
  /** Sends a request in the call's dialog; resolves with the final response. */
  request(
    method: string,
    options: { headers?: ReadonlyArray<readonly [string, HeaderValue]>; body?: string | Buffer },
  ): Promise<SipResponse>;
  /** True while the dialog can carry requests. */
  live(): boolean;
}

/**
 * A transfer this side asked for: settled by the NOTIFY that reports a final
 * status (or ends the subscription), by the timeout, or by the call's end.
 */
export class OutgoingReferral {
  /** The REFER's CSeq: the `id` of its NOTIFYs' Event header (RFC 3515 §2.4.6). */
  id: number;
  readonly outcome: Promise<ReferOutcome>;
  private settle!: (o: ReferOutcome) => void;
  private fail!: (e: Error) => void;
  private readonly options: ReferOptions;
  private timer: ReturnType<typeof setTimeout> | undefined;
  done = false;

  constructor(id: number, options: ReferOptions) {
    this.id = id;
    this.options = options;
    this.outcome = new Promise<ReferOutcome>((resolve, reject) => {
      this.settle = resolve;
      this.fail = reject;
    });
    this.timer = setTimeout(
      () => this.abandon(new Error('no final report of the transfer in time')),
      options.timeoutMs ?? 120_000,
    );
    this.timer.unref?.();
  }

  /** A NOTIFY for this referral: its status line and subscription state. */
  notified(status: number | undefined, reason: string, terminated: boolean): void {
    if (this.done) return;
    if (status !== undefined) this.options.onProgress?.(status, reason);
    if (status !== undefined && status >= 200) this.finish({ status, reason });
    else if (terminated) this.abandon(new Error('the transfer ended without a final report'));
  }

  abandon(error: Error): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.fail(error);
  }

  private finish(o: ReferOutcome): void {
    this.done = true;
    clearTimeout(this.timer);
    this.settle(o);
  }
}

/** The status line of a message/sipfrag body (RFC 3420), or undefined. */
export function sipfragStatus(body: Buffer): { status: number; reason: string } | undefined {
  const m = /^SIP\/2\.0 ([1-6]\d\d)(?: ([^\r\n]*))?\r?\n?/.exec(body.toString('latin1', 0, 256));
  if (m === null) return undefined;
  return { status: Number(m[1]), reason: m[2] ?? '' };
}

/** The `refer` event's id for a NOTIFY (RFC 3515 §2.4.6), null when its Event is not refer. */
export function referEventId(req: SipRequest): number | undefined | null {
  let event: TokenWithParams | undefined;
  try {
    event = req.parsed('Event') as TokenWithParams | undefined;
  } catch {
    return null;
  }
  if (event === undefined || event.value.toLowerCase() !== 'refer') return null;
  const id = event.params.getRaw('id');
  if (typeof id !== 'string') return undefined;
  return /^\d{1,10}$/.test(id) ? Number(id) : null;
}

/** True when the NOTIFY's Subscription-State says terminated (RFC 6665 §8.2.3). */
export function subscriptionTerminated(req: SipRequest): boolean {
  try {
    const s = req.parsed('Subscription-State') as TokenWithParams | undefined;
    return s?.value.toLowerCase() === 'terminated';
  } catch {
    return false;
  }
}

/**
 * A transfer the other party asks of this side: `accept()` answers 202 and
 * calls the target, reporting progress in NOTIFYs; `reject()` refuses it.
 */
export class IncomingReferral {
  /** Where to call: the Refer-To URI, its header fields taken out (they go in the INVITE). */
  readonly target: SipUri;
  /** The Refer-To value as written. */
  readonly referTo: NameAddr;
  /** Who asks (Referred-By, RFC 3892), if said. */
  readonly referredBy: string | undefined;
  readonly request: IncomingRequest;
  private readonly dialog: ReferDialog;
  private readonly place: (target: SipUri, options: CallOptions) => OutgoingCall;
  private answered = false;

  /** @internal */
  constructor(
    request: IncomingRequest,
    referTo: NameAddr,
    dialog: ReferDialog,
    place: (target: SipUri, options: CallOptions) => OutgoingCall,
  ) {
    this.request = request;
    this.referTo = referTo;
    this.target = (referTo.uri as SipUri).withoutHeaders();
    this.referredBy = request.request.get('Referred-By') ?? undefined;
    this.dialog = dialog;
    this.place = place;
  }

  /**
   * Accepts (202) and calls the target, with the Refer-To URI's header
   * fields and Referred-By; the other party hears 100 Trying, ringing, and
   * the final status. Returns the new call.
   */
  accept(options: CallOptions = {}): OutgoingCall {
    this.answer(202, 'Accepted');
    const headers: Array<readonly [string, HeaderValue]> = [
      ...uriHeaderFields(this.referTo.uri as SipUri),
      ...(this.referredBy === undefined ? [] : [['Referred-By', this.referredBy] as const]),
      ...(options.headers ?? []),
    ];
    this.notify(100, 'Trying', false);
    const call = this.place(this.target, { ...options, headers });
    call.on('ringing', () => this.notify(180, 'Ringing', false));
    call.answered.then(
      () => this.notify(200, 'OK', true),
      (e: { status?: number; reason?: string }) =>
        this.notify(e.status ?? 500, e.reason ?? 'Server Internal Error', true),
    );
    return call;
  }

  /** Refuses the transfer (default 603 Decline, RFC 3515 §2.4.2). */
  reject(status = 603, reason?: string): void {
    this.answer(status, reason);
  }

  private answer(status: number, reason?: string): void {
    if (this.answered) throw new Error('the REFER is already answered');
    this.answered = true;
    this.request.respond(status, reason);
  }

  /** Reports a status of the new call to the other party (RFC 3515 §2.4.4); failures are only lost reports. */
  private notify(status: number, reason: string, final: boolean): void {
    if (!this.dialog.live()) return;
    const id = this.request.request.cseq?.seq ?? 0;
    void this.dialog
      .request('NOTIFY', {
        headers: [
          ['Event', `refer;id=${id}`],
          ['Subscription-State', final ? 'terminated;reason=noresource' : 'active;expires=60'],
          ['Content-Type', 'message/sipfrag;version=2.0'],
        ],
        body: `SIP/2.0 ${status} ${reason}\r\n`,
      })
      .catch(() => {});
  }
}

/** The Refer-To of a REFER (exactly one, a SIP or SIPS URI), or why not. */
export function readReferTo(req: SipRequest): NameAddr | string {
  const values = req.getAll('Refer-To');
  if (values.length !== 1) return values.length === 0 ? 'no Refer-To' : 'more than one Refer-To';
  let to: NameAddr;
  try {
    to = parseNameAddr(values[0] as string, 'Refer-To');
    if (to.uri.kind !== 'sip') return `Refer-To ${to.uriRaw.slice(0, 60)} is not a SIP URI`;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  return to;
}
