import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  createResponse,
  formatTransportAddress,
  NameAddr,
  newCallId,
  newTag,
  parseMessage,
  SipRequest,
  SipStack,
  TransactionTimeoutError,
  type TransportAddress,
  TransportError,
} from '../../src/index.js';
import { testCertificate } from '../support/certs.js';
import { assertNothingLeft, freePort, openHandles } from '../support/net.js';

function options(target: string, method = 'OPTIONS', extra: Array<[string, string]> = []): SipRequest {
  return new SipRequest({
    method,
    uri: `sip:bob@${target}`,
    headers: [
      ['Max-Forwards', 70],
      ['To', new NameAddr(`sip:bob@${target}`)],
      ['From', new NameAddr('sip:alice@127.0.0.1', 'Alice', { tag: newTag() })],
      ['Call-ID', newCallId('127.0.0.1')],
      ['CSeq', `1 ${method}`],
      ['Contact', '<sip:alice@127.0.0.1>'],
      ...extra,
    ],
  });
}

const addr = (a: TransportAddress) => `${a.transport}:${a.host}:${a.port}`;

describe('SipStack over loopback UDP and TCP', () => {
  let server: SipStack;
  const client = new SipStack({ listen: ['udp:127.0.0.1:0', 'tcp:127.0.0.1:0'], timers: { t1: 20 } });
  let udp: TransportAddress;
  let tcp: TransportAddress;
  const seen: SipRequest[] = [];

  before(async () => {
    const port = await freePort();
    server = new SipStack({ listen: [`udp:127.0.0.1:${port}`, `tcp:127.0.0.1:${port}`], timers: { t1: 20 } });
    [udp, tcp] = (await server.start()) as [TransportAddress, TransportAddress];
    await client.start();
    server.onRequest((inc) => {
      seen.push(inc.request);
      if (inc.request.method === 'INVITE') {
        inc.respond(180, undefined, { toTag: 'srv' });
        setTimeout(() => inc.respond(200, undefined, { toTag: 'srv' }), 20);
      } else if (inc.request.method === 'CANCEL') {
        const invite = inc.cancelled;
        inc.respond(invite ? 200 : 481);
        invite?.respond(487, undefined, { toTag: 'srv' });
      } else if (inc.request.method === 'MESSAGE') {
        inc.respond(200, undefined, { body: inc.request.body, headers: [['Content-Type', 'text/plain']] });
      } else inc.respond(200);
    });
  });

  after(async () => {
    await client.stop();
    await server.stop();
  });

  test('OPTIONS over UDP gets its 200, with received and rport noted in the Via (§18.2.1, RFC 3581)', async () => {
    const out = await client.request(options(`127.0.0.1:${udp.port}`), { target: addr(udp) });
    const res = await out.final;
    assert.equal(res.status, 200);
    const via = seen.at(-1)?.topVia;
    assert.equal(via?.received, '127.0.0.1');
    assert.equal(typeof via?.rport, 'number');
  });

  test('OPTIONS over TCP reuses one connection for several requests', async () => {
    for (let i = 0; i < 3; i++) {
      const out = await client.request(options(`127.0.0.1:${tcp.port}`), { target: addr(tcp) });
      assert.equal((await out.final).status, 200);
    }
    assert.equal(client.transports.connectionCount, 1);
    assert.equal(server.transports.connectionCount, 1);
  });

  test('INVITE: provisional then final response', async () => {
    const out = await client.request(options(`127.0.0.1:${udp.port}`, 'INVITE'), { target: addr(udp) });
    const provisional: number[] = [];
    out.onProvisional((r) => provisional.push(r.status));
    const res = await out.final;
    assert.equal(res.status, 200);
    assert.ok(provisional.includes(180), `provisional ${provisional}`);
  });

  test('a large request over UDP goes over TCP (§18.1.1)', async () => {
    const big = options(`127.0.0.1:${udp.port}`, 'MESSAGE', [['Content-Type', 'text/plain']]);
    big.body = Buffer.alloc(1400, 0x61);
    const out = await client.request(big, { target: addr(udp) });
    const res = await out.final;
    assert.equal(res.status, 200);
    assert.equal(res.body.length, 1400);
    assert.equal(seen.at(-1)?.topVia?.transport, 'TCP');
  });

  test('a non-INVITE to a silent peer times out with Timer F', async () => {
    const silent = createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
    const port = silent.address().port;
    const out = await client.request(options(`127.0.0.1:${port}`), { target: `udp:127.0.0.1:${port}` });
    await assert.rejects(out.final, TransactionTimeoutError);
    silent.close();
  });

  test('a request its handler never answers ends once the client has given up, and is counted', async () => {
    const timers = { t1: 10, t4: 40 };
    const deaf = new SipStack({ listen: ['udp:127.0.0.1:0'], timers });
    const asker = new SipStack({ listen: ['udp:127.0.0.1:0'], timers });
    const ignored: string[] = [];
    deaf.onRequest((inc) => ignored.push(inc.request.method));
    try {
      const [u] = (await deaf.start()) as [TransportAddress];
      await asker.start();
      const out = await asker.request(options(`127.0.0.1:${u.port}`, 'MESSAGE'), { target: addr(u) });
      await assert.rejects(out.final, TransactionTimeoutError, 'Timer F at the client');
      assert.deepEqual(ignored, ['MESSAGE']);
      assert.equal(deaf.stats.unanswered, 0, 'not before 64*T1 + T4');
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(deaf.stats.unanswered, 1);
      assert.equal(deaf.transactions.size.servers, 0, 'the transaction is gone');
    } finally {
      await asker.stop();
      await deaf.stop();
    }
  });

  test('TCP to a closed port is a transport error', async () => {
    const out = await client.request(options('127.0.0.1:1'), { target: 'tcp:127.0.0.1:1' });
    await assert.rejects(out.final, TransportError);
  });

  test('onError tells of a failure before and after it happened; final made afterwards rejects too', async () => {
    const out = await client.request(options('127.0.0.1:1'), { target: 'tcp:127.0.0.1:1' });
    const early = await new Promise<Error>((resolve) => out.onError(resolve));
    assert.ok(early instanceof TransportError, `early: ${early}`);
    let late: Error | undefined;
    out.onError((e) => {
      late = e;
    });
    assert.equal(late, early, 'a handler added after the failure is called at once with it');
    assert.equal(out.settled, true);
    await assert.rejects(out.final, TransportError, 'final, first read after the failure, rejects');
  });

  test('a released request hands later responses to its late handler alone; final then rejects', async () => {
    const peer = createSocket('udp4');
    await new Promise<void>((r) => peer.bind(0, '127.0.0.1', () => r()));
    const port = peer.address().port;
    peer.on('message', (m, from) => {
      const req = parseMessage(m) as SipRequest;
      if (req.method !== 'INVITE') return;
      const ok = createResponse(req, 200, undefined, { toTag: 'peer' }).toBuffer();
      peer.send(ok, from.port, from.address);
      // RFC 3261 §13.3.1.4: the UAS sends its 2xx again until it sees the ACK.
      setTimeout(() => peer.send(ok, from.port, from.address), 40);
    });
    const out = await client.request(options(`127.0.0.1:${port}`, 'INVITE'), {
      target: `udp:127.0.0.1:${port}`,
    });
    const before: number[] = [];
    out.onResponse((r) => before.push(r.status));
    assert.equal((await out.final).status, 200);
    const late: number[] = [];
    out.release((r) => late.push(r.status));
    await new Promise((r) => setTimeout(r, 100));
    peer.close();
    assert.deepEqual(before, [200], 'the handlers added before the release saw only the first 200');
    assert.deepEqual(late, [200], 'the retransmitted 200 went to the late handler');
    assert.equal(out.settled, true);
    await assert.rejects(out.final, /released/, 'the outcome is gone');
  });

  test('a datagram that does not parse gets 400 when its Via can be read; junk is dropped', async () => {
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const got = new Promise<string>((resolve) => sock.once('message', (m) => resolve(m.toString())));
    const bad = [
      'INVITE sip:bob@127.0.0.1 SIP/2.0',
      `Via: SIP/2.0/UDP 127.0.0.1:${sock.address().port};branch=z9hG4bKbad1`,
      'From: <sip:a@b>;tag=1',
      'To: <sip:bob@127.0.0.1>',
      'Call-ID: bad1',
      'CSeq: 1 INVITE',
      'Content-Length: 99',
      '',
      'short',
    ].join('\r\n');
    sock.send(bad, udp.port, '127.0.0.1');
    const answer = await got;
    assert.match(answer, /^SIP\/2\.0 400 Bad Content-Length header\r\n/);
    assert.match(answer, /Call-ID: bad1/);
    const dropped = server.stats.dropped;
    sock.send(Buffer.from([0xff, 0xfe, 0x00, 0x41, 0x42]), udp.port, '127.0.0.1');
    sock.send('not sip at all\r\n\r\n', udp.port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(server.stats.dropped >= dropped + 1, 'junk counted as dropped');
    sock.close();
  });

  test('an endpoint answers 415 to a body type it does not understand; `accept` widens what it understands', async () => {
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const seen: string[] = [];
    const stacks = [undefined, ['text/plain', 'image/png']].map(
      (accept) => new SipStack({ listen: ['udp:127.0.0.1:0'], role: 'endpoint', accept }),
    );
    try {
      const ports: number[] = [];
      for (const st of stacks) {
        const [a] = (await st.start()) as [TransportAddress];
        ports.push(a.port);
        st.onRequest((inc) => {
          seen.push(inc.request.contentType?.essence ?? '');
          inc.respond(200);
        });
      }
      const png = (n: number) =>
        [
          'MESSAGE sip:bob@127.0.0.1 SIP/2.0',
          `Via: SIP/2.0/UDP 127.0.0.1:${sock.address().port};branch=z9hG4bKpng${n}`,
          'Max-Forwards: 70',
          'From: <sip:a@127.0.0.1>;tag=1',
          'To: <sip:bob@127.0.0.1>',
          `Call-ID: png${n}`,
          'CSeq: 1 MESSAGE',
          'Content-Type: image/png',
          'Content-Length: 4',
          '',
          '\x89PNG',
        ].join('\r\n');
      const answers: string[] = [];
      for (const [i, port] of ports.entries()) {
        const got = new Promise<string>((resolve) =>
          sock.once('message', (m) => resolve(m.toString('latin1'))),
        );
        sock.send(Buffer.from(png(i), 'latin1'), port, '127.0.0.1');
        answers.push(await got);
      }
      assert.match(answers[0] ?? '', /^SIP\/2\.0 415 Unsupported Media Type\r\n/);
      assert.match(answers[0] ?? '', /\r\nAccept: application\/sdp, /, 'the default list');
      assert.match(answers[1] ?? '', /^SIP\/2\.0 200 OK\r\n/);
      assert.deepEqual(seen, ['image/png'], 'only the widened stack saw it');
    } finally {
      sock.close();
      for (const st of stacks) await st.stop();
    }
  });

  test('answers go where the request came from (RFC 3261 §18.2.1): not to a Via host name of a request that did not parse, nor to a received the sender wrote', async () => {
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const port = sock.address().port;
    const next = () =>
      new Promise<string>((resolve) => {
        const t = setTimeout(() => resolve('nothing'), 2000);
        sock.once('message', (m) => {
          clearTimeout(t);
          resolve(m.toString('latin1'));
        });
      });
    try {
      // The Via names a host that DNS does not know (RFC 6761 .invalid) and has no rport.
      let got = next();
      sock.send(
        [
          'OPTIONS sip:bob@127.0.0.1 SIP/2.0',
          `Via: SIP/2.0/UDP client.invalid:${port};branch=z9hG4bKname1`,
          'From: <sip:a@b>;tag=1',
          'To: <sip:bob@127.0.0.1>',
          'Call-ID: name1',
          'CSeq: 1 OPTIONS',
          'Content-Length: 99',
          '',
          'short',
        ].join('\r\n'),
        udp.port,
        '127.0.0.1',
      );
      let answer = await got;
      assert.match(answer, /^SIP\/2\.0 400 /, 'the 400 came back to the sender');
      assert.match(
        answer,
        /\r\nVia: SIP\/2\.0\/UDP client\.invalid:\d+;branch=z9hG4bKname1;received=127\.0\.0\.1\r\n/,
      );
      // A well-formed request whose top Via carries a received pointing elsewhere.
      got = next();
      const req = options('127.0.0.1');
      req.appendHeader('Via', `SIP/2.0/UDP 127.0.0.1:${port};received=192.0.2.99;branch=z9hG4bKforged1`);
      sock.send(req.toBuffer(), udp.port, '127.0.0.1');
      answer = await got;
      assert.match(answer, /^SIP\/2\.0 200 /, 'the 200 came back to the sender, not to 192.0.2.99');
      assert.match(answer, /;received=127\.0\.0\.1/);
      assert.doesNotMatch(answer, /192\.0\.2\.99/);
    } finally {
      sock.close();
    }
  });

  test('TCP: a message in one-byte pieces and two messages in one write are both answered; a framing error closes only that connection', async () => {
    const sock = connect(tcp.port, '127.0.0.1');
    await new Promise<void>((r) => sock.once('connect', () => r()));
    const chunks: Buffer[] = [];
    sock.on('data', (d) => chunks.push(d));
    const msg = (n: number) =>
      [
        'OPTIONS sip:bob@127.0.0.1 SIP/2.0',
        `Via: SIP/2.0/TCP 127.0.0.1:${sock.localPort};branch=z9hG4bKfrag${n}`,
        'From: <sip:a@b>;tag=1',
        'To: <sip:bob@127.0.0.1>',
        `Call-ID: frag${n}`,
        `CSeq: ${n} OPTIONS`,
        'Max-Forwards: 70',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
    for (const b of Buffer.from(msg(1))) sock.write(Buffer.from([b]));
    sock.write(msg(2) + msg(3));
    await new Promise((r) => setTimeout(r, 100));
    const text = Buffer.concat(chunks).toString();
    assert.equal(text.match(/SIP\/2\.0 200 OK/g)?.length, 3, text);
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    sock.write('OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\nContent-Length: nope\r\n\r\n');
    await closed;
    // The server still serves other connections.
    const out = await client.request(options(`127.0.0.1:${tcp.port}`), { target: addr(tcp) });
    assert.equal((await out.final).status, 200);
  });

  test('CANCEL finds its INVITE: 200 for the CANCEL, 487 for the INVITE', async () => {
    const slow = new SipStack({ listen: ['udp:127.0.0.1:0'], timers: { t1: 20 } });
    const [a] = await slow.start();
    let inviteTx: import('../../src/index.js').IncomingRequest | undefined;
    slow.onRequest((inc) => {
      if (inc.request.method === 'INVITE') {
        inviteTx = inc;
        inc.respond(180, undefined, { toTag: 'x' });
      } else if (inc.request.method === 'CANCEL') {
        assert.equal(inc.cancelled, inviteTx);
        inc.respond(200);
        inc.cancelled?.respond(487, undefined, { toTag: 'x' });
      }
    });
    const invite = options(`127.0.0.1:${(a as TransportAddress).port}`, 'INVITE');
    const out = await client.request(invite, { target: addr(a as TransportAddress) });
    await new Promise<void>((r) => out.onProvisional(() => r()));
    const cancelOut = await out.cancel();
    assert.equal((await cancelOut.final).status, 200);
    const res = await out.final;
    assert.equal(res.status, 487);
    await slow.stop();
  });
});

describe('SipStack over TLS and WebSocket', () => {
  const cert = testCertificate();
  const tls = { certFile: cert.certFile, keyFile: cert.keyFile, caFile: cert.certFile };

  test('TLS: OPTIONS with a certificate made at test time', async () => {
    const server = new SipStack({ listen: ['tls:127.0.0.1:0'], tls });
    const [a] = await server.start();
    server.onRequest((inc) => inc.respond(200));
    const client = new SipStack({ listen: ['tls:127.0.0.1:0'], tls });
    await client.start();
    const out = await client.request(options(`127.0.0.1:${(a as TransportAddress).port}`), {
      target: addr(a as TransportAddress),
    });
    assert.equal((await out.final).status, 200);
    await client.stop();
    await server.stop();
  });

  for (const t of ['ws', 'wss'] as const) {
    test(`${t.toUpperCase()}: OPTIONS over the sip subprotocol (RFC 7118)`, async () => {
      const server = new SipStack({ listen: [`${t}:127.0.0.1:0`], tls });
      const [a] = await server.start();
      server.onRequest((inc) => inc.respond(200));
      const client = new SipStack({ listen: [`${t}:127.0.0.1:0`], tls });
      await client.start();
      const out = await client.request(options(`127.0.0.1:${(a as TransportAddress).port}`), {
        target: addr(a as TransportAddress),
      });
      assert.equal((await out.final).status, 200);
      await client.stop();
      await server.stop();
    });
  }
});

describe('SipStack over IPv6 loopback', () => {
  const cert = testCertificate();
  const tls = { certFile: cert.certFile, keyFile: cert.keyFile, caFile: cert.certFile };

  for (const t of ['udp', 'tcp', 'tls', 'ws', 'wss'] as const) {
    test(`${t.toUpperCase()} on [::1]: OPTIONS, response routed back over IPv6`, async () => {
      const server = new SipStack({ listen: [`${t}:[::1]:0`], tls });
      const [a] = (await server.start()) as [TransportAddress];
      assert.equal(a.host, '::1', `bound to ::1: ${a.host}`);
      const vias: string[] = [];
      server.onRequest((inc) => {
        vias.push(inc.request.get('Via') ?? '');
        inc.respond(200);
      });
      const client = new SipStack({ listen: [`${t}:[::1]:0`], tls });
      await client.start();
      const out = await client.request(options(`[::1]:${a.port}`), { target: formatTransportAddress(a) });
      const res = await out.final;
      assert.equal(res.status, 200, `status ${res.status}`);
      assert.match(vias[0] ?? '', /\[::1\]:\d+/, `IPv6 reference in the Via sent-by: ${vias[0]}`);
      await client.stop();
      await server.stop();
    });
  }

  test('a request URI with an IPv6 reference finds its server without an explicit target', async () => {
    const server = new SipStack({ listen: ['udp:[::1]:0'] });
    const [a] = (await server.start()) as [TransportAddress];
    server.onRequest((inc) => inc.respond(200));
    const client = new SipStack({ listen: ['udp:[::1]:0'] });
    await client.start();
    const out = await client.request(options(`[::1]:${a.port}`));
    assert.equal((await out.final).status, 200, 'routed by the Request-URI');
    assert.deepEqual(out.target, { transport: 'udp', address: '::1', port: a.port }, 'target from the URI');
    await client.stop();
    await server.stop();
  });
});

describe('requests over 1300 bytes (RFC 3261 §18.1.1)', () => {
  const big = (target: string) => {
    const r = options(target, 'MESSAGE', [['Content-Type', 'text/plain']]);
    r.body = Buffer.alloc(1500, 'x');
    return r;
  };

  test('go over TCP when the server listens on TCP too, and back to UDP when its TCP connection is refused', async () => {
    const port = await freePort();
    const both = new SipStack({ listen: [`udp:127.0.0.1:${port}`, `tcp:127.0.0.1:${port}`] });
    const udpOnly = new SipStack({ listen: ['udp:127.0.0.1:0'] });
    const client = new SipStack({ listen: ['udp:127.0.0.1:0', 'tcp:127.0.0.1:0'] });
    const seen: string[] = [];
    for (const s of [both, udpOnly])
      s.onRequest((inc) => {
        seen.push(inc.source.transport);
        inc.respond(200);
      });
    await both.start();
    const [u] = (await udpOnly.start()) as [TransportAddress];
    await client.start();
    try {
      const a = await client.request(big(`127.0.0.1:${port}`), { target: `udp:127.0.0.1:${port}` });
      assert.equal((await a.final).status, 200, 'answered');
      assert.deepEqual(seen, ['tcp'], 'moved to TCP');
      const b = await client.request(big(`127.0.0.1:${u.port}`), { target: `udp:127.0.0.1:${u.port}` });
      assert.equal((await b.final).status, 200, 'answered');
      assert.deepEqual(
        b.tried.map((t) => t.transport),
        ['tcp', 'udp'],
        'TCP was tried, refused, and the request went again over UDP',
      );
      assert.deepEqual(seen, ['tcp', 'udp'], 'the UDP-only server got it over UDP');
    } finally {
      await client.stop();
      await both.stop();
      await udpOnly.stop();
    }
  });
});

describe('stop() lets go of everything', () => {
  test('after INVITE, OPTIONS and MESSAGE transactions over UDP and TCP, no socket or timer is left', async () => {
    const before = await openHandles();
    const server = new SipStack({ listen: ['udp:127.0.0.1:0', 'tcp:127.0.0.1:0'] });
    const client = new SipStack({ listen: ['udp:127.0.0.1:0', 'tcp:127.0.0.1:0'] });
    server.onRequest((inc) => inc.respond(200, undefined, { toTag: 'srv' }));
    try {
      const [u, t] = (await server.start()) as [TransportAddress, TransportAddress];
      await client.start();
      // Answered transactions linger for retransmissions (Timers D, J, K, L), and the
      // TCP connection stays for reuse: stop() must end them all.
      for (const [target, method] of [
        [u, 'OPTIONS'],
        [t, 'OPTIONS'],
        [u, 'INVITE'],
        [t, 'MESSAGE'],
      ] as const) {
        const out = await client.request(options(`127.0.0.1:${target.port}`, method), {
          target: addr(target),
        });
        assert.equal((await out.final).status, 200, `${method} over ${target.transport} answered`);
      }
      const busy = await openHandles();
      assert.ok(busy.UDPWrap >= before.UDPWrap + 2, `two UDP sockets while running: ${JSON.stringify(busy)}`);
      assert.ok(busy.TCPSocketWrap >= before.TCPSocketWrap + 2, `a TCP connection: ${JSON.stringify(busy)}`);
      assert.ok(busy.Timeout > before.Timeout, `transaction timers while running: ${JSON.stringify(busy)}`);
    } finally {
      await client.stop();
      await server.stop();
    }
    await assertNothingLeft(before, 'two stacks stopped');
  });
});

describe('a peer that does not read', () => {
  test('is disconnected once more than maxQueuedBytes wait for it, and the stack goes on serving', async () => {
    const server = new SipStack({ listen: ['tcp:127.0.0.1:0'], maxQueuedBytes: 64 * 1024 });
    const [addr] = (await server.start()) as [TransportAddress];
    server.onRequest((inc) => inc.respond(200));
    const sock = connect(addr.port, '127.0.0.1');
    sock.on('error', () => {});
    await new Promise<void>((r) => sock.once('connect', () => r()));
    // The peer never reads: the answers pile up in its socket, then in the server.
    sock.pause();
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    const request = (n: number) =>
      [
        'OPTIONS sip:bob@127.0.0.1 SIP/2.0',
        `Via: SIP/2.0/TCP 127.0.0.1:${sock.localPort};branch=z9hG4bKstall${n}`,
        'Max-Forwards: 70',
        'From: <sip:a@b>;tag=1',
        'To: <sip:bob@127.0.0.1>',
        `Call-ID: stall${n}`,
        'CSeq: 1 OPTIONS',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
    let n = 0;
    let open = true;
    void closed.then(() => {
      open = false;
    });
    try {
      while (open && n < 200_000) {
        let chunk = '';
        for (let i = 0; i < 200; i++) chunk += request(n++);
        sock.write(chunk);
        await new Promise((r) => setImmediate(r));
      }
      assert.equal(open, false, `the server closed the connection (after ${n} requests)`);
      assert.equal(server.transports.stats.stalledConnections, 1, 'counted');
      // Another client is served as before.
      const other = new SipStack({ listen: ['tcp:127.0.0.1:0'] });
      await other.start();
      try {
        const out = await other.request(options('127.0.0.1'), { target: `tcp:127.0.0.1:${addr.port}` });
        assert.equal((await out.final).status, 200);
      } finally {
        await other.stop();
      }
    } finally {
      sock.destroy();
      await server.stop();
    }
  });
});

describe('incomplete messages on many connections', () => {
  test('past maxPartialBytes in all, the connection holding the most is closed; the others go on', async () => {
    const server = new SipStack({ listen: ['tcp:127.0.0.1:0'], maxPartialBytes: 100_000 });
    const [addr] = (await server.start()) as [TransportAddress];
    server.onRequest((inc) => inc.respond(200));
    const head = (n: number) =>
      [
        'OPTIONS sip:bob@127.0.0.1 SIP/2.0',
        `Via: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKpartial${n}`,
        'Max-Forwards: 70',
        'From: <sip:a@b>;tag=1',
        'To: <sip:bob@127.0.0.1>',
        `Call-ID: partial${n}`,
        'CSeq: 1 OPTIONS',
        'Content-Length: 0',
      ].join('\r\n');
    // Padding header lines (each within the line limit), `kb` thousand bytes in all.
    const pad = (kb: number) =>
      Array.from({ length: kb }, (_, i) => `\r\nX-Pad-${i}: ${'p'.repeat(990)}`).join('');
    const sockets = await Promise.all(
      [0, 1, 2, 3].map(async () => {
        const sock = connect(addr.port, '127.0.0.1');
        sock.on('error', () => {});
        await new Promise<void>((r) => sock.once('connect', () => r()));
        const state = { sock, closed: false, got: '' };
        sock.on('close', () => {
          state.closed = true;
        });
        sock.on('data', (d) => {
          state.got += d.toString('latin1');
        });
        return state;
      }),
    );
    const [a, b, c, d] = sockets as [
      (typeof sockets)[0],
      (typeof sockets)[0],
      (typeof sockets)[0],
      (typeof sockets)[0],
    ];
    try {
      // Header sections without their end: about 30, 25 and 20 KB held, 75 KB in all.
      for (const [s, kb, n] of [
        [a, 30, 1],
        [b, 25, 2],
        [c, 20, 3],
      ] as const) {
        s.sock.write(`${head(n)}${pad(kb)}`);
      }
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(server.transports.stats.partialOverflows, 0, 'within the limit');
      // 28 KB more on a fourth: about 103 KB, past 100,000. The largest (30 KB) goes.
      d.sock.write(`${head(4)}${pad(28)}`);
      for (let i = 0; i < 100 && !a.closed; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(a.closed, true, 'the connection holding most is closed');
      assert.equal(server.transports.stats.partialOverflows, 1);
      assert.deepEqual(
        [b, c, d].map((s) => s.closed),
        [false, false, false],
        'the others stay',
      );
      // The others finish their messages and are answered.
      for (const s of [b, c, d]) s.sock.write('\r\n\r\n');
      for (let i = 0; i < 100 && ![b, c, d].every((s) => s.got.includes('SIP/2.0 200 ')); i++)
        await new Promise((r) => setTimeout(r, 20));
      assert.ok(
        [b, c, d].every((s) => s.got.startsWith('SIP/2.0 200 ')),
        'each is answered once its message is whole',
      );
    } finally {
      for (const s of sockets) s.sock.destroy();
      await server.stop();
    }
  });
});
