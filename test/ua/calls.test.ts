import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import {
  type CallEnd,
  type IncomingCall,
  type Negotiated,
  SipStack,
  type TransportAddress,
  UserAgent,
} from '../../src/index.js';
import { testCertificate } from '../support/certs.js';

async function pair(transport: 'udp' | 'tcp' | 'tls' | 'ws') {
  const cert = testCertificate();
  const tls = { certFile: cert.certFile, keyFile: cert.keyFile, caFile: cert.certFile };
  const aliceStack = new SipStack({ listen: [`${transport}:127.0.0.1:0`], tls, timers: { t1: 50 } });
  const bobStack = new SipStack({ listen: [`${transport}:127.0.0.1:0`], tls, timers: { t1: 50 } });
  await aliceStack.start();
  const [bobAddr] = (await bobStack.start()) as [TransportAddress];
  const alice = new UserAgent(aliceStack, { uri: 'sip:alice@example.org', media: { port: 41000 } });
  const bob = new UserAgent(bobStack, { uri: 'sip:bob@example.net', media: { port: 42000 } });
  const bobUri = `sip:bob@127.0.0.1:${bobAddr.port}${transport === 'udp' ? '' : `;transport=${transport}`}`;
  return {
    alice,
    bob,
    bobUri,
    bobAddr,
    stop: async () => {
      await aliceStack.stop();
      await bobStack.stop();
    },
  };
}

for (const transport of ['udp', 'tcp', 'tls', 'ws'] as const) {
  describe(`calls between two user agents over ${transport.toUpperCase()}`, () => {
    test('ring, answer with SDP offer/answer, BYE from the caller', async () => {
      const { alice, bob, bobUri, stop } = await pair(transport);
      try {
        const incoming = new Promise<IncomingCall>((resolve) => bob.onCall(resolve));
        const call = alice.call(bobUri);
        const ringing = once(call, 'ringing');
        const inc = await incoming;
        assert.equal(inc.state, 'incoming', 'incoming state');
        inc.ring();
        await ringing;
        assert.equal(call.state, 'ringing', 'the caller heard 180');
        const bobMedia = once(inc, 'media');
        const aliceMedia = once(call, 'media');
        const acked = inc.answer();
        const res = await call.answered;
        assert.equal(res.status, 200, '200 OK');
        await acked;
        const [a] = (await aliceMedia) as [Negotiated];
        const [b] = (await bobMedia) as [Negotiated];
        assert.equal(a.remotePort, 42000, 'alice sends to bob media port');
        assert.equal(b.remotePort, 41000, 'bob sends to alice media port');
        assert.equal(a.codec.name, 'PCMU', 'first common codec');
        assert.equal(call.dialog?.state, 'confirmed', 'caller dialog confirmed');
        assert.equal(inc.dialog?.state, 'confirmed', 'callee dialog confirmed');
        const ended = once(inc, 'ended');
        await call.hangup();
        const [end] = (await ended) as [CallEnd];
        assert.equal(end.by, 'remote', 'bob saw the BYE');
        assert.equal(call.state, 'ended', 'alice ended');
        assert.equal(alice.dialogs.size, 0, 'no dialogs left at alice');
        assert.equal(bob.dialogs.size, 0, 'no dialogs left at bob');
      } finally {
        await stop();
      }
    });
  });
}

describe('call failures and cancellation (UDP)', () => {
  test('a rejected call fails with the status; a cancelled call ends with 487', async () => {
    const { alice, bob, bobUri, stop } = await pair('udp');
    try {
      let next: (c: IncomingCall) => void = () => {};
      bob.onCall((c) => next(c));
      next = (c) => c.reject(486);
      const busy = alice.call(bobUri);
      await assert.rejects(busy.answered, (e: unknown) => (e as { status: number }).status === 486, '486');
      assert.equal(busy.state, 'ended', 'ended');

      const rung = new Promise<IncomingCall>((resolve) => {
        next = (c) => {
          c.ring();
          resolve(c);
        };
      });
      const call = alice.call(bobUri);
      const inc = await rung;
      await once(call, 'ringing');
      const bobEnded = once(inc, 'ended');
      await call.cancel();
      await assert.rejects(call.answered, (e: unknown) => (e as { status: number }).status === 487, '487');
      const [end] = (await bobEnded) as [CallEnd];
      assert.equal(end.reason, 'cancelled', 'bob saw the CANCEL');
    } finally {
      await stop();
    }
  });

  test('hold and resume by re-INVITE change the direction on both sides', async () => {
    const { alice, bob, bobUri, stop } = await pair('udp');
    try {
      bob.onCall((c) => void c.answer());
      const call = alice.call(bobUri);
      await call.answered;
      const inc = [...bob.dialogs.values()][0] as IncomingCall;
      const held = once(inc, 'media');
      const res = await call.hold();
      assert.equal(res.status, 200, 're-INVITE answered');
      const [m] = (await held) as [Negotiated];
      assert.equal(m.direction, 'recvonly', 'bob answers a sendonly offer with recvonly');
      assert.equal(call.media?.direction, 'sendonly', 'alice holds');
      await call.resume();
      assert.equal(call.media?.direction, 'sendrecv', 'resumed');
      assert.equal(call.sdp.local?.origin.sessionVersion, 3n, 'o= version grew with each offer');
      await call.hangup();
    } finally {
      await stop();
    }
  });
});

describe('bad input to a user agent (UDP)', () => {
  async function raw(port: number, text: string): Promise<string> {
    const { createSocket } = await import('node:dgram');
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    const got = new Promise<string>((resolve) => {
      s.on('message', (m) => {
        const t = m.toString('latin1');
        if (!/^SIP\/2\.0 1\d\d /.test(t)) resolve(t);
      });
    });
    const local = s.address().port;
    s.send(Buffer.from(text.replaceAll('LOCALPORT', String(local)), 'latin1'), port, '127.0.0.1');
    const out = await Promise.race([got, new Promise<string>((r) => setTimeout(() => r('(nothing)'), 3000))]);
    s.close();
    return out;
  }

  const request = (method: string, extra: string[], body = '', toTag = '') =>
    [
      `${method} sip:bob@127.0.0.1 SIP/2.0`,
      'Via: SIP/2.0/UDP 127.0.0.1:LOCALPORT;branch=z9hG4bK-bad-' + Math.random().toString(36).slice(2),
      'Max-Forwards: 70',
      `To: <sip:bob@example.net>${toTag}`,
      'From: <sip:mallory@example.org>;tag=m1',
      `Call-ID: bad-${Math.random().toString(36).slice(2)}`,
      `CSeq: 1 ${method}`,
      'Contact: <sip:mallory@127.0.0.1:LOCALPORT>',
      ...extra,
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n');

  test('unknown dialog 481, stray CANCEL 481, unreadable SDP 400, unanswerable offer 488, malformed 400; the agent keeps working', async () => {
    const { alice, bob, bobUri, bobAddr, stop } = await pair('udp');
    try {
      bob.onCall((c) => void c.answer());
      const port = bobAddr.port;
      assert.match(
        await raw(port, request('BYE', [], '', ';tag=nope')),
        /^SIP\/2\.0 481 /,
        'BYE in no dialog',
      );
      assert.match(await raw(port, request('CANCEL', [])), /^SIP\/2\.0 481 /, 'CANCEL with no INVITE');
      const badSdp = await raw(
        port,
        request('INVITE', ['Content-Type: application/sdp'], 'v=0\r\nthis is not sdp\r\n'),
      );
      assert.match(badSdp, /^SIP\/2\.0 400 Bad SDP/, `unreadable SDP: ${badSdp.split('\r\n')[0]}`);
      const video = [
        'v=0',
        'o=- 1 1 IN IP4 127.0.0.1',
        's=-',
        'c=IN IP4 127.0.0.1',
        't=0 0',
        'm=video 5000 RTP/AVP 96',
        'a=rtpmap:96 VP8/90000',
        '',
      ].join('\r\n');
      assert.match(
        await raw(port, request('INVITE', ['Content-Type: application/sdp'], video)),
        /^SIP\/2\.0 488 /,
        'no common media',
      );
      assert.match(
        await raw(port, request('INFO', ['Max-Forwards: many'], '', ';tag=x')),
        /^SIP\/2\.0 400 /,
        'malformed in-dialog request',
      );
      // Still works.
      const call = alice.call(bobUri);
      assert.equal((await call.answered).status, 200, 'a good call after all that');
      await call.hangup();
      const opt = await alice.options(bobUri);
      assert.equal(opt.status, 200, 'OPTIONS 200');
      assert.match(opt.get('Allow') ?? '', /INVITE/, 'Allow lists INVITE');
    } finally {
      await stop();
    }
  });
});
