import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { makeUser } from '../../src/cli/serve-commands.js';
import { SipStack, type TransportAddress, UserAgent } from '../../src/index.js';
import { SipServer } from '../../src/server/server.js';
import { MemoryLocationStore, MemoryUserStore } from '../../src/server/store/memory.js';

test('sipwire serve logs a line of counters on a timer: registrations, challenges, calls proxied, transactions', async () => {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l));
      done();
    },
  });
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
      if (stats !== undefined && (stats.registered as number) >= 1) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(stats !== undefined, 'a stats line was logged');
    assert.equal(stats.registered, 1, 'one registration');
    assert.ok((stats.challenged as number) >= 2, 'the REGISTER and the INVITE were challenged');
    assert.equal(typeof stats['transactions.servers'], 'number', 'live transactions are counted');
    assert.equal(stats['messages.internalErrors'], 0, 'no internal error');
  } finally {
    await stack.stop();
    await server.stop(0);
  }
});
