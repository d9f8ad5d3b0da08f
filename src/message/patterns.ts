/**
 * Regular-expression sources for the fast paths of the value parsers.
 *
 * Each pattern matches the common, strict form of a grammar in one pass. They
 * are written so that matching is linear in the input: every repeated
 * character class is followed by a character outside that class, and the
 * only alternations (IPv4 octets, host forms) are decided within a few
 * characters. When a fast path does not match, the value goes to the full
 * hand-written scanner of its grammar, which accepts every form RFC 3261
 * allows and reports precisely what is wrong.
 */

/** token (RFC 3261 §25.1) */
export const TOKEN_RE = "[A-Za-z0-9\\-.!%*_+`'~]";

/** A generic-param value: token or host characters (IPv6 ":" "[" "]"). */
export const PARAM_VALUE_RE = "[A-Za-z0-9\\-.!%*_+`'~:\\[\\]]";

const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';

/**
 * host = IPv4address / hostname / IPv6reference (RFC 3261 §25.1), one capture
 * group. A hostname's last label starts with a letter; an IPv4 address has
 * four octets up to 255. IPv6 references are checked afterwards in code.
 */
export const HOST_RE = `(${OCTET}(?:\\.${OCTET}){3}(?![A-Za-z0-9\\-_.])|(?:[A-Za-z0-9][A-Za-z0-9\\-_]*\\.)*[A-Za-z][A-Za-z0-9\\-_]*\\.?|\\[[0-9A-Fa-f:.]+\\])`;

/** quoted-string (RFC 3261 §25.1): quoted-pair may escape any char but CR and LF. */
export const QUOTED_RE = '"(?:[^"\\\\\\x00-\\x08\\x0a-\\x1f\\x7f]|\\\\[\\x00-\\x09\\x0b\\x0c\\x0e-\\x7f])*"';

/**
 * *( ";" token [ "=" ( value / quoted-string ) ] ) with no whitespace around
 * the separators, one capture group.
 */
export const SIMPLE_PARAMS_RE = `((?:;${TOKEN_RE}+(?:=(?:${PARAM_VALUE_RE}+|${QUOTED_RE}))?)*)`;

/** A port, 0-65535, one capture group. */
export const PORT_RE =
  '(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})(?![0-9])';

/** The same pattern with its capture groups made non-capturing (for a test that builds no captures). */
export function nonCapturing(re: string): string {
  let out = '';
  for (let i = 0; i < re.length; i++) {
    const c = re[i] as string;
    if (c === '\\') {
      out += c + (re[i + 1] ?? '');
      i++;
    } else if (c === '[') {
      // Copy a character class whole: '(' inside it is a literal.
      let j = i + 1;
      if (re[j] === ']') j++;
      while (j < re.length && re[j] !== ']') j += re[j] === '\\' ? 2 : 1;
      out += re.slice(i, j + 1);
      i = j;
    } else if (c === '(' && re[i + 1] !== '?') out += '(?:';
    else out += c;
  }
  return out;
}

/**
 * The common form of a SIP URI: scheme ":" [user [":" password] "@"] host
 * [":" port] *( ";" pname [ "=" pvalue ] ), without URI headers, no capture
 * groups. The user part may hold ';' and '?', so when there is no '@' the
 * optional userinfo group gives its characters back one at a time; each retry
 * fails at once, so the match stays linear in the input.
 */
export const SIP_URI_RE = `[sS][iI][pP][sS]?:(?:[A-Za-z0-9\\-_.!~*'()%&=+$,;?/]+(?::[A-Za-z0-9\\-_.!~*'()%&=+$,]*)?@)?${nonCapturing(HOST_RE)}(?::${nonCapturing(PORT_RE)})?(?:;[A-Za-z0-9\\-_.!~*'()%[\\]/:&+$]+(?:=[A-Za-z0-9\\-_.!~*'()%[\\]/:&+$]+)?)*`;

/** word (RFC 3261 §25.1), the characters of a Call-ID on either side of its '@'. */
export const WORD_RE = '[A-Za-z0-9\\-.!%*_+`\'~()<>:\\\\"/[\\]?{}]';

/**
 * The common form of a via-parm: "SIP/2.0/" transport SP host [":" port]
 * then simple parameters, no capture groups.
 */
export const VIA_RE = `SIP/2\\.0/${TOKEN_RE}+ ${nonCapturing(HOST_RE)}(?::${nonCapturing(PORT_RE)})?${nonCapturing(SIMPLE_PARAMS_RE)}`;
