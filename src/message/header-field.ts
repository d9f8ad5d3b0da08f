import { ParseErrorCode, SipParseError } from '../errors.js';
import { HT, SP } from './chars.js';
import { type HeaderInfo, headerInfoById, lookupHeaderId } from './header-names.js';
import { bytesToText } from './text.js';

/**
 * One header field of a message, in wire order. A field read from the wire
 * points into the message's source text and is written back byte for byte
 * unless it is replaced; a field made by code holds its name and value.
 *
 * The parser splits and names each field from the wire; its value is parsed
 * only when first read. A line without a colon stays unsplit, and reading
 * its name or value throws SipParseError.
 */
export class HeaderField {
  /** @internal Source text the offsets point into; null for fields made by code. */
  readonly src: string | null;
  /** @internal Byte offset of src[0] in the message. */
  readonly base: number;
  /** @internal Whole field range in src (name to end of the last folded line, no CRLF). */
  readonly ls: number;
  readonly le: number;
  /** @internal True when the value spans folded lines. */
  readonly folded: boolean;
  /** @internal Known-header id: -1 not yet identified, 0 unknown header. */
  idc: number;
  /** @internal End of the name in src; -1 until split. */
  ne: number;
  /**
   * @internal Value range in src: trimmed once `ve` is set; until then `vs`
   * is just after the colon (the parser names every field but trims a value
   * only when it is read).
   */
  vs: number;
  ve: number;
  private nameText: string | null;
  private valueText: string | null;
  /** @internal Cached parse of the whole value (typed value, or array for list headers). */
  cache: unknown;
  /** @internal Cached parse of the first element only (fast path for list headers). */
  first: unknown;

  constructor(
    src: string | null,
    base: number,
    ls: number,
    le: number,
    folded: boolean,
    id: number,
    name: string | null,
    value: string | null,
  ) {
    this.src = src;
    this.base = base;
    this.ls = ls;
    this.le = le;
    this.folded = folded;
    this.idc = id;
    this.ne = -1;
    this.vs = 0;
    this.ve = -1;
    this.nameText = name;
    this.valueText = value;
    this.cache = undefined;
    this.first = undefined;
  }

  /** A field made by code: name as given, value as a byte string. */
  static create(id: number, name: string, value: string): HeaderField {
    return new HeaderField(null, -1, 0, 0, false, id, name, value);
  }

  /**
   * @internal Finds the colon and the value (RFC 3261 §7.3.1: field-name
   * HCOLON field-value, HCOLON = *( SP / HTAB ) ":" SWS). Throws
   * SipParseError for a line without a colon or without a name.
   */
  split(): void {
    const s = this.src as string;
    const ls = this.ls;
    const le = this.le;
    const colon = s.indexOf(':', ls);
    if (colon === -1 || colon >= le) {
      throw new SipParseError(
        ParseErrorCode.HEADER_LINE,
        `header line '${s.slice(ls, Math.min(le, ls + 40))}' has no colon`,
        {
          offset: this.base + ls,
        },
      );
    }
    let ne = colon;
    while (ne > ls && (s.charCodeAt(ne - 1) === SP || s.charCodeAt(ne - 1) === HT)) ne--;
    if (ne === ls) {
      throw new SipParseError(ParseErrorCode.HEADER_LINE, 'header line without a name', {
        offset: this.base + ls,
      });
    }
    let vs = colon + 1;
    while (
      vs < le &&
      (s.charCodeAt(vs) === SP ||
        s.charCodeAt(vs) === HT ||
        s.charCodeAt(vs) === 0x0d ||
        s.charCodeAt(vs) === 0x0a)
    )
      vs++;
    let ve = le;
    while (ve > vs && (s.charCodeAt(ve - 1) === SP || s.charCodeAt(ve - 1) === HT)) ve--;
    this.ne = ne;
    this.vs = vs;
    this.ve = ve;
  }

  /** @internal Records the split when the name end and colon are already known; the value is trimmed when read. */
  splitAt(ne: number, colon: number): void {
    this.ne = ne;
    this.vs = colon + 1;
  }

  /** @internal Makes [vs, ve) the trimmed value range, splitting the field first if needed. */
  span(): void {
    if (this.ne === -1) {
      this.split();
      return;
    }
    const s = this.src as string;
    const le = this.le;
    let vs = this.vs;
    let c = s.charCodeAt(vs);
    while (vs < le && (c === SP || c === HT || c === 0x0d || c === 0x0a)) c = s.charCodeAt(++vs);
    let ve = le;
    c = s.charCodeAt(ve - 1);
    while (ve > vs && (c === SP || c === HT)) c = s.charCodeAt(--ve - 1);
    this.vs = vs;
    this.ve = ve;
  }

  /** Known-header id (see header-names.ts), 0 for headers sipwire has no name for. */
  get id(): number {
    if (this.idc === -1) {
      if (this.ne === -1) this.split();
      this.idc = lookupHeaderId(this.src as string, this.ls, this.ne);
    }
    return this.idc;
  }

  /**
   * @internal True when this field is the header `info`: compares lengths
   * before characters, so most fields are ruled out with one comparison.
   */
  is(info: HeaderInfo): boolean {
    const idc = this.idc;
    if (idc !== -1) return idc === info.id;
    const c = (this.src as string).charCodeAt(this.ls);
    const st = info.starts;
    if (c !== st[0] && c !== st[1] && c !== st[2] && c !== st[3]) return false;
    if (this.ne === -1) this.split();
    const id = lookupHeaderId(this.src as string, this.ls, this.ne);
    this.idc = id;
    return id === info.id;
  }

  /** The name as written on the wire (or as given). */
  get name(): string {
    if (this.nameText === null) {
      if (this.ne === -1) this.split();
      this.nameText = (this.src as string).slice(this.ls, this.ne);
    }
    return this.nameText;
  }

  /** Canonical name for known headers (compact forms expanded), else the name as written. */
  get canonicalName(): string {
    return headerInfoById(this.id)?.name ?? this.name;
  }

  /**
   * The value as a byte string (one char per octet), trimmed, with folded
   * line breaks turned into spaces (RFC 3261 §7.3.1).
   */
  get value(): string {
    if (this.valueText === null) {
      if (this.ve === -1) this.span();
      const v = (this.src as string).slice(this.vs, this.ve);
      this.valueText = this.folded ? v.replace(/[\r\n]/g, ' ') : v;
    }
    return this.valueText;
  }

  /**
   * The value as text (UTF-8 decoded), each folded line break with the
   * whitespace around it read as one space (RFC 3261 §7.3.1).
   */
  get text(): string {
    const v = this.value;
    if (!this.folded) return bytesToText(v);
    return bytesToText(unfold((this.src as string).slice(this.vs, this.ve)));
  }

  /** Byte offset of the value in the message (-1 for fields made by code). */
  get valueOffset(): number {
    if (this.src === null) return -1;
    if (this.ve === -1) this.span();
    return this.base + this.vs;
  }

  /** The whole field as it goes on the wire, without the final CRLF (byte string). */
  get raw(): string {
    if (this.src !== null) return this.src.slice(this.ls, this.le);
    return `${this.name}: ${this.value}`;
  }

  /** True when the field was read from the wire and is written back unchanged. */
  get pristine(): boolean {
    return this.src !== null;
  }
}

/** Joins folded lines: each line break with the whitespace around it becomes one space (linear time). */
function unfold(s: string): string {
  const lines = s.split('\n');
  let out = '';
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i] as string;
    if (i < lines.length - 1) line = line.replace(/\r$/, '').trimEnd();
    if (i > 0) line = line.trimStart();
    out += i === 0 ? line : ` ${line}`;
  }
  return out;
}
