import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SipStack } from '../../src/index.js';
import { run } from '../support/net.js';

// The STUN keep-alive answer of sipwire's UDP ports (RFC 5626 §8) against a
// STUN client written elsewhere: Debian's stun-client 0.97, an RFC 3489 client,
// which sipwire answers with MAPPED-ADDRESS (RFC 5389 §12.2). Its test 1 is a
// plain Binding Request; the client prints the address it was seen from.

describe('stun-client interop', () => {
  test('stun-client reads its own address and port from a sipwire UDP port', async () => {
    const stack = new SipStack({ listen: ['udp:127.0.0.1:0'], role: 'endpoint' });
    const [bound] = await stack.start();
    try {
      const r = await run('stun', [`127.0.0.1:${(bound as { port: number }).port}`, '1', '-v'], {
        timeoutMs: 20_000,
      });
      const opened = /Opened port (\d+)/.exec(r.output)?.[1];
      assert.ok(opened !== undefined, `stun said which port it used:\n${r.output}`);
      assert.match(r.output, new RegExp(`MappedAddress = 127\\.0\\.0\\.1:${opened}\\b`), r.output);
      assert.equal(stack.transports.stats.stunBindings, 1, 'one Binding Request answered');
    } finally {
      await stack.stop();
    }
  });
});
