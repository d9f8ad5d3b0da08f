import { type HeaderValue, SipRequest, type SipResponse } from '../message/message.js';
import { NameAddr } from '../message/name-addr.js';
import type { SipUri, Uri } from '../message/uri.js';

export type DialogState = 'early' | 'confirmed' | 'terminated';

/** The key of a dialog as seen from this side: Call-ID, local tag, remote tag (RFC 3261 §12). */
export function dialogKey(callId: string, localTag: string, remoteTag: string): string {
  return `${callId}\n${localTag}\n${remoteTag}`;
}

/** Methods that refresh the remote target (RFC 3261 §12.2, RFC 3311 §5.2). */
const TARGET_REFRESH = new Set(['INVITE', 'UPDATE', 'SUBSCRIBE', 'NOTIFY', 'REFER']);

/** URI parameters a Request-URI may not carry when copied from a Route (RFC 3261 §12.2.1.1, §19.1.1 table). */
const NOT_IN_REQUEST_URI = ['method', 'ttl', 'maddr', 'lr'];

/** Why an in-dialog request was refused (RFC 3261 §12.2.2). */
export interface DialogRejection {
  readonly status: number;
  readonly reason: string;
}

/**
 * The state of one dialog (RFC 3261 §12): Call-ID, tags, sequence numbers,
 * the URIs of both sides, the remote target and the route set. It builds
 * the requests sent in the dialog (§12.2.1.1) and checks those received
 * (§12.2.2). It does no I/O.
 */
export class Dialog {
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
  /** The local party (From of the requests this side sends), without tag. */
  readonly localUri: NameAddr;
  /** The remote party (To of the requests this side sends), without tag. */
  readonly remoteUri: NameAddr;
  /** Where requests go (the peer's Contact); refreshed by target-refresh requests and their 2xx. */
  remoteTarget: Uri;
  /** Route set, first hop first; fixed once the dialog is confirmed (§12.1). */
  routeSet: NameAddr[];
  /** CSeq of the last request sent in the dialog. */
  localSeq: number;
  /** CSeq of the last request received in the dialog; undefined until one arrives. */
  remoteSeq: number | undefined;
  /** True when the dialog was made over TLS with a sips Request-URI (§12.1.1). */
  readonly secure: boolean;
  private stateValue: DialogState;
  /** True for the side that sent the initial request. */
  readonly isUac: boolean;

  private constructor(init: {
    callId: string;
    localTag: string;
    remoteTag: string;
    localUri: NameAddr;
    remoteUri: NameAddr;
    remoteTarget: Uri;
    routeSet: NameAddr[];
    localSeq: number;
    remoteSeq: number | undefined;
    secure: boolean;
    state: DialogState;
    isUac: boolean;
  }) {
    this.callId = init.callId;
    this.localTag = init.localTag;
    this.remoteTag = init.remoteTag;
    this.localUri = init.localUri;
    this.remoteUri = init.remoteUri;
    this.remoteTarget = init.remoteTarget;
    this.routeSet = init.routeSet;
    this.localSeq = init.localSeq;
    this.remoteSeq = init.remoteSeq;
    this.secure = init.secure;
    this.stateValue = init.state;
    this.isUac = init.isUac;
  }

  /**
   * The UAS side of a dialog, from the request and the response that makes
   * it (a 101-199 with a To tag: early; a 2xx: confirmed). §12.1.1: the route
   * set is the request's Record-Route in order, the remote target its Contact.
   */
  static asUas(request: SipRequest, response: SipResponse, secure = false): Dialog {
    const from = request.from as NameAddr;
    const to = response.to as NameAddr;
    const contact = request.contact[0];
    if (contact?.wildcard) throw new RangeError("the request's Contact is '*'");
    const localTag = to.tag;
    if (localTag === undefined) throw new RangeError('the response has no To tag');
    return new Dialog({
      callId: request.callId as string,
      localTag,
      remoteTag: from.tag ?? '',
      localUri: (request.to as NameAddr).withoutParam('tag'),
      remoteUri: from.withoutParam('tag'),
      // RFC 2543 §4.2.4: without a Contact, requests go to the From address.
      remoteTarget: contact === undefined ? from.uri : contact.uri,
      routeSet: request.recordRoute,
      localSeq: 0,
      remoteSeq: request.cseq?.seq,
      secure,
      state: response.status >= 200 ? 'confirmed' : 'early',
      isUac: false,
    });
  }

  /**
   * The UAC side, from the request sent and a response with a To tag.
   * §12.1.2: the route set is the response's Record-Route in reverse order,
   * the remote target its Contact.
   */
  static asUac(request: SipRequest, response: SipResponse): Dialog {
    const from = request.from as NameAddr;
    const to = response.to as NameAddr;
    // §12.1.2: "A UAC MUST be prepared to receive a response without a tag in the To field, in
    // which case the tag is considered to have a value of null" (RFC 2543 compatibility).
    const remoteTag = to.tag ?? '';
    const contact = response.contact[0];
    const uri = request.uri;
    return new Dialog({
      callId: request.callId as string,
      localTag: from.tag ?? '',
      remoteTag,
      localUri: from.withoutParam('tag'),
      remoteUri: (request.to as NameAddr).withoutParam('tag'),
      // A 1xx may come without Contact; the Request-URI stands in until one arrives.
      remoteTarget: contact !== undefined && !contact.wildcard ? contact.uri : uri,
      routeSet: response.recordRoute.slice().reverse(),
      localSeq: request.cseq?.seq ?? 1,
      remoteSeq: undefined,
      secure: uri.scheme === 'sips',
      state: response.status >= 200 ? 'confirmed' : 'early',
      isUac: true,
    });
  }

  get key(): string {
    return dialogKey(this.callId, this.localTag, this.remoteTag);
  }

  get state(): DialogState {
    return this.stateValue;
  }

  /**
   * A 2xx for the initial request confirms an early dialog (§13.2.2.4). On
   * the UAC side it may bring a Record-Route the 1xx lacked: the route set
   * is taken again from the 2xx (§12.1.2 "MUST be set ... from the 2xx").
   */
  confirm(response?: SipResponse): void {
    if (this.stateValue === 'terminated') return;
    if (response !== undefined && this.isUac) {
      this.routeSet = response.recordRoute.slice().reverse();
      const contact = response.contact[0];
      if (contact !== undefined && !contact.wildcard) this.remoteTarget = contact.uri;
    }
    this.stateValue = 'confirmed';
  }

  terminate(): void {
    this.stateValue = 'terminated';
  }

  /**
   * Builds a request in the dialog (§12.2.1.1): To, From, Call-ID, the next
   * CSeq (ACK and CANCEL reuse the INVITE's, given as `cseq`), Request-URI
   * and Route from the remote target and route set, loose or strict.
   * The stack adds Via; the caller adds Contact, Max-Forwards is set to 70.
   */
  createRequest(
    method: string,
    options: {
      headers?: ReadonlyArray<readonly [string, HeaderValue]>;
      body?: Buffer | string;
      cseq?: number;
    } = {},
  ): SipRequest {
    let seq: number;
    if (options.cseq !== undefined) seq = options.cseq;
    else {
      this.localSeq += 1;
      seq = this.localSeq;
    }
    const { uri, routes } = this.requestTarget();
    const req = new SipRequest({
      method,
      uri,
      headers: [
        ['Max-Forwards', 70],
        // A tag that is null (§12.1.1: an RFC 2543 peer's From without one) is left out, not written empty.
        ['To', this.remoteTag === '' ? this.remoteUri : this.remoteUri.withTag(this.remoteTag)],
        ['From', this.localTag === '' ? this.localUri : this.localUri.withTag(this.localTag)],
        ['Call-ID', this.callId],
        ['CSeq', `${seq} ${method}`],
      ],
      body: options.body,
    });
    for (const r of routes) req.appendHeader('Route', r);
    for (const [name, value] of options.headers ?? []) req.appendHeader(name, value);
    return req;
  }

  /** Request-URI and Route values for the next request (§12.2.1.1, loose and strict routing). */
  requestTarget(): { uri: Uri; routes: NameAddr[] } {
    const first = this.routeSet[0];
    if (first === undefined) return { uri: this.remoteTarget, routes: [] };
    const firstUri = first.uri;
    if (firstUri.kind !== 'sip' || (firstUri as SipUri).lr) {
      return { uri: this.remoteTarget, routes: this.routeSet };
    }
    // A strict router (RFC 2543): it goes in the Request-URI, the remote target at the end of Route.
    let uri = firstUri as SipUri;
    for (const p of NOT_IN_REQUEST_URI) uri = uri.withoutParam(p);
    return {
      uri: uri.withoutHeaders(),
      routes: [...this.routeSet.slice(1), new NameAddr(this.remoteTarget)],
    };
  }

  /**
   * Checks a request received in the dialog (§12.2.2): a CSeq lower than
   * the last one is answered 500; a target-refresh request moves the remote
   * target to its Contact. Returns the rejection, or null to go on.
   */
  receiveRequest(request: SipRequest): DialogRejection | null {
    const seq = request.cseq?.seq;
    if (seq === undefined) return { status: 400, reason: 'Missing CSeq header' };
    // ACK and CANCEL carry the CSeq number of the request they belong to.
    if (request.method !== 'ACK' && request.method !== 'CANCEL') {
      if (this.remoteSeq !== undefined && seq <= this.remoteSeq) {
        // An equal number is a retransmission the transaction layer absorbs; anything else is out of order.
        return { status: 500, reason: 'Server Internal Error (CSeq out of order)' };
      }
      this.remoteSeq = seq;
    }
    if (TARGET_REFRESH.has(request.method)) this.refreshTarget(request);
    return null;
  }

  /** A target-refresh request or its 2xx: the remote target becomes its Contact (§12.2). */
  refreshTarget(message: SipRequest | SipResponse): void {
    const contact = message.contact[0];
    if (contact !== undefined && !contact.wildcard) this.remoteTarget = contact.uri;
  }
}
