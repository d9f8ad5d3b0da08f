import { isToken } from '../message/chars.js';
import { unescapeUri } from '../message/escape.js';
import type { SipUri } from '../message/uri.js';

/*
 * RFC 3261 §19.1.5: header fields in a URI go into the request made from it,
 * except those that would forge the request's identity or routing, or
 * advertise capabilities this agent does not have. Replaces (RFC 3891, an
 * attended transfer) passes this way.
 */
const UNSAFE_URI_HEADERS = new Set([
  'from',
  'to',
  'call-id',
  'cseq',
  'via',
  'record-route',
  'route',
  'contact',
  'max-forwards',
  'accept',
  'accept-encoding',
  'accept-language',
  'allow',
  'supported',
  'require',
  'proxy-require',
  'organization',
  'user-agent',
  'content-length',
  'content-type',
  'content-encoding',
  'content-disposition',
  'authorization',
  'proxy-authorization',
  'body',
]);

/** The header fields of a URI that a request made from it carries (a Refer-To's INVITE, a redirect's new request). */
export function uriHeaderFields(uri: SipUri): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [name, value] of uri.headers.entries()) {
    if (value === null || UNSAFE_URI_HEADERS.has(name.toLowerCase()) || !isToken(name)) continue;
    // Values are %-escaped in a URI (§19.1.1); a header field cannot hold a line break.
    const text = unescapeUri(value);
    if (!/[\r\n]/.test(text)) out.push([name, text]);
  }
  return out;
}
