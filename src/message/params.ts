import { BACKSLASH, CR, DQUOTE, EQUAL, LF, PARAM_VALUE, SEMI, TOKEN } from './chars.js';
import { Scanner, unquote } from './scanner.js';
import { bytesToText, textToBytes } from './text.js';

const EMPTY_LIST: ReadonlyArray<string | null> = [];

function isLower(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return false;
  }
  return true;
}

/** s[at, at + lower.length) equals `lower` ignoring ASCII case. */
function sameName(s: string, at: number, lower: string): boolean {
  for (let j = 0; j < lower.length; j++) {
    const c = s.charCodeAt(at + j);
    const l = lower.charCodeAt(j);
    if (c !== l && (c | 0x20) !== l) return false;
  }
  return true;
}

/**
 * An ordered list of `;name[=value]` parameters as written on the wire.
 * Names compare case-insensitively (RFC 3261 §7.3.1); values are kept as
 * written (a quoted-string keeps its quotes) and `get` returns them as text.
 * Instances are immutable: `with` and `without` return new lists.
 */
export class Params {
  /** Flat list: name, value, name, value... A value of null means "no value" (`;lr`). Null while unsplit. */
  private listCache: ReadonlyArray<string | null> | null;
  /** Unsplit `;a=b;c` text already checked by a grammar (no quotes, no whitespace); '' once split. */
  private simple: string;

  /** @internal Takes a flat [name, value, ...] list of byte strings. */
  constructor(list: ReadonlyArray<string | null> = EMPTY_LIST) {
    this.listCache = list;
    this.simple = '';
  }

  static readonly EMPTY: Params = new Params();

  /**
   * @internal Parameters from text matched by `*( ";" token [ "=" value ] )`
   * with no quotes or whitespace; split on first use.
   */
  static fromSimple(raw: string): Params {
    if (raw === '') return Params.EMPTY;
    // Quoted values may hold ';' and '=': split those with the scanner.
    if (raw.indexOf('"') !== -1) return scanParams(new Scanner(raw, 'parameters'));
    const p = new Params(EMPTY_LIST);
    p.listCache = null;
    p.simple = raw;
    return p;
  }

  private get list(): ReadonlyArray<string | null> {
    let l = this.listCache;
    if (l === null) {
      const raw = this.simple;
      const out: Array<string | null> = [];
      let p = 0;
      while (p < raw.length) {
        let q = raw.indexOf(';', p + 1);
        if (q === -1) q = raw.length;
        const eq = raw.indexOf('=', p + 1);
        if (eq !== -1 && eq < q) out.push(raw.slice(p + 1, eq), raw.slice(eq + 1, q));
        else out.push(raw.slice(p + 1, q), null);
        p = q;
      }
      l = out;
      this.listCache = l;
    }
    return l;
  }

  /** Raw value of `lower` (a lower-case name) in unsplit text: undefined when absent. */
  private findSimple(lower: string): string | null | undefined {
    const raw = this.simple;
    const n = lower.length;
    let p = 0;
    while (p < raw.length) {
      let q = raw.indexOf(';', p + 1);
      if (q === -1) q = raw.length;
      const c = raw.charCodeAt(p + 1 + n);
      if ((c === 0x3d || p + 1 + n === q) && sameName(raw, p + 1, lower)) {
        return c === 0x3d ? raw.slice(p + 2 + n, q) : null;
      }
      p = q;
    }
    return undefined;
  }

  /** Builds parameters from text pairs; a value of null or true writes the name alone. */
  static from(
    entries:
      | Iterable<[string, string | number | boolean | null]>
      | Record<string, string | number | boolean | null>,
  ): Params {
    const list: Array<string | null> = [];
    const it =
      Symbol.iterator in entries
        ? (entries as Iterable<[string, string | number | boolean | null]>)
        : Object.entries(entries);
    for (const [name, value] of it) {
      if (value === false) continue;
      list.push(textToBytes(name), value === null || value === true ? null : textToBytes(String(value)));
    }
    return new Params(list);
  }

  get size(): number {
    return this.list.length >> 1;
  }

  private indexOf(name: string): number {
    const list = this.list;
    const lower = name.toLowerCase();
    for (let i = 0; i < list.length; i += 2) {
      const n = list[i] as string;
      if (n.length === lower.length && sameName(n, 0, lower)) return i;
    }
    return -1;
  }

  has(name: string): boolean {
    return this.getRaw(name) !== undefined;
  }

  /**
   * The value as text (quotes removed, UTF-8 decoded): undefined when
   * absent, null when present without a value.
   */
  get(name: string): string | null | undefined {
    const v = this.getRaw(name);
    if (v === null || v === undefined) return v;
    return v.charCodeAt(0) === 0x22 ? unquote(v) : v;
  }

  /** The value exactly as written (byte string, quotes kept). */
  getRaw(name: string): string | null | undefined {
    if (this.listCache === null) return this.findSimple(isLower(name) ? name : name.toLowerCase());
    const i = this.indexOf(name);
    return i === -1 ? undefined : (this.list[i + 1] as string | null);
  }

  /** A copy with `name` set (replacing an existing value in place, or appended). The value is wire text. */
  with(name: string, value: string | number | null = null): Params {
    const v = value === null ? null : textToBytes(String(value));
    const list = this.list.slice();
    const i = this.indexOf(name);
    if (i === -1) list.push(textToBytes(name), v);
    else list[i + 1] = v;
    return new Params(list);
  }

  without(name: string): Params {
    const i = this.indexOf(name);
    if (i === -1) return this;
    const list = this.list.slice();
    list.splice(i, 2);
    return new Params(list);
  }

  /** Names and values as text, in order. */
  *entries(): IterableIterator<[string, string | null]> {
    for (let i = 0; i < this.list.length; i += 2) {
      const v = this.list[i + 1] as string | null;
      yield [
        bytesToText(this.list[i] as string),
        v === null ? null : v.charCodeAt(0) === 0x22 ? unquote(v) : bytesToText(v),
      ];
    }
  }

  /** @internal Raw flat list. */
  raw(): ReadonlyArray<string | null> {
    return this.list;
  }

  /** `;name=value;name` as written (byte string). */
  toString(): string {
    if (this.listCache === null) return this.simple;
    let out = '';
    const list = this.list;
    for (let i = 0; i < list.length; i += 2) {
      out += `;${list[i]}`;
      const v = list[i + 1];
      if (v !== null) out += `=${v}`;
    }
    return out;
  }
}

/**
 * Reads `*( SEMI generic-param )` at the scanner (RFC 3261 §25.1):
 * generic-param = token [ EQUAL gen-value ]; gen-value = token / host / quoted-string.
 * Stops before anything that is not a `;` (such as `,` or the end).
 */
export function scanParams(sc: Scanner, valueTable: Uint8Array = PARAM_VALUE): Params {
  let list: Array<string | null> | null = null;
  for (;;) {
    if (!sc.eat(SEMI)) break;
    const name = sc.token('parameter name');
    let value: string | null = null;
    if (sc.eat(EQUAL)) {
      value = sc.peek() === 0x22 ? sc.quotedRaw() : sc.run(valueTable);
      if (value === '') sc.fail(`empty value for parameter '${name}'`);
    }
    if (list === null) list = [];
    list.push(name, value);
  }
  return list === null ? Params.EMPTY : new Params(list);
}

/**
 * End (after the closing quote) of the quoted-string opening at s[i], or -1
 * when it is not the plain form: no control characters, quoted-pairs of
 * ASCII other than CR and LF.
 */
export function quotedEnd(s: string, i: number, end: number): number {
  let j = i + 1;
  while (j < end) {
    const c = s.charCodeAt(j);
    if (c === DQUOTE) return j + 1;
    if (c === BACKSLASH) {
      const d = s.charCodeAt(j + 1);
      if (j + 1 >= end || d > 0x7f || d === CR || d === LF) return -1;
      j += 2;
    } else if (c < 0x20 || c === 0x7f) return -1;
    else j++;
  }
  return -1;
}

/**
 * End of *( ";" token [ "=" ( value / quoted-string ) ] ) at s[i], or -1
 * when not in that form (the simple parameter text the fast paths keep unsplit).
 */
export function simpleParamsEnd(s: string, i: number, end: number): number {
  while (i < end && s.charCodeAt(i) === SEMI) {
    const n = ++i;
    while (i < end && TOKEN[s.charCodeAt(i)] === 1) i++;
    if (i === n) return -1;
    if (i < end && s.charCodeAt(i) === EQUAL) {
      i++;
      if (s.charCodeAt(i) === DQUOTE) {
        i = quotedEnd(s, i, end);
        if (i === -1) return -1;
      } else {
        const v = i;
        while (i < end && PARAM_VALUE[s.charCodeAt(i)] === 1) i++;
        if (i === v) return -1;
      }
    }
  }
  return i;
}
