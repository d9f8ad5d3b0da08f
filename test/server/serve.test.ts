import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeUser } from '../../src/cli/serve-commands.js';
import {
  newCallId,
  newTag,
  SipRequest,
  SipStack,
  type TransportAddress,
  UserAgent,
} from '../../src/index.js';
import { createLogger } from '../../src/server/log.js';
import { SipServer } from '../../src/server/server.js';
import { MemoryLocationStore, MemoryUserStore } from '../../src/server/store/memory.js';
import { assertNothingLeft, openHandles } from '../support/net.js';

async function server(
  options: {
    open?: boolean;
    minExpires?: number;
    guard?: object;
    maxServerTransactions?: number;
    maxServerTransactionBytes?: number;
  } = {},
) {
  const users = new MemoryUserStore();
  await users.put(makeUser('alice@example.test', 'secret'));
  await users.put(makeUser('bob@example.test', 'hunter2'));
  const location = new MemoryLocationStore();
  const s = new SipServer({
    listen: ['udp:127.0.0.1:0', 'tcp:127.0.0.1:0'],
    domains: ['example.test'],
    stores: { location, users },
    open: options.open,
    registrar: { minExpires: options.minExpires ?? 60, maxExpires: 7200 },
    auth: { guard: options.guard },
    logger: createLogger({ level: 'silent', pretty: false }),
    maxServerTransactions: options.maxServerTransactions,
    maxServerTransactionBytes: options.maxServerTransactionBytes,
  });
  const bound = await s.start();
  const udp = bound.find((b) => b.transport === 'udp') as TransportAddress;
  return { s, udp, location };
}

async function agent(user: string, password: string) {
  const stack = new SipStack({ listen: ['udp:127.0.0.1:0'] });
  await stack.start();
  const ua = new UserAgent(stack, { uri: `sip:${user}@example.test`, auth: { username: user, password } });
  return { stack, ua };
}

/** Sends one datagram and waits for the first final response. */
async function raw(port: number, text: (local: number) => string): Promise<string> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const local = s.address().port;
  const got = new Promise<string>((resolve) =>
    s.on('message', (m) => {
      const t = m.toString('latin1');
      if (!/^SIP\/2\.0 1\d\d /.test(t)) resolve(t);
    }),
  );
  s.send(Buffer.from(text(local), 'latin1'), port, '127.0.0.1');
  let timer: ReturnType<typeof setTimeout> | undefined;
  const out = await Promise.race([
    got,
    new Promise<string>((r) => (timer = setTimeout(() => r('(nothing)'), 3000))),
  ]);
  clearTimeout(timer);
  s.close();
  return out;
}

/** A UDP socket that sends requests to `port`; ask() waits for the next reply (3 s at most). */
async function asker(port: number) {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const replies: string[] = [];
  sock.on('message', (m) => replies.push(m.toString('latin1')));
  const ask = async (text: string): Promise<string> => {
    const n = replies.length;
    sock.send(Buffer.from(text, 'latin1'), port, '127.0.0.1');
    for (let i = 0; i < 300 && replies.length === n; i++) await new Promise((r) => setTimeout(r, 10));
    return replies[n] ?? '(nothing)';
  };
  return { sock, ask };
}

/** An OPTIONS for the server itself (answered 200 by the server). */
function options(local: number) {
  return [
    'OPTIONS sip:example.test SIP/2.0',
    `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bK-${Math.random().toString(36).slice(2)};rport`,
    'Max-Forwards: 70',
    'To: <sip:example.test>',
    'From: <sip:alice@example.test>;tag=o1',
    `Call-ID: options-${Math.random().toString(36).slice(2)}`,
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

function register(
  local: number,
  extra: string[],
  opts: { to?: string; expires?: string; contact?: string } = {},
) {
  return [
    'REGISTER sip:example.test SIP/2.0',
    `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bK-${Math.random().toString(36).slice(2)};rport`,
    'Max-Forwards: 70',
    `To: ${opts.to ?? '<sip:alice@example.test>'}`,
    'From: <sip:alice@example.test>;tag=r1',
    `Call-ID: raw-${Math.random().toString(36).slice(2)}`,
    'CSeq: 1 REGISTER',
    `Contact: ${opts.contact ?? `<sip:alice@127.0.0.1:${local}>`}`,
    ...(opts.expires !== undefined ? [`Expires: ${opts.expires}`] : []),
    ...extra,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

describe('sipwire serve: registrar with digest authentication', () => {
  let srv: Awaited<ReturnType<typeof server>>;
  before(async () => {
    srv = await server();
  });
  after(async () => {
    await srv.s.stop(0);
  });

  test('a user registers with SHA-256 digest, is listed with the remaining time, and unregisters', async () => {
    const { stack, ua } = await agent('alice', 'secret');
    try {
      const reg = ua.register({ target: `udp:127.0.0.1:${srv.udp.port}`, expires: 600 });
      const res = await reg.registered;
      assert.equal(res.status, 200, '200 OK');
      assert.match(res.get('Contact') ?? '', /;expires=(600|599)/, `remaining expiry: ${res.get('Contact')}`);
      assert.ok(res.has('Date'), 'Date header (§10.3 item 8)');
      const bound = await srv.location.lookup('sip:alice@example.test', Date.now());
      assert.equal(bound.length, 1, 'one binding stored');
      assert.equal(bound[0]?.flow?.transport, 'udp', 'flow remembered');
      await reg.stop();
      assert.equal((await srv.location.lookup('sip:alice@example.test', Date.now())).length, 0, 'removed');
    } finally {
      await stack.stop();
    }
  });

  test('alice may not register bob (403); a wrong password is 403; an unknown user gets the same answer', async () => {
    const { stack, ua } = await agent('alice', 'secret');
    const stack2 = await agent('mallory', 'x');
    const stack3 = await agent('bob', 'wrong');
    try {
      const asBob = ua.newRequest('REGISTER', `sip:example.test`);
      asBob.setHeader('To', '<sip:bob@example.test>');
      asBob.setHeader('Contact', '<sip:alice@127.0.0.1:9>');
      const { response } = await ua.send(asBob, { target: `udp:127.0.0.1:${srv.udp.port}` });
      assert.equal(response.status, 403, `alice registering bob: ${response.status} ${response.reason}`);
      const unknown = await stack2.ua
        .register({ target: `udp:127.0.0.1:${srv.udp.port}` })
        .registered.catch((e) => e);
      const wrong = await stack3.ua
        .register({ target: `udp:127.0.0.1:${srv.udp.port}` })
        .registered.catch((e) => e);
      assert.equal(unknown.status, 403, 'unknown user 403');
      assert.equal(wrong.status, 403, 'wrong password 403');
      assert.equal(unknown.reason, wrong.reason, 'the same reason: nothing tells whether the user exists');
    } finally {
      await stack.stop();
      await stack2.stack.stop();
      await stack3.stack.stop();
    }
  });

  test('bad input: foreign domain 404, non-SIP To 400, * without Expires 0 is 400, brief interval 423, huge Expires capped', async () => {
    const port = srv.udp.port;
    const foreign = await raw(port, (l) => register(l, [], { to: '<sip:alice@elsewhere.test>' }));
    assert.match(foreign, /^SIP\/2\.0 404 /, `foreign domain: ${foreign.split('\r\n')[0]}`);
    const tel = await raw(port, (l) => register(l, [], { to: '<tel:+15551234>' }));
    assert.match(tel, /^SIP\/2\.0 400 /, `tel: AOR: ${tel.split('\r\n')[0]}`);
    const star = await raw(port, (l) => register(l, [], { contact: '*', expires: '60' }));
    assert.match(star, /^SIP\/2\.0 400 /, `* with Expires 60: ${star.split('\r\n')[0]}`);
    const badContact = await raw(port, (l) => register(l, [], { contact: '<sip:alice@[::1>' }));
    assert.match(badContact, /^SIP\/2\.0 400 /, `malformed Contact: ${badContact.split('\r\n')[0]}`);

    const open = await server({ open: true, minExpires: 120 });
    try {
      const brief = await raw(open.udp.port, (l) => register(l, [], { expires: '30' }));
      assert.match(brief, /^SIP\/2\.0 423 /, `brief: ${brief.split('\r\n')[0]}`);
      assert.match(brief, /Min-Expires: 120/, 'Min-Expires');
      const huge = await raw(open.udp.port, (l) => register(l, [], { expires: '4294967295' }));
      assert.match(huge, /^SIP\/2\.0 200 /, `huge Expires accepted: ${huge.split('\r\n')[0]}`);
      assert.match(huge, /;expires=7200/, 'capped at the maximum');
      const wild = await raw(open.udp.port, (l) => register(l, [], { contact: '*', expires: '0' }));
      assert.match(wild, /^SIP\/2\.0 200 /, `* removes all: ${wild.split('\r\n')[0]}`);
      assert.equal(
        (await open.location.lookup('sip:alice@example.test', Date.now())).length,
        0,
        'all removed',
      );
    } finally {
      await open.s.stop(0);
    }
    // Still serving.
    const ping = await raw(port, (l) =>
      [
        'OPTIONS sip:example.test SIP/2.0',
        `Via: SIP/2.0/UDP 127.0.0.1:${l};branch=z9hG4bK-ping`,
        'Max-Forwards: 70',
        'To: <sip:example.test>',
        'From: <sip:alice@example.test>;tag=p',
        'Call-ID: ping-1',
        'CSeq: 1 OPTIONS',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    );
    assert.match(ping, /^SIP\/2\.0 200 /, 'the server still answers');
  });
});

describe('challenges', () => {
  test('challenges are stateless: no transaction stays, and a retransmission is challenged afresh', async () => {
    const srv = await server();
    const { sock, ask } = await asker(srv.udp.port);
    const nonceOf = (reply: string) => /nonce="([^"]+)"/.exec(reply)?.[1];
    try {
      const before = srv.s.snapshot()['transactions.servers'] as number;
      const request = register(sock.address().port, []);
      const first = await ask(request);
      assert.match(first, /^SIP\/2\.0 401 /, first);
      assert.equal(srv.s.snapshot()['transactions.servers'], before, 'the 401 left no transaction behind');
      const second = await ask(request);
      assert.match(second, /^SIP\/2\.0 401 /, second);
      assert.ok(nonceOf(first) !== undefined, 'a nonce');
      assert.notEqual(
        nonceOf(second),
        nonceOf(first),
        'the retransmission got a new challenge, not the old 401',
      );
    } finally {
      sock.close();
      await srv.s.stop(0);
    }
  });
});

describe('replayed credentials', () => {
  test('credentials sent again with the same nonce count are refused, not registered', async () => {
    const srv = await server();
    try {
      const { DigestClient, chooseChallenge } = await import('../../src/auth/digest.js');
      const { parseMessage } = await import('../../src/index.js');
      const first = await raw(srv.udp.port, (l) => register(l, []));
      assert.match(first, /^SIP\/2\.0 401 /, 'challenged');
      const res = parseMessage(first);
      const challenges = res.fields('WWW-Authenticate').map((f) => res.parseField(f));
      const client = new DigestClient({ username: 'alice', password: 'secret' });
      const creds = client.authorize(chooseChallenge(challenges as never) as never, {
        method: 'REGISTER',
        uri: 'sip:example.test',
      });
      const withCreds = (l: number) => register(l, [`Authorization: ${creds.toString()}`]);
      assert.match(await raw(srv.udp.port, withCreds), /^SIP\/2\.0 200 /, 'accepted once');
      const again = await raw(srv.udp.port, withCreds);
      assert.doesNotMatch(again, /^SIP\/2\.0 200 /, `the replay is not accepted: ${again.split('\r\n')[0]}`);
      assert.match(again, /^SIP\/2\.0 (401|403) /, 'refused with a challenge or 403');
    } finally {
      await srv.s.stop(0);
    }
  });
});

describe('guessing protection', () => {
  test('after repeated failures from one address the server refuses for a while, whoever asks', async () => {
    const srv = await server({ guard: { delayAfter: 2, lockAfter: 4, maxDelayMs: 20 } });
    const bad = await agent('bob', 'wrong');
    const good = await agent('alice', 'secret');
    try {
      for (let i = 0; i < 4; i++)
        await bad.ua.register({ target: `udp:127.0.0.1:${srv.udp.port}` }).registered.catch(() => {});
      const refused = await good.ua
        .register({ target: `udp:127.0.0.1:${srv.udp.port}` })
        .registered.catch((e) => e);
      assert.equal(refused.status, 403, 'the address is locked out: even good credentials are refused');
      assert.ok(srv.s.stats.refused >= 4, `refusals counted: ${srv.s.stats.refused}`);
    } finally {
      await bad.stack.stop();
      await good.stack.stop();
      await srv.s.stop(0);
    }
  });
});

describe('overload', () => {
  test('past the transaction limit a new request is answered 503 with Retry-After; a retransmission still gets its answer', async () => {
    const srv = await server({ maxServerTransactions: 2 });
    const { sock, ask } = await asker(srv.udp.port);
    const local = sock.address().port;
    try {
      const first = options(local);
      assert.match(await ask(first), /^SIP\/2\.0 200 /);
      assert.match(await ask(options(local)), /^SIP\/2\.0 200 /);
      // Both transactions linger (Timer J), so the table is full.
      const refused = await ask(options(local));
      assert.match(refused, /^SIP\/2\.0 503 Service Unavailable\r\n/, refused);
      assert.match(refused, /\r\nRetry-After: 5\r\n/, refused);
      assert.match(refused, /\r\nCSeq: 1 OPTIONS\r\n/, 'the 503 answers that request');
      assert.equal(srv.s.snapshot()['messages.overloaded'], 1);
      assert.equal(srv.s.snapshot()['transactions.servers'], 2, 'the refused request made no transaction');
      // The first OPTIONS sent again is a retransmission: its transaction answers 200 again.
      const again = await ask(first);
      assert.match(again, /^SIP\/2\.0 200 /, again);
      assert.equal(srv.s.snapshot()['messages.overloaded'], 1);
    } finally {
      sock.close();
      await srv.s.stop(0);
    }
  });
});

describe('overload by size', () => {
  test('past the bytes of requests transactions may hold, a large request is answered 503 and a small one still served', async () => {
    const srv = await server({ maxServerTransactionBytes: 40_000 });
    const { sock, ask } = await asker(srv.udp.port);
    const local = sock.address().port;
    const large = () =>
      options(local).replace('Content-Length: 0', `X-Padding: ${'p'.repeat(7000)}\r\nContent-Length: 0`);
    try {
      for (let i = 0; i < 5; i++)
        assert.match(await ask(large()), /^SIP\/2\.0 200 /, `large request ${i + 1} fits`);
      const held = srv.s.snapshot()['transactions.heldBytes'] as number;
      assert.ok(held > 35_000 && held <= 40_000, `five large requests held: ${held} bytes`);
      const refused = await ask(large());
      assert.match(refused, /^SIP\/2\.0 503 Service Unavailable\r\n/, refused);
      assert.match(refused, /\r\nRetry-After: 5\r\n/, refused);
      assert.equal(srv.s.snapshot()['messages.overloaded'], 1);
      assert.equal(srv.s.snapshot()['transactions.servers'], 5, 'the refused request made no transaction');
      assert.match(await ask(options(local)), /^SIP\/2\.0 200 /, 'a small request still fits');
    } finally {
      sock.close();
      await srv.s.stop(0);
    }
  });
});

describe('sipwire serve: counters', () => {
  test('on its SQLite store the server counts group commits and the writes they held', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sipwire-counters-'));
    const s = new SipServer({
      listen: ['udp:127.0.0.1:0'],
      db: join(dir, 'sipwire.db'),
      open: true,
      domains: ['example.test'],
      logger: createLogger({ level: 'silent', pretty: false }),
    });
    const bound = await s.start();
    try {
      const port = (bound[0] as TransportAddress).port;
      assert.equal(s.snapshot()['store.writes'], 0, 'nothing written yet');
      const reply = await raw(port, (local) => register(local, []));
      assert.match(reply, /^SIP\/2\.0 200 OK\r\n/, reply);
      assert.equal(s.snapshot()['store.writes'], 1, 'the binding was one write');
      assert.equal(s.snapshot()['store.commits'], 1, 'in one commit');
    } finally {
      await s.stop(0);
      rmSync(dir, { recursive: true, force: true });
    }
    const memory = await server();
    try {
      assert.equal(memory.s.snapshot()['store.commits'], undefined, 'a store without commits has no counter');
    } finally {
      await memory.s.stop(0);
    }
  });
});

describe('sipwire serve: stop', () => {
  test('on its SQLite store, after a registration over UDP and an OPTIONS over TCP, stop() leaves no socket or timer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sipwire-stop-'));
    const before = await openHandles();
    const s = new SipServer({
      listen: ['udp:127.0.0.1:0', 'tcp:127.0.0.1:0'],
      db: join(dir, 'sipwire.db'),
      open: true,
      domains: ['example.test'],
      logger: createLogger({ level: 'silent', pretty: false }),
    });
    try {
      const bound = await s.start();
      const udp = bound.find((b) => b.transport === 'udp') as TransportAddress;
      const tcp = bound.find((b) => b.transport === 'tcp') as TransportAddress;
      const reply = await raw(udp.port, (local) => register(local, []));
      assert.match(reply, /^SIP\/2\.0 200 OK\r\n/, reply);
      const ua = new SipStack({ listen: ['tcp:127.0.0.1:0'] });
      await ua.start();
      try {
        const out = await ua.request(
          new SipRequest({
            method: 'OPTIONS',
            uri: `sip:example.test`,
            headers: [
              ['Max-Forwards', 70],
              ['To', '<sip:example.test>'],
              ['From', `<sip:probe@127.0.0.1>;tag=${newTag()}`],
              ['Call-ID', newCallId('127.0.0.1')],
              ['CSeq', '1 OPTIONS'],
            ],
          }),
          { target: `tcp:127.0.0.1:${tcp.port}` },
        );
        assert.equal((await out.final).status, 200, 'OPTIONS over TCP answered');
      } finally {
        await ua.stop();
      }
      const busy = await openHandles();
      assert.ok(
        busy.UDPWrap > before.UDPWrap && busy.TCPServerWrap > before.TCPServerWrap,
        JSON.stringify(busy),
      );
    } finally {
      await s.stop(0);
      rmSync(dir, { recursive: true, force: true });
    }
    await assertNothingLeft(before, 'sipwire serve stopped');
  });
});
