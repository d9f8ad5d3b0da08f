import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { describe, test } from 'node:test';
import {
  type IncomingCall,
  type OutgoingCall,
  parseMessage,
  type SipMessage,
  type SipRequest,
  type SipResponse,
  SipStack,
  type TransportAddress,
  UserAgent,
} from '../../src/index.js';
import { until } from '../support/children.js';
import { DIALOG_PIECES, mutator, processErrors } from '../support/mutate.js';

// A caller on a raw UDP socket against sipwire's user agent as callee. It
// sends INVITEs (some cancelled), PRACKs for reliable provisional responses,
// now and then BYE, UPDATE, INFO or OPTIONS in the early dialog, ACKs, and in
// answered calls re-INVITE, UPDATE, INFO, OPTIONS, MESSAGE,
// REFER, NOTIFY and BYE; half of what it sends has its bytes changed, cut,
// repeated or inserted. The callee rings, answers, refuses or hangs up at
// random. Nothing may be thrown, every request the agent sends must parse,
// and once the calls left are hung up and the timers have run (T1 10 ms)
// nothing may be left: no call, no dialog, no transaction. The mutations are
// the same on every run (MUTATION_SEED picks others, for runs by hand); the
// timing, and so the path of each call, is not.

const PIECES = [
  ...DIALOG_PIECES,
  'RAck: 1 1 INVITE\r\n',
  'Supported: 100rel, timer\r\n',
  'Session-Expires: 1\r\n',
  'm=video 0 RTP/AVP 96\r\n',
  'c=IN IP6 ::1\r\n',
  'a=sendonly\r\n',
  'Replaces: a;to-tag=b;from-tag=c\r\n',
  'Refer-To: <sip:x@y>\r\n',
  'Event: refer\r\n',
  'Expires: 0\r\n',
  'Expires: 4294967295\r\n',
];

const SDP =
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\n';

const IN_DIALOG = ['INVITE', 'UPDATE', 'INFO', 'OPTIONS', 'MESSAGE', 'REFER', 'NOTIFY', 'BYE'];
const IN_EARLY_DIALOG = ['BYE', 'UPDATE', 'INFO', 'OPTIONS'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function udpSocket(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

describe('mutated requests against sipwire', () => {
  const errors = processErrors();

  test("sipwire's user agent as callee: 1,200 calls from a caller whose requests are mutated", async () => {
    const stack = new SipStack({ listen: ['udp:127.0.0.1:0'], timers: { t1: 10, t4: 500 } });
    const [bound] = (await stack.start()) as [TransportAddress];
    const up = bound.port;
    const ua = new UserAgent(stack, { uri: `sip:bob@127.0.0.1:${up}` });
    const { mutate, below } = mutator(Number(process.env.MUTATION_SEED ?? 20261127), PIECES);
    const live = new Set<IncomingCall>();
    const seen = {
      offered: 0,
      answered: 0,
      inDialog200: 0,
      fromAgent: 0,
      transfers: 0,
      unreadable: [] as string[],
    };
    // Errors a call's methods report (answering a call already ended...) are the caller's to see, not thrown.
    const quietly = (f: () => unknown) => {
      try {
        const r = f();
        if (r instanceof Promise) r.catch(() => {});
      } catch {
        // A call already over refuses the action.
      }
    };
    // Calls placed for transfers the callee accepted (to the caller's own address, which answers).
    const placed = new Set<OutgoingCall>();
    ua.onCall((call) => {
      seen.offered++;
      live.add(call);
      call.once('ended', () => live.delete(call));
      call.on('refer', (referral) => {
        if (below(2) === 0) {
          quietly(() => referral.reject(below(2) === 0 ? 603 : 403));
          return;
        }
        quietly(() => {
          const c = referral.accept();
          seen.transfers++;
          placed.add(c);
          c.once('ended', () => placed.delete(c));
          c.answered.catch(() => {});
        });
      });
      call.once('answered', () => seen.answered++);
      const later = (ms: number, f: () => unknown) => setTimeout(() => quietly(f), ms);
      switch (below(6)) {
        case 0:
          quietly(() => call.ring());
          later(below(60), () => call.answer());
          break;
        case 1:
          quietly(() => call.ring({ reliable: true }));
          later(below(60), () => call.answer());
          break;
        case 2:
          call.reject(486);
          break;
        case 3:
          quietly(() => call.answer());
          break;
        case 4:
          quietly(() => call.ring());
          later(100 + below(100), () => call.hangup());
          break;
        default:
          later(below(100), () => call.answer().then(() => later(below(100), () => call.hangup())));
      }
    });

    const peer = await udpSocket();
    const pp = peer.address().port;
    const send = (text: string, mayMutate = true) => {
      const b = Buffer.from(text, 'latin1');
      peer.send(mayMutate && below(2) === 0 ? mutate(b) : b, up, '127.0.0.1');
    };
    const req = (
      method: string,
      i: number,
      o: { toTag?: string; cseq?: number; branch?: string; body?: string; extra?: string[]; ruri?: string },
    ) => {
      const body = o.body ?? '';
      return [
        `${method} ${o.ruri ?? `sip:bob@127.0.0.1:${up}`} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${pp};branch=${o.branch ?? `z9hG4bK-${i}-${method}-${below(1e9)}`};rport`,
        'Max-Forwards: 70',
        `From: "Caller" <sip:alice@127.0.0.1:${pp}>;tag=a${i}`,
        `To: <sip:bob@127.0.0.1:${up}>${o.toTag ?? ''}`,
        `Call-ID: callee-${i}@alice`,
        `CSeq: ${o.cseq ?? 1} ${method}`,
        `Contact: <sip:alice@127.0.0.1:${pp}>`,
        ...(o.extra ?? []),
        ...(body === '' ? [] : ['Content-Type: application/sdp']),
        `Content-Length: ${body.length}`,
        '',
        body,
      ].join('\r\n');
    };
    const dialogs = new Set<number>();

    const fromAgent = (m: SipRequest, data: Buffer) => {
      seen.fromAgent++;
      if (m.method === 'ACK') return;
      let head: string[];
      try {
        head = [
          ...m.via.map((v) => `Via: ${v}`),
          `From: ${m.from}`,
          `To: ${m.to}${m.to?.tag === undefined ? ';tag=p' : ''}`,
          `Call-ID: ${m.callId}`,
          `CSeq: ${m.cseq}`,
        ];
      } catch (e) {
        seen.unreadable.push(`${(e as Error).message}: ${data.toString('latin1').slice(0, 300)}`);
        return;
      }
      const body = m.method === 'INVITE' ? SDP : '';
      const answer = [
        'SIP/2.0 200 OK',
        ...head,
        `Contact: <sip:alice@127.0.0.1:${pp}>`,
        ...(body === '' ? [] : ['Content-Type: application/sdp']),
        `Content-Length: ${body.length}`,
        '',
        body,
      ];
      peer.send(answer.join('\r\n'), up, '127.0.0.1');
    };

    const toCaller = (r: SipResponse) => {
      let i: number;
      let status: number;
      let seq: number;
      let method: string;
      let toTag: string | undefined;
      let branch: string | undefined;
      let rseq: string | undefined;
      let target = `sip:bob@127.0.0.1:${up}`;
      try {
        const n = /^callee-(\d+)@alice$/.exec(r.callId ?? '');
        if (n === null) return;
        i = Number(n[1]);
        status = r.status;
        seq = r.cseq?.seq ?? 1;
        method = r.cseq?.method ?? '';
        toTag = r.to?.tag;
        branch = r.topVia?.branch;
        rseq = r.get('RSeq');
        const contact = r.contact[0];
        if (contact !== undefined && !contact.wildcard) target = contact.uri.toString();
      } catch {
        return;
      }
      if (method !== 'INVITE') {
        if (status === 200) seen.inDialog200++;
        return;
      }
      const tag = toTag === undefined ? '' : `;tag=${toTag}`;
      if (status >= 300) {
        // The ACK of a final non-2xx response belongs to the INVITE's transaction: the same branch.
        send(req('ACK', i, { toTag: tag, cseq: seq, branch }));
      } else if (status >= 200) {
        send(req('ACK', i, { toTag: tag, cseq: seq, ruri: target }));
        if (!dialogs.has(i) && toTag !== undefined) {
          dialogs.add(i);
          let cseq = seq + 10;
          for (let k = below(5); k > 0; k--) {
            setTimeout(() => {
              const m = IN_DIALOG[below(IN_DIALOG.length)] as string;
              cseq++;
              const extra =
                m === 'REFER'
                  ? [`Refer-To: <sip:carol@127.0.0.1:${pp}>`]
                  : m === 'NOTIFY'
                    ? ['Event: refer', 'Subscription-State: active']
                    : [];
              const body = m === 'INVITE' || m === 'UPDATE' ? SDP : '';
              send(req(m, i, { toTag: tag, cseq, ruri: target, body, extra }));
            }, 10 + below(80));
          }
        }
      } else if (toTag !== undefined) {
        if (rseq !== undefined)
          send(req('PRACK', i, { toTag: tag, cseq: seq + 1, extra: [`RAck: ${rseq} ${seq} INVITE`] }));
        // Now and then a request in the early dialog: a BYE ends the call before its answer (§15.1.2).
        if (below(6) === 0) {
          const m = IN_EARLY_DIALOG[below(IN_EARLY_DIALOG.length)] as string;
          send(req(m, i, { toTag: tag, cseq: seq + 5, ruri: target, body: m === 'UPDATE' ? SDP : '' }));
        }
      }
    };

    peer.on('message', (data) => {
      let m: SipMessage;
      try {
        m = parseMessage(data);
      } catch (e) {
        seen.unreadable.push(`${(e as Error).message}: ${data.toString('latin1').slice(0, 300)}`);
        return;
      }
      if (m.isRequest) fromAgent(m as SipRequest, data);
      else toCaller(m as SipResponse);
    });

    try {
      for (let i = 0; i < 1200; i++) {
        const branch = `z9hG4bK-${i}-invite`;
        send(req('INVITE', i, { branch, body: SDP, extra: below(3) === 0 ? ['Supported: 100rel'] : [] }));
        if (below(4) === 0) setTimeout(() => send(req('CANCEL', i, { branch }), below(3) === 0), below(80));
        if (i % 20 === 19) await sleep(30);
      }
      await sleep(1500);
      for (const call of live) quietly(() => call.hangup());
      for (const call of placed) quietly(() => call.hangup());
      const empty = () =>
        live.size === 0 &&
        ua.dialogs.size === 0 &&
        ua.pending.size === 0 &&
        stack.transactions.size.clients === 0 &&
        stack.transactions.size.servers === 0;
      // A call hung up ends at once and its BYE goes out a moment later: empty twice, apart.
      const settled = () =>
        until(empty, 30_000, 'settled', 250).then(
          () => true,
          () => false,
        );
      let cleared = await settled();
      if (cleared) {
        await sleep(700);
        cleared = await settled();
      }
      assert.deepEqual(errors, [], 'nothing thrown');
      assert.deepEqual(seen.unreadable, [], 'everything the agent sent parses');
      assert.ok(seen.offered > 300, `calls offered: ${seen.offered}`);
      assert.ok(seen.answered > 150, `calls answered: ${seen.answered}`);
      assert.ok(seen.inDialog200 > 100, `requests in calls answered 200: ${seen.inDialog200}`);
      assert.ok(seen.fromAgent > 40, `requests from the agent (BYE and others): ${seen.fromAgent}`);
      assert.ok(seen.transfers > 3, `transfers carried out: ${seen.transfers}`);
      assert.ok(
        cleared,
        `nothing left: calls ${live.size}, transfer calls ${placed.size}, dialogs ${ua.dialogs.size}, pending ${ua.pending.size}, ` +
          `transactions ${JSON.stringify(stack.transactions.size)}`,
      );
      peer.removeAllListeners('message');
      const answer = new Promise<string>((r) =>
        peer.on('message', (d) => {
          const text = d.toString('latin1');
          if (/^Call-ID: callee-99999@alice\r$/m.test(text)) r(text);
        }),
      );
      send(req('OPTIONS', 99999, {}), false);
      assert.match(await answer, /^SIP\/2\.0 200 /, 'the agent still answers');
    } finally {
      peer.close();
      await stack.stop();
    }
  });
});
