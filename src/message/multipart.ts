import { ParseErrorCode, SipParseError } from '../errors.js';
import { type MediaType, parseMediaType } from './media-type.js';
import { bytesToText } from './text.js';

/** One part of a multipart body (RFC 2046 §5.1). */
export interface BodyPart {
  /** The part's header fields as [name, value] text pairs, in order. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** The part's Content-Type (RFC 2046 §5.1: text/plain when absent). */
  readonly contentType: MediaType;
  /** The part's bytes, exactly as received. */
  readonly body: Buffer;
}

function fail(message: string, offset: number): never {
  throw new SipParseError(ParseErrorCode.MULTIPART, `multipart body: ${message}`, { offset });
}

const TEXT_PLAIN = parseMediaType('text/plain');

/**
 * Splits a multipart body (RFC 2046 §5.1.1) into its parts. Binary-safe: the
 * boundary is searched as bytes and part bodies are sub-buffers of `body`.
 * `maxParts` bounds the work on hostile input.
 */
export function parseMultipart(body: Buffer, contentType: MediaType, maxParts = 64): BodyPart[] {
  if (contentType.type.toLowerCase() !== 'multipart')
    fail(`${contentType.essence} is not a multipart type`, 0);
  const boundary = contentType.params.get('boundary');
  if (typeof boundary !== 'string' || boundary.length === 0 || boundary.length > 70) {
    fail('missing or invalid boundary parameter', 0);
  }
  const dash = Buffer.from(`--${boundary}`, 'latin1');
  // The first delimiter may start the body; later ones follow a CRLF.
  let at = body.indexOf(dash);
  if (at === -1) fail(`boundary '${boundary}' not found`, 0);
  if (at > 0 && !(body[at - 1] === 0x0a)) {
    // Preamble: the delimiter must start a line.
    const next = body.indexOf(Buffer.from(`\r\n--${boundary}`, 'latin1'));
    if (next === -1) fail(`boundary '${boundary}' does not start a line`, at);
    at = next + 2;
  }
  const delim = Buffer.from(`\r\n--${boundary}`, 'latin1');
  const parts: BodyPart[] = [];
  let pos = at + dash.length;
  for (;;) {
    // After a delimiter: "--" closes, otherwise transport padding then CRLF.
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) return parts;
    while (body[pos] === 0x20 || body[pos] === 0x09) pos++;
    if (body[pos] === 0x0d && body[pos + 1] === 0x0a) pos += 2;
    else if (body[pos] === 0x0a) pos += 1;
    else fail('expected a line break after the boundary', pos);
    const next = body.indexOf(delim, pos);
    if (next === -1) fail('missing closing boundary', body.length);
    if (parts.length >= maxParts) fail(`more than ${maxParts} parts`, pos);
    parts.push(readPart(body, pos, next));
    pos = next + delim.length;
  }
}

function readPart(body: Buffer, start: number, end: number): BodyPart {
  // A part starts with its header lines and an empty line; no headers means it starts with CRLF.
  let headerEnd: number;
  let bodyStart: number;
  if (body[start] === 0x0d && body[start + 1] === 0x0a) {
    headerEnd = start;
    bodyStart = start + 2;
  } else {
    const sep = body.indexOf('\r\n\r\n', start, 'latin1');
    if (sep === -1 || sep >= end) fail('part without an empty line after its headers', start);
    headerEnd = sep;
    bodyStart = sep + 4;
  }
  const headers: Array<[string, string]> = [];
  let contentType = TEXT_PLAIN;
  if (headerEnd > start) {
    const text = body.toString('latin1', start, headerEnd).replace(/\r\n[ \t]+/g, ' ');
    for (const line of text.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon <= 0) fail(`bad part header line '${line.slice(0, 40)}'`, start);
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      headers.push([name, bytesToText(value)]);
      if (name.toLowerCase() === 'content-type') contentType = parseMediaType(value, start);
    }
  }
  return { headers, contentType, body: body.subarray(bodyStart, end) };
}
