import { HEX } from './chars.js';

function hexVal(c: number): number {
  return c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57;
}

/**
 * Decodes `%HH` escapes of a URI component (RFC 3261 §19.1.2) into text
 * (UTF-8). A `%` not followed by two hex digits is kept as it is.
 */
export function unescapeUri(s: string): string {
  if (s.indexOf('%') === -1) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && i + 2 < s.length && HEX[s.charCodeAt(i + 1)] && HEX[s.charCodeAt(i + 2)]) {
      bytes.push((hexVal(s.charCodeAt(i + 1)) << 4) | hexVal(s.charCodeAt(i + 2)));
      i += 2;
    } else bytes.push(c & 0xff);
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * Escapes text for a URI component: every UTF-8 octet outside `allowed`
 * (and `%` itself) becomes `%HH`. The result is ASCII.
 */
export function escapeUri(text: string, allowed: Uint8Array): string {
  let plain = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f || c === 0x25 || allowed[c] !== 1) {
      plain = false;
      break;
    }
  }
  if (plain) return text;
  const bytes = Buffer.from(text, 'utf8');
  let out = '';
  for (const b of bytes) {
    if (b < 0x80 && b !== 0x25 && allowed[b] === 1) out += String.fromCharCode(b);
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** RFC 3261 §19.1.4 reserved set: these characters are not equivalent to their escaped form. */
const RESERVED = new Uint8Array(256);
for (const ch of ';/?:@&=+$,') RESERVED[ch.charCodeAt(0)] = 1;

/**
 * Normal form of an escaped component for comparison (RFC 3261 §19.1.4):
 * "Characters other than those in the reserved set are equivalent to their
 * '%' HEX HEX encoding." Escapes of unreserved characters are decoded;
 * escapes of reserved ones are kept with upper-case hex.
 */
export function normalizeEscapes(s: string): string {
  if (s.indexOf('%') === -1) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && i + 2 < s.length && HEX[s.charCodeAt(i + 1)] && HEX[s.charCodeAt(i + 2)]) {
      const v = (hexVal(s.charCodeAt(i + 1)) << 4) | hexVal(s.charCodeAt(i + 2));
      out += RESERVED[v] === 1 ? `%${s.slice(i + 1, i + 3).toUpperCase()}` : String.fromCharCode(v);
      i += 2;
    } else out += s[i];
  }
  return out;
}
