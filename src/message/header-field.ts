import { headerInfoById } from './header-names.js';
import { bytesToText } from './text.js';

/**
 * One header field line of a message, in wire order. A field read from the
 * wire points into the message's source text and is written back byte for
 * byte unless it is replaced; a field made by code holds its name and value.
 * Typed parses of the value are cached on the field.
 */
export class HeaderField {
  /** Known-header id (see header-names.ts), 0 for unknown headers. */
  readonly id: number;
  /** @internal Source text the offsets point into; null for fields made by code. */
  readonly src: string | null;
  /** @internal Byte offset of src[0] in the message. */
  readonly base: number;
  /** @internal Name range in src. */
  readonly ns: number;
  readonly ne: number;
  /** @internal Trimmed value range in src. */
  readonly vs: number;
  readonly ve: number;
  /** @internal Whole field range in src (name to end of the last folded line, no CRLF). */
  readonly ls: number;
  readonly le: number;
  /** @internal True when the value spans folded lines. */
  readonly folded: boolean;
  private nameText: string | null;
  private valueText: string | null;
  /** @internal Cached parse of the whole value (typed value, or array for list headers). */
  cache: unknown;
  /** @internal Cached parse of the first element only (fast path for list headers). */
  first: unknown;

  constructor(
    id: number,
    src: string | null,
    base: number,
    ns: number,
    ne: number,
    vs: number,
    ve: number,
    le: number,
    folded: boolean,
    name: string | null,
    value: string | null,
  ) {
    this.id = id;
    this.src = src;
    this.base = base;
    this.ns = ns;
    this.ne = ne;
    this.vs = vs;
    this.ve = ve;
    this.ls = ns;
    this.le = le;
    this.folded = folded;
    this.nameText = name;
    this.valueText = value;
    this.cache = undefined;
    this.first = undefined;
  }

  /** A field made by code: name as given, value as a byte string. */
  static create(id: number, name: string, value: string): HeaderField {
    return new HeaderField(id, null, -1, 0, 0, 0, 0, 0, false, name, value);
  }

  /** The name as written on the wire (or as given). */
  get name(): string {
    if (this.nameText === null) this.nameText = (this.src as string).slice(this.ns, this.ne);
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
      const v = (this.src as string).slice(this.vs, this.ve);
      this.valueText = this.folded ? v.replace(/[\r\n]/g, ' ') : v;
    }
    return this.valueText;
  }

  /** The value as text (UTF-8 decoded). */
  get text(): string {
    return bytesToText(this.value);
  }

  /** Byte offset of the value in the message (-1 for fields made by code). */
  get valueOffset(): number {
    return this.src === null ? -1 : this.base + this.vs;
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
