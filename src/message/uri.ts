import { ParseErrorCode, SipParseError } from '../errors.js';
import {
  ABS_URI,
  ALPHA,
  AMP,
  COLON,
  DIGIT,
  EQUAL,
  PASSWORD,
  QUESTION,
  SCHEME,
  SEMI,
  TEL,
  URI_HEADER,
  URI_PARAM,
  USER,
} from './chars.js';
import { escapeUri, unescapeUri } from './escape.js';
import { checkHost, type HostType, hostType } from './host.js';
import { Params } from './params.js';
import { SIP_URI_RE } from './patterns.js';
import { bytesToText } from './text.js';

/** Any URI: a SIP or SIPS URI, a tel URI, or another absolute URI kept as written. */
export type Uri = SipUri | TelUri | AbsoluteUri;

export interface SipUriInit {
  scheme?: 'sip' | 'sips';
  /** User part as text (escaped on output). */
  user?: string | undefined;
  password?: string | undefined;
  host: string;
  port?: number | undefined;
  /** uri-parameters; a null or true value writes the name alone. */
  params?: Params | Record<string, string | number | boolean | null>;
  /** URI headers (`?name=value&...`), values as text. */
  headers?: Record<string, string>;
}

/** A `sip:` or `sips:` URI (RFC 3261 §19.1). Immutable; `with` returns a changed copy. */
export class SipUri {
  readonly kind = 'sip' as const;
  readonly scheme: 'sip' | 'sips';
  private userText: string | undefined;
  private passwordText: string | undefined;
  private hostText: string;
  private portValue: number | undefined;
  private paramList: Params;
  private headerList: Params;
  private text: string | undefined;
  /** False while only `text` is known (checked by the fast grammar); the parts are found on first use. */
  private resolved: boolean;

  constructor(init: SipUriInit) {
    if (init === WIRE_INIT) {
      // Parser path: parts are byte strings already in wire form.
      const w = wire;
      this.scheme = w.scheme;
      this.userText = w.userRaw;
      this.passwordText = w.passwordRaw;
      this.hostText = w.host;
      this.portValue = w.port;
      this.paramList = w.params;
      this.headerList = w.headers;
      this.text = w.text;
      this.resolved = true;
      return;
    }
    this.scheme = init.scheme ?? 'sip';
    this.userText = init.user === undefined ? undefined : escapeUri(init.user, USER);
    this.passwordText = init.password === undefined ? undefined : escapeUri(init.password, PASSWORD);
    this.hostText = init.host;
    this.portValue = init.port;
    this.paramList =
      init.params instanceof Params ? init.params : init.params ? Params.from(init.params) : Params.EMPTY;
    this.headerList = init.headers ? headerParams(init.headers) : Params.EMPTY;
    this.text = undefined;
    this.resolved = true;
  }

  /** @internal Builds from wire parts (byte strings) without escaping. */
  static fromWire(
    scheme: 'sip' | 'sips',
    userRaw: string | undefined,
    passwordRaw: string | undefined,
    host: string,
    port: number | undefined,
    params: Params,
    headers: Params,
    text: string | undefined,
  ): SipUri {
    wire.scheme = scheme;
    wire.userRaw = userRaw;
    wire.passwordRaw = passwordRaw;
    wire.host = host;
    wire.port = port;
    wire.params = params;
    wire.headers = headers;
    wire.text = text;
    return new SipUri(WIRE_INIT);
  }

  /**
   * @internal A URI known only by its text, matched whole by the fast
   * grammar: scheme ":" [user [":" password] "@"] host [":" port] params,
   * no headers. Its parts are found with string searches when first read.
   */
  static checked(scheme: 'sip' | 'sips', text: string): SipUri {
    const uri = SipUri.fromWire(
      scheme,
      undefined,
      undefined,
      '',
      undefined,
      Params.EMPTY,
      Params.EMPTY,
      text,
    );
    uri.resolved = false;
    return uri;
  }

  /**
   * Finds the parts of a URI the fast grammar matched. '@' appears only
   * after the userinfo; the userinfo's first ':' starts the password; the
   * host holds no ':' (an IPv6 reference ends at ']') and no ';'.
   */
  private resolve(): void {
    const t = this.text as string;
    let i = this.scheme === 'sip' ? 4 : 5;
    const at = t.indexOf('@', i);
    if (at !== -1) {
      const colon = t.indexOf(':', i);
      if (colon !== -1 && colon < at) {
        this.userText = t.slice(i, colon);
        this.passwordText = t.slice(colon + 1, at);
      } else this.userText = t.slice(i, at);
      i = at + 1;
    }
    let semi = t.indexOf(';', i);
    if (semi === -1) semi = t.length;
    const colon = t.charCodeAt(i) === 0x5b ? t.indexOf(']', i) + 1 : t.indexOf(':', i);
    const hostEnd = colon === -1 || colon >= semi ? semi : colon;
    this.hostText = t.slice(i, hostEnd);
    if (hostEnd < semi) this.portValue = +t.slice(hostEnd + 1, semi);
    if (semi < t.length) this.paramList = Params.fromSimple(t.slice(semi));
    this.resolved = true;
  }

  /** User part exactly as written, escapes included (byte string); undefined when absent. */
  get userRaw(): string | undefined {
    if (!this.resolved) this.resolve();
    return this.userText;
  }

  /** Password exactly as written; undefined when absent. */
  get passwordRaw(): string | undefined {
    if (!this.resolved) this.resolve();
    return this.passwordText;
  }

  /** Host as written (an IPv6 reference keeps its brackets). */
  get host(): string {
    if (!this.resolved) this.resolve();
    return this.hostText;
  }

  get port(): number | undefined {
    if (!this.resolved) this.resolve();
    return this.portValue;
  }

  get params(): Params {
    if (!this.resolved) this.resolve();
    return this.paramList;
  }

  /** URI headers exactly as written (escaped), in order. */
  get headers(): Params {
    return this.headerList;
  }

  /** User part as text (escapes decoded); undefined when absent. */
  get user(): string | undefined {
    return this.userRaw === undefined ? undefined : unescapeUri(this.userRaw);
  }

  get password(): string | undefined {
    return this.passwordRaw === undefined ? undefined : unescapeUri(this.passwordRaw);
  }

  get hostType(): HostType {
    return hostType(this.host);
  }

  /** The `transport` parameter in lower case, if present. */
  get transport(): string | undefined {
    const t = this.params.get('transport');
    return typeof t === 'string' ? t.toLowerCase() : undefined;
  }

  /** True when the URI carries the `lr` parameter (a loose router, RFC 3261 §19.1.1). */
  get lr(): boolean {
    return this.params.has('lr');
  }

  get maddr(): string | undefined {
    const m = this.params.get('maddr');
    return typeof m === 'string' ? m : undefined;
  }

  /** A copy with some parts replaced. `user: undefined` removes the user part. */
  with(changes: Partial<SipUriInit>): SipUri {
    const has = (k: keyof SipUriInit) => Object.hasOwn(changes, k);
    const params =
      changes.params === undefined
        ? this.params
        : changes.params instanceof Params
          ? changes.params
          : Params.from(changes.params);
    const headers = changes.headers === undefined ? this.headers : headerParams(changes.headers);
    return SipUri.fromWire(
      changes.scheme ?? this.scheme,
      has('user') ? (changes.user === undefined ? undefined : escapeUri(changes.user, USER)) : this.userRaw,
      has('password')
        ? changes.password === undefined
          ? undefined
          : escapeUri(changes.password, PASSWORD)
        : this.passwordRaw,
      changes.host ?? this.host,
      has('port') ? changes.port : this.port,
      params,
      headers,
      undefined,
    );
  }

  /** A copy with one uri-parameter set (value as text; null writes the name alone). */
  withParam(name: string, value: string | number | null = null): SipUri {
    return this.with({ params: this.params.with(name, value) });
  }

  withoutParam(name: string): SipUri {
    return this.params.has(name) ? this.with({ params: this.params.without(name) }) : this;
  }

  /** The URI without its headers and with only the parameters allowed in a Request-URI kept as they are. */
  withoutHeaders(): SipUri {
    return this.headers.size === 0 ? this : this.with({ headers: {} });
  }

  /** The URI as written on the wire. */
  toString(): string {
    if (this.text !== undefined) return this.text;
    let out = `${this.scheme}:`;
    if (this.userRaw !== undefined) {
      out += this.userRaw;
      if (this.passwordRaw !== undefined) out += `:${this.passwordRaw}`;
      out += '@';
    }
    out += this.host;
    if (this.port !== undefined) out += `:${this.port}`;
    out += this.params.toString();
    const h = this.headers.raw();
    for (let i = 0; i < h.length; i += 2) out += `${i === 0 ? '?' : '&'}${h[i]}=${h[i + 1] ?? ''}`;
    this.text = out;
    return out;
  }

  toJSON(): string {
    return bytesToText(this.toString());
  }
}

/** A `tel:` URI (RFC 3966). */
export class TelUri {
  readonly kind = 'tel' as const;
  readonly scheme = 'tel' as const;
  /** The number as written, visual separators included (`+1-201-555-0123`). */
  readonly number: string;
  readonly params: Params;
  private text: string | undefined;

  constructor(number: string, params: Params = Params.EMPTY, text?: string) {
    this.number = number;
    this.params = params;
    this.text = text;
  }

  /** True for a global number (starting with "+"). */
  get isGlobal(): boolean {
    return this.number.charCodeAt(0) === 0x2b;
  }

  /** The digits without visual separators ("+12015550123"). */
  get digits(): string {
    let out = '';
    for (let i = 0; i < this.number.length; i++) {
      const ch = this.number[i]!;
      if (ch !== '-' && ch !== '.' && ch !== '(' && ch !== ')') out += ch;
    }
    return out;
  }

  get phoneContext(): string | undefined {
    const v = this.params.get('phone-context');
    return typeof v === 'string' ? v : undefined;
  }

  toString(): string {
    if (this.text === undefined) this.text = `tel:${this.number}${this.params.toString()}`;
    return this.text;
  }

  toJSON(): string {
    return this.toString();
  }
}

/** Any other absolute URI (RFC 3986), kept as written. */
export class AbsoluteUri {
  readonly kind = 'absolute' as const;
  /** Scheme in lower case. */
  readonly scheme: string;
  /** Everything after the first colon, as written. */
  readonly value: string;
  private readonly text: string;

  constructor(scheme: string, value: string, text?: string) {
    this.scheme = scheme.toLowerCase();
    this.value = value;
    this.text = text ?? `${scheme}:${value}`;
  }

  toString(): string {
    return this.text;
  }

  toJSON(): string {
    return bytesToText(this.text);
  }
}

const WIRE_INIT: SipUriInit = { host: '' };
const wire = {
  scheme: 'sip' as 'sip' | 'sips',
  userRaw: undefined as string | undefined,
  passwordRaw: undefined as string | undefined,
  host: '',
  port: undefined as number | undefined,
  params: Params.EMPTY,
  headers: Params.EMPTY,
  text: undefined as string | undefined,
};

function headerParams(headers: Record<string, string>): Params {
  const list: Array<string | null> = [];
  for (const [k, v] of Object.entries(headers)) list.push(escapeUri(k, URI_HEADER), escapeUri(v, URI_HEADER));
  return list.length ? new Params(list) : Params.EMPTY;
}

function uriError(message: string, offset: number, what: string): never {
  throw new SipParseError(ParseErrorCode.URI, `${what}: ${message}`, { offset });
}

function describeAt(s: string, i: number, end: number): string {
  if (i >= end) return 'end of URI';
  const c = s.charCodeAt(i);
  return c > 0x20 && c < 0x7f ? `'${String.fromCharCode(c)}'` : `byte 0x${c.toString(16).padStart(2, '0')}`;
}

/**
 * Parses the URI in `s[start, end)`. `base` is the offset of `s[0]` in the
 * message (for error offsets); `what` names the URI in error messages.
 */
export function scanUri(s: string, start = 0, end = s.length, base = 0, what = 'URI'): Uri {
  if ((s.charCodeAt(start) | 0x20) === 0x73) {
    const fast = fastSipUri(s, start, end);
    if (fast !== null) return fast;
  }
  return scanUriFull(s, start, end, base, what);
}

/** @internal scanUri without its fast path: the grammar in full (tests hold the fast path to it). */
export function scanUriFull(s: string, start: number, end: number, base: number, what: string): Uri {
  let i = start;
  if (i >= end) uriError('empty URI', base + i, what);
  if (ALPHA[s.charCodeAt(i)] !== 1)
    uriError(`URI must start with a scheme, found ${describeAt(s, i, end)}`, base + i, what);
  while (i < end && SCHEME[s.charCodeAt(i)] === 1) i++;
  if (i >= end || s.charCodeAt(i) !== COLON)
    uriError(`expected ':' after the URI scheme, found ${describeAt(s, i, end)}`, base + i, what);
  const schemeLen = i - start;
  const c0 = s.charCodeAt(start) | 0x20;
  if (c0 === 0x73 && (schemeLen === 3 || schemeLen === 4)) {
    const c1 = s.charCodeAt(start + 1) | 0x20;
    const c2 = s.charCodeAt(start + 2) | 0x20;
    if (c1 === 0x69 && c2 === 0x70) {
      if (schemeLen === 3) return scanSipUri(s, 'sip', start, i + 1, end, base, what);
      if ((s.charCodeAt(start + 3) | 0x20) === 0x73)
        return scanSipUri(s, 'sips', start, i + 1, end, base, what);
    }
  }
  if (
    schemeLen === 3 &&
    (s.charCodeAt(start) | 0x20) === 0x74 &&
    (s.charCodeAt(start + 1) | 0x20) === 0x65 &&
    (s.charCodeAt(start + 2) | 0x20) === 0x6c
  ) {
    return scanTelUri(s, start, i + 1, end, base, what);
  }
  const scheme = s.slice(start, i);
  i++;
  const vStart = i;
  if (i >= end) uriError(`empty ${scheme}: URI`, base + i, what);
  while (i < end) {
    if (ABS_URI[s.charCodeAt(i)] !== 1)
      uriError(`invalid character ${describeAt(s, i, end)} in URI`, base + i, what);
    i++;
  }
  return new AbsoluteUri(scheme, s.slice(vStart, end), s.slice(start, end));
}

/* Fast path for the common form of a SIP URI (see SIP_URI_RE). */
const FAST_SIP_URI = new RegExp(SIP_URI_RE, 'y');

function fastSipUri(s: string, start: number, end: number): SipUri | null {
  FAST_SIP_URI.lastIndex = start;
  if (!FAST_SIP_URI.test(s) || FAST_SIP_URI.lastIndex !== end) return null;
  const scheme = s.charCodeAt(start + 3) === COLON ? 'sip' : 'sips';
  const text = start === 0 && end === s.length ? s : s.slice(start, end);
  const uri = SipUri.checked(scheme, text);
  // IPv6 references are checked in code (their ABNF is not a simple pattern).
  if (text.indexOf('[') !== -1) {
    const host = uri.host;
    if (host.charCodeAt(0) === 0x5b && checkHost(host, 0, host.length) !== null) return null;
  }
  return uri;
}

function scanSipUri(
  s: string,
  scheme: 'sip' | 'sips',
  uriStart: number,
  i: number,
  end: number,
  base: number,
  what: string,
): SipUri {
  let userRaw: string | undefined;
  let passwordRaw: string | undefined;
  // userinfo: '@' cannot appear unescaped anywhere else in a SIP URI.
  let at = s.indexOf('@', i);
  if (at >= end) at = -1;
  if (at !== -1) {
    let j = i;
    while (j < at && USER[s.charCodeAt(j)] === 1) j++;
    if (j === i) uriError('empty user part before "@"', base + j, what);
    userRaw = s.slice(i, j);
    if (j < at) {
      if (s.charCodeAt(j) !== COLON)
        uriError(`invalid character ${describeAt(s, j, end)} in user part`, base + j, what);
      const p = j + 1;
      j = p;
      while (j < at && PASSWORD[s.charCodeAt(j)] === 1) j++;
      if (j < at) uriError(`invalid character ${describeAt(s, j, end)} in password`, base + j, what);
      passwordRaw = s.slice(p, at);
    }
    i = at + 1;
  }
  // hostport
  const hostStart = i;
  if (i < end && s.charCodeAt(i) === 0x5b) {
    const close = s.indexOf(']', i);
    if (close === -1 || close >= end) uriError('unterminated IPv6 reference', base + i, what);
    i = close + 1;
  } else {
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c === COLON || c === SEMI || c === QUESTION) break;
      i++;
    }
  }
  const hostProblem = checkHost(s, hostStart, i);
  if (hostProblem !== null) {
    const rest = s.slice(i, end);
    if (rest.charCodeAt(0) === COLON && rest.indexOf(':', 1) !== -1) {
      uriError("an IPv6 address must be enclosed in '[' and ']' (RFC 5118 §4.2)", base + hostStart, what);
    }
    uriError(hostProblem, base + hostStart, what);
  }
  const host = s.slice(hostStart, i);
  let port: number | undefined;
  if (i < end && s.charCodeAt(i) === COLON) {
    i++;
    const pStart = i;
    let v = 0;
    while (i < end && DIGIT[s.charCodeAt(i)] === 1 && i - pStart < 6) {
      v = v * 10 + s.charCodeAt(i) - 0x30;
      i++;
    }
    if (i === pStart)
      uriError(`expected a port number after ':', found ${describeAt(s, i, end)}`, base + i, what);
    if (v > 65535 || (i < end && DIGIT[s.charCodeAt(i)] === 1))
      uriError('port number out of range', base + pStart, what);
    port = v;
  }
  // uri-parameters
  let params = Params.EMPTY;
  if (i < end && s.charCodeAt(i) === SEMI) {
    const list: Array<string | null> = [];
    while (i < end && s.charCodeAt(i) === SEMI) {
      i++;
      const nStart = i;
      while (i < end && URI_PARAM[s.charCodeAt(i)] === 1) i++;
      if (i === nStart) uriError(`empty uri-parameter name, found ${describeAt(s, i, end)}`, base + i, what);
      const name = s.slice(nStart, i);
      let value: string | null = null;
      if (i < end && s.charCodeAt(i) === EQUAL) {
        i++;
        const vStart = i;
        while (i < end && URI_PARAM[s.charCodeAt(i)] === 1) i++;
        if (i === vStart) uriError(`empty value for uri-parameter '${name}'`, base + i, what);
        value = s.slice(vStart, i);
      }
      list.push(name, value);
    }
    params = new Params(list);
  }
  let headers = Params.EMPTY;
  if (i < end && s.charCodeAt(i) === QUESTION) {
    const list: Array<string | null> = [];
    do {
      i++;
      const nStart = i;
      while (i < end && URI_HEADER[s.charCodeAt(i)] === 1) i++;
      if (i === nStart) uriError(`empty URI header name, found ${describeAt(s, i, end)}`, base + i, what);
      const name = s.slice(nStart, i);
      if (i >= end || s.charCodeAt(i) !== EQUAL)
        uriError(`expected '=' after URI header '${name}'`, base + i, what);
      i++;
      const vStart = i;
      while (i < end && URI_HEADER[s.charCodeAt(i)] === 1) i++;
      list.push(name, s.slice(vStart, i));
    } while (i < end && s.charCodeAt(i) === AMP);
    headers = new Params(list);
  }
  if (i < end) uriError(`unexpected ${describeAt(s, i, end)} in URI`, base + i, what);
  return SipUri.fromWire(scheme, userRaw, passwordRaw, host, port, params, headers, s.slice(uriStart, end));
}

function scanTelUri(s: string, uriStart: number, i: number, end: number, base: number, what: string): TelUri {
  const nStart = i;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c === SEMI) break;
    if (TEL[c] !== 1 && c !== 0x23 && c !== 0x2a)
      uriError(`invalid character ${describeAt(s, i, end)} in tel: number`, base + i, what);
    i++;
  }
  const number = s.slice(nStart, i);
  let digits = 0;
  for (let k = 0; k < number.length; k++) {
    const c = number.charCodeAt(k);
    if (DIGIT[c] === 1 || (k > 0 && (c | 0x20) >= 0x61 && (c | 0x20) <= 0x66) || c === 0x2a || c === 0x23)
      digits++;
    else if (!(c === 0x2d || c === 0x2e || c === 0x28 || c === 0x29 || (k === 0 && c === 0x2b))) {
      uriError(
        `invalid character ${describeAt(number, k, number.length)} in tel: number`,
        base + nStart + k,
        what,
      );
    }
  }
  if (digits === 0) uriError('tel: URI without digits', base + nStart, what);
  let params = Params.EMPTY;
  if (i < end) {
    const list: Array<string | null> = [];
    while (i < end && s.charCodeAt(i) === SEMI) {
      i++;
      const pStart = i;
      while (i < end && URI_PARAM[s.charCodeAt(i)] === 1 && s.charCodeAt(i) !== EQUAL) i++;
      if (i === pStart) uriError('empty tel: parameter name', base + i, what);
      const name = s.slice(pStart, i);
      let value: string | null = null;
      if (i < end && s.charCodeAt(i) === EQUAL) {
        i++;
        const vStart = i;
        while (i < end && s.charCodeAt(i) !== SEMI && URI_PARAM[s.charCodeAt(i)] === 1) i++;
        if (i === vStart) uriError(`empty value for tel: parameter '${name}'`, base + i, what);
        value = s.slice(vStart, i);
      }
      list.push(name, value);
    }
    if (i < end) uriError(`unexpected ${describeAt(s, i, end)} in tel: URI`, base + i, what);
    params = new Params(list);
  }
  // RFC 3966 §5.1.5: a local number needs a phone-context.
  if (number.charCodeAt(0) !== 0x2b && !params.has('phone-context')) {
    uriError('local tel: number without phone-context', base + nStart, what);
  }
  return new TelUri(number, params, s.slice(uriStart, end));
}

/**
 * Parses a URI written as text (a string or a byte string). Throws
 * `SipParseError` (code SIP_ERR_URI) with the offset of the problem.
 */
export function parseUri(text: string): Uri {
  return scanUri(text, 0, text.length, 0, 'URI');
}

/** Parses a URI that must be `sip:` or `sips:`. */
export function parseSipUri(text: string): SipUri {
  const u = parseUri(text);
  if (u.kind !== 'sip')
    throw new SipParseError(ParseErrorCode.URI, `URI: expected a sip: or sips: URI, got ${u.scheme}:`, {
      offset: 0,
    });
  return u;
}

/** True for a sips: URI (RFC 3261 §19.1: TLS on every hop). */
export function isSips(uri: Uri): boolean {
  return uri.kind === 'sip' && (uri as SipUri).scheme === 'sips';
}
