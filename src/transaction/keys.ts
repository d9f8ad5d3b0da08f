import type { SipRequest, SipResponse } from '../message/message.js';
import { flat } from '../message/text.js';
import { MAGIC_COOKIE, type Via } from '../message/via.js';

function sentBy(v: Via): string {
  return v.port === undefined ? v.host.toLowerCase() : `${v.host.toLowerCase()}:${v.port}`;
}

function hasCookie(branch: string | undefined): branch is string {
  return branch !== undefined && branch.length > MAGIC_COOKIE.length && branch.startsWith(MAGIC_COOKIE);
}

/**
 * Key of the client transaction a response belongs to (RFC 3261 §17.1.3):
 * the top Via branch and the CSeq method. Undefined when the response has
 * no branch.
 */
export function responseKey(response: SipResponse): string | undefined {
  const branch = response.topVia?.branch;
  const cseq = response.cseq;
  if (branch === undefined || cseq === undefined) return undefined;
  return clientKey(branch, cseq.method);
}

export function clientKey(branch: string, method: string): string {
  return flat(`${branch}\n${method}`);
}

/**
 * Key of the server transaction a request belongs to (RFC 3261 §17.2.3).
 * With an RFC 3261 branch: branch, sent-by and method (ACK counts as
 * INVITE). Without one (RFC 2543 peers): Request-URI, From tag, Call-ID,
 * CSeq number and top Via; the To tag joins for methods other than INVITE
 * and ACK (an ACK carries the tag of the response, not of the INVITE).
 * `asMethod` replaces the method, to find the INVITE a CANCEL targets (§9.2).
 */
export function serverKey(request: SipRequest, asMethod?: string): string | undefined {
  const via = request.topVia;
  const cseq = request.cseq;
  if (via === undefined || cseq === undefined) return undefined;
  const method = asMethod ?? (request.method === 'ACK' ? 'INVITE' : request.method);
  const branch = via.branch;
  if (hasCookie(branch)) return flat(`3\n${branch}\n${sentBy(via)}\n${method}`);
  const from = request.from;
  const toTag = method === 'INVITE' ? '' : (request.to?.tag ?? '');
  return flat(
    `2\n${request.uriRaw}\n${from?.tag ?? ''}\n${toTag}\n${request.callId ?? ''}\n${cseq.seq}\n${method}\n${sentBy(via)}\n${branch ?? ''}`,
  );
}
