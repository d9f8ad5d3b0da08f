import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { describe, test } from 'node:test';
import { parseMessage, type SipMessage, type SipRequest, SipStack, UserAgent } from '../../src/index.js';
import { createLogger } from '../../src/server/log.js';
import { SipServer } from '../../src/server/server.js';
import { MemoryLocationStore, MemoryUserStore } from '../../src/server/store/memory.js';
import { until } from '../support/children.js';
import { DIALOG_PIECES, mutator, processErrors } from '../support/mutate.js';

// Peers that answer with mutated responses: a callee behind `sipwire serve`
// (an open proxy) and a callee of sipwire's user agent. Every response is
// built right and then, three times in four, has its bytes changed, cut,
// repeated or inserted, header lines repeated, Content-Length rewritten;
// one to four responses go back for each request. Neither the proxy nor the
// user agent may throw, and once the RFC 3261 timers have run (T1 10 ms;
// Timer D's 32 s is the longest) nothing may be left: no transaction, no
// call, no dialog. The mutations are the same on every run.

const PIECES = [
  ...DIALOG_PIECES,
  'RSeq: 99999999999\r\n',
  'WWW-Authenticate: Digest realm="r", nonce="n", algorithm=MD5, qop="auth"\r\n',
  'Proxy-Authenticate: Digest realm="r", nonce="n", algorithm=SHA-256\r\n',
];

const SDP =
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\n';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function udpSocket(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

/** Sends a request (`lines` without Content-Length) to the server; resolves with the first message back. */
function exchange(sock: Socket, port: number, lines: string[]): Promise<string> {
  const answer = new Promise<string>((r) => sock.once('message', (d) => r(d.toString('latin1'))));
  sock.send([...lines, 'Content-Length: 0', '', ''].join('\r\n'), port, '127.0.0.1');
  return answer;
}

/** Waits until `done()` holds or `ms` have passed; returns whether it held (the caller says what was left). */
function settle(done: () => boolean, ms: number): Promise<boolean> {
  return until(done, ms, 'settled', 250).then(
    () => true,
    () => false,
  );
}

/**
 * A callee on a raw UDP socket. Each request but ACK gets one to four
 * responses built from it (the choices given per method), mutated three
 * times in four.
 */
function mutatingCallee(
  sock: Socket,
  seed: number,
  choices: (m: SipRequest) => string[][],
): { requests: number; unreadable: string[] } {
  const { mutate, below } = mutator(seed, PIECES);
  const counts = { requests: 0, unreadable: [] as string[] };
  const port = sock.address().port;
  sock.on('message', (data, rinfo) => {
    let parsed: SipMessage;
    try {
      parsed = parseMessage(data);
    } catch (e) {
      // Requests come clean from the caller: what the sender passes on must parse.
      counts.unreadable.push(`${(e as Error).message}: ${data.toString('latin1').slice(0, 300)}`);
      return;
    }
    if (!parsed.isRequest) return;
    const m = parsed as SipRequest;
    if (m.method === 'ACK') return;
    counts.requests++;
    const copied = (name: string) => m.fields(name).map((f) => `${f.name}: ${f.value}`);
    const toTag = m.to?.tag === undefined ? `;tag=callee${below(3)}` : '';
    const options = choices(m);
    for (let n = 1 + below(4); n > 0; n--) {
      const [status, ...extra] = options[below(options.length)] as string[];
      const body = /^(200|183)/.test(status as string) && m.method === 'INVITE' ? SDP : '';
      const text = [
        `SIP/2.0 ${status}`,
        ...copied('Via'),
        ...copied('Record-Route'),
        ...copied('From'),
        `${copied('To')[0]}${toTag}`,
        ...copied('Call-ID'),
        ...copied('CSeq'),
        `Contact: <sip:callee@127.0.0.1:${port}>`,
        ...extra,
        ...(body === '' ? [] : ['Content-Type: application/sdp']),
        `Content-Length: ${body.length}`,
        '',
        body,
      ].join('\r\n');
      const out = Buffer.from(text, 'latin1');
      sock.send(below(4) === 0 ? out : mutate(out), rinfo.port, rinfo.address);
    }
  });
  return counts;
}

describe('mutated responses against sipwire', { concurrency: true }, () => {
  const errors = processErrors();

  test('sipwire serve as a proxy: a callee answering 1,500 requests with mutated responses', async () => {
    const server = new SipServer({
      listen: ['udp:127.0.0.1:0'],
      domains: ['example.test'],
      stores: { location: new MemoryLocationStore(), users: new MemoryUserStore() },
      open: true,
      timers: { t1: 10, t4: 500 },
      proxy: { timerCMs: 1500 },
      logger: createLogger({ level: 'silent', pretty: false }),
      statsIntervalMs: 0,
    });
    const [bound] = await server.start();
    const sp = (bound as { port: number }).port;
    const alice = await udpSocket();
    const bob = await udpSocket();
    const ap = alice.address().port;
    const bp = bob.address().port;
    try {
      const registered = await exchange(bob, sp, [
        'REGISTER sip:example.test SIP/2.0',
        `Via: SIP/2.0/UDP 127.0.0.1:${bp};branch=z9hG4bK-bob-reg;rport`,
        'Max-Forwards: 70',
        'From: <sip:bob@example.test>;tag=reg',
        'To: <sip:bob@example.test>',
        'Call-ID: bob-registers',
        'CSeq: 1 REGISTER',
        `Contact: <sip:bob@127.0.0.1:${bp}>`,
        'Expires: 3600',
      ]);
      assert.match(registered, /^SIP\/2\.0 200 /);
      const callee = mutatingCallee(bob, 20261127, (m) =>
        m.method === 'INVITE'
          ? [
              ['100 Trying'],
              ['180 Ringing'],
              ['183 Session Progress'],
              ['200 OK'],
              ['486 Busy Here'],
              ['302 Moved Temporarily', `Contact: <sip:carol@127.0.0.1:${bp}>`],
              ['503 Service Unavailable'],
              ['407 Proxy Authentication Required', 'Proxy-Authenticate: Digest realm="r", nonce="n"'],
            ]
          : [['200 OK'], ['481 Call/Transaction Does Not Exist'], ['408 Request Timeout']],
      );
      // Alice acknowledges 2xx answers to her INVITEs end to end, through the proxy.
      alice.on('message', (data) => {
        const s = data.toString('latin1');
        const status = /^SIP\/2\.0 (2\d\d) /.exec(s);
        const to = /\r\nTo: ([^\r]+)/i.exec(s)?.[1];
        const callId = /\r\nCall-ID: ([^\r]+)/i.exec(s)?.[1];
        const cseq = /\r\nCSeq: (\d+) INVITE\r\n/i.exec(s)?.[1];
        if (status === null || to === undefined || callId === undefined || cseq === undefined) return;
        const ack = [
          `ACK sip:bob@127.0.0.1:${bp} SIP/2.0`,
          `Via: SIP/2.0/UDP 127.0.0.1:${ap};branch=z9hG4bK-ack-${callId.length}-${cseq}`,
          'Max-Forwards: 70',
          'From: <sip:alice@example.test>;tag=a',
          `To: ${to}`,
          `Call-ID: ${callId}`,
          `CSeq: ${cseq} ACK`,
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n');
        alice.send(ack, sp, '127.0.0.1');
      });
      const { below } = mutator(7, PIECES);
      const methods = ['INVITE', 'INVITE', 'MESSAGE', 'OPTIONS', 'BYE'];
      for (let i = 0; i < 1500; i++) {
        const method = methods[below(methods.length)] as string;
        const head = (m: string) =>
          [
            `${m} sip:bob@example.test SIP/2.0`,
            `Via: SIP/2.0/UDP 127.0.0.1:${ap};branch=z9hG4bK-alice-${i};rport`,
            'Max-Forwards: 70',
            `From: <sip:alice@example.test>;tag=a${i}`,
            `To: <sip:bob@example.test>${method === 'BYE' ? ';tag=x' : ''}`,
            `Call-ID: call-${i}@alice`,
            `CSeq: 1 ${m}`,
            `Contact: <sip:alice@127.0.0.1:${ap}>`,
            'Content-Length: 0',
            '',
            '',
          ].join('\r\n');
        alice.send(head(method), sp, '127.0.0.1');
        if (method === 'INVITE' && below(4) === 0) alice.send(head('CANCEL'), sp, '127.0.0.1');
        if (i % 50 === 49) await sleep(15);
      }
      const snapshot = () => server.snapshot() as Record<string, number>;
      const empty = () =>
        snapshot()['transactions.clients'] === 0 && snapshot()['transactions.servers'] === 0;
      const cleared = await settle(empty, 40_000);
      assert.ok(callee.requests > 1000, `the callee was reached: ${callee.requests} requests`);
      assert.deepEqual(callee.unreadable, [], 'everything the proxy sent the callee parses');
      assert.deepEqual(errors, [], 'nothing thrown');
      assert.equal(snapshot()['messages.internalErrors'], 0, 'no internal error');
      assert.ok(cleared, `every transaction ended: ${JSON.stringify(snapshot())}`);
      alice.removeAllListeners('message');
      const answer = await exchange(alice, sp, [
        'OPTIONS sip:example.test SIP/2.0',
        `Via: SIP/2.0/UDP 127.0.0.1:${ap};branch=z9hG4bK-alice-still;rport`,
        'Max-Forwards: 70',
        'From: <sip:alice@example.test>;tag=still',
        'To: <sip:example.test>',
        'Call-ID: still-serving',
        'CSeq: 1 OPTIONS',
      ]);
      assert.match(answer, /^SIP\/2\.0 200 /, 'the server still serves');
    } finally {
      alice.close();
      bob.close();
      await server.stop(0);
    }
  });

  test("sipwire's user agent: 300 calls to a callee answering with mutated responses", async () => {
    const stack = new SipStack({ listen: ['udp:127.0.0.1:0'], timers: { t1: 10, t4: 500 } });
    await stack.start();
    const ua = new UserAgent(stack, {
      uri: 'sip:alice@127.0.0.1',
      auth: { username: 'alice', password: 'pw' },
    });
    const peer = await udpSocket();
    const pp = peer.address().port;
    try {
      const rr = `Record-Route: <sip:127.0.0.1:${pp};lr>`;
      const callee = mutatingCallee(peer, 20261128, (m) =>
        m.method === 'INVITE'
          ? [
              ['100 Trying'],
              ['180 Ringing', rr, 'Require: 100rel', 'RSeq: 1'],
              ['183 Session Progress', rr],
              [
                '401 Unauthorized',
                'WWW-Authenticate: Digest realm="r", nonce="abc", qop="auth", algorithm=MD5',
              ],
              ['200 OK', rr],
              ['486 Busy Here'],
            ]
          : [['200 OK']],
      );
      let ended = 0;
      let answered = 0;
      const calls = [];
      for (let batch = 0; batch < 15; batch++) {
        const started = Array.from({ length: 20 }, () => {
          const call = ua.call(`sip:bob@127.0.0.1:${pp}`, { target: `udp:127.0.0.1:${pp}` });
          call.once('answered', () => answered++);
          call.once('ended', () => ended++);
          return call;
        });
        calls.push(...started);
        await sleep(150);
        // Whatever has not ended is hung up: BYE when answered, CANCEL before that.
        for (const call of started) if (call.state !== 'ended') call.hangup().catch(() => {});
      }
      const done = () =>
        ended === calls.length &&
        ua.pending.size === 0 &&
        ua.dialogs.size === 0 &&
        stack.transactions.size.clients === 0 &&
        stack.transactions.size.servers === 0;
      const cleared = await settle(done, 40_000);
      assert.ok(callee.requests > 300, `the callee was reached: ${callee.requests} requests`);
      assert.deepEqual(callee.unreadable, [], 'everything the user agent sent the callee parses');
      assert.deepEqual(errors, [], 'nothing thrown');
      assert.ok(
        cleared,
        `every call ended (${ended} of ${calls.length}, ${answered} answered), nothing left: ` +
          `pending ${ua.pending.size}, dialogs ${ua.dialogs.size}, transactions ${JSON.stringify(stack.transactions.size)}`,
      );
    } finally {
      peer.close();
      await stack.stop();
    }
  });
});
