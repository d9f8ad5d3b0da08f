import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import type {
  CallEnd,
  CallOptions,
  IncomingCall,
  IncomingRequest,
  Negotiated,
  OutgoingCall,
  SipResponse,
  UserAgent,
} from '../../src/index.js';
import { agent, answering, withAgents } from '../support/agents.js';
import { withEscapedErrors } from '../support/escaped.js';

/** A raw UDP peer: sends text, collects what comes back. */
async function rawPeer() {
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  const got: string[] = [];
  const waiters: Array<() => void> = [];
  socket.on('message', (m) => {
    got.push(m.toString('latin1'));
    for (const w of waiters.splice(0)) w();
  });
  const port = socket.address().port;
  return {
    port,
    got,
    send: (text: string, to: number) => socket.send(Buffer.from(text, 'latin1'), to, '127.0.0.1'),
    async waitFor(pred: (all: string[]) => boolean, ms = 5000): Promise<void> {
      const end = Date.now() + ms;
      while (!pred(got)) {
        if (Date.now() > end)
          throw new Error(`timed out; got:\n${got.map((g) => g.split('\r\n')[0]).join('\n')}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 50);
        });
      }
    },
    /** The first message received that starts with `prefix`, once one has come. */
    async first(prefix: string): Promise<string> {
      await this.waitFor((all) => all.some((m) => m.startsWith(prefix)));
      return got.find((m) => m.startsWith(prefix)) as string;
    },
    close: () => socket.close(),
  };
}

/** Has the agent ring every call it gets; resolves with how the first one ended. */
function ringsUntilEnded(ua: UserAgent): Promise<CallEnd> {
  return new Promise((resolve) =>
    ua.onCall((c) => {
      c.once('ended', resolve);
      c.ring();
    }),
  );
}

/** The value of the first `name` header field of a message as text. */
function headerOf(message: string, name: string): string {
  return (new RegExp(`^${name}: (.*)$`, 'm').exec(message) as RegExpExecArray)[1] as string;
}

const sdp = (port: number) =>
  [
    'v=0',
    'o=- 1 1 IN IP4 127.0.0.1',
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio ${port} RTP/AVP 0`,
    '',
  ].join('\r\n');

/**
 * A response to `req` (a request as the peer received it): its Via, From,
 * To with `tag`, Call-ID and CSeq; a Contact named after the tag when the
 * peer's `port` is given, and an SDP `body` when given.
 */
function answerTo(req: string, status: string, o: { tag: string; port?: number; body?: string }): string {
  const header = (n: string) => headerOf(req, n);
  const body = o.body ?? '';
  return [
    `SIP/2.0 ${status}`,
    `Via: ${header('Via')}`,
    `From: ${header('From')}`,
    `To: ${/;tag=/i.test(header('To')) ? header('To') : `${header('To')};tag=${o.tag}`}`,
    `Call-ID: ${header('Call-ID')}`,
    `CSeq: ${header('CSeq')}`,
    ...(o.port === undefined ? [] : [`Contact: <sip:${o.tag}@127.0.0.1:${o.port}>`]),
    ...(body === '' ? [] : ['Content-Type: application/sdp']),
    `Content-Length: ${body.length}`,
    '',
    body,
  ].join('\r\n');
}

/** A 2xx to `inv` with a top Via the INVITE did not have: no transaction takes it, the call does. */
function strayOk(inv: string, port: number): string {
  return answerTo(inv, '200 OK', { tag: 'bob', port, body: sdp(30000) }).replace(
    /branch=[^;\r]+/,
    'branch=z9hG4bK-not-the-invite',
  );
}

/** alice (T1 `t1`) calls a raw UDP peer; `fn` gets them, the call and the INVITE as the peer got it. */
async function callRawPeer(
  t1: number,
  fn: (c: {
    alice: Awaited<ReturnType<typeof agent>>;
    peer: Awaited<ReturnType<typeof rawPeer>>;
    call: OutgoingCall;
    inv: string;
  }) => Promise<void>,
  auth?: { username: string; password: string },
  options?: CallOptions,
): Promise<void> {
  const alice = await agent('alice', t1, auth);
  const peer = await rawPeer();
  try {
    const call = alice.ua.call(`sip:bob@127.0.0.1:${peer.port}`, options);
    const inv = await peer.first('INVITE ');
    await fn({ alice, peer, call, inv });
  } finally {
    peer.close();
    await alice.stack.stop();
  }
}

/** An ACK or BYE from the raw peer on `port`, within a call (no body). */
function rawInDialog(o: {
  method: 'ACK' | 'BYE';
  uri: string;
  port: number;
  branch: string;
  to: string;
  from: string;
  callId: string;
  cseq: number;
}): string {
  return [
    `${o.method} ${o.uri} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${o.port};branch=${o.branch}`,
    'Max-Forwards: 70',
    `To: ${o.to}`,
    `From: ${o.from}`,
    `Call-ID: ${o.callId}`,
    `CSeq: ${o.cseq} ${o.method}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** bob (T1 20 ms) and a raw UDP peer to call him; `fn` gets both, and both are closed after it. */
async function withCallee(
  fn: (c: {
    bob: Awaited<ReturnType<typeof agent>>;
    peer: Awaited<ReturnType<typeof rawPeer>>;
  }) => Promise<void>,
): Promise<void> {
  const bob = await agent('bob', 20);
  const peer = await rawPeer();
  try {
    await fn({ bob, peer });
  } finally {
    peer.close();
    await bob.stack.stop();
  }
}

/** An INVITE from a raw peer with the From and Contact lines given (RFC 2543 forms among them). */
function inviteWith(o: {
  port: number;
  target: number;
  callId: string;
  from: string;
  contact?: string;
  branch?: string;
}): string {
  const body = sdp(30000);
  return [
    `INVITE sip:bob@127.0.0.1:${o.target} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${o.port};branch=${o.branch ?? `z9hG4bK-${o.callId}`}`,
    'Max-Forwards: 70',
    'To: <sip:bob@127.0.0.1>',
    `From: ${o.from}`,
    `Call-ID: ${o.callId}`,
    'CSeq: 1 INVITE',
    ...(o.contact === undefined ? [] : [`Contact: ${o.contact}`]),
    'Content-Type: application/sdp',
    `Content-Length: ${body.length}`,
    '',
    body,
  ].join('\r\n');
}

function invite(localPort: number, target: number, branch: string, callId: string): string {
  return inviteWith({
    port: localPort,
    target,
    callId,
    branch,
    from: '<sip:raw@127.0.0.1>;tag=raw1',
    contact: `<sip:raw@127.0.0.1:${localPort}>`,
  });
}

describe('user agent edge cases', () => {
  test('a 2xx never ACKed is sent again (T1 doubling) and the call ends with BYE after 64*T1 (§13.3.1.4)', () =>
    withCallee(async ({ bob, peer }) => {
      let answerOutcome = 'pending';
      const ended = new Promise<CallEnd>((resolve) =>
        bob.ua.onCall((c) => {
          c.once('ended', resolve);
          c.answer().then(
            () => {
              answerOutcome = 'resolved';
            },
            (e: Error) => {
              answerOutcome = `rejected: ${e.message}`;
            },
          );
        }),
      );
      peer.send(invite(peer.port, bob.address.port, 'z9hG4bK-noack', 'noack-1'), bob.address.port);
      await peer.waitFor((all) => all.some((m) => m.startsWith('BYE ')), 5000);
      const oks = peer.got.filter((m) => m.startsWith('SIP/2.0 200 ')).length;
      assert.ok(oks >= 4, `the 200 was sent again several times before giving up: ${oks}`);
      const end = await ended;
      assert.equal(end.by, 'local', `ended by us with BYE: ${JSON.stringify(end)}`);
      assert.equal(answerOutcome, 'rejected: no ACK for the 2xx', 'answer() says the ACK never came');
    }));

  test('a cancelled call whose INVITE never gets a final response ends 64*T1 after the CANCEL (§9.1), leaving nothing behind', () =>
    callRawPeer(20, async ({ alice, peer, call, inv }) => {
      const outcome = call.answered.then(
        () => 'answered',
        (e: { status?: number }) => `failed ${e.status}`,
      );
      // Ringing, then silence: the peer accepts the CANCEL but never answers the INVITE.
      peer.send(answerTo(inv, '180 Ringing', { tag: 'bob', port: peer.port }), alice.address.port);
      await once(call, 'ringing');
      void call.cancel();
      const cancel = await peer.first('CANCEL ');
      peer.send(answerTo(cancel, '200 OK', { tag: 'bob' }), alice.address.port);
      assert.equal(await outcome, 'failed 408', 'given up as a timeout (§8.1.3.1)');
      assert.equal(call.state, 'ended');
      assert.equal(alice.ua.dialogs.size, 0, 'the early dialog is gone');
      // The Call-ID stays known for another 64*T1, for stray 2xx of forks (§13.2.2.4).
      await new Promise((r) => setTimeout(r, 64 * 20 + 300));
      assert.equal(alice.ua.pending.size, 0, 'then the call is forgotten');
      assert.ok(
        alice.stack.transactions.size.clients <= 1,
        "the INVITE's transaction is gone (the CANCEL's may linger in Completed for Timer K)",
      );
    }));

  test('a call answered by a 2xx that matched no transaction cancels its INVITE when it ends, and nothing is left', () =>
    callRawPeer(10, async ({ alice, peer, call, inv }) => {
      peer.send(answerTo(inv, '183 Session Progress', { tag: 'bob', port: peer.port }), alice.address.port);
      await once(call, 'progress');
      peer.send(strayOk(inv, peer.port), alice.address.port);
      await call.answered;
      await call.hangup();
      await peer.waitFor(
        (all) => all.some((m) => m.startsWith('BYE ')) && all.some((m) => m.startsWith('CANCEL ')),
      );
      const cancel = peer.got.find((m) => m.startsWith('CANCEL ')) as string;
      const branch = (m: string) => /branch=([^;\r]+)/.exec(m)?.[1];
      assert.equal(branch(cancel), branch(inv), 'the CANCEL is for the INVITE');
      // The peer answers neither: 64*T1 after the CANCEL the INVITE's transaction ends (§9.1).
      for (let i = 0; i < 100 && alice.stack.transactions.size.clients > 0; i++)
        await new Promise((r) => setTimeout(r, 50));
      assert.equal(alice.stack.transactions.size.clients, 0, 'no transaction is left');
    }));

  test('a provisional response to the INVITE of a call already over gets a CANCEL', () =>
    callRawPeer(50, async ({ alice, peer, call, inv }) => {
      peer.send(strayOk(inv, peer.port), alice.address.port);
      await call.answered;
      void call.hangup();
      assert.equal(call.state, 'ended');
      await peer.waitFor((all) => all.some((m) => m.startsWith('BYE ')));
      assert.ok(!peer.got.some((m) => m.startsWith('CANCEL ')), 'no CANCEL before a provisional response');
      peer.send(answerTo(inv, '180 Ringing', { tag: 'bob', port: peer.port }), alice.address.port);
      await peer.waitFor((all) => all.some((m) => m.startsWith('CANCEL ')));
      for (let i = 0; i < 100 && alice.stack.transactions.size.clients > 0; i++)
        await new Promise((r) => setTimeout(r, 50));
      assert.equal(alice.stack.transactions.size.clients, 0, 'no transaction is left');
    }));

  test('a call cancelled before a challenge cancels the INVITE sent again with credentials too', () =>
    callRawPeer(
      50,
      async ({ alice, peer, call, inv }) => {
        const outcome = call.answered.then(
          () => 'answered',
          (e: { status?: number }) => `failed ${e.status}`,
        );
        const branch = (m: string) => /branch=([^;\r]+)/.exec(m)?.[1];
        const cancels = () => peer.got.filter((m) => m.startsWith('CANCEL '));
        const invites = () => peer.got.filter((m) => m.startsWith('INVITE '));
        peer.send(answerTo(inv, '180 Ringing', { tag: 'bob', port: peer.port }), alice.address.port);
        await once(call, 'ringing');
        void call.cancel();
        await peer.waitFor(() => cancels().length === 1);
        // The peer challenges the INVITE instead of ending it with 487; the agent sends it again with credentials.
        const challenge = answerTo(inv, '401 Unauthorized', { tag: 'bob' }).replace(
          'Content-Length: 0',
          'WWW-Authenticate: Digest realm="r", nonce="abc", qop="auth", algorithm=MD5\r\nContent-Length: 0',
        );
        peer.send(challenge, alice.address.port);
        await peer.waitFor(() => invites().length === 2);
        const again = invites()[1] as string;
        assert.match(again, /^Authorization: Digest /m);
        peer.send(answerTo(again, '180 Ringing', { tag: 'bob', port: peer.port }), alice.address.port);
        // (The first CANCEL, unanswered, is sent again meanwhile: look for one with the new branch.)
        await peer.waitFor(() => cancels().some((c) => branch(c) === branch(again)));
        peer.send(answerTo(again, '487 Request Terminated', { tag: 'bob' }), alice.address.port);
        assert.equal(await outcome, 'failed 487');
        assert.equal(call.state, 'ended');
      },
      { username: 'alice', password: 'secret' },
    ));

  test('a peer answering with ever new To tags gets at most 32 early dialogs; its 2xx still makes the call', () =>
    callRawPeer(50, async ({ alice, peer, call, inv }) => {
      let progress = 0;
      call.on('progress', () => progress++);
      for (let i = 0; i < 100; i++)
        peer.send(answerTo(inv, '180 Ringing', { tag: `fork${i}`, port: peer.port }), alice.address.port);
      while (progress < 100) await new Promise((r) => setTimeout(r, 20));
      assert.equal(alice.ua.dialogs.size, 32, 'early dialogs stop at 32');
      peer.send(
        answerTo(inv, '200 OK', { tag: 'fork77', port: peer.port, body: sdp(30000) }),
        alice.address.port,
      );
      await call.answered;
      assert.equal(call.dialog?.remoteTag, 'fork77', 'the 2xx of a fork past the limit makes the dialog');
      assert.equal(alice.ua.dialogs.size, 1, 'the other early dialogs are gone');
      await peer.waitFor((all) => all.some((m) => m.startsWith('ACK sip:fork77@')));
    }));

  test('a peer answering every re-INVITE with 491 gets two retries after the §14.1 waits, then its 491 is returned', () =>
    callRawPeer(50, async ({ alice, peer, call, inv }) => {
      peer.send(
        answerTo(inv, '200 OK', { tag: 'bob', port: peer.port, body: sdp(30000) }),
        alice.address.port,
      );
      await call.answered;
      const reinvites = () => peer.got.filter((m) => m.startsWith('INVITE ') && /^To: .*;tag=bob/m.test(m));
      const result = call.reinvite('sendonly');
      for (let n = 1; n <= 3; n++) {
        await peer.waitFor(() => reinvites().length >= n);
        peer.send(
          answerTo(reinvites()[n - 1] as string, '491 Request Pending', { tag: 'bob' }),
          alice.address.port,
        );
      }
      const response = await result;
      assert.equal(response.status, 491, 'the last 491 is the answer');
      assert.equal(reinvites().length, 3, 'sent three times in all');
      assert.equal(call.state, 'answered', 'the call stays up');
    }));

  test('a second 2xx from a forked INVITE is ACKed and ended with BYE (§13.2.2.4)', () =>
    callRawPeer(50, async ({ alice, peer, call, inv }) => {
      const ok = (tag: string, port: number) =>
        answerTo(inv, '200 OK', { tag, port: peer.port, body: sdp(port) });
      peer.send(ok('first', 31000), alice.address.port);
      await call.answered;
      peer.send(ok('second', 32000), alice.address.port);
      await peer.waitFor((all) => all.some((m) => m.startsWith('BYE sip:second@')));
      const acks = peer.got.filter((m) => m.startsWith('ACK ')).map((m) => m.split(' ')[1]);
      assert.deepEqual(
        acks.sort(),
        ['sip:first@127.0.0.1:' + peer.port, 'sip:second@127.0.0.1:' + peer.port].sort(),
        'both 2xx ACKed',
      );
      assert.equal(call.state, 'answered', 'the first dialog stays up');
      assert.equal(call.dialog?.remoteTag, 'first', 'the call keeps the first dialog');
    }));

  test('reliable 180 with PRACK (RFC 3262), then UPDATE changes the session, then late offer works', async () => {
    const alice = await agent('alice');
    const bob = await agent('bob');
    try {
      bob.ua.onCall(async (c) => {
        c.ring({ reliable: true });
        await c.answer();
      });
      const call = alice.ua.call(bob.uri);
      await call.answered;
      assert.ok(
        alice.trace.some((t) => t.startsWith('out PRACK ')),
        `alice sent PRACK:\n${alice.trace.join('\n')}`,
      );
      assert.ok(
        bob.trace.some((t) => t === 'out SIP/2.0 200 OK') && bob.trace.some((t) => t.startsWith('in PRACK')),
        'bob got the PRACK',
      );
      const res = await call.update('sendonly');
      assert.equal(res.status, 200, 'UPDATE 200');
      assert.equal(call.media?.direction, 'sendonly', 'UPDATE put the call on hold');
      await call.hangup();

      // Late offer: no SDP in the INVITE; bob offers in the 200, alice answers in the ACK.
      const bobMedia = new Promise<Negotiated>((resolve) =>
        bob.ua.onCall((c: IncomingCall) => {
          c.once('media', resolve);
          void c.answer();
        }),
      );
      const late = alice.ua.call(bob.uri, { sdp: false });
      const aliceMedia = once(late, 'media');
      await late.answered;
      const [a] = (await aliceMedia) as [Negotiated];
      const b = await bobMedia;
      assert.equal(a.remotePort, 42000, 'alice learned bob media from his offer');
      assert.equal(b.remotePort, 41000, 'bob learned alice media from the ACK');
      await late.hangup();
    } finally {
      await alice.stack.stop();
      await bob.stack.stop();
    }
  });

  test('MESSAGE outside a dialog reaches the message listener; INFO in a dialog reaches the call', async () => {
    const alice = await agent('alice');
    const bob = await agent('bob');
    try {
      const got = new Promise<IncomingRequest>((resolve) =>
        bob.ua.on('message', (m) => {
          m.respond(202, 'Accepted');
          resolve(m);
        }),
      );
      const res = await alice.ua.message(bob.uri, 'hello there');
      assert.equal(res.status, 202, 'the listener answered');
      assert.equal((await got).request.body.toString(), 'hello there', 'body');
      const info = new Promise<IncomingRequest>((resolve) =>
        bob.ua.onCall((c) => {
          c.on('info', (i) => {
            i.respond(200);
            resolve(i);
          });
          void c.answer();
        }),
      );
      const call = alice.ua.call(bob.uri);
      await call.answered;
      assert.equal((await call.info('Signal=5\r\nDuration=160\r\n')).status, 200, 'INFO 200');
      assert.match((await info).request.body.toString(), /Signal=5/, 'INFO body');
      await call.hangup();
    } finally {
      await alice.stack.stop();
      await bob.stack.stop();
    }
  });

  test('glare: both sides re-INVITE at once; one gets 491, retries after the §14.1 wait, both end stable', async () => {
    const alice = await agent('alice');
    const bob = await agent('bob');
    try {
      const incoming = answering(bob);
      const call = alice.ua.call(bob.uri);
      await call.answered;
      const inc = await incoming;
      const [ra, rb] = await Promise.all([call.hold(), inc.hold()]);
      assert.equal(ra.status, 200, `alice re-INVITE finally 200 (${ra.status})`);
      assert.equal(rb.status, 200, `bob re-INVITE finally 200 (${rb.status})`);
      const saw491 = [...alice.trace, ...bob.trace].some((t) => t.includes('491 Request Pending'));
      assert.ok(saw491, 'a 491 was sent');
      assert.equal(call.sdp.state, 'stable', 'alice stable');
      assert.equal(inc.sdp.state, 'stable', 'bob stable');
      await call.hangup();
    } finally {
      await alice.stack.stop();
      await bob.stack.stop();
    }
  });
});

describe('early media', () => {
  test('183 with the answer: the caller gets media before the 200, and the 200 repeats the same answer', async () => {
    const alice = await agent('alice');
    const bob = await agent('bob');
    try {
      let answerIn183 = '';
      bob.ua.onCall((c) => {
        c.progress(183, 'Session Progress', { earlyMedia: true });
        setTimeout(() => void c.answer(), 200);
      });
      bob.stack.onTrace((dir, data) => {
        const t = data.toString('latin1');
        if (dir === 'out' && t.startsWith('SIP/2.0 183')) answerIn183 = t.slice(t.indexOf('\r\n\r\n') + 4);
      });
      const call = alice.ua.call(bob.uri);
      const [early] = (await once(call, 'media')) as [Negotiated];
      assert.equal(call.state, 'calling', 'media before the answer');
      assert.equal(early.remotePort, 42000, 'early media to bob');
      const res = await call.answered;
      assert.equal(res.body.toString(), answerIn183, 'the 200 carries the same answer as the 183');
      await call.hangup();
    } finally {
      await alice.stack.stop();
      await bob.stack.stop();
    }
  });
});

describe('incoming INVITEs without a From tag or a usable Contact', () => {
  test('no From tag and no Contact (RFC 2543): answered, and the BYE goes to the From address with no tag in To', () =>
    withCallee(async ({ bob, peer }) => {
      const answered = new Promise<IncomingCall>((resolve) =>
        bob.ua.onCall((c) => {
          c.answer().then(() => resolve(c));
        }),
      );
      const from = `<sip:raw@127.0.0.1:${peer.port}>`;
      peer.send(
        inviteWith({ port: peer.port, target: bob.address.port, callId: 'rfc2543-1', from }),
        bob.address.port,
      );
      const ok = await peer.first('SIP/2.0 200 ');
      const to = headerOf(ok, 'To');
      peer.send(
        rawInDialog({
          method: 'ACK',
          uri: `sip:bob@127.0.0.1:${bob.address.port}`,
          port: peer.port,
          branch: 'z9hG4bK-rfc2543-ack',
          to: to,
          from: from,
          callId: 'rfc2543-1',
          cseq: 1,
        }),
        bob.address.port,
      );
      const call = await answered;
      assert.equal(call.state, 'answered');
      const ended = once(call, 'ended');
      const hangup = call.hangup();
      const bye = await peer.first('BYE ');
      assert.ok(bye.startsWith(`BYE sip:raw@127.0.0.1:${peer.port} SIP/2.0\r\n`), bye);
      const byeTo = headerOf(bye, 'To');
      assert.equal(byeTo, from, 'the remote tag is null: no tag parameter, not an empty one');
      peer.send(answerTo(bye, '200 OK', { tag: 'unused' }), bob.address.port);
      await hangup;
      await ended;
    }));

  for (const [what, contact] of [
    ["'*'", '*'],
    ['a tel: URI', '<tel:+15551234567>'],
    ['two URIs', '<sip:a@127.0.0.1>, <sip:b@127.0.0.1>'],
  ] as const) {
    test(`a Contact of ${what} is answered 400 Bad Contact header, and no call is offered`, async () => {
      const bob = await agent('bob', 20);
      const peer = await rawPeer();
      try {
        let offered = 0;
        bob.ua.onCall(() => offered++);
        peer.send(
          inviteWith({
            port: peer.port,
            target: bob.address.port,
            callId: 'bad-contact',
            from: '<sip:raw@127.0.0.1>;tag=r',
            contact,
          }),
          bob.address.port,
        );
        await peer.waitFor((all) => all.some((m) => /^SIP\/2\.0 [2-6]\d\d /.test(m)));
        const final = peer.got.find((m) => /^SIP\/2\.0 [2-6]\d\d /.test(m)) as string;
        assert.match(final, /^SIP\/2\.0 400 Bad Contact header\r\n/);
        assert.match(final, /^Warning: 399 .*Contact must be one SIP or SIPS URI/m);
        assert.equal(offered, 0);
      } finally {
        peer.close();
        await bob.stack.stop();
      }
    });
  }
});

describe('a callee that answers without a To tag (RFC 2543)', () => {
  test('the 2xx makes a dialog with a null remote tag: ACK and BYE carry no tag in To, and its BYE is taken', () =>
    callRawPeer(20, async ({ alice, peer, call, inv }) => {
      const ok = answerTo(inv, '200 OK', { tag: 'UNTAGGED', port: peer.port, body: sdp(30000) }).replace(
        ';tag=UNTAGGED',
        '',
      );
      assert.doesNotMatch(/^To: .*$/m.exec(ok)?.[0] ?? '', /tag=/);
      peer.send(ok, alice.address.port);
      await call.answered;
      const ack = await peer.first('ACK ');
      const inviteTo = headerOf(inv, 'To');
      assert.equal((/^To: (.*)$/m.exec(ack) as RegExpExecArray)[1], inviteTo, 'the ACK names no remote tag');
      assert.ok(ack.startsWith(`ACK sip:UNTAGGED@127.0.0.1:${peer.port} SIP/2.0`), 'sent to the Contact');
      // The callee hangs up: its BYE's From has no tag, and it matches the dialog.
      const ended = once(call, 'ended');
      const aliceFrom = (/^From: (.*)$/m.exec(inv) as RegExpExecArray)[1] as string;
      peer.send(
        rawInDialog({
          method: 'BYE',
          uri: `sip:alice@127.0.0.1:${alice.address.port}`,
          port: peer.port,
          branch: 'z9hG4bK-untagged-bye',
          to: aliceFrom,
          from: inviteTo,
          callId: (/^Call-ID: (.*)$/m.exec(inv) as RegExpExecArray)[1],
          cseq: 1,
        }),
        alice.address.port,
      );
      await peer.waitFor((all) => all.some((m) => /^SIP\/2\.0 \d+ .*\r\n(?:.*\r\n)*CSeq: 1 BYE\r\n/.test(m)));
      const answer = peer.got.find((m) => /CSeq: 1 BYE\r\n/.test(m) && m.startsWith('SIP/2.0 ')) as string;
      assert.match(answer, /^SIP\/2\.0 200 /, 'the BYE found its dialog');
      const [end] = (await ended) as [CallEnd];
      assert.equal(end.by, 'remote');
    }));
});

describe('a BYE in the early dialog (RFC 3261 §15.1.2)', () => {
  test('ends the ringing call, and the INVITE still gets its final response: 487', () =>
    withCallee(async ({ bob, peer }) => {
      const ended = ringsUntilEnded(bob.ua);
      peer.send(invite(peer.port, bob.address.port, 'z9hG4bK-early-bye', 'early-bye'), bob.address.port);
      const ringing = await peer.first('SIP/2.0 180 ');
      const to = headerOf(ringing, 'To');
      peer.send(
        rawInDialog({
          method: 'BYE',
          uri: `sip:bob@127.0.0.1:${bob.address.port}`,
          port: peer.port,
          branch: 'z9hG4bK-early-bye-2',
          to: to,
          from: '<sip:raw@127.0.0.1>;tag=raw1',
          callId: 'early-bye',
          cseq: 2,
        }),
        bob.address.port,
      );
      const end = await ended;
      assert.deepEqual([end.by, end.reason], ['remote', 'BYE']);
      await peer.waitFor((all) => all.some((m) => /^SIP\/2\.0 487 /.test(m) && /CSeq: 1 INVITE\r\n/.test(m)));
      assert.ok(
        peer.got.some((m) => m.startsWith('SIP/2.0 200 ') && /CSeq: 2 BYE\r\n/.test(m)),
        'the BYE is answered 200',
      );
    }));
});

describe('an offer inside a multipart body (RFC 5621)', () => {
  test('the SDP part of a multipart/mixed INVITE is the offer: the 200 answers it; an ISUP part beside it is left unread', () =>
    withCallee(async ({ bob, peer }) => {
      let media: Negotiated | undefined;
      bob.ua.onCall((c) => {
        c.on('media', (m) => {
          media = m;
        });
        void c.answer().catch(() => {});
      });
      // PCMA only: an answer keeps to it, where an offer of our own would list PCMU first.
      const offer = sdp(30000).replace('RTP/AVP 0', 'RTP/AVP 8');
      const body = [
        '--unique-boundary-1',
        'Content-Type: application/sdp',
        '',
        offer,
        '--unique-boundary-1',
        'Content-Type: application/isup; version=itu-t92+',
        'Content-Disposition: signal; handling=optional',
        '',
        '\x01\x00\x49\x00\x00\x03\x02\x00\x07\x04\x10\x00\x33\x63',
        '--unique-boundary-1--',
        '',
      ].join('\r\n');
      const text = invite(peer.port, bob.address.port, 'z9hG4bK-multipart', 'multipart-1')
        .replace('Content-Type: application/sdp', 'Content-Type: multipart/mixed;boundary=unique-boundary-1')
        .replace(
          /Content-Length: \d+\r\n\r\n[\s\S]*$/,
          `Content-Length: ${Buffer.byteLength(body, 'latin1')}\r\n\r\n${body}`,
        );
      peer.send(text, bob.address.port);
      const ok = await peer.first('SIP/2.0 200 ');
      assert.match(ok, /^Content-Type: application\/sdp\r$/m);
      assert.match(ok, /^m=audio \d+ RTP\/AVP 8\r$/m, 'the answer keeps to the offered PCMA');
      assert.equal(media?.codec.name, 'PCMA');
    }));
});

describe('a call handler that fails', () => {
  for (const kind of ['throws', 'rejects'] as const) {
    test(`one that ${kind}: the INVITE is refused with 500 and the call ends; the error goes on to the process`, () =>
      withEscapedErrors(async (escaped) => {
        const bob = await agent('bob', 20);
        const peer = await rawPeer();
        try {
          const ended = new Promise<CallEnd>((resolve) =>
            bob.ua.onCall((c) => {
              c.once('ended', resolve);
              if (kind === 'throws') throw new Error('a bug in the handler');
              return Promise.reject(new Error('a bug in the handler'));
            }),
          );
          peer.send(
            invite(peer.port, bob.address.port, `z9hG4bK-handler-${kind}`, `handler-${kind}`),
            bob.address.port,
          );
          const end = await ended;
          assert.equal(end.status, 500);
          await peer.waitFor((all) => all.some((m) => m.startsWith('SIP/2.0 500 ')));
          await new Promise((r) => setTimeout(r, 20));
          assert.deepEqual(
            escaped.map((e) => (e as Error).message),
            ['a bug in the handler'],
          );
        } finally {
          peer.close();
          await bob.stack.stop();
        }
      }));
  }

  test('call listeners that throw: the call goes on, an INFO and a MESSAGE get 500, the errors go on to the process', () =>
    withEscapedErrors((escaped) =>
      withAgents(['alice', 'bob'], async ([alice, bob]) => {
        bob.ua.on('message', () => {
          throw new Error('message listener');
        });
        const status = (p: Promise<SipResponse>) =>
          p.then(
            (r) => r.status,
            (e: { status?: number }) => e.status,
          );
        assert.equal(await status(alice.ua.message(bob.uri, 'hi')), 500, 'MESSAGE outside a call');
        const incoming = new Promise<IncomingCall>((resolve) =>
          bob.ua.onCall((c) => {
            c.on('info', () => {
              throw new Error('info listener');
            });
            void c.answer().then(() => resolve(c));
          }),
        );
        const call = alice.ua.call(bob.uri);
        call.on('answered', () => {
          throw new Error('answered listener');
        });
        const media = new Promise((resolve) => call.once('media', resolve));
        await call.answered;
        const late = new Promise((resolve) => setTimeout(resolve, 2000, 'no media event'));
        assert.notEqual(
          await Promise.race([media, late]),
          'no media event',
          "emitted after 'answered', whose listener threw",
        );
        await incoming;
        assert.equal(await status(call.info('Signal=1\r\n')), 500, 'INFO in the call');
        call.on('ended', () => {
          throw new Error('ended listener');
        });
        await call.hangup();
        assert.equal(call.state, 'ended');
        await new Promise((r) => setTimeout(r, 20));
        assert.deepEqual(
          escaped.map((e) => (e as Error).message),
          ['message listener', 'answered listener', 'info listener', 'ended listener'],
        );
        assert.equal(alice.ua.dialogs.size, 0, 'nothing left');
      }),
    ));
});

describe('an INVITE with Expires (RFC 3261 §13.2.1, §13.3.1)', () => {
  test('as callee: not answered when it runs out, the INVITE gets 487 and the call ends', () =>
    withCallee(async ({ bob, peer }) => {
      const ended = ringsUntilEnded(bob.ua);
      peer.send(
        invite(peer.port, bob.address.port, 'z9hG4bK-expires', 'expires-1').replace(
          'CSeq: 1 INVITE\r\n',
          'CSeq: 1 INVITE\r\nExpires: 1\r\n',
        ),
        bob.address.port,
      );
      await peer.waitFor((all) => all.some((m) => m.startsWith('SIP/2.0 180 ')));
      const end = await ended;
      assert.deepEqual([end.status, end.reason], [487, 'the invitation expired']);
      await peer.waitFor((all) => all.some((m) => m.startsWith('SIP/2.0 487 ')));
    }));

  test('as caller: with no final response when it runs out, the call is cancelled', () =>
    callRawPeer(
      20,
      async ({ alice, peer, call, inv }) => {
        assert.match(inv, /^Expires: 1\r$/m);
        const to = alice.address.port;
        peer.send(answerTo(inv, '180 Ringing', { tag: 'bob', port: peer.port }), to);
        await peer.waitFor((all) => all.some((m) => m.startsWith('CANCEL ')), 3000);
        const cancel = peer.got.find((m) => m.startsWith('CANCEL ')) as string;
        peer.send(answerTo(cancel, '200 OK', { tag: 'bob' }), to);
        peer.send(answerTo(inv, '487 Request Terminated', { tag: 'bob' }), to);
        await assert.rejects(call.answered, (e: Error & { status?: number }) => e.status === 487);
      },
      undefined,
      { expires: 1 },
    ));
});

describe('hanging up before the ACK (RFC 3261 §15)', () => {
  test('the callee holds its BYE back until the ACK of its 2xx has come', () =>
    withCallee(async ({ bob, peer }) => {
      let hungUp: Promise<void> | undefined;
      bob.ua.onCall((c) => {
        void c.answer().catch(() => {});
        setTimeout(() => {
          hungUp = c.hangup();
        }, 30);
      });
      peer.send(
        invite(peer.port, bob.address.port, 'z9hG4bK-bye-before-ack', 'bye-before-ack'),
        bob.address.port,
      );
      await peer.waitFor((all) => all.some((m) => m.startsWith('SIP/2.0 200 ')));
      // Well past the hangup, and still no ACK: no BYE either.
      await new Promise((r) => setTimeout(r, 250));
      assert.ok(hungUp !== undefined, 'hangup() was called');
      assert.ok(!peer.got.some((m) => m.startsWith('BYE ')), 'no BYE before the ACK');
      const ok = peer.got.find((m) => m.startsWith('SIP/2.0 200 ')) as string;
      const to = headerOf(ok, 'To');
      peer.send(
        rawInDialog({
          method: 'ACK',
          uri: `sip:bob@127.0.0.1:${bob.address.port}`,
          port: peer.port,
          branch: 'z9hG4bK-bye-before-ack-2',
          to: to,
          from: '<sip:raw@127.0.0.1>;tag=raw1',
          callId: 'bye-before-ack',
          cseq: 1,
        }),
        bob.address.port,
      );
      const bye = await peer.first('BYE ');
      peer.send(answerTo(bye, '200 OK', { tag: 'unused' }), bob.address.port);
      await hungUp;
    }));
});

describe('3xx responses to an INVITE (RFC 3261 §8.1.3.4)', () => {
  test("a 302 is followed to its Contact: a new INVITE with the same Call-ID, From and To, a higher CSeq, a new branch, the Contact URI's safe header fields", async () => {
    const alice = await agent('alice', 20);
    const [a, b] = [await rawPeer(), await rawPeer()];
    try {
      const call = alice.ua.call(`sip:bob@127.0.0.1:${a.port}`);
      const first = await a.first('INVITE ');
      // The Contact's header fields go in the new INVITE (§19.1.5), but not one that would forge it.
      const moved = answerTo(first, '302 Moved Temporarily', { tag: 'bob', port: b.port }).replace(
        `<sip:bob@127.0.0.1:${b.port}>`,
        `<sip:bob@127.0.0.1:${b.port}?Subject=Moved%20call&Call-ID=forged>`,
      );
      a.send(moved, alice.address.port);
      const second = await b.first('INVITE ');
      assert.ok(second.startsWith(`INVITE sip:bob@127.0.0.1:${b.port} SIP/2.0\r\n`), second.split('\r\n')[0]);
      assert.equal(headerOf(second, 'Subject'), 'Moved call', 'a URI header field taken');
      for (const name of ['Call-ID', 'From', 'To'])
        assert.equal(headerOf(second, name), headerOf(first, name), name);
      assert.equal(
        Number.parseInt(headerOf(second, 'CSeq'), 10),
        Number.parseInt(headerOf(first, 'CSeq'), 10) + 1,
      );
      assert.notEqual(headerOf(second, 'Via'), headerOf(first, 'Via'), 'a new branch');
      await a.waitFor((all) => all.some((m) => m.startsWith('ACK ')));
      b.send(
        answerTo(second, '200 OK', { tag: 'carol', port: b.port, body: sdp(30000) }),
        alice.address.port,
      );
      assert.equal((await call.answered).status, 200);
      await b.waitFor((all) => all.some((m) => m.startsWith('ACK ')));
      const hangup = call.hangup();
      await b.waitFor((all) => all.some((m) => m.startsWith('BYE ')));
      b.send(
        answerTo(b.got.find((m) => m.startsWith('BYE ')) as string, '200 OK', { tag: 'carol' }),
        alice.address.port,
      );
      await hangup;
    } finally {
      a.close();
      b.close();
      await alice.stack.stop();
    }
  });

  test('two targets redirecting to each other: each is tried once, and the call fails with the last 3xx', async () => {
    const alice = await agent('alice', 20);
    const [a, b] = [await rawPeer(), await rawPeer()];
    try {
      const call = alice.ua.call(`sip:bob@127.0.0.1:${a.port}`);
      const redirectTo = (from: typeof a, to: typeof a) =>
        from
          .waitFor((all) => all.some((m) => m.startsWith('INVITE ')))
          .then(() => {
            const inv = from.got.find((m) => m.startsWith('INVITE ')) as string;
            from.send(
              answerTo(inv, '302 Moved Temporarily', { tag: 'bob', port: to.port }),
              alice.address.port,
            );
          });
      await redirectTo(a, b);
      await redirectTo(b, a);
      await assert.rejects(call.answered, (e: Error & { status?: number }) => e.status === 302);
      assert.equal(a.got.filter((m) => m.startsWith('INVITE ')).length, 1, 'the first target once');
      assert.equal(b.got.filter((m) => m.startsWith('INVITE ')).length, 1, 'the second target once');
    } finally {
      a.close();
      b.close();
      await alice.stack.stop();
    }
  });

  test('with redirects: 0 a 302 ends the call', () =>
    callRawPeer(
      20,
      async ({ alice, peer, call, inv }) => {
        peer.send(
          answerTo(inv, '302 Moved Temporarily', { tag: 'bob', port: peer.port + 1 }),
          alice.address.port,
        );
        await assert.rejects(call.answered, (e: Error & { status?: number }) => e.status === 302);
      },
      undefined,
      { redirects: 0 },
    ));
});

describe('3xx to a SIPS request', () => {
  test('a SIPS INVITE is not redirected to a SIP URI (the caller asked for TLS all the way)', async () => {
    const alice = await agent('alice', 20);
    const [a, b] = [await rawPeer(), await rawPeer()];
    try {
      const call = alice.ua.call(`sips:bob@127.0.0.1:${a.port}`, { target: `udp:127.0.0.1:${a.port}` });
      const inv = await a.first('INVITE ');
      a.send(answerTo(inv, '302 Moved Temporarily', { tag: 'bob', port: b.port }), alice.address.port);
      await assert.rejects(call.answered, (e: Error & { status?: number }) => e.status === 302);
      assert.equal(b.got.length, 0, 'the SIP contact was not tried');
    } finally {
      a.close();
      b.close();
      await alice.stack.stop();
    }
  });
});
