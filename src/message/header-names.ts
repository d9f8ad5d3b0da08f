/**
 * The header fields sipwire knows by name (RFC 3261 §20 and the extensions
 * it implements), their compact forms (RFC 3261 §7.3.3 and the IANA SIP
 * parameters registry), and whether their grammar is a comma-separated list
 * (RFC 3261 §7.3.1). Each known header has a small integer id so that the
 * parser can tag header lines without building lower-case strings.
 */

export interface HeaderInfo {
  readonly id: number;
  /** Canonical spelling, used when sipwire writes the header. */
  readonly name: string;
  readonly lower: string;
  /** Compact form letter (lower case), if any. */
  readonly compact: string | undefined;
  /** True when several values may share one line separated by commas. */
  readonly list: boolean;
}

const defs: Array<[string, string | undefined, boolean]> = [
  // name, compact, list
  ['Via', 'v', true],
  ['From', 'f', false],
  ['To', 't', false],
  ['Call-ID', 'i', false],
  ['CSeq', undefined, false],
  ['Max-Forwards', undefined, false],
  ['Content-Length', 'l', false],
  ['Content-Type', 'c', false],
  ['Contact', 'm', true],
  ['Route', undefined, true],
  ['Record-Route', undefined, true],
  ['Accept', undefined, true],
  ['Accept-Encoding', undefined, true],
  ['Accept-Language', undefined, true],
  ['Alert-Info', undefined, true],
  ['Allow', undefined, true],
  ['Allow-Events', 'u', true],
  ['Authentication-Info', undefined, false],
  ['Authorization', undefined, false],
  ['Call-Info', undefined, true],
  ['Content-Disposition', undefined, false],
  ['Content-Encoding', 'e', true],
  ['Content-Language', undefined, true],
  ['Date', undefined, false],
  ['Error-Info', undefined, true],
  ['Event', 'o', false],
  ['Expires', undefined, false],
  ['In-Reply-To', undefined, true],
  ['MIME-Version', undefined, false],
  ['Min-Expires', undefined, false],
  ['Organization', undefined, false],
  ['Priority', undefined, false],
  ['Proxy-Authenticate', undefined, false],
  ['Proxy-Authorization', undefined, false],
  ['Proxy-Require', undefined, true],
  ['Reply-To', undefined, false],
  ['Require', undefined, true],
  ['Retry-After', undefined, false],
  ['Server', undefined, false],
  ['Subject', 's', false],
  ['Supported', 'k', true],
  ['Timestamp', undefined, false],
  ['Unsupported', undefined, true],
  ['User-Agent', undefined, false],
  ['Warning', undefined, true],
  ['WWW-Authenticate', undefined, false],
  ['Refer-To', 'r', false],
  ['Referred-By', 'b', false],
  ['Session-Expires', 'x', false],
  ['Min-SE', undefined, false],
  ['RSeq', undefined, false],
  ['RAck', undefined, false],
  ['Subscription-State', undefined, false],
  ['Path', undefined, true],
  ['Service-Route', undefined, true],
  ['Reason', undefined, true],
  ['P-Asserted-Identity', undefined, true],
  ['P-Preferred-Identity', undefined, true],
  ['Privacy', undefined, false],
  ['Identity', 'y', false],
  ['Identity-Info', 'n', false],
  ['Replaces', undefined, false],
  ['Request-Disposition', 'd', true],
  ['Accept-Contact', 'a', true],
  ['Reject-Contact', 'j', true],
  ['Max-Breadth', undefined, false],
  ['Flow-Timer', undefined, false],
  ['Refer-Sub', undefined, false],
  ['SIP-ETag', undefined, false],
  ['SIP-If-Match', undefined, false],
];

export const HEADERS: readonly HeaderInfo[] = defs.map(([name, compact, list], i) => ({
  id: i + 1,
  name,
  lower: name.toLowerCase(),
  compact,
  list,
}));

/** Ids of the headers the core layers use directly. */
export const H = {
  UNKNOWN: 0,
  VIA: 1,
  FROM: 2,
  TO: 3,
  CALL_ID: 4,
  CSEQ: 5,
  MAX_FORWARDS: 6,
  CONTENT_LENGTH: 7,
  CONTENT_TYPE: 8,
  CONTACT: 9,
  ROUTE: 10,
  RECORD_ROUTE: 11,
} as const;

function idOf(name: string): number {
  const info = HEADERS.find((h) => h.name === name);
  if (!info) throw new Error(`unknown header ${name}`);
  return info.id;
}

/** Every header id by canonical name, for code outside the hot path. */
export const HID = Object.freeze(Object.fromEntries(HEADERS.map((h) => [h.name, h.id]))) as Readonly<
  Record<string, number>
>;

const byLength: Array<HeaderInfo[] | undefined> = [];
for (const h of HEADERS) {
  const list = byLength[h.lower.length] ?? [];
  list.push(h);
  byLength[h.lower.length] = list;
}
const byCompact = new Array<number>(128).fill(0);
for (const h of HEADERS) if (h.compact) byCompact[h.compact.charCodeAt(0)] = h.id;

const byLower = new Map<string, HeaderInfo>();
for (const h of HEADERS) {
  byLower.set(h.lower, h);
  if (h.compact) byLower.set(h.compact, h);
}

/**
 * Id of the header named `s[start, end)` (case-insensitive, compact forms
 * included), or 0. The caller has checked that the name is a token, which
 * keeps the `| 0x20` folding below from matching non-letters.
 */
export function lookupHeaderId(s: string, start: number, end: number): number {
  const len = end - start;
  if (len === 1) {
    const c = s.charCodeAt(start) | 0x20;
    return c < 128 ? (byCompact[c] as number) : 0;
  }
  const cands = byLength[len];
  if (cands === undefined) return 0;
  const first = s.charCodeAt(start) | 0x20;
  for (let k = 0; k < cands.length; k++) {
    const h = cands[k] as HeaderInfo;
    const lower = h.lower;
    if (lower.charCodeAt(0) !== first) continue;
    let j = 1;
    while (j < len && (s.charCodeAt(start + j) | 0x20) === lower.charCodeAt(j)) j++;
    if (j === len) return h.id;
  }
  return 0;
}

/** Header info for a name written any way (compact forms included). */
export function headerInfo(name: string): HeaderInfo | undefined {
  return byLower.get(name.toLowerCase());
}

export function headerInfoById(id: number): HeaderInfo | undefined {
  return id > 0 ? HEADERS[id - 1] : undefined;
}

/** Canonical spelling of a header name (compact forms expanded); unknown names are returned as given. */
export function canonicalHeaderName(name: string): string {
  return byLower.get(name.toLowerCase())?.name ?? name;
}

// Sanity: the ids the hot path relies on match the table.
for (const [k, v] of Object.entries(H)) {
  if (k !== 'UNKNOWN' && HEADERS[v - 1]?.name.toUpperCase().replace(/-/g, '_') !== k) {
    throw new Error(`header id table out of order at ${k}`);
  }
}

export { idOf as headerId };
