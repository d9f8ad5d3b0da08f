import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import {
  type AuthHeader,
  DigestServer,
  type IncomingCall,
  type IncomingRequest,
  SipStack,
  type TransportAddress,
  UserAgent,
} from '../../src/index.js';
import { withEscapedErrors } from '../support/escaped.js';

/** A small registrar for the test: challenges with digest, records what it got. */
async function testRegistrar(options: { minExpires?: number; algorithms?: Array<'MD5' | 'SHA-256'> } = {}) {
  const stack = new SipStack({ listen: ['udp:127.0.0.1:0'], role: 'registrar' });
  const [addr] = (await stack.start()) as [TransportAddress];
  const digest = new DigestServer({
    realm: 'example.org',
    algorithms: options.algorithms ?? ['SHA-256', 'MD5'],
  });
  const seen: IncomingRequest[] = [];
  const verdicts: string[] = [];
  stack.onRequest((incoming) => {
    seen.push(incoming);
    const req = incoming.request;
    const values = req.fields('Authorization').map((f) => req.parseField(f) as AuthHeader);
    const creds = digest.credentialsFor(values);
    if (creds === undefined) {
      incoming.respond(401, 'Unauthorized', {
        headers: digest.challenge().map((c) => ['WWW-Authenticate', c] as const),
      });
      return;
    }
    const v = digest.verify(creds, { method: req.method, uri: req.uriRaw }, (user) =>
      user === 'alice' ? { password: 's3cret' } : undefined,
    );
    verdicts.push(v.ok ? `ok ${v.username}` : v.reason);
    if (!v.ok) {
      incoming.respond(403, 'Forbidden');
      return;
    }
    const expires = Number(req.get('Expires') ?? '3600');
    if (options.minExpires !== undefined && expires > 0 && expires < options.minExpires) {
      incoming.respond(423, 'Interval Too Brief', { headers: [['Min-Expires', options.minExpires]] });
      return;
    }
    const contact = req.get('Contact') ?? '';
    incoming.respond(200, 'OK', {
      headers: expires === 0 ? [] : [['Contact', `${contact};expires=${Math.min(expires, 120)}`]],
    });
  });
  return { stack, addr, seen, verdicts };
}

describe('registration with digest authentication', () => {
  test('REGISTER is challenged, answered with SHA-256 credentials, refreshed CSeq, removed on stop', async () => {
    const reg = await testRegistrar();
    const stack = new SipStack({ listen: ['udp:127.0.0.1:0'] });
    await stack.start();
    const ua = new UserAgent(stack, {
      uri: 'sip:alice@example.org',
      auth: { username: 'alice', password: 's3cret' },
    });
    try {
      const r = ua.register({
        target: `udp:127.0.0.1:${reg.addr.port}`,
        expires: 600,
        instanceId: 'urn:uuid:00000000-0000-1000-8000-000a95a0e128',
        regId: 1,
      });
      const [granted] = (await once(r, 'registered')) as [number];
      assert.equal(granted, 120, 'the registrar granted 120 s in the Contact expires');
      assert.equal(r.state, 'registered', 'state');
      assert.deepEqual(reg.verdicts, ['ok alice'], 'credentials accepted');
      const [first, second] = reg.seen.map((s) => s.request);
      assert.equal(first?.callId, second?.callId, 'one Call-ID');
      assert.equal((second?.cseq?.seq ?? 0) - (first?.cseq?.seq ?? 0), 1, 'CSeq grows by one');
      assert.match(
        second?.get('Authorization') ?? '',
        /algorithm=SHA-256/,
        'the stronger algorithm was chosen',
      );
      assert.equal(second?.to?.uri.toString(), 'sip:alice@example.org', 'To is the AOR');
      const contact = second?.contact[0];
      assert.equal(
        contact?.params.get('+sip.instance'),
        '<urn:uuid:00000000-0000-1000-8000-000a95a0e128>',
        'RFC 5626 instance id (a quoted parameter, read unquoted)',
      );
      assert.equal(contact?.params.get('reg-id'), '1', 'reg-id');
      assert.match(second?.get('Contact') ?? '', /\+sip\.instance="<urn:uuid:/, 'written quoted');
      await r.stop();
      const last = reg.seen.at(-1)?.request;
      assert.equal(last?.get('Expires'), '0', 'unregister with Expires 0');
      assert.equal(r.state, 'stopped', 'stopped');
    } finally {
      await stack.stop();
      await reg.stack.stop();
    }
  });

  test('423 Interval Too Brief is answered with the Min-Expires asked for', async () => {
    const reg = await testRegistrar({ minExpires: 300 });
    const stack = new SipStack({ listen: ['udp:127.0.0.1:0'] });
    await stack.start();
    const ua = new UserAgent(stack, {
      uri: 'sip:alice@example.org',
      auth: { username: 'alice', password: 's3cret' },
    });
    try {
      const r = ua.register({ target: `udp:127.0.0.1:${reg.addr.port}`, expires: 60 });
      await r.registered;
      const asked = reg.seen.map((s) => s.request.get('Expires'));
      assert.equal(asked.at(-1), '300', `retried with Min-Expires: ${asked.join(', ')}`);
      await r.stop();
    } finally {
      await stack.stop();
      await reg.stack.stop();
    }
  });

  test('a registrar granting 2^32-1 seconds gets one REGISTER, not a refresh loop (timers keep at most 2^31-1 ms)', async () => {
    const registrar = new SipStack({ listen: ['udp:127.0.0.1:0'], role: 'registrar' });
    const [addr] = (await registrar.start()) as [TransportAddress];
    let registers = 0;
    registrar.onRequest((incoming) => {
      registers++;
      incoming.respond(200, 'OK', {
        headers: [['Contact', `${incoming.request.get('Contact')};expires=4294967295`]],
      });
    });
    const stack = new SipStack({ listen: ['udp:127.0.0.1:0'] });
    await stack.start();
    const ua = new UserAgent(stack, { uri: 'sip:alice@example.org' });
    try {
      const r = ua.register({ target: `udp:127.0.0.1:${addr.port}` });
      const [granted] = (await once(r, 'registered')) as [number];
      assert.equal(granted, 4294967295);
      await new Promise((res) => setTimeout(res, 300));
      assert.equal(registers, 1, 'no refresh before its time');
      await r.stop();
    } finally {
      await stack.stop();
      await registrar.stop();
    }
  });

  test('stop() while a REGISTER is out: once it is answered, the binding it made is removed and nothing is refreshed', async () => {
    const registrar = new SipStack({ listen: ['udp:127.0.0.1:0'], role: 'registrar' });
    const [addr] = (await registrar.start()) as [TransportAddress];
    const asked: string[] = [];
    let held: (() => void) | undefined;
    registrar.onRequest((incoming) => {
      const expires = incoming.request.get('Expires') ?? '';
      asked.push(expires);
      const answer = () =>
        incoming.respond(200, 'OK', {
          headers: expires === '0' ? [] : [['Contact', `${incoming.request.get('Contact')};expires=1`]],
        });
      // The first REGISTER is answered only once stop() has been called.
      if (asked.length === 1) held = answer;
      else answer();
    });
    const stack = new SipStack({ listen: ['udp:127.0.0.1:0'] });
    await stack.start();
    const ua = new UserAgent(stack, { uri: 'sip:alice@example.org' });
    try {
      const r = ua.register({ target: `udp:127.0.0.1:${addr.port}`, expires: 1 });
      while (held === undefined) await new Promise((res) => setTimeout(res, 10));
      const stopped = r.stop();
      held();
      await stopped;
      assert.equal(r.state, 'stopped');
      assert.deepEqual(asked, ['1', '0'], 'the binding made after stop() is removed');
      // A granted second would have been refreshed by now.
      await new Promise((res) => setTimeout(res, 1500));
      assert.deepEqual(asked, ['1', '0'], 'no refresh after stop()');
      assert.equal(r.state, 'stopped');
    } finally {
      await stack.stop();
      await registrar.stop();
    }
  });

  test('listeners that throw: the error goes to the process, the REGISTER outcome stands and refreshing goes on', () =>
    withEscapedErrors(async (escaped) => {
      const registrar = new SipStack({ listen: ['udp:127.0.0.1:0'], role: 'registrar' });
      const [addr] = (await registrar.start()) as [TransportAddress];
      let registers = 0;
      registrar.onRequest((incoming) => {
        registers++;
        // The first is refused; later ones are granted one second.
        if (registers === 1) incoming.respond(503, 'Service Unavailable');
        else
          incoming.respond(200, 'OK', {
            headers: [['Contact', `${incoming.request.get('Contact')};expires=1`]],
          });
      });
      const stack = new SipStack({ listen: ['udp:127.0.0.1:0'] });
      await stack.start();
      const ua = new UserAgent(stack, { uri: 'sip:alice@example.org' });
      try {
        const target = `udp:127.0.0.1:${addr.port}`;
        const failing = ua.register({ target });
        failing.on('failed', () => {
          throw new Error('a bug in the failed listener');
        });
        await assert.rejects(
          failing.registered,
          (e: unknown) => (e as { status: number }).status === 503,
          'the failure, not the listener error',
        );
        await failing.stop();
        const r = ua.register({ target });
        let heard = 0;
        r.on('registered', () => {
          heard++;
          throw new Error('a bug in the registered listener');
        });
        assert.equal((await r.registered).status, 200, 'the 2xx, not the listener error');
        const deadline = Date.now() + 5000;
        while (heard < 2 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
        assert.equal(heard, 2, 'refreshed after the granted second');
        await r.stop();
        await new Promise((res) => setTimeout(res, 10));
        assert.deepEqual(
          escaped.map((e) => (e as Error).message),
          [
            'a bug in the failed listener',
            'a bug in the registered listener',
            'a bug in the registered listener',
          ],
        );
      } finally {
        await stack.stop();
        await registrar.stop();
      }
    }));

  test('a wrong password ends in a failure with the status, after a bounded number of attempts', async () => {
    const reg = await testRegistrar({ algorithms: ['MD5'] });
    const stack = new SipStack({ listen: ['udp:127.0.0.1:0'] });
    await stack.start();
    const ua = new UserAgent(stack, {
      uri: 'sip:alice@example.org',
      auth: { username: 'alice', password: 'wrong' },
    });
    try {
      const r = ua.register({ target: `udp:127.0.0.1:${reg.addr.port}` });
      await assert.rejects(r.registered, (e: unknown) => (e as { status: number }).status === 403, '403');
      assert.deepEqual(reg.verdicts, ['bad-response'], 'the registrar saw a wrong digest');
      assert.ok(reg.seen.length <= 3, `bounded attempts: ${reg.seen.length}`);
      await r.stop();
    } finally {
      await stack.stop();
      await reg.stack.stop();
    }
  });

  test('an INVITE challenged with 407 goes again with Proxy-Authorization and a new CSeq', async () => {
    const proxyStack = new SipStack({ listen: ['udp:127.0.0.1:0'] });
    const [paddr] = (await proxyStack.start()) as [TransportAddress];
    const digest = new DigestServer({ realm: 'proxy.example.org', algorithms: ['MD5'] });
    const callee = new UserAgent(proxyStack, { uri: 'sip:bob@example.net' });
    // Challenge every INVITE without valid Proxy-Authorization, then let the agent answer it.
    const seen: string[] = [];
    const handler = (proxyStack as unknown as { requestHandler: (i: IncomingRequest) => void })
      .requestHandler;
    proxyStack.onRequest((incoming) => {
      const req = incoming.request;
      if (req.method === 'INVITE' && req.to?.tag === undefined) {
        const values = req.fields('Proxy-Authorization').map((f) => req.parseField(f) as AuthHeader);
        const creds = digest.credentialsFor(values);
        const ok =
          creds !== undefined &&
          digest.verify(creds, { method: 'INVITE', uri: req.uriRaw }, () => ({ password: 'pw' })).ok;
        seen.push(`${req.cseq?.seq} ${ok ? 'ok' : 'challenge'}`);
        if (!ok) {
          incoming.respond(407, 'Proxy Authentication Required', {
            headers: digest.challenge().map((c) => ['Proxy-Authenticate', c] as const),
          });
          return;
        }
      }
      handler(incoming);
    });
    callee.onCall((c: IncomingCall) => void c.answer());
    const stack = new SipStack({ listen: ['udp:127.0.0.1:0'] });
    await stack.start();
    const ua = new UserAgent(stack, {
      uri: 'sip:alice@example.org',
      auth: { username: 'alice', password: 'pw' },
    });
    try {
      const call = ua.call(`sip:bob@127.0.0.1:${paddr.port}`);
      assert.equal((await call.answered).status, 200, 'answered after the challenge');
      assert.deepEqual(seen, ['1 challenge', '2 ok'], 'challenged once, then accepted with CSeq 2');
      await call.hangup();
    } finally {
      await stack.stop();
      await proxyStack.stop();
    }
  });
});
