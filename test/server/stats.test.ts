import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { makeUser } from '../../src/cli/serve-commands.js';
import { SipStack, type TransportAddress, UserAgent } from '../../src/index.js';
import { SipServer } from '../../src/server/server.js';
import { MemoryLocationStore, MemoryUserStore } from '../../src/server/store/memory.js';

/** A stream for a pino logger, and the log lines written to it, parsed. */
function logSink() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l));
      done();
    },
  });
  return { lines, sink };
}

test('sipwire serve logs a line of counters on a timer: registrations, challenges, calls proxied, transactions', async () => {
  const { lines, sink } = logSink();
  const users = new MemoryUserStore();
  await users.put(makeUser('alice@example.test', 'secret'));
  const server = new SipServer({
    listen: ['udp:127.0.0.1:0'],
    domains: ['example.test'],
    stores: { location: new MemoryLocationStore(), users },
    logger: pino({ level: 'info' }, sink),
    statsIntervalMs: 100,
  });
  const [udp] = (await server.start()) as [TransportAddress];
  const stack = new SipStack({ listen: ['udp:127.0.0.1:0'], role: 'endpoint' });
  await stack.start();
  try {
    const ua = new UserAgent(stack, {
      uri: 'sip:alice@example.test',
      auth: { username: 'alice', password: 'secret' },
    });
    await ua.register({ target: `udp:127.0.0.1:${udp.port}`, expires: 300 }).registered;
    const call = ua.call('sip:nobody@example.test', { target: `udp:127.0.0.1:${udp.port}` });
    await assert.rejects(call.answered, (e: unknown) => (e as { status: number }).status === 404, '404');
    const until = Date.now() + 3000;
    let stats: Record<string, unknown> | undefined;
    while (Date.now() < until) {
      stats = lines.filter((l) => l.msg === 'stats').at(-1);
      // A line logged between the registration and the INVITE counts one challenge: wait for a later one.
      if (stats !== undefined && (stats.registered as number) >= 1 && (stats.challenged as number) >= 2)
        break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(stats !== undefined, 'a stats line was logged');
    assert.equal(stats.registered, 1, 'one registration');
    assert.ok((stats.challenged as number) >= 2, 'the REGISTER and the INVITE were challenged');
    assert.equal(typeof stats['transactions.servers'], 'number', 'live transactions are counted');
    assert.deepEqual(
      [stats['dns.asked'], stats['dns.pending'], stats['dns.refused']],
      [0, 0, 0],
      'DNS questions are counted (none here: every address is numeric)',
    );
    assert.equal(stats['messages.internalErrors'], 0, 'no internal error');
  } finally {
    await stack.stop();
    await server.stop(0);
  }
});

/**
 * A server whose overload limits are set by `extra`, a UDP socket to talk to
 * it, and OPTIONS requests to send in one go; the replies and log lines are
 * collected.
 */
async function overloadSetup(extra: {
  maxServerTransactions?: number;
  intake?: { burst: number; maxQueued: number };
}) {
  const { lines, sink } = logSink();
  const server = new SipServer({
    listen: ['udp:127.0.0.1:0'],
    domains: ['example.test'],
    stores: { location: new MemoryLocationStore(), users: new MemoryUserStore() },
    open: true,
    logger: pino({ level: 'info' }, sink),
    statsIntervalMs: 0,
    routeTimeoutMs: 200,
    ...extra,
  });
  const [udp] = (await server.start()) as [TransportAddress];
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const replies: string[] = [];
  sock.on('message', (m) => replies.push(m.toString('latin1')));
  const send = (ns: number[]) => {
    for (const n of ns) {
      const options = [
        `OPTIONS sip:127.0.0.1:${udp.port} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${sock.address().port};branch=z9hG4bK-load-${n};rport`,
        'Max-Forwards: 70',
        `To: <sip:127.0.0.1:${udp.port}>`,
        'From: <sip:tester@example.test>;tag=f1',
        `Call-ID: load-${n}@127.0.0.1`,
        `CSeq: ${n} OPTIONS`,
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      sock.send(Buffer.from(options, 'latin1'), udp.port, '127.0.0.1');
    }
  };
  /** The first log line with this message, waited for up to 5 s. */
  const logged = async (msg: string) => {
    const until = Date.now() + 5000;
    let line = lines.find((l) => l.msg === msg);
    while (line === undefined && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 50));
      line = lines.find((l) => l.msg === msg);
    }
    return line;
  };
  const close = async () => {
    sock.close();
    await server.stop(0);
  };
  return { server, lines, replies, send, logged, close };
}

test('a full transaction table is logged as a warning with the refusals, the limit and the live count', async () => {
  const { lines, replies, send, logged, close } = await overloadSetup({ maxServerTransactions: 1 });
  const full = 'transaction table full: new requests answered 503';
  try {
    send([1, 2, 3]);
    const warning = await logged(full);
    assert.ok(
      warning !== undefined,
      `a warning was logged; replies: ${replies.map((r) => r.split('\r\n')[0])}`,
    );
    assert.equal(warning.level, 40, 'at warn level');
    assert.equal(warning.refused, 2, 'the two refused requests');
    assert.equal(warning.limit, 1);
    assert.equal(warning.serverTransactions, 1);
    assert.equal(replies.filter((r) => r.startsWith('SIP/2.0 503 ')).length, 2, 'both answered 503');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(lines.filter((l) => l.msg === full).length, 1, 'logged once while nothing more is refused');
  } finally {
    await close();
  }
});

test('messages dropped because too many were waiting are logged as a warning with the count', async () => {
  const { server, replies, send, logged, close } = await overloadSetup({
    intake: { burst: 1, maxQueued: 1 },
  });
  try {
    // Five written in one go: the first handled at once, one queued, three dropped.
    send([1, 2, 3, 4, 5]);
    const warning = await logged('too many messages waiting: new arrivals dropped unread');
    assert.ok(warning !== undefined, `a warning was logged; replies: ${replies.length}`);
    assert.equal(warning.level, 40, 'at warn level');
    assert.equal(warning.dropped, 3);
    assert.equal(warning.deferred, 1);
    assert.equal(server.stack.stats.shed, 3);
    assert.equal(replies.filter((r) => r.startsWith('SIP/2.0 200 ')).length, 2, 'the two read were answered');
  } finally {
    await close();
  }
});
