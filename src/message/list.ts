/**
 * Splits a header value at the commas that separate list elements (RFC 3261
 * §7.3.1), ignoring commas inside quoted strings, angle brackets and
 * comments. Returns [start, end) pairs of the trimmed elements.
 */
export function splitListRanges(s: string): number[] {
  const out: number[] = [];
  let start = 0;
  let inQuote = false;
  let angle = 0;
  let paren = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 0x2c;
    if (inQuote) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inQuote = false;
      if (i < s.length) continue;
    }
    if (c === 0x22) inQuote = true;
    else if (c === 0x3c) angle++;
    else if (c === 0x3e && angle > 0) angle--;
    else if (c === 0x28) paren++;
    else if (c === 0x29 && paren > 0) paren--;
    else if (c === 0x2c && ((angle === 0 && paren === 0) || i === s.length)) {
      let a = start;
      let b = i;
      while (a < b && (s.charCodeAt(a) === 0x20 || s.charCodeAt(a) === 0x09)) a++;
      while (b > a && (s.charCodeAt(b - 1) === 0x20 || s.charCodeAt(b - 1) === 0x09)) b--;
      out.push(a, b);
      start = i + 1;
    }
  }
  return out;
}

/** The trimmed elements of a comma-separated header value; empty elements are kept as ''. */
export function splitList(s: string): string[] {
  const r = splitListRanges(s);
  const out: string[] = [];
  for (let i = 0; i < r.length; i += 2) out.push(s.slice(r[i], r[i + 1]));
  return out;
}
