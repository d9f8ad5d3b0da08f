// A small user agent written on the SipStack API, for interop tests:
// an answering side (INVITE -> 180, 200 with SDP, 2xx retransmitted until ACK;
// any other request -> 200) and a calling side (INVITE, ACK, BYE).
import {
  createResponse,
  NameAddr,
  newCallId,
  newTag,
  SipRequest,
  type SipResponse,
  type SipStack,
  type SipUri,
} from '../../src/index.js';

export const SDP = (ip: string) =>
  [
    'v=0',
    `o=sipwire 1 1 IN IP4 ${ip}`,
    's=-',
    `c=IN IP4 ${ip}`,
    't=0 0',
    'm=audio 40000 RTP/AVP 0',
    'a=rtpmap:0 PCMU/8000',
    '',
  ].join('\r\n');

/** Makes the stack answer calls; returns counters the test can check. */
export function answerCalls(
  stack: SipStack,
  contact: string,
): { invites: number; acks: number; byes: number } {
  const counts = { invites: 0, acks: 0, byes: 0 };
  const pending = new Map<string, () => void>();
  stack.onAck((ack) => {
    counts.acks++;
    pending.get(ack.callId ?? '')?.();
  });
  stack.onRequest((inc) => {
    const req = inc.request;
    if (req.method === 'INVITE') {
      counts.invites++;
      const tag = newTag();
      inc.respond(180, undefined, { toTag: tag });
      const ok = createResponse(req, 200, 'OK', {
        toTag: tag,
        headers: [
          ['Contact', `<${contact}>`],
          ['Content-Type', 'application/sdp'],
        ],
        body: SDP('127.0.0.1'),
      });
      inc.respond(ok);
      // RFC 3261 §13.3.1.4: the UAS core retransmits the 2xx until the ACK comes.
      let interval = stack.transactions.timers.t1;
      let timer: ReturnType<typeof setTimeout>;
      const again = () => {
        if (inc.state !== 'accepted') return;
        inc.respond(ok);
        interval = Math.min(interval * 2, stack.transactions.timers.t2);
        timer = setTimeout(again, interval);
      };
      timer = setTimeout(again, interval);
      pending.set(req.callId ?? '', () => {
        clearTimeout(timer);
        pending.delete(req.callId ?? '');
      });
    } else if (req.method === 'BYE') {
      counts.byes++;
      inc.respond(200);
    } else if (req.method !== 'ACK') inc.respond(200);
  });
  return counts;
}

/** Places a call to `uri` through `target` and hangs up after `holdMs`; resolves with the statuses seen. */
export async function placeCall(
  stack: SipStack,
  uri: string,
  target: string,
  holdMs = 50,
): Promise<number[]> {
  const statuses: number[] = [];
  const from = new NameAddr('sip:alice@127.0.0.1', 'Alice', { tag: newTag() });
  const callId = newCallId('127.0.0.1');
  const invite = new SipRequest({
    method: 'INVITE',
    uri,
    headers: [
      ['Max-Forwards', 70],
      ['To', new NameAddr(uri)],
      ['From', from],
      ['Call-ID', callId],
      ['CSeq', '1 INVITE'],
      ['Contact', `<sip:alice@${stack.sentBy(target.split(':')[0] as 'udp')}>`],
      ['Content-Type', 'application/sdp'],
    ],
    body: SDP('127.0.0.1'),
  });
  const out = await stack.request(invite, { target });
  out.onProvisional((r) => statuses.push(r.status));
  const ok: SipResponse = await out.final;
  statuses.push(ok.status);
  if (ok.status !== 200) return statuses;
  const to = ok.to as NameAddr;
  const remote = (ok.contact[0] as NameAddr).uri as SipUri;
  const dialogRequest = (method: string, cseq: number) =>
    new SipRequest({
      method,
      uri: remote,
      headers: [
        ['Max-Forwards', 70],
        ['To', to],
        ['From', from],
        ['Call-ID', callId],
        ['CSeq', `${cseq} ${method}`],
      ],
    });
  // The ACK for a 2xx is its own transaction, sent to the remote target (RFC 3261 §13.2.2.4).
  const transport = (remote.transport ?? target.split(':')[0]) as string;
  const host = remote.host;
  const port = remote.port ?? 5060;
  const remoteTarget = `${transport}:${host}:${port}`;
  await stack.sendStateless(dialogRequest('ACK', 1), remoteTarget);
  await new Promise((r) => setTimeout(r, holdMs));
  const bye = await stack.request(dialogRequest('BYE', 2), { target: remoteTarget });
  statuses.push((await bye.final).status);
  return statuses;
}
