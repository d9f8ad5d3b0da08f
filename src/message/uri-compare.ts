import { normalizeEscapes } from './escape.js';
import { canonicalIpv6, hostType } from './host.js';
import type { Params } from './params.js';
import type { AbsoluteUri, SipUri, TelUri, Uri } from './uri.js';

/**
 * URI equality as RFC 3261 §19.1.4 defines it for sip: and sips: URIs,
 * RFC 3966 §4 for tel: URIs, and exact (scheme case-insensitive) comparison
 * for other schemes.
 */
export function uriEquals(a: Uri, b: Uri): boolean {
  if (a.kind === 'sip' && b.kind === 'sip') return sipUriEquals(a, b);
  if (a.kind === 'tel' && b.kind === 'tel') return telUriEquals(a, b);
  if (a.kind === 'absolute' && b.kind === 'absolute') return absoluteEquals(a, b);
  return false;
}

/** Parameters that never match a URI lacking them (§19.1.4: "user, ttl, method, maddr, transport"). */
const SIGNIFICANT = ['user', 'ttl', 'method', 'maddr', 'transport'];

function hostsEqual(a: string, b: string): boolean {
  const ta = hostType(a);
  const tb = hostType(b);
  // "An IP address that is the result of a DNS lookup of a host name does not match that host name."
  if (ta !== tb) return false;
  if (ta === 'ipv6') return canonicalIpv6(a) === canonicalIpv6(b);
  return a.toLowerCase() === b.toLowerCase();
}

function paramValue(p: Params, name: string): string | null | undefined {
  const v = p.getRaw(name);
  return typeof v === 'string' ? normalizeEscapes(v).toLowerCase() : v;
}

function sipUriEquals(a: SipUri, b: SipUri): boolean {
  // "A SIP and SIPS URI are never equivalent."
  if (a.scheme !== b.scheme) return false;
  // "Comparison of the userinfo of SIP and SIPS URIs is case-sensitive." Escapes are equivalent to their characters.
  const ua = a.userRaw === undefined ? undefined : normalizeEscapes(a.userRaw);
  const ub = b.userRaw === undefined ? undefined : normalizeEscapes(b.userRaw);
  if (ua !== ub) return false;
  const pa = a.passwordRaw === undefined ? undefined : normalizeEscapes(a.passwordRaw);
  const pb = b.passwordRaw === undefined ? undefined : normalizeEscapes(b.passwordRaw);
  if (pa !== pb) return false;
  if (!hostsEqual(a.host, b.host)) return false;
  // "A URI omitting any component with a default value will not match a URI explicitly containing that component."
  if (a.port !== b.port) return false;
  for (const name of SIGNIFICANT) {
    if (paramValue(a.params, name) !== paramValue(b.params, name)) return false;
  }
  // "All other uri-parameters appearing in only one URI are ignored"; those in both must match.
  for (const [name] of a.params.entries()) {
    const lower = name.toLowerCase();
    if (SIGNIFICANT.includes(lower)) continue;
    const vb = paramValue(b.params, lower);
    if (vb === undefined) continue;
    if (paramValue(a.params, lower) !== vb) return false;
  }
  // "URI header components are never ignored": the same set on both sides, values compared case-insensitively.
  if (a.headers.size !== b.headers.size) return false;
  for (const [name, value] of a.headers.entries()) {
    const other = b.headers.getRaw(name);
    if (typeof other !== 'string') return false;
    if (normalizeEscapes(other).toLowerCase() !== normalizeEscapes(value ?? '').toLowerCase()) return false;
  }
  return true;
}

function telUriEquals(a: TelUri, b: TelUri): boolean {
  // RFC 3966 §4: numbers compare without visual separators; parameters as a set, case-insensitively.
  if (a.digits.toLowerCase() !== b.digits.toLowerCase()) return false;
  if (a.params.size !== b.params.size) return false;
  for (const [name] of a.params.entries()) {
    const va = paramValue(a.params, name);
    const vb = paramValue(b.params, name);
    if (vb === undefined || va !== vb) return false;
  }
  return true;
}

function absoluteEquals(a: AbsoluteUri, b: AbsoluteUri): boolean {
  return a.scheme === b.scheme && a.value === b.value;
}
