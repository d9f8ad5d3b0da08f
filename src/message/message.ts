import { ParseErrorCode, SipParseError } from '../errors.js';
import { CSeq, parseCSeq } from './cseq.js';
import { HeaderField } from './header-field.js';
import { H, HEADERS, type HeaderInfo, headerInfo, lookupHeaderId } from './header-names.js';
import { fieldParser, parseCallId } from './header-parsers.js';
import { DEFAULT_LIMITS, type ParseLimits } from './limits.js';
import { splitListRanges } from './list.js';
import type { MediaType } from './media-type.js';
import { parseMediaType } from './media-type.js';
import { type BodyPart, parseMultipart } from './multipart.js';
import {
  type ContactValue,
  NameAddr,
  parseContactList,
  parseNameAddr,
  parseNameAddrList,
} from './name-addr.js';
import { parseDigits, parseMaxForwards } from './numeric.js';
import { reasonPhrase } from './status-codes.js';
import { bytesToText, flat, latin1, own, textToBytes } from './text.js';
import { scanUri, type Uri } from './uri.js';
import { parseFirstVia, parseViaList, Via } from './via.js';

/** Highest id of the hot headers: the parser indexes the first field of each. */
export const HOT_MAX = H.RECORD_ROUTE;

function viaListValue(v: string, b: number, l: Readonly<ParseLimits>): Via[] {
  return parseViaList(v, b, l.maxVias);
}
function contactListValue(v: string, b: number, l: Readonly<ParseLimits>, w: string): ContactValue[] {
  return parseContactList(v, w, b, l.maxHeaders);
}
function nameAddrListValue(v: string, b: number, l: Readonly<ParseLimits>, w: string): NameAddr[] {
  return parseNameAddrList(v, w, b, l.maxHeaders);
}

/** A header value given to an edit: text, a number, or a typed value (Via, NameAddr, Uri...). */
export type HeaderValue = string | number | { toString(): string };

/** Header fields to put in a new message: [name, value] pairs in order, or a record. */
export type HeaderInit =
  | ReadonlyArray<readonly [string, HeaderValue]>
  | Record<string, HeaderValue | HeaderValue[]>;

const EMPTY_BODY = Buffer.alloc(0);

/** The fields slim() keeps: what matching a request or response to its transaction reads. */
const SLIM_KEEP = new Set<number>([H.VIA, H.FROM, H.TO, H.CALL_ID, H.CSEQ, H.ROUTE]);

/** The field list of a sleeping message: never handed out, and frozen so nothing can add to it. */
const ASLEEP: HeaderField[] = Object.freeze([]) as unknown as HeaderField[];

/** Splits a header section written by sipwire (a sleeping message waking); set by the parser. */
let reparse: (text: string) => SipMessage = () => {
  throw new Error('the message parser is not loaded');
};

/** @internal */
export function setReparse(fn: (text: string) => SipMessage): void {
  reparse = fn;
}

/** A header name resolved once: its info when known, else its lower-case spelling. */
interface HeaderKey {
  readonly info: HeaderInfo | undefined;
  /** Spelling used when writing a new field. */
  readonly name: string;
  readonly lower: string;
}

const keyCache = new Map<string, HeaderKey>();

function headerKey(name: string): HeaderKey {
  let k = keyCache.get(name);
  if (k === undefined) {
    const info = headerInfo(name);
    // Kept for later calls: its own copy of a name that may be cut from a message.
    const kept = own(name);
    k = { info, name: info?.name ?? kept, lower: kept.toLowerCase() };
    if (keyCache.size < 512) keyCache.set(kept, k);
  }
  return k;
}

const MAX_FORWARDS_KEY = headerKey('Max-Forwards');

function valueBytes(v: HeaderValue): string {
  return typeof v === 'string' ? textToBytes(v) : String(v);
}

/**
 * A field for a value given to an edit. A typed value (a Via, a From or To
 * NameAddr, a CSeq, a number for Max-Forwards) is kept as the field's parse:
 * these values are immutable, so the text written and the value read agree,
 * and the stack does not parse back what it has just written.
 */
function newField(key: HeaderKey, value: HeaderValue): HeaderField {
  const id = key.info?.id ?? 0;
  const f = HeaderField.create(id, key.name, valueBytes(value));
  if (typeof value === 'object') {
    if (id === H.VIA) {
      if (value instanceof Via) {
        f.first = value;
        f.cache = [value];
      }
    } else if (id === H.FROM || id === H.TO) {
      if (value instanceof NameAddr) f.cache = value;
    } else if (id === H.CSEQ) {
      if (value instanceof CSeq) f.cache = value;
    }
  } else if (
    typeof value === 'number' &&
    id === H.MAX_FORWARDS &&
    Number.isInteger(value) &&
    value >= 0 &&
    value <= 255
  ) {
    f.cache = value;
  }
  return f;
}

/** Common part of requests and responses (RFC 3261 §7). */
export abstract class SipMessage {
  /** The fields; an empty list that is never returned while the message sleeps. */
  private fieldList: HeaderField[];
  /** While the message sleeps: its start line, header fields and body as text, split again when next read. */
  private sleepText: string | null;
  /** True while the body is [bodyStart, bodyEnd) of the sleeping text. */
  private bodyAsleep: boolean;
  private bodyBuf: Buffer | null;
  private bodySrc: Buffer | null;
  private bodyEnd: number;
  /** @internal Offset of the body in the data received. */
  bodyStart: number;
  /** @internal Offset of the Content-Length value in the data received. */
  clAt: number;
  /** SIP-Version as written ("SIP/2.0"). */
  version: string;
  /** @internal Header section text (byte string) the pristine fields point into; null for built messages. */
  src: string | null;
  /** @internal Byte offset of src[0] in the data received. */
  base: number;
  /** @internal End of the start line in src (asleep, in the sleeping text) while it is unchanged, else -1. */
  startLineEnd: number;
  /** @internal True when src uses CRLF for every line end (pristine runs can be copied whole). */
  crlf: boolean;
  /** @internal Content-Length value read from the wire, -1 when absent. */
  declaredLength: number;
  /** @internal Limits the message was parsed with (used for lazy typed parsing). */
  limits: Readonly<ParseLimits>;
  /** @internal Index of the first field of each hot header id (1..HOT_MAX), -1 when absent; null once edited. */
  hot: number[] | null;
  /** @internal Bytes the message took as received (start line to end of body); 0 when built by code. */
  receivedBytes: number;

  protected constructor(version: string) {
    this.fieldList = [];
    this.sleepText = null;
    this.bodyAsleep = false;
    this.bodyBuf = EMPTY_BODY;
    this.bodySrc = null;
    this.bodyStart = 0;
    this.bodyEnd = 0;
    this.clAt = -1;
    this.version = version;
    this.src = null;
    this.base = 0;
    this.startLineEnd = -1;
    this.crlf = true;
    this.declaredLength = -1;
    this.limits = DEFAULT_LIMITS;
    this.hot = null;
    this.receivedBytes = 0;
  }

  abstract get isRequest(): boolean;

  /** Header fields in wire order. Change them through the methods below, not directly. */
  get headers(): HeaderField[] {
    if (this.sleepText !== null) this.wake();
    return this.fieldList;
  }

  /**
   * @internal For a message kept only while its transaction lingers
   * (RFC 3261 §17.2.2 Timer J, RFC 6026 Timers L and M): its start line and
   * header fields become one string and the field objects go; the next read
   * splits them again from that string. The message writes the same bytes
   * asleep or awake. `wire`, when given, must be what toBuffer() returns for
   * the message as it is now (the bytes just sent): the sleeping text is
   * then taken from them rather than written again.
   */
  sleep(wire?: Buffer): void {
    if (this.sleepText !== null) return;
    const whole = this.wholeSource();
    if (whole !== null) {
      // Unchanged since it was parsed, and the text it was parsed from is the whole
      // message: that text is the sleeping text, as it is.
      if (this.bodySrc !== null) {
        this.bodyStart -= this.base;
        this.bodyEnd -= this.base;
        this.bodySrc = null;
        this.bodyAsleep = true;
      }
      this.sleepText = whole;
      this.detachStartLine(whole);
      this.fieldList = ASLEEP;
      this.hot = null;
      this.src = null;
      this.base = 0;
      return;
    }
    const line = this.startLine();
    // Text given with a line break would not split back the same: stay awake.
    if (line.indexOf('\n') !== -1 || line.indexOf('\r') !== -1) return;
    for (const f of this.fieldList) {
      if (f.src === null) {
        const v = f.value;
        if (v.indexOf('\n') !== -1 || v.indexOf('\r') !== -1) return;
      }
    }
    const bodyLen = this.bodyLength;
    let text: string;
    let bodyAt: number;
    if (wire !== undefined && wire.length >= bodyLen) {
      // The bytes sent: the text, body included, already in one piece.
      text = latin1(wire);
      bodyAt = text.length - bodyLen;
    } else {
      // The text written on the wire (with a Content-Length matching the body),
      // the body joining it one character per byte; as one flat string, it holds
      // no part of the source text it was cut from.
      const head = headText(this);
      bodyAt = head.length;
      text = flat(bodyLen > 0 ? head + (this.bodyInSource() ?? latin1(this.body)) : head);
    }
    if (bodyLen > 0) {
      // The bytes received, or a buffer cut from them, are let go.
      this.bodyStart = bodyAt;
      this.bodyEnd = bodyAt + bodyLen;
      this.bodyBuf = null;
      this.bodySrc = null;
      this.bodyAsleep = true;
    }
    this.sleepText = text;
    this.detachStartLine(text);
    this.fieldList = ASLEEP;
    this.hot = null;
    this.src = null;
    this.base = 0;
  }

  /**
   * The source text when it holds exactly this message as written now: the
   * start line and every field unchanged and in place, CRLF line ends, and
   * the unread wire body running to the end of the text. Else null.
   */
  private wholeSource(): string | null {
    const src = this.src;
    if (src === null || !this.crlf || this.startLineEnd < 0) return null;
    let at = this.startLineEnd + 2;
    for (const f of this.fieldList) {
      if (f.src !== src || f.ls !== at) return null;
      at = f.le + 2;
    }
    const bodyAt = this.bodyStart - this.base;
    if (at + 2 !== bodyAt || this.declaredLength < 0) return null;
    if (this.bodySrc !== null) return this.bodyEnd - this.base === src.length ? src : null;
    return this.bodyBuf !== null && this.bodyBuf.length === 0 && bodyAt === src.length ? src : null;
  }

  /** @internal The start line as it arrived while it is unchanged (asleep or awake), else undefined. */
  protected arrivedStartLine(): string | undefined {
    const end = this.startLineEnd;
    if (end < 0) return undefined;
    if (this.src !== null) return this.src.slice(0, end);
    return this.sleepText === null ? undefined : this.sleepText.slice(0, end);
  }

  private wake(): void {
    const asleep = this.sleepText as string;
    // The start line as it is now (a request may have been given a new Request-URI meanwhile).
    const line = this.startLine();
    const rest = asleep.indexOf('\r\n');
    this.sleepText = null;
    const m = reparse(line.length === rest ? asleep : `${line}${asleep.slice(rest)}`);
    this.fieldList = m.fieldList;
    this.hot = m.hot;
    this.src = m.src;
    this.crlf = m.crlf;
    this.startLineEnd = m.startLineEnd;
    if (this.bodyAsleep) {
      // The body lies in the bytes just parsed.
      this.bodyAsleep = false;
      this.bodyBuf = null;
      this.bodySrc = m.bodySrc;
      this.bodyStart = m.bodyStart;
      this.bodyEnd = m.bodyEnd;
    }
    this.afterWake(m);
  }

  /**
   * slim() on a sleeping message: the kept fields' lines are picked from the
   * text, and the body dropped, without splitting the fields into objects.
   */
  private slimAsleep(): void {
    const t = this.sleepText as string;
    let pos = t.indexOf('\r\n') + 2;
    let out = t.slice(0, pos);
    let keep = false;
    for (;;) {
      const eol = t.indexOf('\r\n', pos);
      if (eol === -1 || eol === pos) break;
      const c = t.charCodeAt(pos);
      if (c !== 0x20 && c !== 0x09) {
        // A field's first line: named by the characters before the colon (and any whitespace).
        let ne = t.indexOf(':', pos);
        if (ne === -1 || ne > eol) ne = pos;
        while (ne > pos && (t.charCodeAt(ne - 1) === 0x20 || t.charCodeAt(ne - 1) === 0x09)) ne--;
        keep = SLIM_KEEP.has(lookupHeaderId(t, pos, ne));
      }
      if (keep) out += t.slice(pos, eol + 2);
      pos = eol + 2;
    }
    this.sleepText = flat(`${out}\r\n`);
    this.detachStartLine(this.sleepText);
    this.dropBody();
  }

  /** No body any more, and no Content-Length read from the wire. */
  private dropBody(): void {
    this.bodyAsleep = false;
    this.bodyBuf = EMPTY_BODY;
    this.bodySrc = null;
    this.bodyStart = 0;
    this.bodyEnd = 0;
    this.clAt = -1;
  }

  /**
   * @internal Points what the start line holds into `text` (which starts with
   * it) instead of the source text, and lets go of what was parsed from it.
   */
  protected abstract detachStartLine(text: string): void;

  /** @internal Takes what the start line parse found (a request's Request-URI offset). */
  protected abstract afterWake(m: SipMessage): void;

  /** The body, as bytes. Content-Length is made to match when the message is written. */
  get body(): Buffer {
    if (this.bodyBuf === null) {
      if (this.bodyAsleep) this.wake();
      if (this.bodyBuf === null)
        this.bodyBuf = (this.bodySrc as Buffer).subarray(this.bodyStart, this.bodyEnd);
    }
    return this.bodyBuf;
  }

  set body(b: Buffer) {
    this.bodyBuf = b;
    this.bodySrc = null;
    this.bodyAsleep = false;
  }

  /** Length of the body in bytes. */
  get bodyLength(): number {
    return this.bodyBuf === null ? this.bodyEnd - this.bodyStart : this.bodyBuf.length;
  }

  /** @internal The body is bytes [start, end) of `src`, cut when first read. */
  setWireBody(src: Buffer, start: number, end: number): void {
    this.bodyStart = start;
    this.bodyEnd = end;
    if (start === end) {
      this.bodyBuf = EMPTY_BODY;
      this.bodySrc = null;
    } else {
      this.bodyBuf = null;
      this.bodySrc = src;
    }
  }

  /**
   * The parts of a multipart body (RFC 2046), split on request; a single
   * part holding the whole body when the body is not multipart. Throws
   * SipParseError for a malformed multipart body.
   */
  bodyParts(): BodyPart[] {
    const ct = this.contentType;
    if (ct !== undefined && ct.type.toLowerCase() === 'multipart') return parseMultipart(this.body, ct);
    return [
      {
        headers: ct ? [['Content-Type', ct.toString()]] : [],
        contentType: ct ?? parseMediaType('application/octet-stream'),
        body: this.body,
      },
    ];
  }

  /** @internal The body as a byte string when it is the unchanged wire body and lies inside src; else null. */
  bodyInSource(): string | null {
    if (this.bodySrc === null || this.src === null)
      return this.bodyBuf !== null && this.bodyBuf.length === 0 ? '' : null;
    const a = this.bodyStart - this.base;
    const b = this.bodyEnd - this.base;
    return b <= this.src.length ? this.src.slice(a, b) : null;
  }

  /** @internal Copies the body into `out` at `at`. */
  copyBody(out: Buffer, at: number): void {
    if (this.bodyBuf !== null) this.bodyBuf.copy(out, at);
    else (this.bodySrc as Buffer).copy(out, at, this.bodyStart, this.bodyEnd);
  }

  /** @internal The start line as it goes on the wire (byte string). */
  abstract startLine(): string;

  /** @internal First field with a known-header id. */
  fieldById(id: number): HeaderField | undefined {
    const hs = this.headers;
    if (id <= HOT_MAX) {
      const hot = this.hot;
      if (hot !== null) {
        const k = hot[id] as number;
        return k < 0 ? undefined : hs[k];
      }
      // Hot headers are identified when parsed or created: an id compare is exact.
      for (let i = 0; i < hs.length; i++) if ((hs[i] as HeaderField).idc === id) return hs[i];
      return undefined;
    }
    const info = HEADERS[id - 1] as HeaderInfo;
    for (let i = 0; i < hs.length; i++) if ((hs[i] as HeaderField).is(info)) return hs[i];
    return undefined;
  }

  /** Fields with the given name (case-insensitive, compact forms included), in order. */
  fields(name: string): HeaderField[] {
    const info = headerInfo(name);
    if (info !== undefined) return this.headers.filter((f) => f.is(info));
    const lower = name.toLowerCase();
    return this.headers.filter((f) => f.id === 0 && f.name.toLowerCase() === lower);
  }

  has(name: string): boolean {
    const info = headerInfo(name);
    if (info !== undefined) return this.fieldById(info.id) !== undefined;
    const lower = name.toLowerCase();
    for (const f of this.headers) if (f.id === 0 && f.name.toLowerCase() === lower) return true;
    return false;
  }

  /**
   * The value of a header as text: for list headers (Via, Contact, Route,
   * Allow...) the first element, otherwise the first field's whole value.
   */
  get(name: string): string | undefined {
    const fs = this.fields(name);
    if (fs.length === 0) return undefined;
    const f = fs[0] as HeaderField;
    if (headerInfo(name)?.list) {
      const r = splitListRanges(f.value);
      return bytesToText(f.value.slice(r[0], r[1]));
    }
    return f.text;
  }

  /** Every value of a header as text: list headers split at their commas, others one per field. */
  getAll(name: string): string[] {
    const info = headerInfo(name);
    const out: string[] = [];
    for (const f of this.fields(name)) {
      if (info?.list) {
        const v = f.value;
        const r = splitListRanges(v);
        for (let i = 0; i < r.length; i += 2) out.push(bytesToText(v.slice(r[i], r[i + 1])));
      } else out.push(f.text);
    }
    return out;
  }

  /** @internal Typed parse of one field, cached on it. Throws SipParseError. */
  parseField(f: HeaderField): unknown {
    if (f.cache === undefined) {
      const p = fieldParser(f.id);
      f.cache = p === undefined ? f.value : p(f.value, f.valueOffset, this.limits, f.canonicalName);
    }
    return f.cache;
  }

  /**
   * The typed value of a header: for list headers an array over every
   * field, for others the first field's value; undefined when absent.
   * Headers sipwire has no grammar for give their value as a byte string.
   * Throws SipParseError when the value is malformed.
   */
  parsed(name: string): unknown {
    const info = headerInfo(name);
    const fs = this.fields(name);
    if (fs.length === 0) return info?.list ? [] : undefined;
    if (info?.list && fieldParser(info.id) !== undefined) {
      if (fs.length === 1) return this.parseField(fs[0] as HeaderField);
      const out: unknown[] = [];
      for (const f of fs) out.push(...(this.parseField(f) as unknown[]));
      return out;
    }
    return this.parseField(fs[0] as HeaderField);
  }

  private listById<T>(
    id: number,
    what: string,
    parse: (v: string, base: number, limits: Readonly<ParseLimits>, what: string) => T[],
  ): T[] {
    let out: T[] | undefined;
    const hs = this.headers;
    const hot = this.hot;
    for (let i = hot === null ? 0 : (hot[id] as number); i >= 0 && i < hs.length; i++) {
      const f = hs[i] as HeaderField;
      if (f.idc !== id) continue;
      let vals = f.cache as T[] | undefined;
      if (vals === undefined) {
        vals = parse(f.value, f.valueOffset, this.limits, what);
        f.cache = vals;
      }
      if (out === undefined) out = vals;
      else out = out.concat(vals);
    }
    return out ?? [];
  }

  /** The typed value of the first field of a single-valued hot header, parsed once and cached. */
  private single(id: number): unknown {
    const f = this.fieldById(id);
    if (f === undefined) return undefined;
    let v = f.cache;
    if (v === undefined) {
      const value = f.value;
      const base = f.valueOffset;
      switch (id) {
        case H.FROM:
          v = parseNameAddr(value, 'From', base);
          break;
        case H.TO:
          v = parseNameAddr(value, 'To', base);
          break;
        case H.CALL_ID:
          v = parseCallId(value, base);
          break;
        case H.CSEQ:
          v = parseCSeq(value, base);
          break;
        case H.MAX_FORWARDS:
          v = parseMaxForwards(value, base);
          break;
        case H.CONTENT_TYPE:
          v = parseMediaType(value, base, 'Content-Type');
          break;
        default:
          v = parseDigits(value, 'Content-Length', 0xffffffff, base);
      }
      f.cache = v;
    }
    return v;
  }

  /** Every Via value, top first. */
  get via(): Via[] {
    const vias = this.listById<Via>(H.VIA, 'Via', viaListValue);
    if (vias.length > this.limits.maxVias) {
      throw new SipParseError(ParseErrorCode.TOO_MANY_VIAS, `Via: more than ${this.limits.maxVias} values`, {
        offset: this.fieldById(H.VIA)?.valueOffset ?? -1,
        header: 'Via',
      });
    }
    return vias;
  }

  /** The top Via value (parsed alone, without reading the rest). */
  get topVia(): Via | undefined {
    const f = this.fieldById(H.VIA);
    if (f === undefined) return undefined;
    if (f.cache !== undefined) return (f.cache as Via[])[0];
    if (f.first === undefined) f.first = parseFirstVia(f.value, f.valueOffset);
    return f.first as Via;
  }

  get from(): NameAddr | undefined {
    return this.single(H.FROM) as NameAddr | undefined;
  }

  get to(): NameAddr | undefined {
    return this.single(H.TO) as NameAddr | undefined;
  }

  get callId(): string | undefined {
    return this.single(H.CALL_ID) as string | undefined;
  }

  get cseq(): CSeq | undefined {
    return this.single(H.CSEQ) as CSeq | undefined;
  }

  get maxForwards(): number | undefined {
    return this.single(H.MAX_FORWARDS) as number | undefined;
  }

  /** Contact values (a Wildcard for `*`); empty when absent. */
  get contact(): ContactValue[] {
    return this.listById<ContactValue>(H.CONTACT, 'Contact', contactListValue);
  }

  get route(): NameAddr[] {
    return this.listById<NameAddr>(H.ROUTE, 'Route', nameAddrListValue);
  }

  get recordRoute(): NameAddr[] {
    return this.listById<NameAddr>(H.RECORD_ROUTE, 'Record-Route', nameAddrListValue);
  }

  get contentType(): MediaType | undefined {
    return this.single(H.CONTENT_TYPE) as MediaType | undefined;
  }

  /** Content-Length as declared in the header, if present. */
  get contentLength(): number | undefined {
    return this.single(H.CONTENT_LENGTH) as number | undefined;
  }

  /** Expires header in seconds (undefined when absent, or when an RFC 2543 absolute date). */
  get expires(): number | undefined {
    return this.parsed('Expires') as number | undefined;
  }

  /** Option tags of Supported, Require, Proxy-Require; methods of Allow. */
  get supported(): string[] {
    return this.parsed('Supported') as string[];
  }
  get require(): string[] {
    return this.parsed('Require') as string[];
  }
  get proxyRequire(): string[] {
    return this.parsed('Proxy-Require') as string[];
  }
  get allow(): string[] {
    return this.parsed('Allow') as string[];
  }

  // ---- edits -------------------------------------------------------------

  /** Index of the first field named by `key` (known info or lower-case unknown name), -1 when none. */
  private indexOfKey(key: HeaderKey): number {
    const hs = this.headers;
    if (key.info !== undefined) {
      const id = key.info.id;
      if (id <= HOT_MAX && this.hot !== null) return this.hot[id] as number;
      for (let i = 0; i < hs.length; i++) if ((hs[i] as HeaderField).is(key.info)) return i;
      return -1;
    }
    for (let i = 0; i < hs.length; i++) {
      const f = hs[i] as HeaderField;
      if (f.id === 0 && f.name.toLowerCase() === key.lower) return i;
    }
    return -1;
  }

  private matches(f: HeaderField, key: HeaderKey): boolean {
    return key.info !== undefined ? f.is(key.info) : f.id === 0 && f.name.toLowerCase() === key.lower;
  }

  /** Inserts a field at `at`, keeping the hot-header index right. */
  private insertField(at: number, field: HeaderField): void {
    const hs = this.headers;
    // Shifted by hand: splice allocates the (empty) array of removed elements.
    const k = Math.min(at, hs.length);
    hs.push(field);
    for (let i = hs.length - 1; i > k; i--) hs[i] = hs[i - 1] as HeaderField;
    hs[k] = field;
    const hot = this.hot;
    if (hot !== null) {
      for (let id = 1; id <= HOT_MAX; id++) if ((hot[id] as number) >= k) hot[id] = (hot[id] as number) + 1;
      const id = field.idc;
      if (id > 0 && id <= HOT_MAX && ((hot[id] as number) < 0 || (hot[id] as number) > k)) hot[id] = k;
    }
  }

  /** Removes the field at `at`, keeping the hot-header index right. */
  private deleteField(at: number): void {
    const hs = this.headers;
    const removed = hs[at] as HeaderField;
    for (let i = at + 1; i < hs.length; i++) hs[i - 1] = hs[i] as HeaderField;
    hs.pop();
    const hot = this.hot;
    if (hot === null) return;
    for (let id = 1; id <= HOT_MAX; id++) if ((hot[id] as number) > at) hot[id] = (hot[id] as number) - 1;
    const id = removed.idc;
    if (id > 0 && id <= HOT_MAX && hot[id] === at) {
      let next = -1;
      for (let i = at; i < this.headers.length; i++) {
        if ((this.headers[i] as HeaderField).idc === id) {
          next = i;
          break;
        }
      }
      hot[id] = next;
    }
  }

  /** Replaces every field of `name` with one field (at the place of the first) holding `value` (an array writes a list). */
  setHeader(name: string, value: HeaderValue | HeaderValue[]): this {
    const key = headerKey(name);
    const field = Array.isArray(value)
      ? HeaderField.create(key.info?.id ?? 0, key.name, value.map(valueBytes).join(', '))
      : newField(key, value);
    const at = this.indexOfKey(key);
    if (at === -1) {
      this.insertField(this.headers.length, field);
      return this;
    }
    // Replace the first in place; remove the others.
    this.headers[at] = field;
    for (let i = this.headers.length - 1; i > at; i--) {
      if (this.matches(this.headers[i] as HeaderField, key)) this.deleteField(i);
    }
    return this;
  }

  /** @internal Adds an existing field (shared, never changed) at the end of the header section. */
  appendField(field: HeaderField): this {
    this.insertField(this.headers.length, field);
    return this;
  }

  /**
   * Drops the typed values parsed from the header fields; they are parsed
   * again from the text when next read. A transaction calls this once its
   * final response is out, when it keeps the request only to recognise
   * retransmissions.
   */
  compact(): void {
    // Asleep, there are no parsed values to drop.
    if (this.sleepText !== null) return;
    for (const f of this.headers) {
      f.cache = undefined;
      f.first = undefined;
    }
  }

  /**
   * Keeps only what matching needs (Via, From, To, Call-ID, CSeq, Route)
   * and lets go of the body and every other field: for a message that only
   * lingers so its transaction can recognise retransmissions (RFC 6026
   * Accepted state). The message no longer serializes as it arrived. The
   * message then sleeps (see sleep()).
   */
  slim(): void {
    if (this.sleepText !== null) {
      this.slimAsleep();
      return;
    }
    const keep: HeaderField[] = [];
    for (const f of this.headers) {
      if (SLIM_KEEP.has(f.id)) {
        f.cache = undefined;
        f.first = undefined;
        keep.push(f);
      }
    }
    this.headers.length = 0;
    for (const f of keep) this.headers.push(f);
    this.hot = null;
    this.dropBody();
    this.sleep();
  }

  /** Adds a field at the end of the header section. */
  appendHeader(name: string, value: HeaderValue): this {
    const key = headerKey(name);
    this.insertField(this.headers.length, newField(key, value));
    return this;
  }

  /**
   * Adds a field before the first field of the same name, or at the top of
   * the header section when there is none: how a proxy adds its Via and
   * Record-Route (RFC 3261 §16.6 steps 4 and 8).
   */
  prependHeader(name: string, value: HeaderValue): this {
    const key = headerKey(name);
    const at = this.indexOfKey(key);
    this.insertField(at === -1 ? 0 : at, newField(key, value));
    return this;
  }

  /** Removes every field of `name`. Returns how many were removed. */
  removeHeader(name: string): number {
    const key = headerKey(name);
    let removed = 0;
    for (let i = this.headers.length - 1; i >= 0; i--) {
      if (this.matches(this.headers[i] as HeaderField, key)) {
        this.deleteField(i);
        removed++;
      }
    }
    return removed;
  }

  /**
   * Removes the first value of a list header (the top Route, the top Via).
   * Other values on the same line are kept as written. Returns false when
   * there is none.
   */
  removeFirstValue(name: string): boolean {
    const key = headerKey(name);
    const at = this.indexOfKey(key);
    if (at === -1) return false;
    const f = this.headers[at] as HeaderField;
    const v = f.value;
    // Without a comma there is one value: no need to split.
    if (v.indexOf(',') === -1) {
      this.deleteField(at);
      return true;
    }
    const r = splitListRanges(v);
    if (r.length <= 2) {
      this.deleteField(at);
      return true;
    }
    const rest: string[] = [];
    for (let i = 2; i < r.length; i += 2) rest.push(v.slice(r[i], r[i + 1]));
    this.headers[at] = HeaderField.create(f.id, f.id === 0 ? f.name : f.canonicalName, rest.join(', '));
    return true;
  }

  /** Replaces the first value of a header (for list headers, only the first element of the first field). */
  replaceFirstValue(name: string, value: HeaderValue): this {
    const key = headerKey(name);
    const at = this.indexOfKey(key);
    if (at === -1) return this.appendHeader(name, value);
    const f = this.headers[at] as HeaderField;
    let text = valueBytes(value);
    if (key.info?.list) {
      const v = f.value;
      const r = splitListRanges(v);
      for (let i = 2; i < r.length; i += 2) text += `, ${v.slice(r[i], r[i + 1])}`;
    }
    this.headers[at] = HeaderField.create(f.id, f.id === 0 ? f.name : f.canonicalName, text);
    return this;
  }

  /** Sets Max-Forwards to one less than now (RFC 3261 §16.6 step 3), or to `initial` when absent. */
  decrementMaxForwards(initial = 70): number {
    const mf = this.maxForwards;
    const next = mf === undefined ? initial : mf > 0 ? mf - 1 : 0;
    const at = this.indexOfKey(MAX_FORWARDS_KEY);
    const field = HeaderField.create(H.MAX_FORWARDS, 'Max-Forwards', String(next));
    field.cache = next;
    if (at === -1) this.insertField(this.headers.length, field);
    else this.headers[at] = field;
    return next;
  }

  /** A copy that can be edited without touching this message (fields are shared until replaced). */
  abstract clone(): SipMessage;

  protected copyInto<T extends SipMessage>(m: T): T {
    m.fieldList = this.headers.slice();
    m.bodyBuf = this.bodyBuf;
    m.bodySrc = this.bodySrc;
    m.bodyStart = this.bodyStart;
    m.bodyEnd = this.bodyEnd;
    m.clAt = this.clAt;
    m.src = this.src;
    m.base = this.base;
    m.startLineEnd = this.startLineEnd;
    m.crlf = this.crlf;
    m.declaredLength = this.declaredLength;
    m.limits = this.limits;
    m.hot = this.hot === null ? null : this.hot.slice();
    return m;
  }

  /** The message as it goes on the wire. */
  toBuffer(): Buffer {
    return serialize(this);
  }

  /** How many bytes toBuffer() writes, without writing them. */
  wireLength(): number {
    return headText(this).length + this.bodyLength;
  }

  /** The message as text (UTF-8 decoded), for logs and tests. */
  toString(): string {
    return this.toBuffer().toString('utf8');
  }
}

export interface RequestInit {
  method: string;
  uri: Uri | string;
  headers?: HeaderInit;
  body?: Buffer | string;
  version?: string;
}

export interface ResponseInit {
  status: number;
  reason?: string;
  headers?: HeaderInit;
  body?: Buffer | string;
  version?: string;
}

function applyInit(m: SipMessage, headers: HeaderInit | undefined, body: Buffer | string | undefined): void {
  if (headers !== undefined) {
    const pairs = Array.isArray(headers) ? headers : Object.entries(headers);
    for (const [name, value] of pairs as Array<[string, HeaderValue | HeaderValue[]]>) {
      if (Array.isArray(value)) for (const v of value) m.appendHeader(name, v);
      else m.appendHeader(name, value);
    }
  }
  if (body !== undefined) m.body = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}

// The parser's requests and responses are made through these (fromWire), so the
// constructors know their parts need no conversion.
const WIRE_REQUEST: RequestInit = { method: '', uri: '', version: 'SIP/2.0' };
let wireUriOffset = -1;
const WIRE_RESPONSE: ResponseInit = { status: 200, reason: '', version: 'SIP/2.0' };

/** A SIP request (RFC 3261 §7.1). */
export class SipRequest extends SipMessage {
  private methodText: string;
  /** @internal Request-URI as written (byte string). */
  uriRaw: string;
  private parsedUri: Uri | undefined;
  /** @internal Offset of the Request-URI in src. */
  uriOffset: number;

  constructor(init: RequestInit) {
    super(init.version ?? 'SIP/2.0');
    this.methodText = init.method;
    if (init === WIRE_REQUEST) {
      // Parser path: the Request-URI is a byte string as received, and there are no fields yet.
      this.uriRaw = init.uri as string;
      this.parsedUri = undefined;
      this.uriOffset = wireUriOffset;
      return;
    }
    if (typeof init.uri === 'string') {
      this.uriRaw = textToBytes(init.uri);
      this.parsedUri = undefined;
    } else {
      this.uriRaw = init.uri.toString();
      this.parsedUri = init.uri;
    }
    this.uriOffset = -1;
    applyInit(this, init.headers, init.body);
  }

  /** @internal A request from the parser: parts are byte strings as received. */
  static fromWire(method: string, uriRaw: string, uriOffset: number, version: string): SipRequest {
    WIRE_REQUEST.method = method;
    WIRE_REQUEST.uri = uriRaw;
    WIRE_REQUEST.version = version;
    wireUriOffset = uriOffset;
    return new SipRequest(WIRE_REQUEST);
  }

  get isRequest(): true {
    return true;
  }

  get method(): string {
    return this.methodText;
  }

  set method(m: string) {
    this.methodText = m;
    this.startLineEnd = -1;
  }

  /** The Request-URI, parsed on first access (throws SipParseError when malformed). */
  get uri(): Uri {
    if (this.parsedUri === undefined) {
      const off = this.uriOffset < 0 ? 0 : this.base + this.uriOffset;
      this.parsedUri = scanUri(this.uriRaw, 0, this.uriRaw.length, off, 'Request-URI');
    }
    return this.parsedUri;
  }

  /** Rewrites the Request-URI (RFC 3261 §16.5, §16.6 step 2). */
  set uri(u: Uri | string) {
    if (typeof u === 'string') {
      this.uriRaw = textToBytes(u);
      this.parsedUri = undefined;
    } else {
      this.uriRaw = u.toString();
      this.parsedUri = u;
    }
    this.uriOffset = -1;
    this.startLineEnd = -1;
  }

  startLine(): string {
    return this.arrivedStartLine() ?? `${this.methodText} ${this.uriRaw} ${this.version}`;
  }

  override compact(): void {
    super.compact();
    this.parsedUri = undefined;
  }

  protected afterWake(m: SipMessage): void {
    this.uriOffset = (m as SipRequest).uriOffset;
  }

  protected detachStartLine(text: string): void {
    const at = this.methodText.length + 1;
    const u = this.uriRaw;
    if (text.startsWith(u, at)) this.uriRaw = text.slice(at, at + u.length);
    // Its parts would hold pieces of the text the Request-URI was first cut from.
    this.parsedUri = undefined;
  }

  override slim(): void {
    super.slim();
    this.parsedUri = undefined;
  }

  clone(): SipRequest {
    const r = new SipRequest({
      method: this.methodText,
      uri: this.parsedUri ?? this.uriRaw,
      version: this.version,
    });
    r.uriRaw = this.uriRaw;
    r.uriOffset = this.uriOffset;
    return this.copyInto(r);
  }
}

/**
 * A Reason-Phrase as bytes for the status line: control characters other
 * than HTAB (a CR or LF would end the line) become spaces (RFC 3261 §25.1).
 */
function reasonBytes(reason: string): string {
  const b = textToBytes(reason);
  return /[\x00-\x08\x0a-\x1f\x7f]/.test(b) ? b.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, ' ') : b;
}

/** A SIP response (RFC 3261 §7.2). */
export class SipResponse extends SipMessage {
  private statusCode: number;
  private reasonText: string;

  constructor(init: ResponseInit) {
    super(init.version ?? 'SIP/2.0');
    this.statusCode = init.status;
    if (init === WIRE_RESPONSE) {
      // Parser path: the reason phrase is a byte string as received, and there are no fields yet.
      this.reasonText = init.reason as string;
      return;
    }
    this.reasonText = init.reason === undefined ? reasonPhrase(init.status) : reasonBytes(init.reason);
    applyInit(this, init.headers, init.body);
  }

  /** @internal A response from the parser: parts are byte strings as received. */
  static fromWire(status: number, reason: string, version: string): SipResponse {
    WIRE_RESPONSE.status = status;
    WIRE_RESPONSE.reason = reason;
    WIRE_RESPONSE.version = version;
    return new SipResponse(WIRE_RESPONSE);
  }

  get isRequest(): false {
    return false;
  }

  get status(): number {
    return this.statusCode;
  }

  set status(s: number) {
    this.statusCode = s;
    this.startLineEnd = -1;
  }

  /** Reason-Phrase as text. */
  get reason(): string {
    return bytesToText(this.reasonText);
  }

  set reason(r: string) {
    this.reasonText = reasonBytes(r);
    this.startLineEnd = -1;
  }

  protected afterWake(_m: SipMessage): void {}

  protected detachStartLine(text: string): void {
    const at = this.version.length + 5;
    const r = this.reasonText;
    if (r.length > 0 && text.startsWith(r, at)) this.reasonText = text.slice(at, at + r.length);
  }

  startLine(): string {
    return this.arrivedStartLine() ?? `${this.version} ${this.statusCode} ${this.reasonText}`;
  }

  clone(): SipResponse {
    const r = new SipResponse({ status: this.statusCode, version: this.version });
    r.reasonText = this.reasonText;
    return this.copyInto(r);
  }
}

export function isRequest(m: SipMessage): m is SipRequest {
  return m.isRequest;
}

// ---- serializer ------------------------------------------------------------

/**
 * Writes a message: the start line, every field (pristine runs copied from
 * the source text as they arrived, edited and new fields as `Name: value`),
 * a Content-Length matching the body, the empty line, the body.
 */
export function serialize(m: SipMessage): Buffer {
  let head = headText(m);
  const bodyLen = m.bodyLength;
  // A wire body already decoded with the header section goes out in the same write.
  const inSrc = m.bodyInSource();
  if (inSrc !== null) head += inSrc;
  const headLen = head.length;
  const out = Buffer.allocUnsafe(inSrc !== null ? headLen : headLen + bodyLen);
  if (hasLatin1Write) (out as Latin1Buffer).latin1Write(head, 0, headLen);
  else out.write(head, 0, headLen, 'latin1');
  if (inSrc === null && bodyLen > 0) m.copyBody(out, headLen);
  return out;
}

/**
 * The start line, every field (pristine runs copied from the source text as
 * they arrived, edited and new fields as `Name: value`), a Content-Length
 * matching the body, and the empty line, as a byte string.
 */
function headText(m: SipMessage): string {
  const hs = m.headers;
  const src = m.src;
  const bodyLen = m.bodyLength;
  // A Content-Length read from this source still tells the body's length.
  const clKeep = m.declaredLength === bodyLen;
  let head = m.startLine();
  let clWritten = false;
  let i = 0;
  const n = hs.length;
  while (i < n) {
    const f = hs[i] as HeaderField;
    if (f.idc === H.CONTENT_LENGTH) {
      if (clWritten) {
        i++;
        continue;
      }
      clWritten = true;
      if (f.src !== src || src === null || !clKeep || !m.crlf) {
        if (f.src !== null && clKeep) head += `\r\n${normalizeEol(f.raw)}`;
        else head += `\r\nContent-Length: ${bodyLen}`;
        i++;
        continue;
      }
      // A pristine Content-Length of this source joins the run below.
    }
    if (f.src === null || f.src !== src) {
      head += f.src === null ? `\r\n${f.name}: ${f.value}` : `\r\n${normalizeEol(f.raw)}`;
      i++;
      continue;
    }
    if (!m.crlf) {
      head += `\r\n${normalizeEol(src.slice(f.ls, f.le))}`;
      i++;
      continue;
    }
    // A run of consecutive pristine fields that were consecutive in the
    // source, written with the CRLF before it as one piece of the source.
    let j = i + 1;
    let last = f;
    while (j < n) {
      const g = hs[j] as HeaderField;
      if (g.src !== src || g.ls !== last.le + 2) break;
      if (g.idc === H.CONTENT_LENGTH) {
        if (clWritten || !clKeep) break;
        clWritten = true;
      }
      last = g;
      j++;
    }
    head += src.slice(f.ls - 2, last.le);
    i = j;
  }
  if (!clWritten) head += `\r\nContent-Length: ${bodyLen}`;
  return `${head}\r\n\r\n`;
}

type Latin1Buffer = Buffer & { latin1Write(s: string, offset: number, length: number): number };
const hasLatin1Write = typeof (Buffer.prototype as Partial<Latin1Buffer>).latin1Write === 'function';

function normalizeEol(s: string): string {
  return s.indexOf('\n') === -1 ? s : s.replace(/\r?\n/g, '\r\n');
}
