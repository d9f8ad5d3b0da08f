import { ParseErrorCode, SipParseError } from '../errors.js';
import { parseAuthHeader } from './auth-header.js';
import { AT, WORD } from './chars.js';
import { parseCSeq, parseRAck } from './cseq.js';
import { parseDate } from './date.js';
import { HID } from './header-names.js';
import type { ParseLimits } from './limits.js';
import { parseAccept, parseMediaType } from './media-type.js';
import { parseContactList, parseNameAddr, parseNameAddrList } from './name-addr.js';
import {
  parseDeltaSeconds,
  parseDigits,
  parseExpires,
  parseMaxForwards,
  parseRetryAfter,
  parseRSeq,
  parseSessionExpires,
} from './numeric.js';
import { WORD_RE } from './patterns.js';
import { parseTokenList, parseTokenWithParams, parseTokenWithParamsList } from './token-list.js';
import { parseViaList } from './via.js';
import { parseWarningList } from './warning.js';

/** Parses one header field value; list headers return an array of values. */
export type FieldParser = (
  value: string,
  base: number,
  limits: Readonly<ParseLimits>,
  what: string,
) => unknown;

/** Common form of a Call-ID with no surrounding whitespace (linear: see patterns.ts). */
const FAST_CALL_ID = new RegExp(`^${WORD_RE}+(?:@${WORD_RE}+)?$`);

/** Call-ID (RFC 3261 §20.8): callid = word [ "@" word ]. */
export function parseCallId(value: string, base = 0): string {
  if (FAST_CALL_ID.test(value)) return value;
  let a = 0;
  let b = value.length;
  while (a < b && (value.charCodeAt(a) === 0x20 || value.charCodeAt(a) === 0x09)) a++;
  while (b > a && (value.charCodeAt(b - 1) === 0x20 || value.charCodeAt(b - 1) === 0x09)) b--;
  if (a === b)
    throw new SipParseError(ParseErrorCode.HEADER_VALUE, 'Call-ID: empty value', { offset: base + a });
  let ats = 0;
  for (let i = a; i < b; i++) {
    const c = value.charCodeAt(i);
    if (c === AT) {
      if (++ats > 1 || i === a || i === b - 1) {
        throw new SipParseError(ParseErrorCode.HEADER_VALUE, "Call-ID: '@' must separate two words", {
          offset: base + i,
        });
      }
    } else if (WORD[c] !== 1) {
      const shown =
        c > 0x20 && c < 0x7f ? `'${String.fromCharCode(c)}'` : `byte 0x${c.toString(16).padStart(2, '0')}`;
      throw new SipParseError(ParseErrorCode.HEADER_VALUE, `Call-ID: invalid character ${shown}`, {
        offset: base + i,
      });
    }
  }
  return a === 0 && b === value.length ? value : value.slice(a, b);
}

const P: Array<FieldParser | undefined> = [];
function def(names: string[], parser: FieldParser): void {
  for (const n of names) {
    const id = HID[n];
    if (id === undefined) throw new Error(`no header ${n}`);
    P[id] = parser;
  }
}

def(['Via'], (v, b, l) => parseViaList(v, b, l.maxVias));
def(['From', 'To', 'Reply-To', 'Refer-To', 'Referred-By'], (v, b, _l, w) => parseNameAddr(v, w, b));
def(['Call-ID'], (v, b) => parseCallId(v, b));
def(['CSeq'], (v, b) => parseCSeq(v, b));
def(['Max-Forwards'], (v, b) => parseMaxForwards(v, b));
def(['Content-Length'], (v, b) => parseDigits(v, 'Content-Length', 0xffffffff, b));
def(['Content-Type'], (v, b) => parseMediaType(v, b));
def(['Contact'], (v, b, l) => parseContactList(v, 'Contact', b, l.maxHeaders));
def(
  [
    'Route',
    'Record-Route',
    'Path',
    'Service-Route',
    'P-Asserted-Identity',
    'P-Preferred-Identity',
    'Alert-Info',
    'Call-Info',
    'Error-Info',
  ],
  (v, b, l, w) => parseNameAddrList(v, w, b, l.maxHeaders),
);
def(['Accept'], (v, b) => parseAccept(v, b));
def(
  [
    'Allow',
    'Supported',
    'Require',
    'Proxy-Require',
    'Unsupported',
    'Allow-Events',
    'Content-Encoding',
    'Content-Language',
  ],
  (v, b, _l, w) => parseTokenList(v, w, b),
);
def(['Accept-Encoding', 'Accept-Language', 'Reason'], (v, b, _l, w) => parseTokenWithParamsList(v, w, b));
def(['Authorization', 'Proxy-Authorization'], (v, b, _l, w) => parseAuthHeader(v, w, 'credentials', b));
def(['WWW-Authenticate', 'Proxy-Authenticate'], (v, b, _l, w) => parseAuthHeader(v, w, 'challenge', b));
def(['Date'], (v, b) => parseDate(v, b));
def(['Expires'], (v, b) => parseExpires(v, b));
def(['Min-Expires'], (v, b) => parseDeltaSeconds(v, 'Min-Expires', b));
def(['Max-Breadth', 'Flow-Timer'], (v, b, _l, w) => parseDeltaSeconds(v, w, b));
def(['Retry-After'], (v, b) => parseRetryAfter(v, b));
def(['Warning'], (v, b) => parseWarningList(v, b));
def(['Event', 'Subscription-State', 'Content-Disposition'], (v, b, _l, w) => parseTokenWithParams(v, w, b));
def(['RSeq'], (v, b) => parseRSeq(v, b));
def(['RAck'], (v, b) => parseRAck(v, b));
def(['Session-Expires', 'Min-SE'], (v, b, _l, w) => parseSessionExpires(v, b, w));

/** Typed parser for a header id, if sipwire has one. */
export function fieldParser(id: number): FieldParser | undefined {
  return P[id];
}
