import { COMMA, EQUAL, HEX, TOKEN } from './chars.js';
import { quote, Scanner, unquote } from './scanner.js';
import { bytesToText } from './text.js';

/**
 * A challenge (WWW-Authenticate, Proxy-Authenticate) or credentials
 * (Authorization, Proxy-Authorization) value (RFC 3261 §25.1, RFC 7616,
 * RFC 8760): an auth scheme followed by comma-separated name=value
 * parameters, or, for Basic, a token68.
 */
export class AuthHeader {
  /** The scheme as written ("Digest", "Basic", ...). */
  readonly scheme: string;
  /** Flat list of name, raw value (quoted-strings keep their quotes). */
  private readonly list: ReadonlyArray<string>;
  /** Basic credentials and other token68 forms; undefined otherwise. */
  readonly token68: string | undefined;
  /** The parameter names in lower case, in list order (made on the first lookup). */
  private lowerNames: string[] | undefined;
  /** Values as text, by parameter index, as get() made them. */
  private texts: Array<string | undefined> | undefined;

  constructor(scheme: string, params: ReadonlyArray<string> | Record<string, string> = [], token68?: string) {
    this.scheme = scheme;
    if (Array.isArray(params)) this.list = params;
    else {
      const list: string[] = [];
      for (const [k, v] of Object.entries(params)) list.push(k, v);
      this.list = list;
    }
    this.token68 = token68;
    this.lowerNames = undefined;
    this.texts = undefined;
  }

  /** @internal A value from the parser, with its parameter names already in lower case. */
  static parsed(scheme: string, list: string[], lowerNames: string[]): AuthHeader {
    const h = new AuthHeader(scheme, list);
    h.lowerNames = lowerNames;
    return h;
  }

  /** True when the scheme is Digest (case-insensitive). */
  get isDigest(): boolean {
    return this.scheme.toLowerCase() === 'digest';
  }

  /** A parameter as text (quotes removed); undefined when absent. Names are case-insensitive. */
  get(name: string): string | undefined {
    const at = this.indexOf(name);
    if (at === -1) return undefined;
    this.texts ??= [];
    const texts = this.texts;
    let text = texts[at];
    if (text === undefined) {
      const raw = this.list[2 * at + 1] as string;
      text = raw.charCodeAt(0) === 0x22 ? unquote(raw) : bytesToText(raw);
      texts[at] = text;
    }
    return text;
  }

  getRaw(name: string): string | undefined {
    const at = this.indexOf(name);
    return at === -1 ? undefined : this.list[2 * at + 1];
  }

  /** Index of the first parameter named `name` (any case), or -1. */
  private indexOf(name: string): number {
    let lower = this.lowerNames;
    if (lower === undefined) {
      lower = [];
      for (let i = 0; i < this.list.length; i += 2) lower.push((this.list[i] as string).toLowerCase());
      this.lowerNames = lower;
    }
    return lower.indexOf(name.toLowerCase());
  }

  has(name: string): boolean {
    return this.getRaw(name) !== undefined;
  }

  /** Parameter names as written, in order. */
  names(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.list.length; i += 2) out.push(this.list[i]!);
    return out;
  }

  /** The algorithm in upper case; "MD5" when absent (RFC 2617 §3.2.1). */
  get algorithm(): string {
    return (this.get('algorithm') ?? 'MD5').toUpperCase();
  }

  toString(): string {
    if (this.token68 !== undefined) return `${this.scheme} ${this.token68}`;
    let out = this.scheme;
    for (let i = 0; i < this.list.length; i += 2)
      out += `${i === 0 ? ' ' : ', '}${this.list[i]}=${this.list[i + 1]}`;
    return out;
  }
}

/** Parameters whose values are written as quoted strings in Digest (RFC 7616 §3.3, §3.4). */
const QUOTED_DIGEST = new Set([
  'realm',
  'domain',
  'nonce',
  'opaque',
  'username',
  'uri',
  'response',
  'cnonce',
]);

/** Builds a Digest header value from text parameters, quoting the ones RFC 7616 writes quoted. */
export function digestHeader(params: Record<string, string | undefined>): AuthHeader {
  const list: string[] = [];
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    list.push(k, QUOTED_DIGEST.has(k.toLowerCase()) || (k === 'qop' && v.includes(',')) ? quote(v) : v);
  }
  return new AuthHeader('Digest', list);
}

/** Hex digits of the response for each algorithm (RFC 7616 §3.2, RFC 8760 §2.4). */
const DIGEST_HEX_LENGTH: Record<string, number> = {
  MD5: 32,
  'MD5-SESS': 32,
  'SHA-256': 64,
  'SHA-256-SESS': 64,
  'SHA-512-256': 64,
  'SHA-512-256-SESS': 64,
};

/**
 * Parses a challenge or credentials value. `kind` selects the Digest rules
 * applied: credentials need username, realm, nonce, uri and a response of
 * hex digits sized for the algorithm; challenges need realm and nonce.
 */
export function parseAuthHeader(
  value: string,
  what: string,
  kind: 'challenge' | 'credentials',
  base = 0,
): AuthHeader {
  const sc = new Scanner(value, what, 0, value.length, base);
  const s = sc.s;
  sc.skipWs();
  const scheme = sc.token('an authentication scheme');
  const lower = scheme.toLowerCase();
  const hadWs = sc.skipWs();
  if (sc.atEnd()) {
    if (lower === 'digest') sc.fail('Digest without parameters');
    return new AuthHeader(scheme);
  }
  if (!hadWs) sc.fail(`expected whitespace after the scheme${sc.describeHere()}`);
  // token68 (Basic and similar): one token of base64 characters, no '=' followed by a value.
  const save = sc.i;
  let j = sc.i;
  while (j < sc.end && (TOKEN[s.charCodeAt(j)] === 1 || s.charCodeAt(j) === 0x2f)) j++;
  let k = j;
  while (k < sc.end && s.charCodeAt(k) === EQUAL) k++;
  let tail = k;
  while (tail < sc.end && (s.charCodeAt(tail) === 0x20 || s.charCodeAt(tail) === 0x09)) tail++;
  // A lone token68 (Basic credentials and the like); a challenge of any scheme has auth-params (RFC 7235 §2.1).
  if (tail === sc.end && j > save && lower !== 'digest') return new AuthHeader(scheme, [], s.slice(save, k));
  if (lower === 'basic' && kind === 'credentials') {
    if (j === save) sc.fail('expected credentials after Basic');
    sc.i = tail;
    sc.fail(`unexpected text after the credentials${sc.describeHere()}`);
  }
  const list: string[] = [];
  const lowerNames: string[] = [];
  for (;;) {
    sc.skipWs();
    const name = sc.token('a parameter name');
    sc.expect(EQUAL, `'=' after '${name}'`);
    const v = sc.peek() === 0x22 ? sc.quotedRaw() : sc.token(`a value for '${name}'`);
    const lower = name.toLowerCase();
    if (lowerNames.includes(lower)) sc.fail(`parameter '${name}' appears twice`);
    lowerNames.push(lower);
    list.push(name, v);
    sc.skipWs();
    if (sc.atEnd()) break;
    if (sc.peek() !== COMMA) sc.fail(`expected ',' between parameters${sc.describeHere()}`);
    sc.i++;
  }
  const h = AuthHeader.parsed(scheme, list, lowerNames);
  if (lower === 'digest') checkDigest(h, kind, sc);
  return h;
}

function checkDigest(h: AuthHeader, kind: 'challenge' | 'credentials', sc: Scanner): void {
  sc.i = 0;
  const need = kind === 'challenge' ? ['realm', 'nonce'] : ['username', 'realm', 'nonce', 'uri', 'response'];
  for (const n of need) if (!h.has(n)) sc.fail(`Digest ${kind} without '${n}'`);
  if (kind === 'credentials') {
    const response = h.get('response')!;
    for (let i = 0; i < response.length; i++) {
      if (HEX[response.charCodeAt(i)] !== 1) sc.fail('response must be hexadecimal digits');
    }
    const want = DIGEST_HEX_LENGTH[h.algorithm];
    if (want !== undefined && response.length !== want) {
      sc.fail(`response has ${response.length} hex digits, ${h.algorithm} needs ${want}`);
    }
    const nc = h.getRaw('nc');
    if (nc !== undefined && !/^[0-9a-fA-F]{8}$/.test(nc)) sc.fail('nc must be 8 hex digits');
  }
}
