import { COMMA, DIGIT, HT, SLASH, SP } from './chars.js';
import { bareHost, checkHost } from './host.js';
import { Params, scanParams } from './params.js';
import { VIA_RE } from './patterns.js';
import { Scanner } from './scanner.js';

/**
 * Value of a parameter in checked simple parameter text, found by its exact
 * lower-case spelling `;name=`; undefined when not written that way (the
 * caller then looks it up case-insensitively).
 */
export function simpleParam(text: string, key: string): string | undefined {
  const i = text.indexOf(key);
  if (i !== -1 && text.indexOf('"') !== -1) return undefined;
  if (i === -1) return undefined;
  const from = i + key.length;
  const end = text.indexOf(';', from);
  return end === -1 ? text.slice(from) : text.slice(from, end);
}

/** `s` with [start, end) replaced by `text` (unchanged when start is -1). */
function splice(s: string, start: number, end: number, text: string): string {
  return start === -1 ? s : `${s.slice(0, start)}${text}${s.slice(end)}`;
}

/** RFC 3261 §8.1.1.7: a branch starting with this cookie was made by an RFC 3261 element. */
export const MAGIC_COOKIE = 'z9hG4bK';

/**
 * One Via value (RFC 3261 §20.42):
 * `sent-protocol LWS sent-by *( SEMI via-params )`. Immutable.
 */
export class Via {
  private protocolText: string;
  private versionText: string;
  private transportText: string;
  private hostText: string;
  private portValue: number | undefined;
  private paramList: Params | null;
  /** Parameters as checked simple text (`;a=b;c`), split on first use; '' when paramList is set. */
  private paramText: string;
  private text: string | undefined;
  /** False while only `text` is known (checked by the fast grammar); the parts are read on first use. */
  private resolved: boolean;

  /**
   * `params` is a Params list, or (internally) the text of simple
   * parameters already checked by the grammar.
   */
  constructor(
    transport: string,
    host: string,
    port: number | undefined,
    params: Params | string = Params.EMPTY,
    protocol = 'SIP',
    version = '2.0',
    text?: string,
  ) {
    this.protocolText = protocol;
    this.versionText = version;
    this.transportText = transport;
    this.hostText = host;
    this.portValue = port;
    if (typeof params === 'string') {
      this.paramList = null;
      this.paramText = params;
    } else {
      this.paramList = params;
      this.paramText = '';
    }
    this.text = text;
    this.resolved = true;
  }

  /** @internal A Via known only by its text, already matched by the fast grammar (or written in that form by the stack). */
  static checked(text: string): Via {
    const v = new Via('', '', undefined, '', 'SIP', '2.0', text);
    v.resolved = false;
    // Transport and host hold no ';', so the parameters are all from the first ';' on.
    const semi = text.indexOf(';');
    v.paramText = semi === -1 ? '' : text.slice(semi);
    return v;
  }

  /**
   * Reads transport, host and port from text the fast grammar matched:
   * "SIP/2.0/" transport SP host [":" port], then parameters from the first
   * ';'. The match already checked every character, so string searches
   * find the parts.
   */
  private resolve(): void {
    const t = this.text as string;
    const sp = t.indexOf(' ', 8);
    let transport = t.slice(8, sp);
    if (transport !== 'UDP' && transport !== 'TCP' && transport !== 'TLS')
      transport = transport.toUpperCase();
    let end = t.indexOf(';', sp + 1);
    if (end === -1) end = t.length;
    // An IPv6 reference ends at its ']'; a name or IPv4 address holds no ':'.
    const colon = t.charCodeAt(sp + 1) === 0x5b ? t.indexOf(']', sp + 1) + 1 : t.indexOf(':', sp + 1);
    const hostEnd = colon === -1 || colon >= end ? end : colon;
    this.transportText = transport;
    this.hostText = t.slice(sp + 1, hostEnd);
    this.portValue = hostEnd < end && t.charCodeAt(hostEnd) === 0x3a ? +t.slice(hostEnd + 1, end) : undefined;
    this.resolved = true;
  }

  /** Protocol name, normally "SIP". */
  get protocol(): string {
    return this.protocolText;
  }

  /** Protocol version, normally "2.0". */
  get version(): string {
    return this.versionText;
  }

  /** Transport in upper case ("UDP", "TCP", "TLS", "WS", "WSS", "SCTP", or another token). */
  get transport(): string {
    if (!this.resolved) this.resolve();
    return this.transportText;
  }

  /** sent-by host as written (an IPv6 reference keeps its brackets). */
  get host(): string {
    if (!this.resolved) this.resolve();
    return this.hostText;
  }

  /** sent-by port; undefined when absent. */
  get port(): number | undefined {
    if (!this.resolved) this.resolve();
    return this.portValue;
  }

  get params(): Params {
    if (this.paramList === null) this.paramList = Params.fromSimple(this.paramText);
    return this.paramList;
  }

  get branch(): string | undefined {
    if (this.paramList === null) {
      const v = simpleParam(this.paramText, ';branch=');
      if (v !== undefined) return v;
    }
    const b = this.params.get('branch');
    return typeof b === 'string' ? b : undefined;
  }

  /** The received address, without the brackets some peers put around IPv6 (RFC 5118 §4.5). */
  get received(): string | undefined {
    const r = this.params.get('received');
    if (typeof r !== 'string') return undefined;
    return r.charCodeAt(0) === 0x5b && r.charCodeAt(r.length - 1) === 0x5d ? r.slice(1, -1) : r;
  }

  /** The rport value: a number when filled in, null when present without a value (RFC 3581), undefined when absent. */
  get rport(): number | null | undefined {
    const r = this.params.getRaw('rport');
    if (r === undefined) return undefined;
    if (r === null) return null;
    const n = Number(r);
    return Number.isInteger(n) && n > 0 && n < 65536 ? n : undefined;
  }

  get maddr(): string | undefined {
    const m = this.params.get('maddr');
    return typeof m === 'string' ? m : undefined;
  }

  get ttl(): number | undefined {
    const t = this.params.getRaw('ttl');
    if (typeof t !== 'string') return undefined;
    const n = Number(t);
    return Number.isInteger(n) && n >= 0 && n <= 255 ? n : undefined;
  }

  /** True when the branch carries the RFC 3261 magic cookie (§8.1.1.7). */
  get rfc3261Branch(): boolean {
    const b = this.branch;
    return b !== undefined && b.length > MAGIC_COOKIE.length && b.startsWith(MAGIC_COOKIE);
  }

  /** sent-by as "host:port" (port included only when present). */
  get sentBy(): string {
    return this.port === undefined ? this.host : `${this.host}:${this.port}`;
  }

  withParam(name: string, value: string | number | null = null): Via {
    return new Via(
      this.transport,
      this.host,
      this.port,
      this.params.with(name, value),
      this.protocol,
      this.version,
    );
  }

  /**
   * @internal This Via as a server marks it on receipt from `address`:`port`
   * (RFC 3261 §18.2.1: `received` when the sent-by host is not the source
   * address; RFC 3581 §4: `rport` given without a value is filled in, and
   * `received` added); this Via itself when nothing is to be added. Simple
   * parameter text is edited as text, without splitting it into a list.
   */
  markedFrom(address: string, port: number): Via {
    const host = bareHost(this.host);
    const t = this.paramList === null ? this.paramText : undefined;
    if (t === undefined || t.indexOf('"') !== -1) {
      let v: Via = this;
      // A `received` the sender wrote itself is replaced by the true source, so
      // that it cannot point our responses at another address.
      const written = this.received;
      if (host !== address || (written !== undefined && written !== address))
        v = v.withParam('received', address);
      if (this.rport === null) v = v.withParam('rport', port).withParam('received', address);
      return v;
    }
    // Each parameter is ';' name [ '=' value ]: find rport without a value, and received.
    let rportEnd = -1;
    let recStart = -1;
    let recEnd = -1;
    for (let i = 0; i < t.length; ) {
      let e = t.indexOf(';', i + 1);
      if (e === -1) e = t.length;
      const eq = t.indexOf('=', i + 1);
      const ne = eq !== -1 && eq < e ? eq : e;
      const len = ne - i - 1;
      if (len === 5 && ne === e && t.slice(i + 1, ne).toLowerCase() === 'rport') rportEnd = e;
      else if (len === 8 && t.slice(i + 1, ne).toLowerCase() === 'received') {
        recStart = ne;
        recEnd = e;
      }
      i = e;
    }
    if (
      rportEnd === -1 &&
      host === address &&
      (recStart === -1 || bareHost(t.slice(recStart + 1, recEnd)) === address)
    )
      return this;
    // The edits go from right to left, so each offset still holds when it is used.
    const rport = rportEnd === -1 ? '' : `=${port}`;
    let out: string;
    if (recStart === -1) out = `${splice(t, rportEnd, rportEnd, rport)};received=${address}`;
    else if (recStart > rportEnd)
      out = splice(splice(t, recStart, recEnd, `=${address}`), rportEnd, rportEnd, rport);
    else out = splice(splice(t, rportEnd, rportEnd, rport), recStart, recEnd, `=${address}`);
    // A Via known by its text keeps the text's head: the edited value is written
    // as it was read, with the new parameters (simple ones, as before).
    const text = this.text;
    if (text?.endsWith(t)) return Via.checked(text.slice(0, text.length - t.length) + out);
    return new Via(this.transport, this.host, this.port, out, this.protocol, this.version);
  }

  withoutParam(name: string): Via {
    if (!this.params.has(name)) return this;
    return new Via(
      this.transport,
      this.host,
      this.port,
      this.params.without(name),
      this.protocol,
      this.version,
    );
  }

  toString(): string {
    if (this.text === undefined) {
      this.text = `${this.protocol}/${this.version}/${this.transport} ${this.sentBy}${this.params.toString()}`;
    }
    return this.text;
  }
}

/* Fast path for the common form of a via-parm: "SIP/2.0/" transport SP host
 * [":" port] then simple parameters (see patterns.ts). The match builds no
 * captures; the parts are found with string searches when first read. */
const FAST_VIA_TEST = new RegExp(VIA_RE, 'y');

/**
 * Tries the fast path at s[i]: returns the Via and leaves `FAST_VIA_TEST.lastIndex`
 * after it, or returns null when the value needs the full scanner.
 */
function fastVia(s: string, i: number): Via | null {
  FAST_VIA_TEST.lastIndex = i;
  if (!FAST_VIA_TEST.test(s)) return null;
  const end = FAST_VIA_TEST.lastIndex;
  const text = i === 0 && end === s.length ? s : s.slice(i, end);
  // IPv6 references are checked in code (their ABNF is not a simple pattern).
  const lb = text.indexOf('[');
  if (lb !== -1 && lb < text.indexOf(' ') + 2) {
    const rb = text.indexOf(']', lb);
    if (checkHost(text, lb, rb + 1) !== null) return null;
  }
  return Via.checked(text);
}

/** Reads one via-parm at the scanner; stops before ',' or the end. */
export function scanVia(sc: Scanner): Via {
  const s = sc.s;
  sc.skipWs();
  const start = sc.i;
  const protocol = sc.token('protocol name');
  sc.expect(SLASH, "'/' after the protocol name");
  const version = sc.token('protocol version');
  sc.expect(SLASH, "'/' after the protocol version");
  const transport = sc.token('transport');
  if (!sc.skipWs()) sc.fail(`expected whitespace before sent-by${sc.describeHere()}`);
  // sent-by = host [ COLON port ]
  const hostStart = sc.i;
  let i = hostStart;
  if (s.charCodeAt(i) === 0x5b) {
    const close = s.indexOf(']', i);
    if (close === -1 || close >= sc.end) sc.fail('unterminated IPv6 reference in sent-by');
    i = close + 1;
  } else {
    while (i < sc.end) {
      const c = s.charCodeAt(i);
      if (c === 0x3a || c === 0x3b || c === COMMA || c === SP || c === HT) break;
      i++;
    }
  }
  const problem = checkHost(s, hostStart, i);
  if (problem !== null) {
    sc.i = hostStart;
    sc.fail(problem);
  }
  const host = s.slice(hostStart, i);
  sc.i = i;
  let port: number | undefined;
  if (sc.eat(0x3a)) {
    const pStart = sc.i;
    let v = 0;
    let j = pStart;
    while (j < sc.end && DIGIT[s.charCodeAt(j)] === 1 && j - pStart < 6) {
      v = v * 10 + s.charCodeAt(j) - 0x30;
      j++;
    }
    if (j === pStart) sc.fail(`expected a port number${sc.describeHere()}`);
    if (v > 65535 || (j < sc.end && DIGIT[s.charCodeAt(j)] === 1)) sc.fail('port number out of range');
    sc.i = j;
    port = v;
  }
  const params = scanParams(sc);
  return new Via(transport.toUpperCase(), host, port, params, protocol, version, s.slice(start, sc.i));
}

/** Parses a Via header value (one or more via-parm separated by commas). */
export function parseViaList(value: string, base = 0, limit = Infinity): Via[] {
  const fast = fastViaList(value, limit);
  if (fast !== null) return fast;
  const sc = new Scanner(value, 'Via', 0, value.length, base);
  const out: Via[] = [];
  for (;;) {
    out.push(scanVia(sc));
    if (out.length > limit) sc.fail(`more than ${limit} values`);
    sc.skipWs();
    if (sc.atEnd()) return out;
    if (sc.peek() !== COMMA) sc.fail(`expected ',' or ';'${sc.describeHere()}`);
    sc.i++;
  }
}

function fastViaList(value: string, limit: number): Via[] | null {
  const out: Via[] = [];
  let i = 0;
  for (;;) {
    const v = fastVia(value, i);
    if (v === null || out.length >= limit) return null;
    out.push(v);
    i = FAST_VIA_TEST.lastIndex;
    if (i === value.length) return out;
    if (value.charCodeAt(i) !== COMMA) return null;
    i++;
    while (i < value.length && (value.charCodeAt(i) === SP || value.charCodeAt(i) === HT)) i++;
  }
}

/** Parses only the first via-parm of a Via header value (the fast path for the top Via). */
export function parseFirstVia(value: string, base = 0): Via {
  const fast = fastVia(value, 0);
  if (fast !== null) {
    const i = FAST_VIA_TEST.lastIndex;
    if (i === value.length || value.charCodeAt(i) === COMMA) return fast;
  }
  const sc = new Scanner(value, 'Via', 0, value.length, base);
  const v = scanVia(sc);
  sc.skipWs();
  if (!sc.atEnd() && sc.peek() !== COMMA) sc.fail(`expected ',' or ';'${sc.describeHere()}`);
  return v;
}
