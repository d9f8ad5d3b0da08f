import { DIGIT } from './chars.js';
import { scanUint32 } from './cseq.js';
import { Params, scanParams } from './params.js';
import { Scanner } from './scanner.js';

/** A whole value of 1*DIGIT (optionally surrounded by whitespace), limited to `max`. */
export function parseDigits(value: string, what: string, max: number, base = 0): number {
  const sc = new Scanner(value, what, 0, value.length, base);
  sc.skipWs();
  const start = sc.i;
  const n = scanUint32(sc, 'a number');
  sc.skipWs();
  if (!sc.atEnd()) sc.fail(`expected only digits${sc.describeHere()}`);
  if (n > max) {
    sc.i = start;
    sc.fail(`value ${n} is larger than ${max}`);
  }
  return n;
}

/** Max-Forwards (RFC 3261 §20.22): 0-255. */
export function parseMaxForwards(value: string, base = 0): number {
  const n = value.length;
  if (n > 0 && n <= 3) {
    let v = 0;
    let i = 0;
    for (; i < n; i++) {
      const c = value.charCodeAt(i) - 0x30;
      if (c < 0 || c > 9) break;
      v = v * 10 + c;
    }
    if (i === n && v <= 255) return v;
  }
  return parseDigits(value, 'Max-Forwards', 255, base);
}

/** Expires, Min-Expires (RFC 3261 §20.19, §20.23): delta-seconds up to 2^32-1. */
export function parseDeltaSeconds(value: string, what = 'Expires', base = 0): number {
  return parseDigits(value, what, 0xffffffff, base);
}

/** RSeq (RFC 3262 §7.1): 1 to 2^31-1. */
export function parseRSeq(value: string, base = 0): number {
  const n = parseDigits(value, 'RSeq', 0xffffffff, base);
  return n;
}

/**
 * Expires as an RFC 2543 element may send it: an absolute SIP-date instead of
 * delta-seconds. RFC 3261 §10.3 step 7 treats it as malformed and applies the
 * default, so it is recognised here and reported as `undefined`.
 */
export function parseExpires(value: string, base = 0): number | undefined {
  const sc = new Scanner(value, 'Expires', 0, value.length, base);
  sc.skipWs();
  if (DIGIT[sc.peek()] !== 1 && /^\s*[A-Za-z]{3},/.test(value)) return undefined;
  return parseDeltaSeconds(value, 'Expires', base);
}

/** Retry-After (RFC 3261 §20.33): delta-seconds [ comment ] *( SEMI retry-param ). */
export class RetryAfter {
  readonly seconds: number;
  readonly comment: string | undefined;
  readonly params: Params;
  constructor(seconds: number, comment?: string, params: Params = Params.EMPTY) {
    this.seconds = seconds;
    this.comment = comment;
    this.params = params;
  }
  get duration(): number | undefined {
    const d = this.params.getRaw('duration');
    return typeof d === 'string' && /^\d{1,10}$/.test(d) ? Number(d) : undefined;
  }
  toString(): string {
    return `${this.seconds}${this.comment === undefined ? '' : ` (${this.comment})`}${this.params.toString()}`;
  }
}

export function parseRetryAfter(value: string, base = 0): RetryAfter {
  const sc = new Scanner(value, 'Retry-After', 0, value.length, base);
  sc.skipWs();
  const seconds = scanUint32(sc, 'delta-seconds');
  sc.skipWs();
  let comment: string | undefined;
  if (sc.peek() === 0x28) {
    // comment = LPAREN *(ctext / quoted-pair / comment) RPAREN, nesting allowed.
    let depth = 0;
    const start = sc.i;
    for (; sc.i < sc.end; sc.i++) {
      const c = sc.s.charCodeAt(sc.i);
      if (c === 0x5c) sc.i++;
      else if (c === 0x28) depth++;
      else if (c === 0x29 && --depth === 0) break;
    }
    if (depth !== 0) {
      sc.i = start;
      sc.fail('unterminated comment');
    }
    sc.i++;
    comment = sc.s.slice(start + 1, sc.i - 1);
  }
  const params = scanParams(sc);
  sc.skipWs();
  if (!sc.atEnd()) sc.fail(`unexpected text${sc.describeHere()}`);
  return new RetryAfter(seconds, comment, params);
}

/** Session-Expires / Min-SE (RFC 4028 §4, §5): delta-seconds *( SEMI se-params ). */
export class SessionExpires {
  readonly seconds: number;
  readonly params: Params;
  constructor(seconds: number, params: Params = Params.EMPTY) {
    this.seconds = seconds;
    this.params = params;
  }
  /** "uac" or "uas" when the refresher parameter is present. */
  get refresher(): string | undefined {
    const r = this.params.get('refresher');
    return typeof r === 'string' ? r.toLowerCase() : undefined;
  }
  toString(): string {
    return `${this.seconds}${this.params.toString()}`;
  }
}

export function parseSessionExpires(value: string, base = 0, what = 'Session-Expires'): SessionExpires {
  const sc = new Scanner(value, what, 0, value.length, base);
  sc.skipWs();
  const seconds = scanUint32(sc, 'delta-seconds');
  const params = scanParams(sc);
  sc.skipWs();
  if (!sc.atEnd()) sc.fail(`unexpected text${sc.describeHere()}`);
  return new SessionExpires(seconds, params);
}
