import { DIGIT, HOST, IPV6 } from './chars.js';

export type HostType = 'ipv4' | 'ipv6' | 'name';

/**
 * Checks a host as written in a URI or Via (RFC 3261 §25.1 host, RFC 5954
 * for IPv6). Returns null when it is acceptable, else what is wrong.
 */
export function checkHost(s: string, start: number, end: number): string | null {
  if (end <= start) return 'empty host';
  if (s.charCodeAt(start) === 0x5b) {
    if (s.charCodeAt(end - 1) !== 0x5d) return 'unterminated IPv6 reference';
    return checkIpv6(s, start + 1, end - 1);
  }
  let allDigitsAndDots = true;
  let labelStart = start;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (HOST[c] !== 1) return `invalid character ${describe(c)} in host`;
    if (c === 0x2e) {
      // A trailing dot is allowed (fully qualified name); an empty label is not.
      if (i === labelStart) return 'empty label in host';
      labelStart = i + 1;
    } else if (DIGIT[c] !== 1) allDigitsAndDots = false;
  }
  if (allDigitsAndDots) return checkIpv4(s, start, end);
  if (s.charCodeAt(start) === 0x2d) return 'host starts with "-"';
  return null;
}

function checkIpv4(s: string, start: number, end: number): string | null {
  let parts = 0;
  let value = 0;
  let digits = 0;
  for (let i = start; i <= end; i++) {
    const c = i < end ? s.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || digits > 3 || value > 255) return 'invalid IPv4 address';
      parts++;
      value = 0;
      digits = 0;
    } else {
      value = value * 10 + (c - 0x30);
      digits++;
    }
  }
  return parts === 4 ? null : 'invalid IPv4 address';
}

/**
 * IPv6 address syntax (RFC 4291 §2.2, as RFC 5954 corrects RFC 3261): up to
 * eight 16-bit groups, at most one "::", an optional trailing IPv4 part. The
 * RFC 3261 ABNF's extra-colon form (`2001:db8:::192.0.2.1`, RFC 5118 §4.10)
 * is tolerated as the RFC asks.
 */
export function checkIpv6(s: string, start: number, end: number): string | null {
  if (end <= start) return 'empty IPv6 address';
  for (let i = start; i < end; i++)
    if (IPV6[s.charCodeAt(i)] !== 1) return 'invalid character in IPv6 address';
  const text = s.slice(start, end);
  let body = text;
  let v4 = 0;
  const lastColon = text.lastIndexOf(':');
  if (lastColon === -1) return 'invalid IPv6 address';
  if (text.indexOf('.', lastColon) !== -1) {
    if (checkIpv4(text, lastColon + 1, text.length) !== null) return 'invalid IPv4 part in IPv6 address';
    v4 = 2;
    body = text.slice(0, lastColon + 1);
    // "x::" + v4 keeps its "::"; "x:" + v4 drops the colon that introduced the IPv4 part.
    if (!body.endsWith('::')) body = body.slice(0, -1);
  }
  if (body.indexOf('.') !== -1) return 'invalid IPv6 address';
  // Tolerate ":::" (RFC 5118 §4.10) by reading it as "::".
  const normal = body.replace(':::', '::');
  const dbl = normal.indexOf('::');
  if (dbl !== -1 && normal.indexOf('::', dbl + 1) !== -1) return 'more than one "::" in IPv6 address';
  const groups = normal === '::' ? [] : normal.split(':');
  let count = 0;
  for (let g = 0; g < groups.length; g++) {
    const part = groups[g]!;
    if (part === '') {
      if (dbl === -1) return 'empty group in IPv6 address';
      continue;
    }
    if (part.length > 4) return 'IPv6 group longer than 4 digits';
    count++;
  }
  count += v4;
  if (dbl === -1 ? count !== 8 : count > 7) return 'wrong number of groups in IPv6 address';
  return null;
}

/** A host as an address: an IPv6 reference without its brackets, anything else as it is. */
export function bareHost(host: string): string {
  const a = host.charCodeAt(0) === 0x5b ? 1 : 0;
  const b = host.charCodeAt(host.length - 1) === 0x5d ? host.length - 1 : host.length;
  return a === 0 && b === host.length ? host : host.slice(a, b);
}

export function hostType(host: string): HostType {
  if (host.charCodeAt(0) === 0x5b) return 'ipv6';
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c !== 0x2e && DIGIT[c] !== 1) return 'name';
  }
  return 'ipv4';
}

/** Canonical text of an IPv6 address (lower-case, zeros compressed), for comparison. */
export function canonicalIpv6(addr: string): string {
  const text = addr.charCodeAt(0) === 0x5b ? addr.slice(1, -1) : addr;
  let head = text.toLowerCase().replace(':::', '::');
  const words: number[] = [];
  let tailV4: number[] = [];
  const lastColon = head.lastIndexOf(':');
  if (head.indexOf('.', lastColon) !== -1) {
    const v4 = head
      .slice(lastColon + 1)
      .split('.')
      .map(Number);
    tailV4 = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
    head = head.slice(0, lastColon + 1);
    if (!head.endsWith('::')) head = head.slice(0, -1);
    if (head === '') head = '::';
  }
  const [left, right] = head.includes('::') ? head.split('::') : [head, undefined];
  const l = left ? left.split(':').map((g) => Number.parseInt(g, 16)) : [];
  const r = right ? right.split(':').map((g) => Number.parseInt(g, 16)) : [];
  const fill = 8 - l.length - r.length - tailV4.length;
  words.push(...l);
  if (right !== undefined) for (let i = 0; i < fill; i++) words.push(0);
  words.push(...r, ...tailV4);
  return words.map((w) => (w || 0).toString(16)).join(':');
}

function describe(c: number): string {
  return c > 0x20 && c < 0x7f ? `'${String.fromCharCode(c)}'` : `0x${c.toString(16).padStart(2, '0')}`;
}
