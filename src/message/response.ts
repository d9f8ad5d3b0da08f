import { H } from './header-names.js';
import { type HeaderValue, type SipRequest, SipResponse } from './message.js';

/**
 * Builds a response to a request as RFC 3261 §8.2.6.2 says: Via values,
 * From, To, Call-ID and CSeq copied from the request (Via in order, with any
 * received/rport the transport added), a To tag added when given and the
 * request's To has none (never on 100, §8.2.6.2), Timestamp echoed (§8.2.6.1).
 */
export function createResponse(
  request: SipRequest,
  status: number,
  reason?: string,
  options: {
    toTag?: string;
    headers?: ReadonlyArray<readonly [string, HeaderValue]>;
    body?: Buffer | string;
  } = {},
): SipResponse {
  // Without a reason the constructor takes the standard phrase as it is, with nothing to check.
  const res = new SipResponse({ status, reason });
  const addTag = options.toTag !== undefined && status !== 100 && request.to?.tag === undefined;
  for (const f of request.headers) {
    const id = f.id;
    // The fields are shared with the request, not copied: a field never changes once made.
    if (id === H.VIA || id === H.FROM || id === H.CALL_ID || id === H.CSEQ) res.appendField(f);
    else if (id === H.TO) {
      if (addTag) res.appendHeader('To', rawValue(`${f.value};tag=${options.toTag}`));
      else res.appendField(f);
    }
  }
  if (status === 100) {
    const ts = request.get('Timestamp');
    if (ts !== undefined) res.appendHeader('Timestamp', ts);
  }
  if (options.headers) for (const [name, value] of options.headers) res.appendHeader(name, value);
  if (options.body !== undefined)
    res.body = typeof options.body === 'string' ? Buffer.from(options.body, 'utf8') : options.body;
  return res;
}

/** A byte-string header value passed through untouched (not re-encoded as text). */
export function rawValue(bytes: string): HeaderValue {
  return { toString: () => bytes };
}
