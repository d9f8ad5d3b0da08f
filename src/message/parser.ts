import { ParseErrorCode, SipParseError } from '../errors.js';
import { CR, DIGIT, HT, LF, SP, TOKEN } from './chars.js';
import { HeaderField } from './header-field.js';
import { H, lookupHeaderId } from './header-names.js';

const H_VIA = H.VIA;
if (HOT_MAX !== 11) throw new Error('the hot header index literal in parseHead needs HOT_MAX + 1 slots');
const H_CONTENT_LENGTH = H.CONTENT_LENGTH;

import { DEFAULT_LIMITS, type ParseLimits, resolveLimits } from './limits.js';
import { HOT_MAX, type SipMessage, SipRequest, SipResponse, setReparse } from './message.js';
import { latin1 } from './text.js';

export interface ParseOptions {
  /** Limits to apply; missing ones take their defaults. */
  limits?: Partial<ParseLimits>;
  /**
   * 'datagram' (default): the data is one UDP datagram or a whole message;
   * Content-Length may be absent (the body is the rest, RFC 3261 §18.3 and
   * RFC 2543) and octets after the body are ignored (RFC 4475 §3.1.1.8).
   * 'stream': the data is one message cut by the stream framer;
   * Content-Length is required and must match.
   */
  framing?: 'datagram' | 'stream';
}

/** Bytes decoded up front: enough for the header section of nearly every message. */
const HEAD_GUESS = 4096;

function fail(code: ParseErrorCode, message: string, offset: number, status = 400, header?: string): never {
  throw new SipParseError(code, message, { offset, status, header });
}

function describe(c: number): string {
  return c > 0x20 && c < 0x7f ? `'${String.fromCharCode(c)}'` : `byte 0x${c.toString(16).padStart(2, '0')}`;
}

/*
 * The SIP version of a start line is one shared string rather than a slice
 * of each message: a message kept while its transaction lingers then holds
 * no string of its own for it.
 */
const SIP_2_0 = 'SIP/2.0';

/** The SIP-Version at src[start, end) (already checked by versionLength): the shared string for 2.0. */
function versionText(src: string, start: number, end: number): string {
  return end - start === 7 && src.charCodeAt(start + 4) === 0x32 && src.charCodeAt(start + 6) === 0x30
    ? SIP_2_0
    : src.slice(start, end);
}

function toBuffer(data: Buffer | Uint8Array | string): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (Buffer.isBuffer(data)) return data;
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * A start line is checked piece by piece, without a search for CR first:
 * every piece's scanner stops at a CR, and a failure looks for one before
 * it reports, so a bare CR anywhere in the line is named as such.
 */
function lineFail(
  src: string,
  end: number,
  base: number,
  code: ParseErrorCode,
  message: string,
  at: number,
): never {
  const cr = src.indexOf('\r');
  if (cr !== -1 && cr < end) fail(ParseErrorCode.START_LINE, 'bare CR in the start line', base + cr);
  return fail(code, message, base + at);
}

/** Length of a valid SIP-Version ("SIP/" 1*DIGIT "." 1*DIGIT, case-insensitive) at s[i, end), else -1. */
function versionLength(s: string, i: number, end: number): number {
  if (end - i < 7) return -1;
  if (
    (s.charCodeAt(i) | 0x20) !== 0x73 ||
    (s.charCodeAt(i + 1) | 0x20) !== 0x69 ||
    (s.charCodeAt(i + 2) | 0x20) !== 0x70 ||
    s.charCodeAt(i + 3) !== 0x2f
  )
    return -1;
  let j = i + 4;
  const a = j;
  while (j < end && DIGIT[s.charCodeAt(j)] === 1) j++;
  if (j === a || j - a > 3 || j >= end || s.charCodeAt(j) !== 0x2e) return -1;
  j++;
  const b = j;
  while (j < end && DIGIT[s.charCodeAt(j)] === 1) j++;
  if (j === b || j - b > 3) return -1;
  return j - i;
}

function parseStatusLine(src: string, end: number, base: number): SipResponse {
  const vlen = versionLength(src, 0, end);
  if (vlen === -1) lineFail(src, end, base, ParseErrorCode.VERSION, 'status line must start with SIP/2.0', 0);
  let i = vlen;
  if (i >= end || src.charCodeAt(i) !== SP)
    lineFail(
      src,
      end,
      base,
      ParseErrorCode.START_LINE,
      `expected a space after the SIP version, found ${i >= end ? 'end of line' : describe(src.charCodeAt(i))}`,
      i,
    );
  i++;
  if (src.charCodeAt(i) === SP || src.charCodeAt(i) === HT)
    lineFail(src, end, base, ParseErrorCode.START_LINE, 'more than one space after the SIP version', i);
  const cStart = i;
  while (i < end && DIGIT[src.charCodeAt(i)] === 1) i++;
  if (i - cStart !== 3) {
    lineFail(
      src,
      end,
      base,
      ParseErrorCode.STATUS_CODE,
      i === cStart ? 'missing status code' : `status code must have 3 digits, found ${i - cStart}`,
      cStart,
    );
  }
  const status =
    (src.charCodeAt(cStart) - 0x30) * 100 +
    (src.charCodeAt(cStart + 1) - 0x30) * 10 +
    (src.charCodeAt(cStart + 2) - 0x30);
  if (status < 100 || status > 699)
    lineFail(src, end, base, ParseErrorCode.STATUS_CODE, `status code ${status} is outside 100-699`, cStart);
  let reason = '';
  if (i < end) {
    if (src.charCodeAt(i) !== SP)
      lineFail(
        src,
        end,
        base,
        ParseErrorCode.START_LINE,
        `expected a space after the status code, found ${describe(src.charCodeAt(i))}`,
        i,
      );
    const cr = src.indexOf('\r', i + 1);
    if (cr !== -1 && cr < end) fail(ParseErrorCode.START_LINE, 'bare CR in the start line', base + cr);
    reason = src.slice(i + 1, end);
  }
  return SipResponse.fromWire(status, reason, versionText(src, 0, vlen));
}

const REQUEST_LINE_FORM = "request line must be 'Method SP Request-URI SP SIP-Version'";

function parseRequestLine(src: string, end: number, base: number): SipRequest {
  let i = 0;
  while (i < end && TOKEN[src.charCodeAt(i)] === 1) i++;
  if (i === 0)
    lineFail(
      src,
      end,
      base,
      ParseErrorCode.START_LINE,
      `request line must start with a method, found ${end === 0 ? 'an empty line' : describe(src.charCodeAt(0))}`,
      0,
    );
  if (i >= end) lineFail(src, end, base, ParseErrorCode.START_LINE, REQUEST_LINE_FORM, i);
  if (src.charCodeAt(i) !== SP)
    lineFail(
      src,
      end,
      base,
      ParseErrorCode.START_LINE,
      `invalid character ${describe(src.charCodeAt(i))} in method`,
      i,
    );
  const uriStart = i + 1;
  const last = src.charCodeAt(end - 1);
  if (last === SP || last === HT)
    lineFail(src, end, base, ParseErrorCode.START_LINE, 'whitespace at the end of the request line', end - 1);
  // The last space: where "SIP/2.0" puts it, else found from the end.
  let lastSp = end - 8;
  if (lastSp < uriStart || src.charCodeAt(lastSp) !== SP) {
    lastSp = end - 1;
    while (lastSp >= uriStart && src.charCodeAt(lastSp) !== SP) lastSp--;
  }
  if (lastSp < uriStart) lineFail(src, end, base, ParseErrorCode.START_LINE, REQUEST_LINE_FORM, end);
  const vlen = versionLength(src, lastSp + 1, end);
  if (vlen !== end - lastSp - 1) {
    lineFail(
      src,
      end,
      base,
      ParseErrorCode.VERSION,
      `request line must end with the SIP version, found '${src.slice(lastSp + 1, Math.min(end, lastSp + 41))}'`,
      lastSp + 1,
    );
  }
  if (lastSp === uriStart) lineFail(src, end, base, ParseErrorCode.START_LINE, 'empty Request-URI', uriStart);
  // Whitespace or a CR inside the Request-URI (its characters are checked when it is parsed).
  for (let k = uriStart; k < lastSp; k++) {
    const d = src.charCodeAt(k);
    if (d <= SP && (d === SP || d === HT || d === CR)) {
      if (d === CR) fail(ParseErrorCode.START_LINE, 'bare CR in the start line', base + k);
      const where =
        k === uriStart
          ? 'more than one space after the method'
          : src.charCodeAt(lastSp - 1) === SP
            ? 'more than one space before the SIP version'
            : 'whitespace inside the Request-URI';
      fail(ParseErrorCode.START_LINE, where, base + k);
    }
  }
  return SipRequest.fromWire(
    src.slice(0, i),
    src.slice(uriStart, lastSp),
    uriStart,
    versionText(src, lastSp + 1, end),
  );
}

/**
 * Parses one SIP message from bytes as received (RFC 3261 §7). The start
 * line and the framing are checked now; header fields are split, and their
 * values parsed, when first read. Throws SipParseError, and nothing else,
 * for any input.
 */
export function parseMessage(data: Buffer | Uint8Array | string, options?: ParseOptions): SipMessage {
  const limits = options?.limits === undefined ? DEFAULT_LIMITS : resolveLimits(options.limits);
  const stream = options?.framing === 'stream';
  const buf = toBuffer(data);
  const len = buf.length;
  if (len > limits.maxMessageSize) {
    fail(
      ParseErrorCode.MESSAGE_TOO_LARGE,
      `message of ${len} bytes exceeds the limit of ${limits.maxMessageSize}`,
      limits.maxMessageSize,
      513,
    );
  }
  // RFC 3261 §7.5: CRLFs before the start line are ignored.
  let start = 0;
  while (start < len && (buf[start] === CR || buf[start] === LF)) start++;
  if (start === len) fail(ParseErrorCode.EMPTY, 'no message (empty or only line breaks)', 0);
  // Decode the head once as a byte string and scan it with the string
  // builtins; most header sections fit in the first guess.
  const msg = parseHead(buf, start, Math.min(len, start + HEAD_GUESS), limits);
  if (msg !== null) return finish(msg, buf, limits, stream);
  return finish(
    parseHead(buf, start, Math.min(len, start + limits.maxHeaderSectionSize + 2), limits, true) as SipMessage,
    buf,
    limits,
    stream,
  );
}

/** Parses the start line and finds the header lines in buf[start, end); null when the window is too small. */
function parseHead(
  buf: Buffer,
  start: number,
  end: number,
  limits: Readonly<ParseLimits>,
  last = false,
): SipMessage | null {
  const src = latin1(buf, start, end);
  const srcLen = src.length;
  const more = !last && end < buf.length;
  let eol = src.indexOf('\n');
  if (eol === -1) return more ? null : unterminated(buf, start, end, limits);
  let le = eol;
  let crlf = true;
  if (le > 0 && src.charCodeAt(le - 1) === CR) le--;
  else crlf = false;
  const isResponse =
    le >= 4 &&
    (src.charCodeAt(0) | 0x20) === 0x73 &&
    (src.charCodeAt(1) | 0x20) === 0x69 &&
    (src.charCodeAt(2) | 0x20) === 0x70 &&
    src.charCodeAt(3) === 0x2f;
  const msg: SipMessage = isResponse ? parseStatusLine(src, le, start) : parseRequestLine(src, le, start);
  msg.src = src;
  msg.base = start;
  msg.startLineEnd = le;
  msg.limits = limits;
  const headers = msg.headers;
  // One slot per hot header id (0..HOT_MAX), from a literal: cheaper than copying a template.
  const hot = [-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1];
  msg.hot = hot;

  // Header fields: each line is found with one search; folded continuation
  // lines (RFC 3261 §7.3.1) are taken in at once by looking at the next line's
  // first character. Each field is split and named here (its value is
  // parsed only when read); the first field of each hot header is indexed.
  // The empty line ends the header section.
  let pos = eol + 1;
  let cl = -1;
  let clAt = -1;
  let vias = 0;
  let bodyStart: number;
  const maxLine = limits.maxHeaderLineLength;
  const maxHeaders = limits.maxHeaders;
  for (;;) {
    if (pos >= srcLen) return more ? null : unterminated(buf, start, end, limits);
    const c = src.charCodeAt(pos);
    if (c === LF) {
      crlf = false;
      bodyStart = start + pos + 1;
      break;
    }
    if (c === CR && src.charCodeAt(pos + 1) === LF) {
      bodyStart = start + pos + 2;
      break;
    }
    if (c === SP || c === HT)
      fail(ParseErrorCode.HEADER_LINE, 'continuation line with no header field above it', start + pos);
    eol = src.indexOf('\n', pos);
    if (eol === -1) return more ? null : unterminated(buf, start, end, limits);
    let folded = false;
    let next = src.charCodeAt(eol + 1);
    while (next === SP || next === HT) {
      folded = true;
      if (src.charCodeAt(eol - 1) !== CR) crlf = false;
      eol = src.indexOf('\n', eol + 1);
      if (eol === -1) return more ? null : unterminated(buf, start, end, limits);
      next = src.charCodeAt(eol + 1);
    }
    le = eol;
    if (src.charCodeAt(le - 1) === CR) le--;
    else crlf = false;
    if (le - pos > maxLine) {
      fail(
        ParseErrorCode.HEADER_TOO_LONG,
        `header field of ${le - pos} bytes exceeds the limit of ${maxLine}`,
        start + pos,
        513,
      );
    }
    if (headers.length >= maxHeaders)
      fail(ParseErrorCode.TOO_MANY_HEADERS, `more than ${maxHeaders} header fields`, start + pos, 513);
    // Every field is split and named now: the colon is one search away, and
    // the name is looked up by its length and end characters.
    const colon = src.indexOf(':', pos);
    let id = -1;
    let ne = colon;
    if (colon !== -1 && colon < le) {
      let p = src.charCodeAt(ne - 1);
      while ((p === SP || p === HT) && ne > pos) p = src.charCodeAt(--ne - 1);
      if (ne > pos) id = lookupHeaderId(src, pos, ne);
    }
    const field = new HeaderField(src, start, pos, le, folded, id, null, null);
    if (id !== -1) {
      field.splitAt(ne, colon);
      if (id > 0 && id <= HOT_MAX) {
        if ((hot[id] as number) < 0) hot[id] = headers.length;
        if (id === H_VIA) {
          if (++vias > limits.maxVias) {
            fail(
              ParseErrorCode.TOO_MANY_VIAS,
              `more than ${limits.maxVias} Via header fields`,
              start + pos,
              400,
              'Via',
            );
          }
        } else if (id === H_CONTENT_LENGTH) {
          // Content-Length frames the message, so it is read now (RFC 3261 §18.3).
          field.span();
          const v = contentLengthValue(src, field.vs, field.ve, folded, start);
          if (cl !== -1 && v !== cl) {
            fail(
              ParseErrorCode.CONTENT_LENGTH,
              `conflicting Content-Length values ${cl} and ${v}`,
              start + field.vs,
              400,
              'Content-Length',
            );
          }
          cl = v;
          clAt = start + field.vs;
        }
      }
    }
    headers.push(field);
    pos = eol + 1;
  }
  msg.crlf = crlf;
  msg.declaredLength = cl;
  msg.bodyStart = bodyStart;
  msg.clAt = clAt;
  return msg;
}

// A sleeping message splits its fields again from the text it wrote: lines
// that passed this parser or that sipwire wrote, ending in an empty line.
// Limits were applied when the message first came in; fields added since
// may go past them, and must split back all the same.
const NO_LIMITS: Readonly<ParseLimits> = Object.freeze({
  maxMessageSize: Number.MAX_SAFE_INTEGER,
  maxHeaderSectionSize: Number.MAX_SAFE_INTEGER,
  maxHeaders: Number.MAX_SAFE_INTEGER,
  maxHeaderLineLength: Number.MAX_SAFE_INTEGER,
  maxVias: Number.MAX_SAFE_INTEGER,
  maxBodySize: Number.MAX_SAFE_INTEGER,
});
setReparse((text) => {
  const buf = Buffer.from(text, 'latin1');
  const msg = parseHead(buf, 0, buf.length, NO_LIMITS, true) as SipMessage;
  msg.setWireBody(buf, msg.bodyStart, buf.length);
  return msg;
});

function unterminated(buf: Buffer, start: number, end: number, limits: Readonly<ParseLimits>): never {
  if (end - start > limits.maxHeaderSectionSize) {
    fail(
      ParseErrorCode.MESSAGE_TOO_LARGE,
      `header section exceeds the limit of ${limits.maxHeaderSectionSize} bytes`,
      start + limits.maxHeaderSectionSize,
      513,
    );
  }
  return fail(
    ParseErrorCode.HEADERS_UNTERMINATED,
    'header section is not terminated by an empty line',
    buf.length,
    400,
  );
}

/** Frames the body (RFC 3261 §18.3, §20.14). */
function finish(msg: SipMessage, buf: Buffer, limits: Readonly<ParseLimits>, stream: boolean): SipMessage {
  const len = buf.length;
  const bodyStart = msg.bodyStart;
  const cl = msg.declaredLength;
  const available = len - bodyStart;
  let bodyLen: number;
  if (cl === -1) {
    if (stream)
      fail(
        ParseErrorCode.CONTENT_LENGTH_REQUIRED,
        'Content-Length is required on stream transports',
        bodyStart,
        400,
        'Content-Length',
      );
    bodyLen = available;
  } else {
    if (cl > available) {
      fail(
        ParseErrorCode.CONTENT_LENGTH,
        `Content-Length ${cl} exceeds the ${available} bytes of body received`,
        msg.clAt,
        400,
        'Content-Length',
      );
    }
    if (stream && cl !== available) {
      fail(
        ParseErrorCode.CONTENT_LENGTH,
        `Content-Length ${cl} does not match the ${available} bytes of body`,
        msg.clAt,
        400,
        'Content-Length',
      );
    }
    bodyLen = cl;
  }
  if (bodyLen > limits.maxBodySize) {
    fail(
      ParseErrorCode.BODY_TOO_LARGE,
      `body of ${bodyLen} bytes exceeds the limit of ${limits.maxBodySize}`,
      bodyStart,
      413,
    );
  }
  msg.setWireBody(buf, bodyStart, bodyStart + bodyLen);
  msg.receivedBytes = bodyStart + bodyLen - msg.base;
  return msg;
}

/** Content-Length from the field's trimmed value range src[vs, ve). */
function contentLengthValue(src: string, vs: number, ve: number, folded: boolean, base: number): number {
  let v = 0;
  let digits = 0;
  for (let i = vs; i < ve; i++) {
    const c = src.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      v = v * 10 + (c - 0x30);
      if (++digits > 10 || v > 0xffffffff)
        fail(
          ParseErrorCode.CONTENT_LENGTH,
          'Content-Length is larger than 2^32-1',
          base + vs,
          400,
          'Content-Length',
        );
    } else if (!(folded && (c === SP || c === HT || c === CR || c === LF))) {
      const shown = src.slice(vs, Math.min(ve, vs + 20));
      fail(
        ParseErrorCode.CONTENT_LENGTH,
        `Content-Length '${shown}' is not a number`,
        base + i,
        400,
        'Content-Length',
      );
    }
  }
  if (digits === 0)
    fail(ParseErrorCode.CONTENT_LENGTH, 'empty Content-Length', base + vs, 400, 'Content-Length');
  return v;
}
