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
  /** @internal Character codes a name of this header can start with (both cases, full and compact). */
  readonly starts: readonly [number, number, number, number];
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
  starts: [
    name.toLowerCase().charCodeAt(0),
    name.toUpperCase().charCodeAt(0),
    compact ? compact.charCodeAt(0) : -1,
    compact ? compact.toUpperCase().charCodeAt(0) : -1,
  ] as const,
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

/** Every header id by canonical name, for code outside the hot path. */
export const HID = Object.freeze(Object.fromEntries(HEADERS.map((h) => [h.name, h.id]))) as Readonly<
  Record<string, number>
>;

const byCompact = new Array<number>(128).fill(0);
for (const h of HEADERS) if (h.compact) byCompact[h.compact.charCodeAt(0)] = h.id;

const byLower = new Map<string, HeaderInfo>();
for (const h of HEADERS) {
  byLower.set(h.lower, h);
  if (h.compact) byLower.set(h.compact, h);
}

// Every name's lower-case characters in one array, found by id (lookupHeaderId).
const nameLength = new Int16Array(HEADERS.length + 1);
const nameStart = new Int16Array(HEADERS.length + 1);
const nameCodes = new Uint8Array(HEADERS.reduce((n, h) => n + h.lower.length, 0));
{
  let at = 0;
  for (const h of HEADERS) {
    if (!/^[a-z-]+$/.test(h.lower)) throw new Error(`header name ${h.name} must be letters and '-'`);
    nameLength[h.id] = h.lower.length;
    nameStart[h.id] = at;
    for (let i = 0; i < h.lower.length; i++) nameCodes[at++] = h.lower.charCodeAt(i);
  }
}

// Open-addressing table keyed by (length, first letter, last letter), folded
// to lower case: a name is compared with at most a few candidates.
const TABLE_BITS = 10;
const TABLE_MASK = (1 << TABLE_BITS) - 1;
const table = new Int16Array(1 << TABLE_BITS);
function slot(len: number, first: number, last: number): number {
  return (len * 131 + first * 17 + last * 7) & TABLE_MASK;
}
for (const h of HEADERS) {
  const n = h.lower;
  let k = slot(n.length, n.charCodeAt(0), n.charCodeAt(n.length - 1));
  while (table[k] !== 0) k = (k + 1) & TABLE_MASK;
  table[k] = h.id;
}

/**
 * Id of the header named `s[start, end)` (case-insensitive, compact forms
 * included), or 0. Each character must equal the lower- or upper-case
 * letter of a known name, so a match also proves the name is a token.
 */
export function lookupHeaderId(s: string, start: number, end: number): number {
  const len = end - start;
  if (len === 1) {
    const c = s.charCodeAt(start);
    return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ? (byCompact[c | 0x20] as number) : 0;
  }
  if (len === 0) return 0;
  let k = slot(len, s.charCodeAt(start) | 0x20, s.charCodeAt(end - 1) | 0x20);
  for (;;) {
    const id = table[k] as number;
    if (id === 0) return 0;
    if ((nameLength[id] as number) === len) {
      // Names hold only lower-case letters and '-': a character matches when it
      // equals the letter in either case (c | 0x20), and CR, which folds to '-',
      // never matches.
      let at = nameStart[id] as number;
      let j = start;
      while (j < end) {
        const c = s.charCodeAt(j);
        if ((c | 0x20) !== (nameCodes[at] as number) || c === 0x0d) break;
        j++;
        at++;
      }
      if (j === end) return id;
    }
    k = (k + 1) & TABLE_MASK;
  }
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
