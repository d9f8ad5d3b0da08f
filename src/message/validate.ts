import { SipParseError } from '../errors.js';
import { isToken, TOKEN } from './chars.js';
import type { HeaderField } from './header-field.js';
import { H, HEADERS, type HeaderInfo, headerInfo, headerInfoById } from './header-names.js';
import { fieldParser } from './header-parsers.js';
import type { MediaType } from './media-type.js';
import type { SipMessage, SipRequest, SipResponse } from './message.js';
import { isKnownMethod, METHODS } from './methods.js';
import type { BodyPart } from './multipart.js';
import type { ContactValue } from './name-addr.js';
import { type ParseOptions, parseMessage } from './parser.js';
import { reasonPhrase } from './status-codes.js';
import { parseTokenWithParams, type TokenWithParams } from './token-list.js';

/** What an element does with a message (RFC 3261 §8.2, §16.3, §18.3). */
export type Verdict =
  | { readonly action: 'accept' }
  | {
      readonly action: 'reject';
      /** Status of the response to send. */
      readonly status: number;
      /** Reason-Phrase of the response; for 400 it names the offending header. */
      readonly reason: string;
      /** What exactly is wrong and where. */
      readonly detail: string;
      /** Byte offset of the problem in the message, -1 when not tied to one place. */
      readonly offset: number;
      /** Header fields the response must carry (Allow, Unsupported, Accept, Warning). */
      readonly headers: ReadonlyArray<readonly [string, string]>;
    }
  | {
      readonly action: 'drop';
      /** Why the message is discarded. */
      readonly reason: string;
      readonly detail: string;
      readonly offset: number;
    };

export type ValidationRole = 'endpoint' | 'proxy' | 'registrar';

export interface ValidationOptions {
  /**
   * 'endpoint' (a UAS for requests, a UAC for responses; the default),
   * 'proxy' (RFC 3261 §16.3), or 'registrar' (an endpoint that also applies
   * the REGISTER checks of §10.3).
   */
  role?: ValidationRole;
  /**
   * true (default): every header sipwire has a grammar for must be well
   * formed. false: only the headers needed to process the message are
   * checked, as RFC 3261 §8.2.2 and §16.3 item 1 suggest for running
   * elements (malformed others are ignored and forwarded unchanged).
   */
  strict?: boolean;
  /** Methods the endpoint implements (405 for known others, 501 for unknown ones). Default: all sipwire knows. */
  methods?: readonly string[];
  /** Option tags understood in Require / Proxy-Require. Default: none. */
  supported?: readonly string[];
  /** Request-URI schemes served. Default: sip, sips (endpoint); sip, sips, tel (proxy). */
  schemes?: readonly string[];
  /** Body types the endpoint understands (415 otherwise). */
  accept?: readonly string[];
}

/** Body types an endpoint understands by default. */
export const DEFAULT_ACCEPT: readonly string[] = Object.freeze([
  'application/sdp',
  'multipart/mixed',
  'multipart/alternative',
  'multipart/related',
  'text/plain',
  'message/sipfrag',
  'application/dtmf-relay',
  'application/pidf+xml',
  'application/simple-message-summary',
]);

const ACCEPT: Verdict = Object.freeze({ action: 'accept' });
const NO_HEADERS: ReadonlyArray<readonly [string, string]> = Object.freeze([]);

function reject(
  status: number,
  reason: string,
  detail: string,
  offset = -1,
  headers: ReadonlyArray<readonly [string, string]> = NO_HEADERS,
): Verdict {
  return { action: 'reject', status, reason, detail, offset, headers };
}

function drop(reason: string, detail: string, offset = -1): Verdict {
  return { action: 'drop', reason, detail, offset };
}

/** Headers a request must carry (RFC 3261 §8.1.1); Max-Forwards is absent from RFC 2543 requests and tolerated. */
const REQUIRED_REQUEST = [H.VIA, H.TO, H.FROM, H.CALL_ID, H.CSEQ] as const;
/** Headers a response must carry (§8.2.6.2, §20). */
const REQUIRED_RESPONSE = [H.VIA, H.TO, H.FROM, H.CALL_ID, H.CSEQ] as const;

/** Headers that may appear once only (their grammar is not a list). */
function singleValued(info: HeaderInfo): boolean {
  return !info.list && info.id !== H.CONTENT_LENGTH && !/Authenticate|Authorization|Warning/.test(info.name);
}

/** Headers a proxy needs well formed (RFC 3261 §16.3 item 1). */
const PROXY_NEEDS = new Set<number>([
  H.VIA,
  H.FROM,
  H.TO,
  H.CALL_ID,
  H.CSEQ,
  H.MAX_FORWARDS,
  H.CONTENT_LENGTH,
  H.ROUTE,
  H.RECORD_ROUTE,
  ...['Proxy-Require', 'Proxy-Authorization', 'Max-Breadth'].map((n) => (headerInfo(n) as HeaderInfo).id),
]);

/**
 * Headers a proxy reads in a response (RFC 3261 §16.7: the Via to match the
 * transaction and find the next hop, the CSeq method; From, To and Call-ID
 * identify it). Route, Record-Route and the request-only headers go upstream
 * untouched and unread.
 */
const PROXY_RESPONSE_NEEDS = new Set<number>([H.VIA, H.FROM, H.TO, H.CALL_ID, H.CSEQ, H.CONTENT_LENGTH]);

/** Headers an endpoint needs well formed in lenient mode. */
const ENDPOINT_NEEDS = new Set<number>([
  ...PROXY_NEEDS,
  H.CONTACT,
  H.CONTENT_TYPE,
  ...[
    'Require',
    'Expires',
    'Authorization',
    'Content-Encoding',
    'Content-Disposition',
    'Accept',
    'RSeq',
    'RAck',
    'Event',
    'Session-Expires',
  ].map((n) => (headerInfo(n) as HeaderInfo).id),
]);

function nameOf(f: HeaderField): string {
  return headerInfoById(f.id)?.name ?? f.name;
}

/**
 * Checks each header line (unless `lines` is false: a second pass over
 * lines already checked) and every typed value the role needs. Returns the
 * first problem as (header name, error), or null.
 */
function checkFields(
  m: SipMessage,
  needs: Set<number> | null,
  hot: Set<number>,
  lines = true,
): [string, SipParseError] | null {
  if (lines) {
    const bareCr = findBareCr(m);
    if (bareCr !== null) return bareCr;
  }
  // Which known headers were seen, by id: a stamp per id instead of a set per message.
  const gen = nextStamp();
  for (const f of m.headers) {
    let id: number;
    try {
      id = f.id;
    } catch (e) {
      if (e instanceof SipParseError) return ['header line', e];
      throw e;
    }
    if (id === 0) {
      // A header name must be a token (RFC 3261 §7.3.1); known names are by construction.
      if (!lines || f.src === null) continue;
      const name = f.name;
      for (let i = 0; i < name.length; i++) {
        if (TOKEN[name.charCodeAt(i)] !== 1) {
          return [
            'header line',
            new SipParseError('SIP_ERR_HEADER_LINE', `invalid character in header name '${name}'`, {
              offset: f.base + f.ls + i,
            }),
          ];
        }
      }
      continue;
    }
    const info = HEADERS[id - 1] as HeaderInfo;
    const first = SEEN[id] !== gen;
    if (!first && singleValued(info) && (hot.has(id) || needs === null || needs.has(id))) {
      return [
        info.name,
        new SipParseError('SIP_ERR_HEADER_VALUE', `more than one ${info.name} header`, {
          offset: f.valueOffset,
        }),
      ];
    }
    SEEN[id] = gen;
    if (needs !== null && !needs.has(id)) continue;
    if (fieldParser(id) === undefined) continue;
    try {
      const v = m.parseField(f);
      // URIs inside name-addr values are parsed lazily: force them here.
      if (id === H.FROM || id === H.TO) void (v as { uri: unknown }).uri;
      else if (id === H.CONTACT || id === H.ROUTE || id === H.RECORD_ROUTE) {
        for (const c of v as ContactValue[]) if (!c.wildcard) void c.uri;
      }
    } catch (e) {
      if (e instanceof SipParseError) return [info.name, e];
      throw e;
    }
  }
  return null;
}

/** Per known-header id, the stamp of the last message it was seen in. */
const SEEN = new Int32Array(HEADERS.length + 1);
let stamp = 0;

function nextStamp(): number {
  stamp++;
  if (stamp === 0x7fffffff) {
    SEEN.fill(0);
    stamp = 1;
  }
  return stamp;
}

/**
 * A CR inside a header value that does not start a line end (RFC 3261 §7.3.1
 * allows CR only in CRLF). Fields from the wire are checked in one pass over
 * the header section of the source; fields made by code, value by value.
 */
function findBareCr(m: SipMessage): [string, SipParseError] | null {
  const hs = m.headers;
  let i = 0;
  while (i < hs.length) {
    const f = hs[i] as HeaderField;
    if (f.src === null) {
      const v = f.value;
      const cr = v.indexOf('\r');
      if (cr !== -1) return bareCrIn(f, cr);
      i++;
      continue;
    }
    // A run of fields from the same source: scan from the first's start to the last's end.
    const src = f.src;
    let j = i;
    while (j + 1 < hs.length && (hs[j + 1] as HeaderField).src === src) j++;
    const end = (hs[j] as HeaderField).le;
    let at = src.indexOf('\r', f.ls);
    while (at !== -1 && at < end) {
      if (src.charCodeAt(at + 1) !== 0x0a) {
        for (let k = i; k <= j; k++) {
          const g = hs[k] as HeaderField;
          if (at >= g.ls && at < g.le) return bareCrIn(g, g.value.indexOf('\r'));
        }
      }
      at = src.indexOf('\r', at + 1);
    }
    i = j + 1;
  }
  return null;
}

function bareCrIn(f: HeaderField, cr: number): [string, SipParseError] {
  let name: string;
  try {
    name = nameOf(f);
  } catch (e) {
    if (e instanceof SipParseError) return ['header line', e];
    throw e;
  }
  return [
    name,
    new SipParseError('SIP_ERR_HEADER_LINE', 'bare CR inside a header value', {
      offset: f.valueOffset + Math.max(0, cr),
    }),
  ];
}

function badHeader(name: string, e: SipParseError): Verdict {
  // The reason names the header when its name can stand in a status line; a name that is not
  // a token (a control character in it, say) makes the whole line bad.
  const reason = name === 'header line' || !isToken(name) ? 'Bad Header Line' : `Bad ${name} header`;
  return reject(e.status === 400 ? 400 : e.status, reason, e.message, e.offset);
}

/** RFC 3261 §8.2 (endpoint, registrar) and §16.3 (proxy) checks of a request, in the order the RFC gives them. */
export function validateRequest(req: SipRequest, options: ValidationOptions = {}): Verdict {
  const role = options.role ?? 'endpoint';
  const strict = options.strict ?? true;
  const proxy = role === 'proxy';

  // SIP-Version (§8.2, §21.5.6).
  if (req.version.toUpperCase() !== 'SIP/2.0') {
    return reject(
      505,
      'Version Not Supported',
      `SIP version ${req.version} is not supported`,
      req.base + req.startLineEnd - req.version.length,
    );
  }

  // Mandatory headers present.
  for (const id of REQUIRED_REQUEST) {
    if (req.fieldById(id) === undefined) {
      const name = (HEADERS[id - 1] as HeaderInfo).name;
      return reject(400, `Missing ${name} header`, `the request has no ${name} header (RFC 3261 §8.1.1)`);
    }
  }

  // Syntax of header lines and values (§16.3 item 1 for proxies).
  const needs = strict ? null : proxy ? PROXY_NEEDS : ENDPOINT_NEEDS;
  const problem = checkFields(req, needs, HOT_SINGLE);
  if (problem !== null) return badHeader(problem[0], problem[1]);

  const cseq = req.cseq;
  if (cseq === undefined) return reject(400, 'Missing CSeq header', 'the request has no CSeq header');

  // Method inspection (§8.2.1): endpoints answer unknown methods with 501.
  if (!proxy) {
    const methods = options.methods ?? METHODS;
    if (!methods.includes(req.method)) {
      const allow: ReadonlyArray<readonly [string, string]> = [['Allow', methods.join(', ')]];
      return isKnownMethod(req.method) || options.methods?.includes(req.method)
        ? reject(405, 'Method Not Allowed', `method ${req.method} is not allowed here`, req.base, allow)
        : reject(501, 'Not Implemented', `method ${req.method} is not implemented`, req.base, allow);
    }
  }

  // CSeq method must be the request's method (§8.1.1.5, RFC 4475 §3.1.2.17).
  if (cseq.method !== req.method) {
    const f = req.fieldById(H.CSEQ) as HeaderField;
    return reject(
      400,
      'CSeq method does not match',
      `CSeq method ${cseq.method} differs from request method ${req.method}`,
      f.valueOffset,
    );
  }

  // Request-URI (§8.2.2.1, §16.3 item 2, §19.1.1).
  let uri: ReturnType<() => SipRequest['uri']>;
  try {
    uri = req.uri;
  } catch (e) {
    if (e instanceof SipParseError) return reject(400, 'Bad Request-URI', e.message, e.offset);
    throw e;
  }
  const schemes = options.schemes ?? (proxy ? ['sip', 'sips', 'tel'] : ['sip', 'sips']);
  if (!schemes.includes(uri.scheme)) {
    return reject(
      416,
      reasonPhrase(416),
      `Request-URI scheme '${uri.scheme}' is not supported`,
      req.base + req.uriOffset,
    );
  }
  if (uri.kind === 'sip' && uri.headers.size > 0) {
    return reject(
      400,
      'Bad Request-URI',
      'the Request-URI must not carry URI headers (RFC 3261 §19.1.1)',
      req.base + req.uriOffset,
    );
  }

  // Max-Forwards (§16.3 item 3).
  if (proxy && req.maxForwards === 0 && req.method !== 'OPTIONS') {
    return reject(
      483,
      reasonPhrase(483),
      'Max-Forwards is 0',
      req.fieldById(H.MAX_FORWARDS)?.valueOffset ?? -1,
    );
  }

  // Require / Proxy-Require (§8.2.2.3, §16.3 item 5); ignored in CANCEL and ACK.
  if (req.method !== 'ACK' && req.method !== 'CANCEL') {
    const supported = options.supported ?? [];
    const tags = proxy ? req.proxyRequire : req.require;
    const unknown = tags.filter((t) => !supported.includes(t));
    if (unknown.length > 0) {
      const which = proxy ? 'Proxy-Require' : 'Require';
      return reject(420, reasonPhrase(420), `${which} lists unsupported ${unknown.join(', ')}`, -1, [
        ['Unsupported', unknown.join(', ')],
      ]);
    }
  }

  if (!proxy) {
    const v = endpointContent(req, options);
    if (v !== null) return v;
  }
  if (role === 'registrar' && req.method === 'REGISTER') {
    const v = registrarChecks(req);
    if (v !== null) return v;
  }
  return ACCEPT;
}

/** §8.2.3 content processing and §7.4.1 Content-Type presence, for endpoints. */
function endpointContent(req: SipRequest, options: ValidationOptions): Verdict | null {
  const accept = options.accept ?? DEFAULT_ACCEPT;
  if (req.bodyLength > 0) {
    const ct = req.contentType;
    if (ct === undefined)
      return reject(
        400,
        'Missing Content-Type header',
        'the request has a body but no Content-Type (RFC 3261 §7.4.1)',
      );
    if (!accept.includes(ct.essence)) {
      // §8.2.3, §20.11: a body not understood is refused unless its disposition's handling is optional.
      if (isOptional(req.parsed('Content-Disposition') as TokenWithParams | undefined)) return null;
      return reject(415, reasonPhrase(415), `body type ${ct.essence} is not understood`, -1, [
        ['Accept', accept.join(', ')],
      ]);
    }
    if (ct.type.toLowerCase() === 'multipart') {
      const v = multipartContent(req, accept);
      if (v !== null) return v;
    }
    const enc = req.parsed('Content-Encoding') as string[];
    const unknownEnc = enc.filter((e) => e.toLowerCase() !== 'identity');
    if (unknownEnc.length > 0) {
      return reject(
        415,
        reasonPhrase(415),
        `content encoding ${unknownEnc.join(', ')} is not understood`,
        -1,
        [['Accept-Encoding', 'identity']],
      );
    }
  }
  // RFC 4475 §3.3.15: an INVITE whose Accept excludes application/sdp cannot be answered with SDP.
  if (req.method === 'INVITE' && req.has('Accept')) {
    const ranges = req.parsed('Accept') as MediaType[];
    if (!ranges.some((r) => r.matches('application/sdp'))) {
      return reject(406, reasonPhrase(406), 'Accept does not include application/sdp', -1, [
        ['Warning', '399 sipwire "an answer can only be sent as application/sdp"'],
      ]);
    }
  }
  return null;
}

/** True for a Content-Disposition whose handling is optional (§20.11: required when absent). */
function isOptional(d: TokenWithParams | undefined): boolean {
  const handling = d?.params.getRaw('handling');
  return typeof handling === 'string' && handling.toLowerCase() === 'optional';
}

/**
 * §8.2.3 for each part of a multipart body (RFC 5621 §9): a part of a type
 * not understood needs `handling=optional` in its Content-Disposition. Parts
 * nested in a part are not looked into.
 */
function multipartContent(req: SipRequest, accept: readonly string[]): Verdict | null {
  let parts: BodyPart[];
  try {
    parts = req.bodyParts();
  } catch (e) {
    if (e instanceof SipParseError) return reject(400, 'Bad multipart body', e.message, e.offset);
    throw e;
  }
  const refused: string[] = [];
  for (const part of parts) {
    const type = part.contentType.essence;
    if (accept.includes(type) || refused.includes(type)) continue;
    const disposition = part.headers.find(([n]) => n.toLowerCase() === 'content-disposition')?.[1];
    let d: TokenWithParams | undefined;
    try {
      d = disposition === undefined ? undefined : parseTokenWithParams(disposition, 'Content-Disposition');
    } catch (e) {
      if (e instanceof SipParseError)
        return reject(400, 'Bad multipart body', `a part's ${e.message}`, e.offset);
      throw e;
    }
    if (!isOptional(d)) refused.push(type);
  }
  if (refused.length === 0) return null;
  return reject(415, reasonPhrase(415), `body part of type ${refused.join(', ')} is not understood`, -1, [
    ['Accept', accept.join(', ')],
  ]);
}

/** RFC 3261 §10.3 items a registrar checks on the request itself. */
function registrarChecks(req: SipRequest): Verdict | null {
  const to = req.to;
  if (to !== undefined && to.uri.kind !== 'sip') {
    return reject(
      400,
      'Bad To header',
      `the address-of-record must be a SIP or SIPS URI, not ${to.uri.scheme}: (RFC 3261 §10.3 item 5)`,
    );
  }
  const contacts = req.contact;
  if (contacts.some((c) => c.wildcard)) {
    const expires = req.expires;
    if (contacts.length > 1 || expires !== 0) {
      return reject(
        400,
        'Bad Contact header',
        "Contact '*' must be the only contact and Expires must be 0 (RFC 3261 §10.2.2)",
      );
    }
  }
  return null;
}

/** What a registrar checks beyond a proxy's lenient checks (ENDPOINT_NEEDS less PROXY_NEEDS). */
const REGISTRAR_EXTRA = new Set<number>([...ENDPOINT_NEEDS].filter((id) => !PROXY_NEEDS.has(id)));
const NONE = new Set<number>();

/**
 * The checks a registrar adds to a REGISTER that already passed
 * validateRequest() as a lenient proxy (role 'proxy', strict false): the
 * headers only an endpoint reads (Contact, Expires, Require, Authorization,
 * ...), Require (§8.2.2.3), content (§8.2.3) and §10.3's own. The same
 * verdicts as validateRequest() with role 'registrar', without parsing the
 * rest again.
 */
export function validateRegisterAfterProxy(req: SipRequest, options: ValidationOptions = {}): Verdict {
  // The header lines themselves passed the proxy's checks.
  const problem = checkFields(req, REGISTRAR_EXTRA, NONE, false);
  if (problem !== null) return badHeader(problem[0], problem[1]);
  const supported = options.supported ?? [];
  const unknown = req.require.filter((t) => !supported.includes(t));
  if (unknown.length > 0) {
    return reject(420, reasonPhrase(420), `Require lists unsupported ${unknown.join(', ')}`, -1, [
      ['Unsupported', unknown.join(', ')],
    ]);
  }
  return endpointContent(req, options) ?? registrarChecks(req) ?? ACCEPT;
}

/** Headers whose repetition is checked even in lenient mode. */
const HOT_SINGLE = new Set<number>([H.FROM, H.TO, H.CALL_ID, H.CSEQ, H.MAX_FORWARDS, H.CONTENT_TYPE]);

/** Checks a response (RFC 3261 §8.1.3, §16.7, §18.1.2): anything wrong means drop. */
export function validateResponse(res: SipResponse, options: ValidationOptions = {}): Verdict {
  const role = options.role ?? 'endpoint';
  const strict = options.strict ?? true;
  if (res.version.toUpperCase() !== 'SIP/2.0')
    return drop('unsupported SIP version', `SIP version ${res.version}`, res.base);
  for (const id of REQUIRED_RESPONSE) {
    if (res.fieldById(id) === undefined) {
      const name = (HEADERS[id - 1] as HeaderInfo).name;
      return drop(`missing ${name} header`, `the response has no ${name} header`);
    }
  }
  const problem = checkFields(
    res,
    strict ? null : role === 'proxy' ? PROXY_RESPONSE_NEEDS : ENDPOINT_NEEDS,
    HOT_SINGLE,
  );
  if (problem !== null) {
    const [name, e] = problem;
    return drop(name === 'header line' ? 'bad header line' : `bad ${name} header`, e.message, e.offset);
  }
  const vias = res.via;
  if (role === 'proxy') {
    // §16.7 item 3 forwards to the next Via; never to a broadcast address (RFC 4475 §3.3.10).
    const next = vias[1];
    if (next !== undefined && (next.host === '255.255.255.255' || next.received === '255.255.255.255')) {
      return drop('response would go to a broadcast address', `second Via sent-by is ${next.host}`);
    }
  } else if (vias.length > 1) {
    // §8.1.3.3: a UAC discards a response with more than one Via.
    return drop('more than one Via in a response to a UAC', `${vias.length} Via values (RFC 3261 §8.1.3.3)`);
  }
  return ACCEPT;
}

/** Validates a parsed message in the given role. */
export function validate(m: SipMessage, options: ValidationOptions = {}): Verdict {
  return m.isRequest
    ? validateRequest(m as SipRequest, options)
    : validateResponse(m as SipResponse, options);
}

/** True when raw bytes begin like a response ("SIP/"), so a parse error means drop rather than 400. */
export function looksLikeResponse(data: Buffer | Uint8Array | string): boolean {
  let i = 0;
  const get = (k: number): number => (typeof data === 'string' ? data.charCodeAt(k) : (data[k] ?? 0));
  const len = data.length;
  while (i < len && (get(i) === 0x0d || get(i) === 0x0a)) i++;
  return (
    len - i >= 4 &&
    (get(i) | 0x20) === 0x73 &&
    (get(i + 1) | 0x20) === 0x69 &&
    (get(i + 2) | 0x20) === 0x70 &&
    get(i + 3) === 0x2f
  );
}

/** The verdict for data that failed to parse: a request gets the error's status, a response is dropped (RFC 3261 §18.3). */
export function verdictForParseError(e: SipParseError, data: Buffer | Uint8Array | string): Verdict {
  if (looksLikeResponse(data)) return drop('malformed response', e.message, e.offset);
  const reason =
    e.status === 513
      ? reasonPhrase(513)
      : e.status === 413
        ? reasonPhrase(413)
        : e.header !== undefined
          ? `Bad ${e.header} header`
          : e.code === 'SIP_ERR_START_LINE' || e.code === 'SIP_ERR_VERSION'
            ? 'Bad Request Line'
            : e.code === 'SIP_ERR_HEADER_LINE'
              ? 'Bad Header Line'
              : reasonPhrase(e.status);
  return reject(e.status, reason, e.message, e.offset);
}

export interface Inspection {
  /** The parsed message, when the data parsed. */
  readonly message: SipMessage | undefined;
  readonly verdict: Verdict;
}

/**
 * Parses and validates raw bytes in one step: what a transport does with a
 * datagram before handing it on. Never throws for any input.
 */
export function inspect(
  data: Buffer | Uint8Array | string,
  options: ValidationOptions & ParseOptions = {},
): Inspection {
  let message: SipMessage;
  try {
    message = parseMessage(data, options);
  } catch (e) {
    if (e instanceof SipParseError) return { message: undefined, verdict: verdictForParseError(e, data) };
    throw e;
  }
  try {
    return { message, verdict: validate(message, options) };
  } catch (e) {
    if (e instanceof SipParseError) {
      return {
        message,
        verdict: message.isRequest
          ? badHeader(e.header ?? 'header line', e)
          : drop('malformed response', e.message, e.offset),
      };
    }
    throw e;
  }
}
