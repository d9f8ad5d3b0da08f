import { COLON, COMMA, DQUOTE, HT, LAQUOT, SEMI, SP, TOKEN } from './chars.js';
import { Params, quotedEnd, scanParams, simpleParamsEnd } from './params.js';
import { quote, Scanner, unquote } from './scanner.js';
import { textToBytes } from './text.js';
import { AbsoluteUri, type SipUri, scanUri, type Uri } from './uri.js';
import { simpleParam } from './via.js';

/**
 * A name-addr or addr-spec with header parameters (RFC 3261 §20.10, §25.1):
 * the value of From, To, Contact, Route, Record-Route, Reply-To, Refer-To,
 * Path, P-Asserted-Identity... Immutable; `with*` methods return copies.
 */
export class NameAddr {
  readonly wildcard: false;
  /** Display name as written (quoted-string with quotes, or tokens); undefined when absent. */
  readonly displayRaw: string | undefined;
  /** The URI exactly as written (byte string). */
  readonly uriRaw: string;
  private paramList: Params | null;
  /** Checked simple parameter text, split on first use; '' when paramList is set. */
  private paramText: string;
  /** True when the URI was (or will be) written inside `<` `>`. */
  readonly angle: boolean;
  private parsedUri: Uri | undefined;
  private readonly uriOffset: number;
  private text: string | undefined;

  /**
   * Creates a name-addr from a URI (object or text), an optional display
   * name (text) and parameters.
   */
  constructor(
    uri: Uri | string,
    displayName?: string,
    params?: Params | Record<string, string | number | boolean | null>,
  ) {
    this.wildcard = false;
    if (uri === WIRE_URI) {
      // Parser path: parts are byte strings in wire form.
      const w = wire;
      this.displayRaw = w.displayRaw;
      this.uriRaw = w.uriRaw;
      this.paramList = w.params;
      this.paramText = w.paramText;
      this.angle = w.angle;
      this.parsedUri = w.parsedUri;
      this.uriOffset = w.uriOffset;
      this.text = w.text;
      return;
    }
    // Fields are assigned in the same order on both paths, so every NameAddr has one shape.
    this.displayRaw = displayName === undefined ? undefined : textToBytes(quote(displayName));
    this.uriRaw = typeof uri === 'string' ? textToBytes(uri) : uri.toString();
    this.paramList = params instanceof Params ? params : params ? Params.from(params) : Params.EMPTY;
    this.paramText = '';
    this.angle = true;
    this.parsedUri = typeof uri === 'string' ? undefined : uri;
    this.uriOffset = 0;
    this.text = undefined;
  }

  /** @internal */
  static fromWire(
    displayRaw: string | undefined,
    uriRaw: string,
    uriOffset: number,
    params: Params | string,
    angle: boolean,
    text: string | undefined,
    parsedUri?: Uri,
  ): NameAddr {
    const w = wire;
    w.displayRaw = displayRaw;
    w.uriRaw = uriRaw;
    w.uriOffset = uriOffset;
    if (typeof params === 'string') {
      w.params = null;
      w.paramText = params;
    } else {
      w.params = params;
      w.paramText = '';
    }
    w.angle = angle;
    w.text = text;
    w.parsedUri = parsedUri;
    return new NameAddr(WIRE_URI);
  }

  /** Display name as text (quotes and escapes removed); undefined when absent. */
  get displayName(): string | undefined {
    const d = this.displayRaw;
    if (d === undefined) return undefined;
    return d.charCodeAt(0) === DQUOTE ? unquote(d) : unquote(`"${d}"`);
  }

  /** The URI, parsed on first access (throws SipParseError if it is malformed). */
  get uri(): Uri {
    if (this.parsedUri === undefined)
      this.parsedUri = scanUri(this.uriRaw, 0, this.uriRaw.length, this.uriOffset, 'URI');
    return this.parsedUri;
  }

  /** The URI if it is a sip: or sips: URI, else undefined. */
  get sipUri(): SipUri | undefined {
    const u = this.uri;
    return u.kind === 'sip' ? u : undefined;
  }

  get params(): Params {
    if (this.paramList === null) this.paramList = Params.fromSimple(this.paramText);
    return this.paramList;
  }

  /** The `tag` parameter (From, To). */
  get tag(): string | undefined {
    if (this.paramList === null) {
      const v = simpleParam(this.paramText, ';tag=');
      if (v !== undefined) return v;
    }
    const t = this.params.get('tag');
    return typeof t === 'string' ? t : undefined;
  }

  /** The `expires` parameter as a number of seconds (Contact); undefined when absent or not a number. */
  get expires(): number | undefined {
    return deltaSeconds(this.params.getRaw('expires'));
  }

  /** The `q` parameter (Contact) as a number between 0 and 1; undefined when absent or malformed. */
  get q(): number | undefined {
    const v = this.params.getRaw('q');
    if (typeof v !== 'string' || !/^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(v)) return undefined;
    return Number(v);
  }

  withParam(name: string, value: string | number | null = null): NameAddr {
    return NameAddr.fromWire(
      this.displayRaw,
      this.uriRaw,
      this.uriOffset,
      this.params.with(name, value),
      true,
      undefined,
    );
  }

  withoutParam(name: string): NameAddr {
    if (!this.params.has(name)) return this;
    return NameAddr.fromWire(
      this.displayRaw,
      this.uriRaw,
      this.uriOffset,
      this.params.without(name),
      true,
      undefined,
    );
  }

  withTag(tag: string): NameAddr {
    return this.withParam('tag', tag);
  }

  withUri(uri: Uri): NameAddr {
    return NameAddr.fromWire(this.displayRaw, uri.toString(), 0, this.params, true, undefined, uri);
  }

  /** The value as written on the wire (byte string). */
  toString(): string {
    if (this.text !== undefined) return this.text;
    let out = '';
    if (this.displayRaw !== undefined) out = `${this.displayRaw} `;
    out += this.angle || this.displayRaw !== undefined ? `<${this.uriRaw}>` : this.uriRaw;
    out += this.params.toString();
    this.text = out;
    return out;
  }
}

const WIRE_URI = new AbsoluteUri('x-sipwire-wire', '');
const wire = {
  displayRaw: undefined as string | undefined,
  uriRaw: '',
  uriOffset: 0,
  params: Params.EMPTY as Params | null,
  paramText: '',
  angle: true,
  text: undefined as string | undefined,
  parsedUri: undefined as Uri | undefined,
};

/** The `*` value of Contact (RFC 3261 §10.2.2: remove all bindings). */
export class Wildcard {
  readonly wildcard = true as const;
  readonly params: Params = Params.EMPTY;
  toString(): string {
    return '*';
  }
}

export type ContactValue = NameAddr | Wildcard;

/** delta-seconds = 1*DIGIT; values above 2^32-1 are rejected (undefined). */
export function deltaSeconds(v: string | null | undefined): number | undefined {
  if (typeof v !== 'string' || v.length === 0 || v.length > 10) return undefined;
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return undefined;
    n = n * 10 + c;
  }
  return n > 0xffffffff ? undefined : n;
}

/**
 * Reads one name-addr / addr-spec with its parameters at the scanner.
 * Stops before a ',' or the end.
 */
export function scanNameAddr(sc: Scanner): NameAddr {
  const s = sc.s;
  sc.skipWs();
  const valueStart = sc.i;
  let displayRaw: string | undefined;
  let c = sc.peek();
  if (c === DQUOTE) {
    displayRaw = sc.quotedRaw();
    sc.skipWs();
    if (sc.peek() !== LAQUOT) sc.fail(`expected '<' after the display name${sc.describeHere()}`);
    c = LAQUOT;
  } else if (c !== LAQUOT) {
    // *(token LWS) "<" is a display name; anything else is an addr-spec.
    let j = sc.i;
    let lastNonWs = j;
    while (j < sc.end) {
      const d = s.charCodeAt(j);
      if (TOKEN[d] === 1) lastNonWs = j + 1;
      else if (d !== SP && d !== HT) break;
      j++;
    }
    if (j < sc.end && s.charCodeAt(j) === LAQUOT && j > sc.i) {
      displayRaw = s.slice(sc.i, lastNonWs);
      sc.i = j;
      c = LAQUOT;
    }
  }
  let uriRaw: string;
  let uriOffset: number;
  let angle: boolean;
  let parsed: Uri | undefined;
  if (c === LAQUOT) {
    const open = sc.i;
    const close = s.indexOf('>', open + 1);
    if (close === -1 || close >= sc.end) sc.fail("missing '>' after the URI");
    const first = s.charCodeAt(open + 1);
    if (first === SP || first === HT) {
      sc.i = open + 1;
      sc.fail("whitespace after '<' (RFC 3261 §25.1 allows none inside <>)");
    }
    if (s.charCodeAt(close - 1) === SP || s.charCodeAt(close - 1) === HT) {
      sc.i = close - 1;
      sc.fail("whitespace before '>' (RFC 3261 §25.1 allows none inside <>)");
    }
    uriRaw = s.slice(open + 1, close);
    uriOffset = sc.base + open + 1;
    sc.i = close + 1;
    angle = true;
  } else {
    // addr-spec: RFC 3261 §20.10, a URI with ',', ';' or '?' must be inside <>.
    const start = sc.i;
    let j = start;
    while (j < sc.end) {
      const d = s.charCodeAt(j);
      if (d === SEMI || d === COMMA || d === SP || d === HT) break;
      if (d === 0x3f) {
        sc.i = j;
        sc.fail("a URI with headers ('?') must be enclosed in <>");
      }
      j++;
    }
    if (j === start) sc.fail(`expected a URI${sc.describeHere()}`);
    uriRaw = s.slice(start, j);
    uriOffset = sc.base + start;
    sc.i = j;
    angle = false;
    // Parse now: without <> the URI's extent is only known if it is well formed.
    parsed = scanUri(uriRaw, 0, uriRaw.length, uriOffset, 'URI');
  }
  const params = scanParams(sc);
  const text = s.slice(valueStart, sc.i);
  return NameAddr.fromWire(displayRaw, uriRaw, uriOffset, params, angle, text, parsed);
}

/*
 * Fast path for the common forms: [display-name] "<" URI ">" or a bare
 * addr-spec, then *( ";" token [ "=" value ] ) with no optional whitespace
 * around the separators. One pass over the characters, no backtracking; it
 * returns null for any other form, which the full scanner then reads (and
 * reports precisely when it is wrong). Where it returns a value, the full
 * scanner would have made the same one.
 */

/** Where the last successful fastNameAddr stopped. */
let fastEnd = 0;

/** Tries the fast path at s[i, end); on success `fastEnd` is after the value. */
function fastNameAddr(s: string, i: number, end: number, base: number): NameAddr | null {
  const start = i;
  let displayRaw: string | undefined;
  let c = s.charCodeAt(i);
  if (c === DQUOTE) {
    const q = quotedEnd(s, i, end);
    if (q === -1) return null;
    displayRaw = s.slice(i, q);
    i = q;
    c = s.charCodeAt(i);
    while (c === SP || c === HT) c = s.charCodeAt(++i);
    if (c !== LAQUOT || i >= end) return null;
  } else if (c !== LAQUOT) {
    // Tokens separated by whitespace before "<" are a display name; one token
    // followed by ':' starts an addr-spec.
    let j = i;
    for (;;) {
      const t = j;
      while (j < end && TOKEN[s.charCodeAt(j)] === 1) j++;
      if (j === t) return null;
      const last = j;
      while (j < end && (s.charCodeAt(j) === SP || s.charCodeAt(j) === HT)) j++;
      if (j >= end) return null;
      const d = s.charCodeAt(j);
      if (d === LAQUOT) {
        displayRaw = s.slice(i, last);
        i = j;
        break;
      }
      if (d === COLON && t === i && j === last) return fastAddrSpec(s, i, end, base);
      if (j === last) return null;
    }
  }
  // "<" URI ">": the URI's characters are checked when it is read; a space
  // just inside the brackets is for the full scanner to report.
  const open = i;
  const close = s.indexOf('>', open + 1);
  if (close === -1 || close >= end || close === open + 1) return null;
  c = s.charCodeAt(open + 1);
  const l = s.charCodeAt(close - 1);
  if (c === SP || c === HT || l === SP || l === HT) return null;
  i = simpleParamsEnd(s, close + 1, end);
  if (i === -1) return null;
  fastEnd = i;
  return NameAddr.fromWire(
    displayRaw,
    s.slice(open + 1, close),
    base + open + 1,
    s.slice(close + 1, i),
    true,
    start === 0 && i === s.length ? s : s.slice(start, i),
  );
}

/** A bare addr-spec at s[i] (RFC 3261 §20.10: no ',', ';' or '?' in it), parsed now. */
function fastAddrSpec(s: string, i: number, end: number, base: number): NameAddr | null {
  let j = i;
  while (j < end) {
    const d = s.charCodeAt(j);
    if (d === SEMI || d === COMMA || d === SP || d === HT) break;
    if (d === 0x3f || d < 0x20 || d === LAQUOT || d === DQUOTE) return null;
    j++;
  }
  const uriRaw = s.slice(i, j);
  const parsed = scanUri(uriRaw, 0, uriRaw.length, base + i, 'URI');
  const pe = simpleParamsEnd(s, j, end);
  if (pe === -1) return null;
  fastEnd = pe;
  return NameAddr.fromWire(
    undefined,
    uriRaw,
    base + i,
    s.slice(j, pe),
    false,
    i === 0 && pe === s.length ? s : s.slice(i, pe),
    parsed,
  );
}

function fastNameAddrList(value: string, base: number, limit: number): NameAddr[] | null {
  const out: NameAddr[] = [];
  const len = value.length;
  let i = 0;
  for (;;) {
    const n = fastNameAddr(value, i, len, base);
    if (n === null || out.length >= limit) return null;
    out.push(n);
    i = fastEnd;
    while (i < len && (value.charCodeAt(i) === SP || value.charCodeAt(i) === HT)) i++;
    if (i === len) return out;
    if (value.charCodeAt(i) !== COMMA) return null;
    i++;
    while (i < len && (value.charCodeAt(i) === SP || value.charCodeAt(i) === HT)) i++;
  }
}

/** Parses a single-valued name-addr header value (From, To, Reply-To, Refer-To...). */
export function parseNameAddr(value: string, what = 'name-addr', base = 0): NameAddr {
  const fast = fastNameAddr(value, 0, value.length, base);
  if (fast !== null && fastEnd === value.length) return fast;
  const sc = new Scanner(value, what, 0, value.length, base);
  const n = scanNameAddr(sc);
  sc.skipWs();
  if (!sc.atEnd()) sc.fail(`unexpected text after the value${sc.describeHere()}`);
  return n;
}

/** Parses a comma-separated list of name-addr values (Route, Record-Route, Path...). */
export function parseNameAddrList(
  value: string,
  what = 'name-addr list',
  base = 0,
  limit = Infinity,
): NameAddr[] {
  const fast = fastNameAddrList(value, base, limit);
  if (fast !== null) return fast;
  const sc = new Scanner(value, what, 0, value.length, base);
  const out: NameAddr[] = [];
  for (;;) {
    out.push(scanNameAddr(sc));
    if (out.length > limit) sc.fail(`more than ${limit} values`);
    sc.skipWs();
    if (sc.atEnd()) return out;
    if (sc.peek() !== COMMA) sc.fail(`expected ',' between values${sc.describeHere()}`);
    sc.i++;
  }
}

/** Parses a Contact value: `*` or a list of contacts (RFC 3261 §20.10). */
export function parseContactList(
  value: string,
  what = 'Contact',
  base = 0,
  limit = Infinity,
): ContactValue[] {
  if (value.indexOf('*') !== -1) {
    let a = 0;
    let b = value.length;
    while (a < b && (value.charCodeAt(a) === SP || value.charCodeAt(a) === HT)) a++;
    while (b > a && (value.charCodeAt(b - 1) === SP || value.charCodeAt(b - 1) === HT)) b--;
    if (b - a === 1 && value.charCodeAt(a) === 0x2a) return [WILDCARD];
  }
  return parseNameAddrList(value, what, base, limit);
}

const WILDCARD = new Wildcard();
