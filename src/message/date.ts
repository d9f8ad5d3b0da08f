import { ParseErrorCode, SipParseError } from '../errors.js';

const WKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function fail(message: string, offset: number): never {
  throw new SipParseError(ParseErrorCode.HEADER_VALUE, `Date: ${message}`, { offset });
}

function two(s: string, i: number, base: number, what: string): number {
  const a = s.charCodeAt(i) - 0x30;
  const b = s.charCodeAt(i + 1) - 0x30;
  if (!(a >= 0 && a <= 9 && b >= 0 && b <= 9)) fail(`expected two digits for the ${what}`, base + i);
  return a * 10 + b;
}

/**
 * SIP-date (RFC 3261 §20.17, §25.1): rfc1123-date = wkday "," SP date1 SP
 * time SP "GMT". Only GMT is valid (RFC 4475 §3.1.2.12: not UT, UTC or EST).
 */
export function parseDate(value: string, base = 0): Date {
  let a = 0;
  let b = value.length;
  while (a < b && (value.charCodeAt(a) === 0x20 || value.charCodeAt(a) === 0x09)) a++;
  while (b > a && (value.charCodeAt(b - 1) === 0x20 || value.charCodeAt(b - 1) === 0x09)) b--;
  const s = value.slice(a, b);
  const at = base + a;
  // "Sat, 13 Nov 2010 23:29:00 GMT" is exactly 29 characters.
  if (s.length !== 29) {
    if (s.length > 25 && s.charCodeAt(25) === 0x20 && s.slice(26) !== 'GMT')
      fail(`time zone must be GMT, found '${s.slice(26)}'`, at + 26);
    fail('expected the form "Sat, 13 Nov 2010 23:29:00 GMT"', at);
  }
  const wk = WKDAYS.indexOf(s.slice(0, 3));
  if (wk === -1) fail(`unknown day name '${s.slice(0, 3)}'`, at);
  if (
    s[3] !== ',' ||
    s[4] !== ' ' ||
    s[7] !== ' ' ||
    s[11] !== ' ' ||
    s[16] !== ' ' ||
    s[19] !== ':' ||
    s[22] !== ':' ||
    s[25] !== ' '
  ) {
    fail('expected the form "Sat, 13 Nov 2010 23:29:00 GMT"', at);
  }
  if (s.slice(26) !== 'GMT') fail(`time zone must be GMT, found '${s.slice(26)}'`, at + 26);
  const day = two(s, 5, at, 'day');
  const month = MONTHS.indexOf(s.slice(8, 11));
  if (month === -1) fail(`unknown month '${s.slice(8, 11)}'`, at + 8);
  const year = two(s, 12, at, 'year') * 100 + two(s, 14, at, 'year');
  const hh = two(s, 17, at, 'hour');
  const mm = two(s, 20, at, 'minute');
  const ss = two(s, 23, at, 'second');
  if (hh > 23 || mm > 59 || ss > 60) fail('time out of range', at + 17);
  const d = new Date(Date.UTC(year, month, day, hh, mm, Math.min(ss, 59)));
  if (d.getUTCDate() !== day) fail('day out of range for the month', at + 5);
  return d;
}

/** Writes a SIP-date (RFC 1123 form, GMT). */
export function formatDate(d: Date): string {
  return d.toUTCString();
}
