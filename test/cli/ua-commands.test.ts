import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { main } from '../../src/cli/main.js';
import { type AuthHeader, DigestServer, SipStack, type TransportAddress } from '../../src/index.js';
import { agent } from '../support/agents.js';
import { freePort } from '../support/net.js';

async function run(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    args,
    (s) => out.push(s),
    (s) => err.push(s),
  );
  return { code, out, err };
}

describe('sipwire options / register / call (in process)', () => {
  test('options prints the status and round trip; exit 0; a silent peer is exit 1', async () => {
    const stack = new SipStack({ listen: ['udp:127.0.0.1:0'] });
    const [a] = (await stack.start()) as [TransportAddress];
    stack.onRequest((i) => i.respond(200, 'OK', { headers: [['Server', 'test-peer']] }));
    try {
      const r = await run(['options', `sip:127.0.0.1:${a.port}`, '--count', '2', '--interval', '0']);
      assert.equal(r.code, 0, r.err.join('\n'));
      assert.equal(r.out.length, 2, `two pings: ${r.out.join('\n')}`);
      assert.match(
        r.out[0] ?? '',
        /^200 OK from sip:127\.0\.0\.1:\d+ in [\d.]+ ms \(test-peer\)$/,
        'line format',
      );
    } finally {
      await stack.stop();
    }
    const silent = await run(['options', 'sip:127.0.0.1:9', '--timeout', '0.3']);
    assert.equal(silent.code, 1, 'no answer is exit 1');
    assert.match(silent.err.join('\n'), /no answer/, silent.err.join('\n'));
  });

  test('register --once: challenged, registered, unregistered; exit 0', async () => {
    const stack = new SipStack({ listen: ['udp:127.0.0.1:0'], role: 'registrar' });
    const [a] = (await stack.start()) as [TransportAddress];
    const digest = new DigestServer({ realm: 'example.org' });
    const expires: string[] = [];
    stack.onRequest((incoming) => {
      const req = incoming.request;
      const creds = digest.credentialsFor(
        req.fields('Authorization').map((f) => req.parseField(f) as AuthHeader),
      );
      if (
        creds === undefined ||
        !digest.verify(creds, { method: 'REGISTER', uri: req.uriRaw }, () => ({ password: 'pw' })).ok
      ) {
        incoming.respond(401, 'Unauthorized', {
          headers: digest.challenge().map((c) => ['WWW-Authenticate', c] as const),
        });
        return;
      }
      expires.push(req.get('Expires') ?? '');
      incoming.respond(200, 'OK', {
        headers: [['Contact', `${req.get('Contact')};expires=${req.get('Expires')}`]],
      });
    });
    try {
      const r = await run([
        'register',
        'sip:alice@example.org',
        '--registrar',
        `sip:127.0.0.1:${a.port}`,
        '--auth',
        'alice:pw',
        '--expires',
        '300',
        '--once',
      ]);
      assert.equal(r.code, 0, r.err.join('\n'));
      assert.ok(
        r.out.some((l) => l === 'registered sip:alice@example.org for 300 s'),
        r.out.join('\n'),
      );
      assert.ok(
        r.out.some((l) => l === 'unregistered sip:alice@example.org'),
        r.out.join('\n'),
      );
      assert.deepEqual(expires, ['300', '0'], 'registered, then removed');
    } finally {
      await stack.stop();
    }
  });

  test('call --transfer-to refers the callee to a third party and prints its reports; answer --transfers carries one out', async () => {
    const carol = await agent('carol');
    carol.ua.onCall((c) => {
      void c.answer().then(() => setTimeout(() => void c.hangup(), 300));
    });
    const answerPort = await freePort();
    try {
      // sipwire answer takes one call, carries out its transfer to Carol, then ends.
      const answering = run([
        'answer',
        '--listen',
        `udp:127.0.0.1:${answerPort}`,
        '--transfers',
        '--calls',
        '1',
      ]);
      await new Promise((r) => setTimeout(r, 300));
      const calling = await run([
        'call',
        `sip:bob@127.0.0.1:${answerPort}`,
        '--transfer-to',
        carol.uri,
        '--transfer-after',
        '0.2',
      ]);
      assert.equal(calling.code, 0, calling.err.join('\n'));
      const said = calling.out.join('\n');
      assert.match(said, /--> REFER sip:answer@127\.0\.0\.1:\d+ /, said);
      assert.match(said, /^ {10}transfer: 100 Trying$/m, said);
      assert.match(said, /^ {10}transfer: 200 OK$/m, said);
      assert.match(said, /^call ended: hung up after the transfer/m, said);
      const answered = await answering;
      assert.equal(answered.code, 0, answered.err.join('\n'));
      const told = answered.out.join('\n');
      assert.match(
        told,
        new RegExp(`^ {10}transfer to sip:carol@127\\.0\\.0\\.1:${carol.address.port}$`, 'm'),
        told,
      );
      assert.match(told, /^ {10}transferred call answered$/m, told);
      assert.match(told, /^ {10}transferred call ended by the callee \(BYE\)$/m, told);
    } finally {
      await carol.stack.stop();
    }
  });

  test('without --transfers, answer declines a REFER with 603 and call --transfer-to exits 1', async () => {
    const answerPort = await freePort();
    const answering = run(['answer', '--listen', `udp:127.0.0.1:${answerPort}`, '--calls', '1']);
    await new Promise((r) => setTimeout(r, 300));
    const calling = await run([
      'call',
      `sip:bob@127.0.0.1:${answerPort}`,
      '--transfer-to',
      'sip:carol@127.0.0.1:9',
      '--transfer-after',
      '0.1',
    ]);
    assert.equal(calling.code, 1);
    assert.match(
      calling.err.join('\n'),
      /^transfer failed: REFER answered 603 Decline$/m,
      calling.err.join('\n'),
    );
    const told = (await answering).out.join('\n');
    assert.match(told, /transfer to sip:carol@127\.0\.0\.1:9 declined/, told);
  });

  test('usage mistakes are exit 2 with the reason', async () => {
    assert.equal((await run(['call'])).code, 2, 'no URI');
    const bad = await run(['call', 'sip:x@127.0.0.1', '--transport', 'carrier-pigeon']);
    assert.equal(bad.code, 2, 'bad transport');
    assert.match(bad.err.join('\n'), /--transport must be/, bad.err.join('\n'));
    assert.equal((await run(['register', 'sip:a@b.c', '--auth', 'nopassword'])).code, 2, 'bad --auth');
    assert.equal((await run(['answer', '--reject', '200'])).code, 2, 'bad --reject');
    assert.equal((await run(['options', 'mailto:a@b.c'])).code, 2, 'not a SIP URI');
  });
});
