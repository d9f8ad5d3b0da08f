/**
 * Character classes of the RFC 3261 §25.1 grammar as 256-entry lookup tables.
 * Every scanner in the message layer tests bytes against these tables; no
 * regular expression ever runs over text received from a peer.
 */

function table(chars: string, ranges: Array<[number, number]> = []): Uint8Array {
  const t = new Uint8Array(256);
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  for (const [lo, hi] of ranges) for (let c = lo; c <= hi; c++) t[c] = 1;
  return t;
}

const ALNUM: Array<[number, number]> = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x61, 0x7a],
];

/** token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~") */
export const TOKEN = table("-.!%*_+`'~", ALNUM);

/** SP / HTAB */
export const WS = table(' \t');

/** True when `s` is a non-empty token (RFC 3261 §25.1). */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (TOKEN[s.charCodeAt(i)] !== 1) return false;
  return true;
}

export const DIGIT = table('', [[0x30, 0x39]]);

export const HEX = table('', [
  [0x30, 0x39],
  [0x41, 0x46],
  [0x61, 0x66],
]);

export const ALPHA = table('', [
  [0x41, 0x5a],
  [0x61, 0x7a],
]);

/** unreserved = alphanum / mark; mark = "-" / "_" / "." / "!" / "~" / "*" / "'" / "(" / ")" */
const UNRESERVED_CHARS = "-_.!~*'()";

/** user = 1*( unreserved / escaped / user-unreserved ), user-unreserved = "&" / "=" / "+" / "$" / "," / ";" / "?" / "/" */
export const USER = table(`${UNRESERVED_CHARS}%&=+$,;?/`, ALNUM);

/** password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," ) */
export const PASSWORD = table(`${UNRESERVED_CHARS}%&=+$,`, ALNUM);

/** paramchar = param-unreserved / unreserved / escaped; param-unreserved = "[" / "]" / "/" / ":" / "&" / "+" / "$" */
export const URI_PARAM = table(`${UNRESERVED_CHARS}%[]/:&+$`, ALNUM);

/** hname / hvalue = hnv-unreserved / unreserved / escaped; hnv-unreserved = "[" / "]" / "/" / "?" / ":" / "+" / "$" */
export const URI_HEADER = table(`${UNRESERVED_CHARS}%[]/?:+$`, ALNUM);

/** hostname characters (alphanum / "-" / "."); "_" is accepted too, as deployed DNS names carry it. */
export const HOST = table('-._', ALNUM);

/** Characters of an IPv6 reference between the brackets (RFC 5954 form plus the RFC 3261 variant). */
export const IPV6 = table(':.', [
  [0x30, 0x39],
  [0x41, 0x46],
  [0x61, 0x66],
]);

/**
 * word = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" / "(" / ")" / "<" / ">" / ":" / "\" / DQUOTE / "/" / "[" / "]" / "?" / "{" / "}")
 * (Call-ID).
 */
export const WORD = table('-.!%*_+`\'~()<>:\\"/[]?{}', ALNUM);

/** Generic parameter value characters: token plus the host forms (":" "[" "]" for IPv6). */
export const PARAM_VALUE = table("-.!%*_+`'~:[]", ALNUM);

/** scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
export const SCHEME = table('+-.', ALNUM);

/** Characters that may appear in an absolute URI after the scheme (RFC 3986 reserved and unreserved plus "%"). */
export const ABS_URI = table(`${UNRESERVED_CHARS}%;/?:@&=+$,[]#`, ALNUM);

/** tel: URI characters (RFC 3966 §3), liberal: visual separators, parameters and escapes. */
export const TEL = table(`${UNRESERVED_CHARS}%;=+[]/:&$`, ALNUM);

export const SP = 0x20;
export const HT = 0x09;
export const CR = 0x0d;
export const LF = 0x0a;
export const COLON = 0x3a;
export const SEMI = 0x3b;
export const COMMA = 0x2c;
export const EQUAL = 0x3d;
export const DQUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const LAQUOT = 0x3c;
export const RAQUOT = 0x3e;
export const SLASH = 0x2f;
export const AT = 0x40;
export const QUESTION = 0x3f;
export const AMP = 0x26;
export const LBRACKET = 0x5b;
export const RBRACKET = 0x5d;
export const PERCENT = 0x25;
export const DOT = 0x2e;
