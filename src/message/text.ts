/**
 * The message layer keeps header text as byte strings: one character per
 * octet (latin1), so offsets are byte offsets and untouched text re-encodes
 * to exactly the bytes received. These helpers cross between byte strings
 * and ordinary (UTF-16) JavaScript text at the edges of the API.
 */

/** Any character from 0x80 up (one pass, no backtracking). */
const NON_ASCII = /[^\x00-\x7f]/;

/** True when every character is below 0x80. */
export function isAscii(s: string): boolean {
  return !NON_ASCII.test(s);
}

/** Byte string (latin1, one char per octet) to text, decoding UTF-8 when non-ASCII bytes are present. */
export function bytesToText(s: string): string {
  return isAscii(s) ? s : Buffer.from(s, 'latin1').toString('utf8');
}

/** Text to byte string: UTF-8 encode when non-ASCII characters are present. */
export function textToBytes(s: string): string {
  return isAscii(s) ? s : Buffer.from(s, 'utf8').toString('latin1');
}

// biome-ignore lint/correctness/noUnusedVariables: only written, so that the read is not optimised away
let flatSink = 0;

/**
 * The same string, made to stand alone. A string built by joining pieces
 * cut from message text is a tree of those pieces, each holding the whole
 * text it was cut from; reading one character makes the engine copy it into
 * one flat string. For strings kept long (transaction keys, sleeping
 * messages).
 */
export function flat(s: string): string {
  flatSink ^= s.charCodeAt(s.length - 1);
  return s;
}

/**
 * A copy of `s` that shares nothing with the text it was cut from. A piece
 * of a message longer than a dozen characters is a view into the whole
 * message text and keeps all of it alive (up to the 64 KiB a message may
 * have), and so does a string joined from such pieces; `flat` does not
 * help with a single piece. For what a table keeps under a bound on its
 * entries, from text a peer chose (failure counts, caches, nonce counts,
 * bindings): an entry then costs its own length, not a message's.
 */
export function own(s: string): string {
  // Joining makes a new string; cutting it flattens it into one fresh copy
  // (and the cut is a view into that copy alone).
  return `${s} `.slice(0, -1);
}

type Latin1Buffer = Buffer & { latin1Slice(start: number, end: number): string };
const hasLatin1Slice = typeof (Buffer.prototype as Partial<Latin1Buffer>).latin1Slice === 'function';

/** Bytes [start, end) of `buf` as a byte string (one character per octet). */
export function latin1(buf: Buffer, start = 0, end = buf.length): string {
  return hasLatin1Slice ? (buf as Latin1Buffer).latin1Slice(start, end) : buf.toString('latin1', start, end);
}
