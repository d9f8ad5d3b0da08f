import { ParseErrorCode, SipParseError } from '../errors.js';
import { BACKSLASH, DQUOTE, HT, SP, TOKEN } from './chars.js';
import { bytesToText } from './text.js';

/**
 * A cursor over a byte string, used by every header-value grammar.
 * `base` is the byte offset of `s[0]` in the message, so errors carry the
 * offset in the message that the caller can report.
 */
export class Scanner {
  readonly s: string;
  i: number;
  readonly end: number;
  readonly base: number;
  readonly what: string;

  constructor(s: string, what: string, i = 0, end = s.length, base = 0) {
    this.s = s;
    this.i = i;
    this.end = end;
    this.base = base;
    this.what = what;
  }

  atEnd(): boolean {
    return this.i >= this.end;
  }

  /** The character code at the cursor, or -1 at the end. */
  peek(): number {
    return this.i < this.end ? this.s.charCodeAt(this.i) : -1;
  }

  /** Skips SP and HTAB (folding has been turned into spaces before values are scanned). */
  skipWs(): boolean {
    const start = this.i;
    const s = this.s;
    let i = this.i;
    while (i < this.end) {
      const c = s.charCodeAt(i);
      if (c !== SP && c !== HT) break;
      i++;
    }
    this.i = i;
    return i > start;
  }

  /** Consumes `c` if it is next, after optional whitespace on both sides (SWS c SWS). */
  eat(c: number): boolean {
    const save = this.i;
    this.skipWs();
    if (this.peek() === c) {
      this.i++;
      this.skipWs();
      return true;
    }
    this.i = save;
    return false;
  }

  /** Requires `c` (with optional whitespace around it). */
  expect(c: number, what: string): void {
    if (!this.eat(c)) this.fail(`expected ${what}${this.describeHere()}`);
  }

  /** Reads characters of the class `table`; returns '' when none. */
  run(table: Uint8Array): string {
    const s = this.s;
    const start = this.i;
    let i = start;
    while (i < this.end && table[s.charCodeAt(i)] === 1) i++;
    this.i = i;
    return i === start ? '' : s.slice(start, i);
  }

  /** Reads a token; fails with `what` when there is none. */
  token(what: string): string {
    const t = this.run(TOKEN);
    if (t === '') this.fail(`expected ${what}${this.describeHere()}`);
    return t;
  }

  /**
   * Reads a quoted-string at the cursor and returns it as written, quotes
   * included (RFC 3261 §25.1: quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)).
   */
  quotedRaw(): string {
    const s = this.s;
    const start = this.i;
    let i = start + 1;
    for (;;) {
      if (i >= this.end) {
        this.i = start;
        this.fail('unterminated quoted string');
      }
      const c = s.charCodeAt(i);
      if (c === DQUOTE) break;
      if (c === BACKSLASH) {
        const n = i + 1 < this.end ? s.charCodeAt(i + 1) : -1;
        if (n === -1 || n === 0x0a || n === 0x0d) {
          this.i = i;
          this.fail('bad escape in quoted string');
        }
        i += 2;
        continue;
      }
      if (c === 0x0a || c === 0x0d || (c < 0x20 && c !== HT) || c === 0x7f) {
        this.i = i;
        this.fail('control character in quoted string');
      }
      i++;
    }
    this.i = i + 1;
    return s.slice(start, i + 1);
  }

  describeHere(): string {
    if (this.i >= this.end) return ' at end of value';
    const c = this.s.charCodeAt(this.i);
    const shown =
      c > 0x20 && c < 0x7f ? `'${String.fromCharCode(c)}'` : `byte 0x${c.toString(16).padStart(2, '0')}`;
    return `, found ${shown}`;
  }

  fail(message: string): never {
    throw new SipParseError(ParseErrorCode.HEADER_VALUE, `${this.what}: ${message}`, {
      offset: this.base + this.i,
    });
  }
}

/** Removes the quotes and quoted-pair escapes of a quoted-string as written, and decodes UTF-8. */
export function unquote(raw: string): string {
  if (raw.length < 2 || raw.charCodeAt(0) !== DQUOTE) return raw;
  const inner = raw.slice(1, -1);
  if (inner.indexOf('\\') === -1) return bytesToText(inner);
  // Each backslash drops, the character after it stays (quoted-pair).
  let out = '';
  let from = 0;
  for (let i = 0; i < inner.length; i++) {
    if (inner.charCodeAt(i) === BACKSLASH && i + 1 < inner.length) {
      out += inner.slice(from, i);
      from = ++i;
    }
  }
  return bytesToText(out + inner.slice(from));
}

/** Writes text as a quoted-string, escaping '"' and '\'. */
export function quote(text: string): string {
  // Nothing to escape (the common case): the text in one piece.
  if (text.indexOf('"') === -1 && text.indexOf('\\') === -1) return `"${text}"`;
  let out = '"';
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === DQUOTE || c === BACKSLASH) {
      out += `${text.slice(from, i)}\\`;
      from = i;
    }
  }
  return `${out}${text.slice(from)}"`;
}
