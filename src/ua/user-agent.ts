import { EventEmitter } from 'node:events';
import { chooseChallenge, DigestClient } from '../auth/digest.js';
import { TransportError } from '../errors.js';
import type { AuthHeader } from '../message/auth-header.js';
import { newCallId, newTag } from '../message/ids.js';
import { SipRequest, type SipResponse } from '../message/message.js';
import { type ContactValue, NameAddr } from '../message/name-addr.js';
import { own } from '../message/text.js';
import { parseUri, type SipUri, type Uri } from '../message/uri.js';
import type { Codec } from '../sdp/offer-answer.js';
import type { IncomingRequest, OutgoingRequest, SipStack } from '../stack/sip-stack.js';
import type { TransportName } from '../transport/address.js';
import type { Source, Target } from '../transport/transport-layer.js';
import { type Call, type CallOptions, IncomingCall, OutgoingCall } from './call.js';
import { dialogKey } from './dialog.js';
import { offerRequest, toProcess } from './events.js';
import { Registration, type RegistrationOptions } from './registration.js';
import { uriHeaderFields } from './uri-headers.js';

/** Methods this user agent answers (RFC 3261 §20.5 Allow). */
export const ALLOWED_METHODS = [
  'INVITE',
  'ACK',
  'BYE',
  'CANCEL',
  'OPTIONS',
  'INFO',
  'MESSAGE',
  'UPDATE',
  'PRACK',
  'REFER',
  'NOTIFY',
];
/** Dialogs remembered after their end (for Replaces, RFC 3891 §3): a bound on the memory they take. */
const MAX_RECENTLY_ENDED = 4096;

/** Option tags this user agent supports (RFC 3261 §20.37). */
export const SUPPORTED_OPTIONS = ['100rel', 'replaces'];

export interface UserAgentOptions {
  /** The identity this agent calls from and registers: its address of record, e.g. sip:alice@example.com. */
  uri: string | SipUri;
  displayName?: string;
  /** Credentials for 401/407 challenges (RFC 3261 §22.2). */
  auth?: { username: string; password: string; realm?: string };
  /** Sends every request outside a dialog through this proxy (a preloaded Route with lr, RFC 3261 §8.1.2). */
  outboundProxy?: string;
  /** The address and port written in SDP for media, and the codecs offered and accepted. */
  media?: { address?: string; port?: number; codecs?: Codec[] };
  /** User-Agent header value. */
  userAgent?: string;
  /** How many times a request is re-sent with credentials before its 401/407 is final (default 2). */
  maxAuthAttempts?: number;
}

export interface UserAgentEvents {
  /** A request to the agent outside any dialog that it does not answer by itself (MESSAGE). */
  message: [request: IncomingRequest];
}

/** A request was answered with a failure; the response is attached. */
export class RequestFailedError extends Error {
  readonly status: number;
  readonly reason: string;
  readonly response: SipResponse | undefined;

  constructor(status: number, reason: string, response?: SipResponse) {
    super(`${status} ${reason}`);
    this.name = 'RequestFailedError';
    this.status = status;
    this.reason = reason;
    this.response = response;
  }
}

const DEFAULT_CODECS: Codec[] = [
  { name: 'PCMU', clockRate: 8000, payloadType: 0 },
  { name: 'PCMA', clockRate: 8000, payloadType: 8 },
  { name: 'telephone-event', clockRate: 8000, payloadType: 101, fmtp: '0-16' },
];

/**
 * A SIP user agent (RFC 3261 §8, §12-§15) on a SipStack: places and answers
 * calls, keeps their dialogs, answers OPTIONS, sends and receives MESSAGE,
 * registers, and answers digest challenges for every request it sends.
 */
export class UserAgent extends EventEmitter<UserAgentEvents> {
  readonly stack: SipStack;
  readonly uri: SipUri;
  readonly displayName: string | undefined;
  readonly media: { address: string; port: number; codecs: Codec[] };
  readonly userAgent: string;
  /** @internal Calls by dialog key (early and confirmed dialogs). */
  readonly dialogs: Map<string, Call>;
  /** @internal Outgoing calls by Call-ID + From tag, until their dialogs exist. */
  readonly pending: Map<string, OutgoingCall>;
  /**
   * Dialogs ended in the last 64*T1, by key, with when (for RFC 3891 §3: a
   * Replaces naming a call just over gets 603, not 481). Oldest first; at
   * most MAX_RECENTLY_ENDED.
   */
  private readonly recentlyEnded: Map<string, number>;
  private readonly digest: DigestClient | undefined;
  private readonly outbound: NameAddr | undefined;
  private readonly maxAuthAttempts: number;
  private callHandler: ((call: IncomingCall) => unknown) | undefined;
  /** Initial INVITEs being answered, by Call-ID + From tag + CSeq, to spot merged requests (§8.2.2.2). */
  private readonly inProgress: Map<string, string>;
  /** Incoming calls by their INVITE, for CANCEL. */
  private readonly incomingCalls: WeakMap<IncomingRequest, IncomingCall>;

  constructor(stack: SipStack, options: UserAgentOptions) {
    super();
    this.stack = stack;
    const uri = typeof options.uri === 'string' ? parseUri(options.uri) : options.uri;
    if (uri.kind !== 'sip')
      throw new RangeError(`a user agent needs a sip: or sips: URI, got ${uri.toString()}`);
    this.uri = uri as SipUri;
    this.displayName = options.displayName;
    this.media = {
      address: options.media?.address ?? '127.0.0.1',
      port: options.media?.port ?? 40000,
      codecs: options.media?.codecs ?? DEFAULT_CODECS,
    };
    this.userAgent = options.userAgent ?? 'sipwire';
    this.digest = options.auth !== undefined ? new DigestClient(options.auth) : undefined;
    this.outbound =
      options.outboundProxy !== undefined ? new NameAddr(withLr(parseUri(options.outboundProxy))) : undefined;
    this.maxAuthAttempts = options.maxAuthAttempts ?? 2;
    this.dialogs = new Map();
    this.recentlyEnded = new Map();
    this.pending = new Map();
    this.inProgress = new Map();
    this.incomingCalls = new WeakMap();
    this.callHandler = undefined;
    // A user agent validates what it receives as the endpoint it is (RFC 3261 §8.2).
    if (stack.role === 'proxy') stack.role = 'endpoint';
    stack.onRequest((incoming) => this.receive(incoming));
    stack.onAck((ack, source) => this.receiveAck(ack, source));
    stack.onStrayResponse((res) => this.strayResponse(res));
  }

  // ---- public API -------------------------------------------------------------

  /**
   * Handles each new incoming call (an async function will do). Without a
   * handler, calls are refused with 480; a handler that throws, or whose
   * promise rejects, has its call refused with 500 unless it was answered.
   */
  onCall(handler: (call: IncomingCall) => unknown): this {
    this.callHandler = handler;
    return this;
  }

  /**
   * Calls `target` (a SIP URI). The returned call reports progress as events;
   * `await call.answered` resolves when the call is answered and rejects with
   * RequestFailedError (status and response) when it is not.
   */
  call(target: string | Uri, options: CallOptions = {}): OutgoingCall {
    const call = new OutgoingCall(this, typeof target === 'string' ? parseUri(target) : target, options);
    call.start();
    return call;
  }

  /** Sends OPTIONS to `target` (RFC 3261 §11) and resolves with the final response, whatever its status. */
  async options(target: string | Uri, options: { target?: string | Target } = {}): Promise<SipResponse> {
    const req = this.newRequest('OPTIONS', target);
    req.appendHeader('Accept', 'application/sdp');
    const { response } = await this.send(req, { target: options.target });
    return response;
  }

  /** Sends a MESSAGE (RFC 3428) outside a dialog; resolves with the 2xx, rejects with RequestFailedError. */
  async message(
    target: string | Uri,
    text: string,
    contentType = 'text/plain;charset=utf-8',
  ): Promise<SipResponse> {
    const req = this.newRequest('MESSAGE', target);
    req.appendHeader('Content-Type', contentType);
    req.body = Buffer.from(text, 'utf8');
    const { response } = await this.send(req, { redirects: 5 });
    if (response.status >= 300) throw new RequestFailedError(response.status, response.reason, response);
    return response;
  }

  /** Registers this agent's contact with a registrar and keeps it registered (RFC 3261 §10.2). */
  register(options: RegistrationOptions = {}): Registration {
    const reg = new Registration(this, options);
    void reg.start().catch(() => {});
    return reg;
  }

  // ---- sending ------------------------------------------------------------------

  /** A request outside any dialog: new Call-ID and From tag, CSeq 1 (RFC 3261 §8.1.1). */
  newRequest(
    method: string,
    target: string | Uri,
    extra: { callId?: string; cseq?: number } = {},
  ): SipRequest {
    const uri = typeof target === 'string' ? parseUri(target) : target;
    const req = new SipRequest({
      method,
      uri,
      headers: [
        ['Max-Forwards', 70],
        ['To', new NameAddr(toUri(uri))],
        ['From', new NameAddr(this.uri, this.displayName, { tag: newTag() })],
        ['Call-ID', extra.callId ?? newCallId()],
        ['CSeq', `${extra.cseq ?? 1} ${method}`],
      ],
    });
    if (this.outbound !== undefined) req.appendHeader('Route', this.outbound);
    req.appendHeader('User-Agent', this.userAgent);
    return req;
  }

  /** The Contact for requests sent over `transport` (RFC 3261 §8.1.1.8), with transport when not UDP. */
  contactFor(transport: TransportName, user = this.uri.user): NameAddr {
    const sentBy = this.stack.sentBy(transport) ?? '127.0.0.1:5060';
    const scheme = this.uri.scheme === 'sips' ? 'sips' : 'sip';
    const param =
      transport === 'udp' || (transport === 'tls' && scheme === 'sips') ? '' : `;transport=${transport}`;
    return new NameAddr(`${scheme}:${user !== undefined ? `${user}@` : ''}${sentBy}${param}`);
  }

  /**
   * Sends a request through a client transaction and answers 401/407 with
   * credentials (RFC 3261 §22.2): the request goes again with a new CSeq and
   * branch. `onAttempt` sees each OutgoingRequest (to cancel it, or to watch
   * its provisional responses). `nextCSeq` gives the CSeq for a retry (a
   * dialog's next number); by default the old one plus one.
   */
  async send(
    request: SipRequest,
    options: {
      target?: string | Target;
      /** Write a Contact for the transport chosen: true for the agent's own, or a function making one. */
      contact?: boolean | ((transport: TransportName) => NameAddr);
      onAttempt?: (out: OutgoingRequest) => void;
      nextCSeq?: () => number;
      /**
       * Most new requests made from 3xx responses (RFC 3261 §8.1.3.4), 0 (the
       * default) to return the 3xx as the answer.
       */
      redirects?: number;
    } = {},
  ): Promise<{ response: SipResponse; request: SipRequest }> {
    let req = request;
    let base = request.clone();
    let target = options.target;
    // §8.1.3.4: the target set, every URI in it once (a redirect loop ends there), tried in turn.
    const tried = new Set<string>([request.uriRaw]);
    const untried: SipUri[] = [];
    let redirectsLeft = options.redirects ?? 0;
    const secure = request.uriRaw.slice(0, 5).toLowerCase() === 'sips:';
    let authAttempts = 0;
    const contact = options.contact;
    const contactMaker =
      typeof contact === 'function'
        ? contact
        : contact === true
          ? (t: TransportName) => this.contactFor(t)
          : undefined;
    for (;;) {
      const out = await this.stack.request(req, {
        target,
        prepare: contactMaker ? (r, t) => r.setHeader('Contact', contactMaker(t.transport)) : undefined,
      });
      options.onAttempt?.(out);
      const response = await out.final.catch((e: unknown) => {
        throw e instanceof TransportError
          ? new RequestFailedError(503, `Service Unavailable (${e.message})`)
          : new RequestFailedError(408, `Request Timeout (${(e as Error).message})`);
      });
      const challengeHeader =
        response.status === 401
          ? 'WWW-Authenticate'
          : response.status === 407
            ? 'Proxy-Authenticate'
            : undefined;
      if (
        challengeHeader === undefined ||
        this.digest === undefined ||
        authAttempts >= this.maxAuthAttempts
      ) {
        // §8.1.3.4: a 3xx adds its Contact URIs to the target set; a failure (or a 3xx with
        // nothing new) moves on to the next URI in it, until the set is exhausted.
        if (response.status >= 300 && response.status < 400 && redirectsLeft > 0) {
          for (const uri of redirectTargets(response, secure)) {
            const key = uri.toString();
            if (!tried.has(key)) {
              tried.add(key);
              untried.push(uri);
            }
          }
        }
        const next = response.status >= 300 && redirectsLeft > 0 ? untried.shift() : undefined;
        if (next === undefined) return { response, request: out.request };
        redirectsLeft--;
        authAttempts = 0;
        // A new request for the next target: the same To, From, Call-ID, header fields and
        // body, a new CSeq (and, from the stack, a new branch); where it goes is found anew.
        base = request.clone();
        // §19.1.5: the URI's header fields go in the request, but for those that would forge it.
        base.uri = next.withoutHeaders();
        for (const [n, v] of uriHeaderFields(next)) base.setHeader(n, v);
        base.setHeader('CSeq', `${options.nextCSeq?.() ?? (req.cseq?.seq ?? 1) + 1} ${req.method}`);
        req = base.clone();
        target = undefined;
        continue;
      }
      authAttempts++;
      // RFC 3261 §22.1: CANCEL and ACK cannot be challenged; a challenge to them is final.
      if (req.method === 'CANCEL' || req.method === 'ACK') return { response, request: out.request };
      const challenge = chooseChallenge(authValues(response, challengeHeader));
      if (challenge === undefined) return { response, request: out.request };
      const credentialsHeader =
        challengeHeader === 'WWW-Authenticate' ? 'Authorization' : 'Proxy-Authorization';
      let credentials: AuthHeader;
      try {
        credentials = this.digest.authorize(challenge, {
          method: req.method,
          uri: req.uriRaw,
          body: req.body,
        });
      } catch {
        return { response, request: out.request };
      }
      // Credentials for other realms stay (a proxy's and a registrar's, §22.3); this realm's are replaced.
      const realm = challenge.get('realm');
      const kept = authValues(base, credentialsHeader).filter((v) => v.get('realm') !== realm);
      base.removeHeader(credentialsHeader);
      for (const v of kept) base.appendHeader(credentialsHeader, v);
      base.appendHeader(credentialsHeader, credentials);
      // §22.2: the new request has a new CSeq (and, from the stack, a new branch).
      base.setHeader('CSeq', `${options.nextCSeq?.() ?? (req.cseq?.seq ?? 1) + 1} ${req.method}`);
      req = base.clone();
    }
  }

  // ---- receiving ----------------------------------------------------------------

  private receive(incoming: IncomingRequest): void {
    const req = incoming.request;
    const method = req.method;
    if (method === 'CANCEL') {
      this.receiveCancel(incoming);
      return;
    }
    const toTag = req.to?.tag;
    if (toTag !== undefined) {
      const call = this.dialogs.get(dialogKey(req.callId ?? '', toTag, req.from?.tag ?? ''));
      // §12.2.2: a request naming a dialog this agent does not have.
      if (call === undefined) incoming.respond(481, 'Call/Transaction Does Not Exist');
      else call.receive(incoming);
      return;
    }
    switch (method) {
      case 'INVITE':
        this.receiveInvite(incoming);
        return;
      case 'OPTIONS':
        // §11.2: answered as an INVITE would be, with what the agent supports.
        incoming.respond(200, 'OK', { headers: this.capabilities() });
        return;
      case 'MESSAGE':
        offerRequest(this, 'message', incoming);
        return;
      case 'BYE':
      case 'UPDATE':
      case 'PRACK':
      case 'INFO':
        incoming.respond(481, 'Call/Transaction Does Not Exist');
        return;
      case 'NOTIFY':
        // RFC 6665 §4.1.3: no subscription of this agent's lives outside a call.
        incoming.respond(481, 'Subscription Does Not Exist');
        return;
      case 'REFER':
        // RFC 3515 §2.4.2: a transfer is taken only within a call; outside one it is declined.
        incoming.respond(603, 'Decline');
        return;
      default:
        incoming.respond(405, 'Method Not Allowed', { headers: [['Allow', ALLOWED_METHODS.join(', ')]] });
    }
  }

  /** Allow, Accept, Supported (RFC 3261 §11.2). */
  capabilities(): Array<[string, string]> {
    return [
      ['Allow', ALLOWED_METHODS.join(', ')],
      ['Accept', 'application/sdp'],
      ['Supported', SUPPORTED_OPTIONS.join(', ')],
      ['User-Agent', this.userAgent],
    ];
  }

  private receiveInvite(incoming: IncomingRequest): void {
    const req = incoming.request;
    // §8.2.2.2: the same request arriving by two paths is a loop or a merge: 482 for the second.
    const mergeKey = `${req.callId}\n${req.from?.tag ?? ''}\n${req.cseq?.seq}`;
    const branch = req.topVia?.branch ?? '';
    const known = this.inProgress.get(mergeKey);
    if (known !== undefined && known !== branch) {
      incoming.respond(482, 'Loop Detected');
      return;
    }
    // §8.1.1.8: an INVITE's Contact is exactly one SIP or SIPS URI, where the requests of the
    // dialog go. An INVITE without one is taken as RFC 2543 allowed it: they go to the From
    // address instead (RFC 2543 §4.2.4, Dialog.asUas).
    const contacts = req.contact;
    const target = contacts[0];
    if (contacts.length > 1 || (target !== undefined && (target.wildcard || target.uri.kind !== 'sip'))) {
      incoming.respond(400, 'Bad Contact header', {
        headers: [['Warning', `399 ${this.uri.host} "an INVITE's Contact must be one SIP or SIPS URI"`]],
      });
      return;
    }
    const replacing = this.replacedBy(req);
    if (replacing?.refuse !== undefined) {
      incoming.respond(replacing.refuse.status, replacing.refuse.reason);
      return;
    }
    const replaced = replacing?.call;
    if (this.callHandler === undefined) {
      incoming.respond(480, 'Temporarily Unavailable');
      return;
    }
    this.inProgress.set(mergeKey, branch);
    const call = new IncomingCall(this, incoming, () => this.inProgress.delete(mergeKey));
    if (!call.acceptable) return;
    if (replaced !== undefined) {
      // RFC 3891 §3: answering the new call shuts the replaced one down (BYE, or CANCEL while ours
      // is early); refusing it leaves the replaced call as it is. The handler decides (call.replaces).
      call.replaces = replaced;
      call.once('answered', () => {
        void replaced.hangup().catch(() => {});
      });
    }
    this.incomingCalls.set(incoming, call);
    // A handler that fails (throws, or its promise rejects) does not leave the INVITE waiting:
    // the call is refused with 500 unless it was answered, and the error goes on to the process
    // as any error of application code does.
    let pending: unknown;
    try {
      pending = this.callHandler(call);
    } catch (e) {
      call.reject(500, 'Server Internal Error');
      throw e;
    }
    if (pending instanceof Promise) {
      pending.catch((e: unknown) => {
        call.reject(500, 'Server Internal Error');
        toProcess(e);
      });
    }
  }

  /**
   * RFC 3891 §3: the call an INVITE's Replaces names, matched as if its tags
   * came in a request (to-tag ours, from-tag theirs); undefined without
   * Replaces, else the response that refuses the INVITE.
   */
  private replacedBy(
    req: SipRequest,
  ): { call?: Call; refuse?: { status: number; reason: string } } | undefined {
    const values = req.getAll('Replaces');
    if (values.length === 0) return undefined;
    const bad = { refuse: { status: 400, reason: 'Bad Replaces header' } };
    if (values.length > 1) return bad;
    const r = parseReplaces(values[0] as string);
    if (r === undefined) return bad;
    const key = dialogKey(r.callId, r.toTag, r.fromTag);
    const call = this.dialogs.get(key);
    const none = { refuse: { status: 481, reason: 'Call/Transaction Does Not Exist' } };
    // §3: a call just ended is declined (no ringing for a replacement no one wants).
    if (call === undefined || call.state === 'ended')
      return this.endedLately(key) ? { refuse: { status: 603, reason: 'Declined' } } : none;
    if (call.state === 'answered')
      return r.earlyOnly ? { refuse: { status: 486, reason: 'Busy Here' } } : { call };
    // An early dialog: replaced only when this agent started it.
    return call instanceof OutgoingCall ? { call } : none;
  }

  /** @internal A call's dialog is over: remembered for 64*T1. */
  noteEnded(key: string): void {
    const now = this.stack.transactions.clock.now();
    this.recentlyEnded.delete(key);
    // A copy of its own: the key is cut from message text a peer wrote, and would keep all of it.
    this.recentlyEnded.set(own(key), now);
    const horizon = now - 64 * this.stack.transactions.timers.t1;
    for (const [k, at] of this.recentlyEnded) {
      if (at > horizon && this.recentlyEnded.size <= MAX_RECENTLY_ENDED) break;
      this.recentlyEnded.delete(k);
    }
  }

  private endedLately(key: string): boolean {
    const at = this.recentlyEnded.get(key);
    return (
      at !== undefined && this.stack.transactions.clock.now() - at < 64 * this.stack.transactions.timers.t1
    );
  }

  private receiveCancel(incoming: IncomingRequest): void {
    const invite = incoming.cancelled;
    if (invite === undefined) {
      // §9.2: a CANCEL matching no transaction.
      incoming.respond(481, 'Call/Transaction Does Not Exist');
      return;
    }
    incoming.respond(200, 'OK');
    const call = this.incomingCalls.get(invite);
    if (call !== undefined) call.cancelled();
    // §9.2: the INVITE, still unanswered, ends with 487.
    else if (invite.state === 'proceeding') invite.respond(487, 'Request Terminated');
  }

  private receiveAck(ack: SipRequest, _source: Source): void {
    const toTag = ack.to?.tag;
    if (toTag === undefined) return;
    const call = this.dialogs.get(dialogKey(ack.callId ?? '', toTag, ack.from?.tag ?? ''));
    call?.receiveAck(ack);
  }

  private strayResponse(res: SipResponse): void {
    // A 2xx to an INVITE after its transaction is gone: resend the ACK, or end a dialog nobody wanted.
    if (res.cseq?.method !== 'INVITE' || res.status < 200 || res.status >= 300) return;
    // A missing To tag is a null one (§12.1.2), as the dialog it made has it.
    const call = this.dialogs.get(dialogKey(res.callId ?? '', res.from?.tag ?? '', res.to?.tag ?? ''));
    if (call instanceof OutgoingCall) call.receiveStray2xx(res);
    else {
      const owner = this.pending.get(`${res.callId}\n${res.from?.tag ?? ''}`);
      owner?.receiveStray2xx(res);
    }
  }
}

/** Every value of a challenge or credentials header that parses; malformed ones are skipped. */
function authValues(m: SipResponse | SipRequest, name: string): AuthHeader[] {
  const out: AuthHeader[] = [];
  for (const f of m.fields(name)) {
    try {
      out.push(m.parseField(f) as AuthHeader);
    } catch {
      // A challenge that does not parse cannot be answered; another may be.
    }
  }
  return out;
}

/** The To URI for a Request-URI: without the parameters and headers a To may not carry (§8.1.1.2). */
function toUri(uri: Uri): Uri {
  if (uri.kind !== 'sip') return uri;
  let u = (uri as SipUri).withoutHeaders();
  for (const p of ['transport', 'maddr', 'ttl', 'method', 'lr']) u = u.withoutParam(p);
  return u;
}

function withLr(uri: Uri): Uri {
  return uri.kind === 'sip' && !(uri as SipUri).lr ? (uri as SipUri).withParam('lr') : uri;
}

/**
 * The URIs of a 3xx's Contact values to try, highest q first (RFC 3261
 * §8.1.3.4): SIP and SIPS URIs only (SIPS only when `secure`: a SIPS request
 * is not redirected to a SIP URI, its caller asked for TLS all the way),
 * without the method and header parameters a Request-URI may not carry
 * (§19.1.1).
 */
function redirectTargets(response: SipResponse, secure: boolean): SipUri[] {
  let contacts: ContactValue[];
  try {
    contacts = response.contact;
  } catch {
    return [];
  }
  const out: Array<{ uri: SipUri; q: number; at: number }> = [];
  contacts.forEach((c, at) => {
    if (c.wildcard) return;
    let uri: Uri;
    try {
      uri = c.uri;
    } catch {
      return;
    }
    if (uri.kind !== 'sip' || (secure && (uri as SipUri).scheme !== 'sips')) return;
    out.push({ uri: (uri as SipUri).withoutParam('method'), q: c.q ?? 1, at });
  });
  return out.sort((a, b) => b.q - a.q || a.at - b.at).map((t) => t.uri);
}

/** A Replaces value (RFC 3891 §6.1): callid, to-tag, from-tag, early-only; undefined when malformed. */
export function parseReplaces(
  value: string,
): { callId: string; toTag: string; fromTag: string; earlyOnly: boolean } | undefined {
  const [callId, ...params] = value.split(';').map((p) => p.trim());
  if (callId === undefined || callId === '' || /[\s"<>]/.test(callId)) return undefined;
  let toTag: string | undefined;
  let fromTag: string | undefined;
  let earlyOnly = false;
  for (const p of params) {
    const eq = p.indexOf('=');
    const name = (eq === -1 ? p : p.slice(0, eq)).trim().toLowerCase();
    const v = eq === -1 ? '' : p.slice(eq + 1).trim();
    if (name === 'to-tag') toTag = v;
    else if (name === 'from-tag') fromTag = v;
    else if (name === 'early-only') earlyOnly = true;
  }
  if (toTag === undefined || fromTag === undefined || toTag === '' || fromTag === '') return undefined;
  return { callId, toTag, fromTag, earlyOnly };
}
