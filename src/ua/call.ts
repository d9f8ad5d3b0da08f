import { EventEmitter } from 'node:events';
import { SdpError, SdpNegotiationError, SipParseError } from '../errors.js';
import { newTag } from '../message/ids.js';
import type { HeaderValue, SipRequest, SipResponse } from '../message/message.js';
import { createResponse, rawValue } from '../message/response.js';
import { parseUri, type SipUri, type Uri } from '../message/uri.js';
import {
  createAnswer,
  createOffer,
  type Negotiated,
  negotiated,
  OfferAnswer,
  withDirection,
} from '../sdp/offer-answer.js';
import { type Direction, parseSdp, type SessionDescription, serializeSdp } from '../sdp/sdp.js';
import type { IncomingRequest, OutgoingRequest } from '../stack/sip-stack.js';
import type { Target } from '../transport/transport-layer.js';
import { Dialog } from './dialog.js';
import { emitSafely, offerRequest } from './events.js';
import {
  IncomingReferral,
  OutgoingReferral,
  type ReferOptions,
  type ReferOutcome,
  readReferTo,
  referEventId,
  sipfragStatus,
  subscriptionTerminated,
} from './refer.js';
import { ALLOWED_METHODS, RequestFailedError, SUPPORTED_OPTIONS, type UserAgent } from './user-agent.js';

export type CallState = 'calling' | 'incoming' | 'ringing' | 'answered' | 'ended';

/** How a call ended. */
export interface CallEnd {
  /** Who ended it: this side, the peer, or the network (no answer, no ACK, transport failure). */
  readonly by: 'local' | 'remote' | 'network';
  readonly reason: string;
  /** The final status when the call never got answered. */
  readonly status?: number;
}

export interface CallEvents {
  /** A provisional response to our INVITE (outgoing calls). */
  progress: [response: SipResponse];
  /** The callee is ringing (180), or we sent ringing (incoming calls). */
  ringing: [];
  /** The call is answered: 2xx received and ACKed, or 2xx sent. */
  answered: [];
  /** An offer/answer exchange completed: the media to send and where. */
  media: [media: Negotiated];
  /** INFO received in the dialog (answered 200 unless a listener answers first). */
  info: [request: IncomingRequest];
  /** MESSAGE received in the dialog (answered 200 unless a listener answers first). */
  message: [request: IncomingRequest];
  /**
   * The other party asks this side to call someone (REFER, RFC 3515): the
   * listener accepts or rejects it. Without a listener REFER is declined (603).
   */
  refer: [referral: IncomingReferral];
  /** The call is over. */
  ended: [end: CallEnd];
}

export interface CallOptions {
  /** Extra header fields for the INVITE. */
  headers?: ReadonlyArray<readonly [string, HeaderValue]>;
  /** The offer: a description, SDP text, or false to offer nothing and take the offer from the 2xx (late offer). */
  sdp?: SessionDescription | string | false;
  /** Where to send the INVITE (`transport:host:port`); default: RFC 3263 on the target URI. */
  target?: string | Target;
  /** Ask the callee for reliable provisional responses (RFC 3262): 'supported' (default) or 'required'. */
  reliable?: 'supported' | 'required';
  /**
   * Seconds the invitation stands (an Expires header, §13.2.1): a call with
   * no final response by then is cancelled. Default: no limit.
   */
  expires?: number;
  /**
   * Most new INVITEs made from 3xx responses to the Contacts they give
   * (RFC 3261 §8.1.3.4; default 5); 0 makes a 3xx end the call like any failure.
   */
  redirects?: number;
}

/** Fields shared by both kinds of call. */
export abstract class Call extends EventEmitter<CallEvents> {
  readonly ua: UserAgent;
  readonly callId: string;
  /** The dialog once the call has one (early or confirmed). */
  dialog: Dialog | undefined;
  /** Offer/answer state of the session (RFC 3264). */
  readonly sdp: OfferAnswer;
  /** The media last agreed. */
  media: Negotiated | undefined;
  protected stateValue: CallState;
  /** A re-INVITE we sent is waiting for its final response (for glare, RFC 3261 §14.1). */
  protected reinviting: boolean;
  /** 2xx responses we keep sending until their ACK comes (§13.3.1.4), by CSeq. */
  private readonly unacked: Map<number, { stop: () => void; acked: () => void }>;
  /** ACKs we sent for 2xx, by CSeq, to send again when the 2xx comes again (§13.2.2.4). */
  protected readonly acks: Map<number, SipRequest>;
  /** A BYE held back until every 2xx we sent has its ACK (§15), waiting here. */
  private readonly ackWaiters: Array<() => void>;
  /** Transfers this side asked for, by their REFER's CSeq, until their final report. */
  private readonly referrals: Map<number, OutgoingReferral>;
  /** Timer for the INVITE's Expires (§13.2.1, §13.3.1), while it runs. */
  private expiry: unknown;

  protected constructor(ua: UserAgent, callId: string, state: CallState) {
    super();
    this.ua = ua;
    this.callId = callId;
    this.dialog = undefined;
    this.sdp = new OfferAnswer();
    this.media = undefined;
    this.stateValue = state;
    this.reinviting = false;
    this.unacked = new Map();
    this.acks = new Map();
    this.ackWaiters = [];
    this.referrals = new Map();
    this.expiry = undefined;
  }

  get state(): CallState {
    return this.stateValue;
  }

  /** Ends the call: BYE when answered; CANCEL or rejection before that. */
  abstract hangup(): Promise<void>;

  /** Puts the call on hold with a re-INVITE offering sendonly (RFC 3264 §8.4). */
  hold(): Promise<SipResponse> {
    return this.reinvite('sendonly');
  }

  /** Takes the call off hold (sendrecv again). */
  resume(): Promise<SipResponse> {
    return this.reinvite('sendrecv');
  }

  /**
   * Sends a re-INVITE (RFC 3261 §14.1) with a new offer: the current session
   * with its direction changed, or the description given. A 491 (glare) is
   * retried after the random wait §14.1 prescribes, up to GLARE_RETRIES
   * times; a peer still answering 491 then gets its 491 returned. Resolves
   * with the final response; a failure leaves the session as it was.
   */
  reinvite(change: Direction | SessionDescription): Promise<SipResponse> {
    return this.offerInInvite(change, 0);
  }

  private async offerInInvite(change: Direction | SessionDescription, glares: number): Promise<SipResponse> {
    const dialog = this.confirmedDialog('re-INVITE');
    if (this.reinviting || this.sdp.state !== 'stable' || this.unacked.size > 0)
      throw new Error('another offer/answer exchange is in progress');
    const base = this.sdp.local ?? createOffer(this.ua.media);
    const offer = this.sdp.nextVersion(typeof change === 'string' ? withDirection(base, change) : change);
    this.sdp.setLocalOffer(offer);
    this.reinviting = true;
    try {
      const req = dialog.createRequest('INVITE', {
        headers: [
          ['Content-Type', 'application/sdp'],
          ['Allow', ALLOWED_METHODS.join(', ')],
          ['Supported', SUPPORTED_OPTIONS.join(', ')],
        ],
        body: serializeSdp(offer),
      });
      const seq = () => ++dialog.localSeq;
      const { response } = await this.ua.send(req, {
        contact: true,
        nextCSeq: seq,
        onAttempt: (out) => out.onResponse((r) => this.reinviteResponse(r, out)),
      });
      if (response.status >= 200 && response.status < 300) return response;
      this.sdp.rollback();
      if (response.status === 491 && glares < GLARE_RETRIES) {
        // §14.1: the owner of the Call-ID waits 2.1-4 s, the other side 0-2 s, then tries again.
        this.reinviting = false;
        const wait = dialog.isUac ? 2100 + Math.random() * 1900 : Math.random() * 2000;
        await new Promise((r) => setTimeout(r, wait));
        return this.offerInInvite(change, glares + 1);
      }
      if (response.status === 481 || response.status === 408)
        this.end({ by: 'network', reason: `${response.status} to re-INVITE` });
      return response;
    } catch (e) {
      if (this.sdp.state !== 'stable') this.sdp.rollback();
      throw e;
    } finally {
      this.reinviting = false;
    }
  }

  private reinviteResponse(r: SipResponse, out: OutgoingRequest): void {
    if (r.status < 200 || r.status >= 300) return;
    const seq = r.cseq?.seq ?? 0;
    const earlier = this.acks.get(seq);
    if (earlier !== undefined) {
      void this.ua.stack.sendStateless(earlier).catch(() => {});
      return;
    }
    const dialog = this.dialog as Dialog;
    dialog.refreshTarget(r);
    const answer = this.readSdp(r);
    if (answer !== undefined && this.sdp.state === 'have-local-offer') {
      try {
        this.sdp.setRemoteAnswer(answer);
        this.mediaChanged();
      } catch {
        this.sdp.rollback();
      }
    }
    const ack = dialog.createRequest('ACK', { cseq: seq });
    copyCredentials(out.request, ack);
    this.acks.set(seq, ack);
    void this.ua.stack.sendStateless(ack).catch(() => {});
  }

  /** Sends INFO in the dialog (RFC 6086); resolves with the final response. */
  info(body: string | Buffer, contentType = 'application/dtmf-relay'): Promise<SipResponse> {
    return this.request('INFO', { headers: [['Content-Type', contentType]], body });
  }

  /** Sends MESSAGE in the dialog (RFC 3428). */
  message(text: string, contentType = 'text/plain;charset=utf-8'): Promise<SipResponse> {
    return this.request('MESSAGE', {
      headers: [['Content-Type', contentType]],
      body: Buffer.from(text, 'utf8'),
    });
  }

  /**
   * Sends UPDATE (RFC 3311) with a new offer (the current session, direction
   * changed if asked); resolves with the final response. Works in early and
   * confirmed dialogs.
   */
  async update(change?: Direction): Promise<SipResponse> {
    const dialog = this.dialog;
    if (dialog === undefined) throw new Error('UPDATE needs a dialog');
    if (this.sdp.state !== 'stable' || this.sdp.local === undefined)
      return this.request('UPDATE', { contact: true });
    const offer = this.sdp.nextVersion(change ? withDirection(this.sdp.local, change) : this.sdp.local);
    this.sdp.setLocalOffer(offer);
    const res = await this.request('UPDATE', {
      headers: [['Content-Type', 'application/sdp']],
      body: serializeSdp(offer),
      contact: true,
    }).catch((e: unknown) => {
      this.sdp.rollback();
      throw e;
    });
    const answer = res.status < 300 ? this.readSdp(res) : undefined;
    if (answer !== undefined) {
      this.sdp.setRemoteAnswer(answer);
      this.mediaChanged();
    } else this.sdp.rollback();
    return res;
  }

  /**
   * Asks the other party to call `target` (a blind transfer, RFC 3515):
   * sends REFER with Refer-To and Referred-By, and resolves with the final
   * status of the call it makes, as its NOTIFYs report it (200 when the
   * target answered). Rejects with RequestFailedError when the REFER is
   * refused, and with an Error when no final report comes in time or the
   * call ends first (a transferor that hangs up at once hears no more).
   * Header fields in the target URI (`?Replaces=...`) go in the new INVITE.
   */
  async refer(target: string | Uri, options: ReferOptions = {}): Promise<ReferOutcome> {
    const dialog = this.confirmedDialog('REFER');
    const uri = typeof target === 'string' ? parseUri(target) : target;
    // The NOTIFYs name the REFER by its CSeq: the one createRequest() gives it next.
    const referral = new OutgoingReferral(dialog.localSeq + 1, options);
    this.referrals.set(referral.id, referral);
    referral.outcome.then(
      () => this.referrals.delete(referral.id),
      () => this.referrals.delete(referral.id),
    );
    let res: SipResponse;
    try {
      res = await this.request('REFER', {
        headers: [
          ['Refer-To', `<${uri.toString()}>`],
          ['Referred-By', `<${this.ua.uri.toString()}>`],
        ],
      });
    } catch (e) {
      referral.abandon(e instanceof Error ? e : new Error(String(e)));
      throw e;
    }
    if (res.status >= 300) {
      const error = new RequestFailedError(res.status, res.reason, res);
      referral.abandon(error);
      throw error;
    }
    // A challenged REFER went again with a later CSeq: its NOTIFYs carry that one.
    const seq = res.cseq?.seq;
    if (seq !== undefined && seq !== referral.id) {
      this.referrals.delete(referral.id);
      referral.id = seq;
      if (!referral.done) this.referrals.set(seq, referral);
    }
    return referral.outcome;
  }

  /**
   * An attended transfer (RFC 3515, RFC 3891): asks the other party of this
   * call to call the other party of `other`, replacing `other`: REFER with
   * `other`'s remote target and a Replaces naming its dialog. Resolves as
   * refer() does; the peer of `other` ends that call when it answers.
   */
  transfer(other: Call, options: ReferOptions = {}): Promise<ReferOutcome> {
    const d = other.confirmedDialog('an attended transfer');
    const target = d.remoteTarget;
    if (target.kind !== 'sip') throw new Error('the call to hand over has no SIP remote target');
    // The peer of `other` matches to-tag against its own tag (our remote one), RFC 3891 §3.
    const replaces = `${d.callId};to-tag=${d.remoteTag};from-tag=${d.localTag}`;
    const uri = `${(target as SipUri).withoutHeaders().toString()}?Replaces=${encodeURIComponent(replaces)}`;
    return this.refer(uri, options);
  }

  /** Sends any request in the dialog; resolves with the final response (after answering digest challenges). */
  async request(
    method: string,
    options: {
      headers?: ReadonlyArray<readonly [string, HeaderValue]>;
      body?: string | Buffer;
      contact?: boolean;
    } = {},
  ): Promise<SipResponse> {
    const dialog = this.dialog;
    if (dialog === undefined || dialog.state === 'terminated')
      throw new Error(`${method} needs a live dialog`);
    const req = dialog.createRequest(method, { headers: options.headers, body: options.body });
    const { response } = await this.ua.send(req, {
      contact: options.contact,
      nextCSeq: () => ++dialog.localSeq,
    });
    // §12.2.1.2: a 481 or 408 to a request in the dialog ends it.
    if ((response.status === 481 || response.status === 408) && method !== 'BYE')
      this.end({ by: 'network', reason: `${response.status} ${response.reason} to ${method}` });
    return response;
  }

  /** Sends BYE and ends the call (§15.1.1). */
  protected async bye(): Promise<void> {
    // §15: "The callee's UA MUST NOT send a BYE on a confirmed dialog until it has received an
    // ACK for its 2xx response or until the server transaction times out." A 2xx of ours still
    // without its ACK holds the BYE back; after 64*T1 without one, §13.3.1.4 sends the BYE.
    if (this.unacked.size > 0) await new Promise<void>((resolve) => this.ackWaiters.push(resolve));
    const dialog = this.dialog;
    if (dialog === undefined || dialog.state === 'terminated') return;
    const req = dialog.createRequest('BYE');
    this.end({ by: 'local', reason: 'hung up' });
    await this.ua.send(req, { nextCSeq: () => ++dialog.localSeq }).catch(() => {});
  }

  // ---- requests received in the dialog ---------------------------------------

  /** @internal A request in this call's dialog. */
  receive(incoming: IncomingRequest): void {
    const req = incoming.request;
    const dialog = this.dialog;
    if (dialog === undefined) {
      incoming.respond(481, 'Call/Transaction Does Not Exist');
      return;
    }
    const rejection = dialog.receiveRequest(req);
    if (rejection !== null) {
      incoming.respond(rejection.status, rejection.reason);
      return;
    }
    switch (req.method) {
      case 'BYE':
        // §15.1.2: 200 to the BYE, and the session is over.
        incoming.respond(200, 'OK');
        this.end({ by: 'remote', reason: 'BYE' });
        return;
      case 'INVITE':
        this.receiveReinvite(incoming);
        return;
      case 'UPDATE':
        this.receiveUpdate(incoming);
        return;
      case 'PRACK':
        this.receivePrack(incoming);
        return;
      case 'INFO':
        offerRequest(this, 'info', incoming);
        return;
      case 'MESSAGE':
        offerRequest(this, 'message', incoming);
        return;
      case 'REFER':
        this.receiveRefer(incoming);
        return;
      case 'NOTIFY':
        this.receiveNotify(incoming);
        return;
      case 'OPTIONS':
        incoming.respond(200, 'OK', { headers: this.ua.capabilities() });
        return;
      default:
        incoming.respond(405, 'Method Not Allowed', { headers: [['Allow', ALLOWED_METHODS.join(', ')]] });
    }
  }

  /** RFC 3515 §2.4.2: a REFER in the call, for a listener to accept or reject. */
  private receiveRefer(incoming: IncomingRequest): void {
    const referTo = readReferTo(incoming.request);
    if (typeof referTo === 'string') {
      incoming.respond(400, 'Bad Refer-To header', {
        headers: [['Warning', `399 ${this.ua.uri.host} "${quoteSafe(referTo)}"`]],
      });
      return;
    }
    if (this.listenerCount('refer') === 0) {
      incoming.respond(603, 'Decline');
      return;
    }
    const dialog = {
      request: (method: string, options: Parameters<Call['request']>[1]) => this.request(method, options),
      live: () => this.dialog !== undefined && this.dialog.state !== 'terminated',
    };
    const referral = new IncomingReferral(incoming, referTo, dialog, (target, options) =>
      this.ua.call(target, options),
    );
    emitSafely(this, 'refer', referral);
  }

  /** RFC 3515 §2.4.4: a NOTIFY reporting on a transfer this side asked for; 481 for any other. */
  private receiveNotify(incoming: IncomingRequest): void {
    const req = incoming.request;
    const id = referEventId(req);
    let referral = typeof id === 'number' ? this.referrals.get(id) : undefined;
    // The id may be left out while there is one transfer (RFC 3515 §2.4.6).
    if (id === undefined && this.referrals.size === 1) referral = this.referrals.values().next().value;
    if (referral === undefined) {
      // RFC 6665 §4.1.3: a NOTIFY for no subscription of ours.
      incoming.respond(481, 'Subscription Does Not Exist');
      return;
    }
    incoming.respond(200, 'OK');
    const frag = sipfragStatus(req.body);
    referral.notified(frag?.status, frag?.reason ?? '', subscriptionTerminated(req));
  }

  /** §14.2: a re-INVITE. */
  private receiveReinvite(incoming: IncomingRequest): void {
    // §14.2: an offer while ours is out (or theirs unanswered) is glare: 491.
    if (this.reinviting || this.sdp.state !== 'stable' || this.unacked.size > 0) {
      incoming.respond(491, 'Request Pending');
      return;
    }
    const offer = this.readSdpOr400(incoming);
    if (offer === null) return;
    const dialog = this.dialog as Dialog;
    let body: SessionDescription;
    if (offer !== undefined) {
      try {
        this.sdp.setRemoteOffer(offer);
        const current = this.sdp.local;
        body = this.answerFor(offer, current);
        this.sdp.setLocalAnswer(body);
      } catch (e) {
        if (this.sdp.state !== 'stable') this.sdp.rollback();
        incoming.respond(488, 'Not Acceptable Here', {
          headers: [['Warning', `399 ${this.ua.uri.host} "${warningText(e)}"`]],
        });
        return;
      }
    } else {
      // No offer in the re-INVITE: offer the current session in the 2xx, the answer comes in the ACK.
      body = this.sdp.nextVersion(this.sdp.local ?? createOffer(this.ua.media));
      this.sdp.setLocalOffer(body);
    }
    const res = this.okWithSdp(incoming, body);
    this.sendUntilAcked(incoming, res, dialog).then(
      () => {
        if (offer !== undefined) this.mediaChanged();
      },
      () => {},
    );
  }

  /** RFC 3311 §5.2: UPDATE with or without an offer. */
  private receiveUpdate(incoming: IncomingRequest): void {
    const offer = this.readSdpOr400(incoming);
    if (offer === null) return;
    if (offer === undefined) {
      incoming.respond(200, 'OK', { headers: [['Contact', this.ua.contactFor(incoming.source.transport)]] });
      return;
    }
    if (this.sdp.state !== 'stable' || this.reinviting) {
      // RFC 3311 §5.2: an offer while one is outstanding.
      incoming.respond(491, 'Request Pending');
      return;
    }
    let answer: SessionDescription;
    try {
      this.sdp.setRemoteOffer(offer);
      answer = this.answerFor(offer, this.sdp.local);
      this.sdp.setLocalAnswer(answer);
    } catch (e) {
      if (this.sdp.state !== 'stable') this.sdp.rollback();
      incoming.respond(488, 'Not Acceptable Here', {
        headers: [['Warning', `399 ${this.ua.uri.host} "${warningText(e)}"`]],
      });
      return;
    }
    this.okWithSdp(incoming, answer);
    this.mediaChanged();
  }

  /** @internal PRACK (RFC 3262 §3): incoming calls acknowledge their reliable provisional responses. */
  protected receivePrack(incoming: IncomingRequest): void {
    incoming.respond(481, 'Call/Transaction Does Not Exist');
  }

  /** @internal An ACK for a 2xx in this dialog. */
  receiveAck(ack: SipRequest): void {
    const seq = ack.cseq?.seq ?? -1;
    const waiting = this.unacked.get(seq);
    if (waiting === undefined) return;
    // A 2xx that carried an offer gets its answer in the ACK (RFC 3261 §13.2.1).
    if (this.sdp.state === 'have-local-offer') {
      const answer = this.readSdp(ack);
      if (answer !== undefined) {
        try {
          this.sdp.setRemoteAnswer(answer);
          this.mediaChanged();
        } catch {
          this.sdp.rollback();
        }
      } else this.sdp.rollback();
    }
    waiting.acked();
  }

  // ---- helpers -------------------------------------------------------------------

  /** The answer to an offer: our codecs against theirs, keeping our direction unless the offer limits it. */
  protected answerFor(
    offer: SessionDescription,
    current: SessionDescription | undefined,
  ): SessionDescription {
    const answer = createAnswer(offer, {
      ...this.ua.media,
      sessionId: current?.origin.sessionId,
    });
    if (current === undefined) return answer;
    // RFC 3264 §8: each new version of our description counts up from the last.
    const version = current.origin.sessionVersion + 1n;
    return { ...answer, origin: { ...answer.origin, sessionVersion: version } };
  }

  /** Answers a request 200 with SDP and Contact. */
  protected okWithSdp(incoming: IncomingRequest, sdp: SessionDescription, toTag?: string): SipResponse {
    const res = createResponse(incoming.request, 200, 'OK', {
      toTag,
      headers: [
        ['Contact', this.ua.contactFor(incoming.source.transport)],
        ['Allow', ALLOWED_METHODS.join(', ')],
        ['Supported', SUPPORTED_OPTIONS.join(', ')],
        ['Content-Type', 'application/sdp'],
      ],
      body: serializeSdp(sdp),
    });
    incoming.respond(res);
    return res;
  }

  /**
   * Keeps sending a 2xx to an INVITE until its ACK comes (§13.3.1.4: T1,
   * doubling up to T2). With no ACK after 64*T1 the session ends with BYE.
   */
  protected sendUntilAcked(incoming: IncomingRequest, res: SipResponse, dialog: Dialog): Promise<void> {
    const seq = incoming.request.cseq?.seq ?? 0;
    const clock = this.ua.stack.transactions.clock;
    const { t1, t2 } = this.ua.stack.transactions.timers;
    const reliable = incoming.source.transport !== 'udp';
    return new Promise<void>((resolve, reject) => {
      let interval = t1;
      let timer: unknown;
      const started = clock.now();
      const tick = () => {
        if (clock.now() - started >= 64 * t1) {
          this.unacked.delete(seq);
          this.ackSettled();
          reject(new Error('no ACK for the 2xx'));
          // §13.3.1.4: "the session SHOULD be terminated ... with a BYE".
          if (this.dialog === dialog) void this.bye();
          return;
        }
        if (!reliable) {
          try {
            incoming.respond(res);
          } catch {
            // The transaction is gone; the dialog layer keeps trying.
          }
        }
        interval = Math.min(interval * 2, t2);
        timer = clock.set(reliable ? 64 * t1 : interval, tick);
      };
      timer = clock.set(reliable ? 64 * t1 : interval, tick);
      this.unacked.set(seq, {
        stop: () => clock.clear(timer),
        acked: () => {
          clock.clear(timer);
          this.unacked.delete(seq);
          this.ackSettled();
          resolve();
        },
      });
    });
  }

  /** The SDP in a message, or undefined when there is none or it does not parse. */
  protected readSdp(m: SipRequest | SipResponse): SessionDescription | undefined {
    try {
      const body = sdpBody(m);
      return body === undefined ? undefined : parseSdp(body);
    } catch {
      return undefined;
    }
  }

  /**
   * The SDP offer of an incoming request: undefined when there is none; null
   * when it is unreadable, after answering 400 with the reason.
   */
  protected readSdpOr400(incoming: IncomingRequest): SessionDescription | undefined | null {
    try {
      const body = sdpBody(incoming.request);
      return body === undefined ? undefined : parseSdp(body);
    } catch (e) {
      const detail = e instanceof SdpError || e instanceof SipParseError ? e.message : String(e);
      incoming.respond(400, 'Bad SDP', {
        headers: [['Warning', `399 ${this.ua.uri.host} "${quoteSafe(detail)}"`]],
      });
      return null;
    }
  }

  protected mediaChanged(): void {
    const { local, remote } = this.sdp;
    if (local === undefined || remote === undefined) return;
    const n = negotiated(local, remote);
    if (n === undefined) return;
    this.media = n;
    emitSafely(this, 'media', n);
  }

  protected confirmedDialog(what: string): Dialog {
    const d = this.dialog;
    if (d === undefined || d.state !== 'confirmed') throw new Error(`${what} needs an answered call`);
    return d;
  }

  /** Puts the call's dialog in the agent's table. */
  protected track(dialog: Dialog): void {
    this.ua.dialogs.set(dialog.key, this);
  }

  /** Ends the call once: the dialog is closed, timers stop, `ended` fires. */
  protected end(end: CallEnd): void {
    if (this.stateValue === 'ended') return;
    this.stateValue = 'ended';
    if (this.dialog !== undefined) {
      this.dialog.terminate();
      this.ua.dialogs.delete(this.dialog.key);
      this.ua.noteEnded(this.dialog.key);
    }
    for (const u of this.unacked.values()) u.stop();
    this.unacked.clear();
    this.stopExpiry();
    for (const r of this.referrals.values())
      r.abandon(new Error('the call ended before the transfer was reported'));
    this.ackSettled();
    this.onEnd();
    emitSafely(this, 'ended', end);
  }

  /** Cleanup of the subclass when the call ends. */
  protected onEnd(): void {}

  /** Runs `fire` once the INVITE's Expires has passed, unless stopExpiry() comes first. */
  protected startExpiry(seconds: number, fire: () => void): void {
    this.expiry = this.ua.stack.transactions.clock.set(seconds * 1000, () => {
      this.expiry = undefined;
      fire();
    });
  }

  /** The invitation has its final answer, or the call is over: its Expires no longer runs. */
  protected stopExpiry(): void {
    if (this.expiry !== undefined) this.ua.stack.transactions.clock.clear(this.expiry);
    this.expiry = undefined;
  }

  /** Lets a held-back BYE go once no 2xx of ours waits for its ACK. */
  private ackSettled(): void {
    if (this.unacked.size === 0) for (const go of this.ackWaiters.splice(0)) go();
  }
}

/**
 * How many times a re-INVITE answered 491 is sent again (RFC 3261 §14.1 sets
 * no limit; true glare clears on the first retry, a peer that always answers
 * 491 never does).
 */
const GLARE_RETRIES = 2;

/** Most early dialogs (forks answering with different To tags) one outgoing call keeps. */
const MAX_EARLY_DIALOGS = 32;

/** A call this agent placed (RFC 3261 §13.2). */
export class OutgoingCall extends Call {
  readonly target: Uri;
  /** Settles when the call is answered (2xx, ACK sent) or fails (RequestFailedError). */
  readonly answered: Promise<SipResponse>;
  private readonly invite: SipRequest;
  private readonly options: CallOptions;
  private out: OutgoingRequest | undefined;
  private provisional: boolean;
  private cancelAsked: boolean;
  /** The attempt (the INVITE as last sent) a CANCEL went for. */
  private cancelledOut: OutgoingRequest | undefined;
  /** Early dialogs by remote tag (forking gives several). */
  private readonly early: Map<string, Dialog>;
  /** PRACKed reliable provisionals: highest RSeq per remote tag (RFC 3262 §4). */
  private readonly rseqs: Map<string, number>;
  private settle!: (r: SipResponse) => void;
  private fail!: (e: Error) => void;
  /** @internal */
  constructor(ua: UserAgent, target: Uri, options: CallOptions) {
    const invite = ua.newRequest('INVITE', target);
    super(ua, invite.callId as string, 'calling');
    this.target = target;
    this.options = options;
    this.invite = invite;
    this.out = undefined;
    this.provisional = false;
    this.cancelAsked = false;
    this.cancelledOut = undefined;
    this.early = new Map();
    this.rseqs = new Map();
    this.answered = new Promise<SipResponse>((resolve, reject) => {
      this.settle = resolve;
      this.fail = reject;
    });
    this.answered.catch(() => {});
    invite.appendHeader('Allow', ALLOWED_METHODS.join(', '));
    if (options.reliable === 'required') invite.appendHeader('Require', '100rel');
    if (options.expires !== undefined) {
      if (!(Number.isSafeInteger(options.expires) && options.expires >= 0 && options.expires <= 0xffffffff))
        throw new RangeError(`expires must be a whole number of seconds, got ${options.expires}`);
      invite.appendHeader('Expires', options.expires);
    }
    invite.appendHeader('Supported', SUPPORTED_OPTIONS.join(', '));
    for (const [name, value] of options.headers ?? []) invite.appendHeader(name, value);
    if (options.sdp !== false) {
      const offer =
        options.sdp === undefined
          ? createOffer(ua.media)
          : typeof options.sdp === 'string'
            ? parseSdp(options.sdp)
            : options.sdp;
      this.sdp.setLocalOffer(offer);
      invite.appendHeader('Content-Type', 'application/sdp');
      invite.body = Buffer.from(serializeSdp(offer), 'utf8');
    }
  }

  /** The INVITE as first sent. */
  get inviteRequest(): SipRequest {
    return this.invite;
  }

  /** @internal */
  start(): void {
    const key = this.pendingKey();
    this.ua.pending.set(key, this);
    // §13.2.1: "If the time indicated in the Expires header field is reached and no final answer
    // for the INVITE has been received, the UAC core SHOULD generate a CANCEL request".
    if (this.options.expires !== undefined) this.startExpiry(this.options.expires, () => void this.cancel());
    this.ua
      .send(this.invite, {
        target: this.options.target,
        contact: true,
        redirects: this.options.redirects ?? 5,
        onAttempt: (out) => {
          this.out = out;
          out.onResponse((r) => this.response(r, out));
        },
      })
      .then(({ response }) => {
        if (response.status >= 300) this.failed(response.status, response.reason, response);
      })
      .catch((e: unknown) => {
        const err = e instanceof RequestFailedError ? e : new RequestFailedError(500, String(e));
        this.failed(err.status, err.reason, err.response);
      });
  }

  private pendingKey(): string {
    return `${this.callId}\n${this.invite.from?.tag ?? ''}`;
  }

  /**
   * Cancels the call before it is answered (§9.1). The CANCEL goes once a
   * provisional response has come (a CANCEL before it could overtake the
   * INVITE); the call then fails with 487.
   */
  async cancel(): Promise<void> {
    if (this.stateValue === 'answered' || this.stateValue === 'ended') return;
    this.cancelAsked = true;
    if (this.provisional) await this.sendCancel();
  }

  async hangup(): Promise<void> {
    if (this.stateValue === 'answered') return this.bye();
    return this.cancel();
  }

  /**
   * A CANCEL for the INVITE as last sent, once: an INVITE sent again with
   * credentials after a challenge is a new attempt and gets its own.
   */
  private async sendCancel(): Promise<void> {
    const out = this.out;
    if (out === undefined || out === this.cancelledOut || out.settled) return;
    this.cancelledOut = out;
    await out.cancel().catch(() => {});
  }

  private response(r: SipResponse, out: OutgoingRequest): void {
    if (r.status < 200) this.provisionalResponse(r, out);
    else if (r.status < 300) this.success(r, out.request);
  }

  private provisionalResponse(r: SipResponse, out: OutgoingRequest): void {
    this.provisional = true;
    // A call that is over, or being cancelled, cancels the INVITE once it hears from it (§9.1).
    if (this.cancelAsked || this.stateValue === 'ended') {
      void this.sendCancel();
      return;
    }
    const tag = r.to?.tag;
    if (r.status > 100 && tag !== undefined && r.contact.length > 0) {
      let dialog = this.early.get(tag);
      // Each To tag is a fork's early dialog (§13.2.2.1); a peer inventing tags without end gets no more than
      // MAX_EARLY_DIALOGS of them (a 2xx still makes its dialog).
      if (dialog === undefined && this.early.size < MAX_EARLY_DIALOGS) {
        dialog = Dialog.asUac(out.request, r);
        this.early.set(tag, dialog);
        if (this.dialog === undefined) this.dialog = dialog;
        this.track(dialog);
      }
      if (dialog !== undefined && r.require.includes('100rel')) this.prack(r, dialog, out.request);
    }
    // Early media: an answer in an unreliable provisional response is a preview of the 2xx's (§13.2.1).
    if (
      !r.require.includes('100rel') &&
      this.sdp.state === 'have-local-offer' &&
      this.sdp.pending !== undefined
    ) {
      const early = this.readSdp(r);
      const n = early !== undefined ? negotiated(this.sdp.pending, early) : undefined;
      if (n !== undefined) {
        this.media = n;
        emitSafely(this, 'media', n);
      }
    }
    if (r.status === 180 && this.stateValue === 'calling') {
      this.stateValue = 'ringing';
      emitSafely(this, 'ringing');
    }
    emitSafely(this, 'progress', r);
  }

  /** RFC 3262 §4: a reliable provisional response gets a PRACK, once, in order. */
  private prack(r: SipResponse, dialog: Dialog, invite: SipRequest): void {
    const rseq = Number(r.get('RSeq'));
    if (!Number.isInteger(rseq) || rseq <= 0) return;
    const last = this.rseqs.get(dialog.remoteTag);
    if (last !== undefined && rseq !== last + 1) return; // a retransmission, or out of order
    this.rseqs.set(dialog.remoteTag, rseq);
    const headers: Array<[string, HeaderValue]> = [['RAck', `${rseq} ${invite.cseq?.seq} INVITE`]];
    let body: string | undefined;
    const sdp = this.readSdp(r);
    if (sdp !== undefined && this.sdp.state === 'have-local-offer') {
      // An answer in a reliable provisional response is the answer (RFC 3262 §5).
      try {
        this.sdp.setRemoteAnswer(sdp);
        this.mediaChanged();
      } catch {
        this.sdp.rollback();
      }
    } else if (sdp !== undefined && this.sdp.state === 'stable' && this.sdp.local === undefined) {
      // Late offer in a reliable provisional: the answer goes in the PRACK.
      try {
        this.sdp.setRemoteOffer(sdp);
        const answer = this.answerFor(sdp, undefined);
        this.sdp.setLocalAnswer(answer);
        headers.push(['Content-Type', 'application/sdp']);
        body = serializeSdp(answer);
        this.mediaChanged();
      } catch {
        this.sdp.rollback();
      }
    }
    const req = dialog.createRequest('PRACK', { headers, body });
    void this.ua.send(req, { nextCSeq: () => ++dialog.localSeq }).catch(() => {});
  }

  /** A 2xx to the INVITE (§13.2.2.4): confirm the dialog, take the answer, ACK. */
  private success(r: SipResponse, invite: SipRequest): void {
    // §12.1.2: a 2xx without a To tag (an RFC 2543 UAS) makes a dialog whose remote tag is null ('').
    const tag = r.to?.tag ?? '';
    const seq = r.cseq?.seq ?? 0;
    const confirmed =
      this.dialog !== undefined && this.dialog.state === 'confirmed' ? this.dialog : undefined;
    if (confirmed !== undefined && confirmed.remoteTag === tag) {
      // A retransmitted 2xx: the same ACK again.
      const ack = this.acks.get(seq);
      if (ack !== undefined) void this.ua.stack.sendStateless(ack).catch(() => {});
      return;
    }
    if (confirmed !== undefined || this.stateValue === 'ended') {
      // §13.2.2.4: a 2xx from another branch of a fork: ACK it, then BYE it.
      this.ackAndBye(r, invite);
      return;
    }
    this.stopExpiry();
    const dialog = this.early.get(tag) ?? Dialog.asUac(invite, r);
    dialog.confirm(r);
    this.dialog = dialog;
    this.track(dialog);
    for (const [t, d] of this.early) if (t !== tag) this.ua.dialogs.delete(d.key);
    let ackBody: string | undefined;
    const sdp = this.readSdp(r);
    if (this.sdp.state === 'have-local-offer') {
      if (sdp !== undefined) {
        try {
          this.sdp.setRemoteAnswer(sdp);
        } catch {
          this.sdp.rollback();
        }
      }
    } else if (sdp !== undefined && this.sdp.local === undefined) {
      // Late offer: the 2xx carries the offer and the ACK our answer (§13.2.1).
      try {
        this.sdp.setRemoteOffer(sdp);
        const answer = this.answerFor(sdp, undefined);
        this.sdp.setLocalAnswer(answer);
        ackBody = serializeSdp(answer);
      } catch {
        this.sdp.rollback();
      }
    }
    const ack = dialog.createRequest('ACK', {
      cseq: seq,
      headers: ackBody !== undefined ? [['Content-Type', 'application/sdp']] : [],
      body: ackBody,
    });
    copyCredentials(invite, ack);
    this.acks.set(seq, ack);
    void this.ua.stack.sendStateless(ack).catch(() => {});
    this.stateValue = 'answered';
    this.settle(r);
    emitSafely(this, 'answered');
    this.mediaChanged();
    if (this.cancelAsked) void this.bye();
  }

  private ackAndBye(r: SipResponse, invite: SipRequest): void {
    let other: Dialog;
    try {
      other = Dialog.asUac(invite, r);
    } catch {
      return;
    }
    other.confirm(r);
    const ack = other.createRequest('ACK', { cseq: r.cseq?.seq ?? 1 });
    void this.ua.stack.sendStateless(ack).catch(() => {});
    const bye = other.createRequest('BYE');
    void this.ua.send(bye).catch(() => {});
  }

  /** @internal A 2xx after the INVITE transaction ended. */
  receiveStray2xx(r: SipResponse): void {
    this.success(r, this.out?.request ?? this.invite);
  }

  private failed(status: number, reason: string, response?: SipResponse): void {
    if (this.stateValue === 'answered' || this.stateValue === 'ended') return;
    this.fail(new RequestFailedError(status, reason, response));
    this.end({
      by: this.cancelAsked ? 'local' : status === 408 || status === 503 ? 'network' : 'remote',
      reason: this.cancelAsked ? 'cancelled' : `${status} ${reason}`,
      status,
    });
  }

  protected override onEnd(): void {
    for (const d of this.early.values()) this.ua.dialogs.delete(d.key);
    // An INVITE still without a final response when the call ends (the call answered by a 2xx
    // that matched no transaction, or ended another way) is given up: a CANCEL (§9.1), and
    // 64*T1 later its transaction ends even if no final response comes. Without a
    // provisional response yet, Timer B ends it anyway.
    if (this.out?.answered === true) void this.sendCancel();
    // Stray 2xx of forks may still come for a while (§13.2.2.4); keep the Call-ID known for 64*T1.
    const key = this.pendingKey();
    const t = setTimeout(() => {
      if (this.ua.pending.get(key) === this) this.ua.pending.delete(key);
    }, 64 * this.ua.stack.transactions.timers.t1);
    t.unref();
  }
}

/** A call that came to this agent (RFC 3261 §13.3). */
export class IncomingCall extends Call {
  /** @internal The INVITE's server transaction. */
  readonly invite: IncomingRequest;
  /**
   * The call this one replaces (its INVITE's Replaces named it, RFC 3891):
   * answering this call ends that one; refusing it leaves that one alone.
   */
  replaces: Call | undefined;
  /** False when the INVITE was refused on arrival (400 for bad SDP, 488 for an offer we cannot take). */
  readonly acceptable: boolean;
  /** The caller, as in From. */
  readonly from: string;
  private readonly localTag: string;
  private readonly offer: SessionDescription | undefined;
  /** The answer sent early in a 183, repeated in the 2xx. */
  private earlyAnswer: SessionDescription | undefined;
  private readonly done: () => void;
  private final: boolean;
  /** Reliable provisional waiting for PRACK (RFC 3262 §3). */
  private reliable: { rseq: number; timer: unknown; acked: () => void } | undefined;
  private nextRSeq: number;

  /** @internal */
  constructor(ua: UserAgent, invite: IncomingRequest, done: () => void) {
    super(ua, invite.request.callId ?? '', 'incoming');
    this.invite = invite;
    this.replaces = undefined;
    this.done = done;
    this.localTag = newTag();
    this.final = false;
    this.reliable = undefined;
    this.earlyAnswer = undefined;
    this.nextRSeq = 1 + Math.floor(Math.random() * 1000);
    this.from = invite.request.from?.toString() ?? '';
    const offer = this.readSdpOr400(invite);
    this.offer = offer ?? undefined;
    let ok = offer !== null;
    if (offer !== null && offer !== undefined) {
      try {
        createAnswer(offer, ua.media);
      } catch (e) {
        // RFC 3261 §13.3.1.3 / RFC 3264 §6: an offer we cannot answer at all.
        invite.respond(488, 'Not Acceptable Here', {
          headers: [['Warning', `399 ${ua.uri.host} "${warningText(e)}"`]],
        });
        ok = false;
      }
    }
    if (!ok) {
      this.final = true;
      this.stateValue = 'ended';
      done();
    }
    this.acceptable = ok;
    // §13.3.1 step 1: an INVITE with Expires that has no final response when it runs out is
    // answered 487 (Request Terminated).
    let seconds: number | undefined;
    try {
      seconds = invite.request.expires;
    } catch {
      seconds = undefined;
    }
    if (ok && seconds !== undefined) {
      this.startExpiry(seconds, () => this.expired());
    }
  }

  /** The INVITE. */
  get inviteRequest(): SipRequest {
    return this.invite.request;
  }

  /** The INVITE's Expires ran out before a final response: 487, and the call is over. */
  private expired(): void {
    if (this.final) return;
    this.final = true;
    this.invite.respond(487, 'Request Terminated');
    this.done();
    this.end({ by: 'remote', reason: 'the invitation expired', status: 487 });
  }

  /**
   * Sends 180 Ringing with a To tag (an early dialog). `reliable` sends it
   * reliably (RFC 3262) when the caller supports 100rel; it is sent reliably
   * anyway when the caller requires it.
   */
  ring(options: { reliable?: boolean } = {}): void {
    this.provisional(180, 'Ringing', options.reliable === true);
    if (this.stateValue === 'incoming') {
      this.stateValue = 'ringing';
      emitSafely(this, 'ringing');
    }
  }

  /**
   * Sends another provisional response (183 Session Progress, ...). With
   * `earlyMedia` it carries the SDP answer, so the caller can play media
   * before the answer (the 2xx repeats the same answer, RFC 3261 §13.2.1).
   */
  progress(
    status = 183,
    reason = 'Session Progress',
    options: { earlyMedia?: boolean; reliable?: boolean } = {},
  ): void {
    this.provisional(status, reason, options.reliable === true, options.earlyMedia === true);
  }

  private provisional(status: number, reason: string, wantReliable: boolean, earlyMedia = false): void {
    if (this.final) return;
    const req = this.invite.request;
    const reliable = req.require.includes('100rel') || (wantReliable && req.supported.includes('100rel'));
    const headers: Array<[string, HeaderValue]> = [
      ['Contact', this.ua.contactFor(this.invite.source.transport)],
      ...recordRoutes(req),
    ];
    if (reliable && this.reliable === undefined) {
      headers.push(['Require', '100rel'], ['RSeq', this.nextRSeq]);
    }
    let body: string | undefined;
    if (earlyMedia && this.offer !== undefined) {
      this.earlyAnswer ??= this.answerFor(this.offer, undefined);
      headers.push(['Content-Type', 'application/sdp']);
      body = serializeSdp(this.earlyAnswer);
      const n = negotiated(this.earlyAnswer, this.offer);
      if (n !== undefined) {
        this.media = n;
        emitSafely(this, 'media', n);
      }
    }
    const res = createResponse(req, status, reason, { toTag: this.localTag, headers, body });
    this.earlyDialog(res);
    this.invite.respond(res);
    if (reliable && this.reliable === undefined) this.retransmitReliable(res, this.nextRSeq++);
  }

  /** RFC 3262 §3: T1, doubling, until PRACK; after 64*T1 the INVITE is refused with 5xx. */
  private retransmitReliable(res: SipResponse, rseq: number): void {
    const clock = this.ua.stack.transactions.clock;
    const { t1 } = this.ua.stack.transactions.timers;
    const started = clock.now();
    let interval = t1;
    const tick = () => {
      if (this.final || this.reliable?.rseq !== rseq) return;
      if (clock.now() - started >= 64 * t1) {
        this.reliable = undefined;
        this.reject(500, 'Reliable Provisional Response Not Acknowledged');
        return;
      }
      if (this.invite.source.transport === 'udp') this.invite.respond(res);
      interval *= 2;
      if (this.reliable !== undefined) this.reliable.timer = clock.set(interval, tick);
    };
    let acked: () => void = () => {};
    const wait = new Promise<void>((r) => {
      acked = r;
    });
    this.reliable = { rseq, timer: clock.set(interval, tick), acked };
    this.prackWait = wait;
  }

  /** Resolves once the outstanding reliable provisional response (if any) is PRACKed. */
  private prackWait: Promise<void> = Promise.resolve();

  protected override receivePrack(incoming: IncomingRequest): void {
    const rack = incoming.request.get('RAck') ?? '';
    const [rseq, cseq] = rack.trim().split(/\s+/).map(Number);
    const r = this.reliable;
    if (r === undefined || rseq !== r.rseq || cseq !== this.invite.request.cseq?.seq) {
      // RFC 3262 §3: a PRACK that matches no unacknowledged reliable provisional response.
      incoming.respond(481, 'Call/Transaction Does Not Exist');
      return;
    }
    this.ua.stack.transactions.clock.clear(r.timer);
    this.reliable = undefined;
    incoming.respond(200, 'OK');
    r.acked();
  }

  private earlyDialog(res: SipResponse): void {
    if (this.dialog !== undefined) return;
    try {
      this.dialog = Dialog.asUas(this.invite.request, res, this.invite.source.transport === 'tls');
    } catch {
      return;
    }
    this.track(this.dialog);
  }

  /**
   * Answers the call with 200 and SDP: the answer to the caller's offer
   * (our codecs against theirs), or our offer when the INVITE had none.
   * Resolves when the ACK arrives; rejects when none comes within 64*T1
   * (the call is then ended with BYE, RFC 3261 §13.3.1.4).
   */
  async answer(
    options: { sdp?: SessionDescription; headers?: ReadonlyArray<readonly [string, HeaderValue]> } = {},
  ): Promise<void> {
    if (this.final) throw new Error('the call was already answered or ended');
    await this.prackWait;
    if (this.final) throw new Error('the call ended before it was answered');
    let body: SessionDescription;
    if (this.offer !== undefined) {
      this.sdp.setRemoteOffer(this.offer);
      try {
        body = options.sdp ?? this.earlyAnswer ?? this.answerFor(this.offer, undefined);
        this.sdp.setLocalAnswer(body);
      } catch (e) {
        this.sdp.rollback();
        this.reject(488, 'Not Acceptable Here');
        throw e instanceof SdpNegotiationError ? e : new SdpNegotiationError(String(e));
      }
    } else {
      body = options.sdp ?? createOffer(this.ua.media);
      this.sdp.setLocalOffer(body);
    }
    const res = createResponse(this.invite.request, 200, 'OK', {
      toTag: this.localTag,
      headers: [
        ['Contact', this.ua.contactFor(this.invite.source.transport)],
        ...recordRoutes(this.invite.request),
        ['Allow', ALLOWED_METHODS.join(', ')],
        ['Supported', SUPPORTED_OPTIONS.join(', ')],
        ['Content-Type', 'application/sdp'],
        ...(options.headers ?? []),
      ],
      body: serializeSdp(body),
    });
    this.earlyDialog(res);
    const dialog = this.dialog;
    if (dialog === undefined) {
      // The INVITE was checked when it came, so this should not happen; if it does, the
      // call ends with an answer rather than waiting for one that never comes.
      this.reject(500, 'Server Internal Error');
      throw new Error('no dialog could be made from the INVITE');
    }
    this.final = true;
    dialog.confirm();
    this.invite.respond(res);
    this.done();
    this.stateValue = 'answered';
    emitSafely(this, 'answered');
    if (this.offer !== undefined) this.mediaChanged();
    await this.sendUntilAcked(this.invite, res, dialog);
  }

  /** Refuses the call with a final response (486 Busy Here by default). */
  reject(status = 486, reason?: string): void {
    if (this.final) return;
    this.final = true;
    this.invite.respond(status, reason);
    this.done();
    this.end({ by: 'local', reason: `rejected with ${status}`, status });
  }

  async hangup(): Promise<void> {
    if (this.stateValue === 'answered') return this.bye();
    this.reject(603, 'Decline');
  }

  /** @internal The caller sent CANCEL (§9.2): 487 for the INVITE, and the call is over. */
  cancelled(): void {
    if (this.final) return;
    this.final = true;
    this.invite.respond(487, 'Request Terminated');
    this.done();
    this.end({ by: 'remote', reason: 'cancelled', status: 487 });
  }

  protected override onEnd(): void {
    const clock = this.ua.stack.transactions.clock;
    if (this.reliable !== undefined) clock.clear(this.reliable.timer);
    this.reliable = undefined;
    // A call over before its INVITE was answered (a BYE in the early dialog, a request in it
    // answered 481 or 408): §15.1.2, "The UAS MUST still respond to any pending requests
    // received for that dialog. It is RECOMMENDED that a 487 (Request Terminated) response
    // be generated to those pending requests."
    if (!this.final) {
      this.final = true;
      try {
        this.invite.respond(487, 'Request Terminated');
      } catch {
        // The transaction ended already (a transport error): nothing is left to answer.
      }
      this.done();
    }
  }
}

/**
 * The session description a message carries: its body when that is
 * application/sdp, or the application/sdp part of a multipart/mixed or
 * multipart/alternative body (RFC 5621; gateways send SDP beside ISUP this
 * way). Other parts are left unread. Undefined when there is none; throws
 * SipParseError for a multipart body that does not split.
 */
function sdpBody(m: SipRequest | SipResponse): Buffer | undefined {
  if (m.bodyLength === 0) return undefined;
  const ct = m.contentType;
  if (ct === undefined) return undefined;
  if (ct.essence === 'application/sdp') return m.body;
  if (ct.type.toLowerCase() !== 'multipart') return undefined;
  const sdp = m.bodyParts().filter((p) => p.contentType.essence === 'application/sdp');
  // RFC 2046 §5.1.4: of alternatives, the last is the one preferred.
  return (ct.subtype.toLowerCase() === 'alternative' ? sdp.at(-1) : sdp[0])?.body;
}

/** Credentials that were accepted for the INVITE go on its ACK too (RFC 3261 §22.1 ACK rule). */
function copyCredentials(from: SipRequest, to: SipRequest): void {
  for (const name of ['Authorization', 'Proxy-Authorization']) {
    for (const v of from.getAll(name)) to.appendHeader(name, v);
  }
}

function warningText(e: unknown): string {
  return quoteSafe(e instanceof Error ? e.message : String(e));
}

/** Text for a quoted-string in a Warning header: no quote, backslash or control character (RFC 3261 §25.1 qdtext). */
function quoteSafe(s: string): string {
  return s.replace(/["\\\x00-\x08\x0a-\x1f\x7f]/g, ' ').slice(0, 200);
}

/**
 * RFC 3261 §12.1.1: a response that makes a dialog carries every
 * Record-Route of the request, in order, so the caller's route set matches.
 */
function recordRoutes(req: SipRequest): Array<[string, HeaderValue]> {
  return req.getAll('Record-Route').map((v) => ['Record-Route', rawValue(v)]);
}
