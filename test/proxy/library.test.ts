import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProxyCore, SipStack, type SipUri, type TransportAddress, UserAgent } from '../../src/index.js';

// The proxy core used as a library, without `sipwire serve`: the README's
// example, run. A record-routing proxy that sends every request where its
// Request-URI points, between two sipwire user agents on loopback.

test('a proxy built from SipStack and ProxyCore carries a call end to end (INVITE, ACK, BYE)', async () => {
  // --- the README example ---
  const stack = new SipStack({ listen: ['udp:127.0.0.1:0'] });
  const [addr] = (await stack.start()) as [TransportAddress];
  const proxy = new ProxyCore(stack, {
    isOurUri: (u: SipUri) => u.host === '127.0.0.1' && u.port === addr.port,
  });
  stack.onRequest((incoming) => {
    const req = incoming.request;
    const flow = proxy.preprocess(req, incoming.source); // §16.4: our Route values off
    if (req.method === 'CANCEL') {
      if (!proxy.cancel(incoming)) incoming.respond(481);
      return;
    }
    proxy.forward(incoming, [{ uri: req.uri, destination: flow }]); // §16.6: fork, Record-Route, forward
  });
  stack.onAck((ack, source) => {
    const flow = proxy.preprocess(ack, source);
    void proxy.forwardStateless(ack, source, flow).catch(() => {}); // ACK for a 2xx: end to end
  });
  stack.onStrayResponse((res) => void proxy.forwardLateResponse(res).catch(() => {}));
  // --- end of the example ---

  const aliceStack = new SipStack({ listen: ['udp:127.0.0.1:0'], role: 'endpoint' });
  const bobStack = new SipStack({ listen: ['udp:127.0.0.1:0'], role: 'endpoint' });
  await aliceStack.start();
  const [bobAddr] = (await bobStack.start()) as [TransportAddress];
  const alice = new UserAgent(aliceStack, {
    uri: 'sip:alice@example.test',
    outboundProxy: `sip:127.0.0.1:${addr.port}`,
  });
  const bob = new UserAgent(bobStack, { uri: 'sip:bob@example.test' });
  try {
    let rrSeen = '';
    bobStack.onTrace((dir, data) => {
      const t = data.toString('latin1');
      if (dir === 'in' && t.startsWith('INVITE ')) rrSeen = /^Record-Route: (.*)$/m.exec(t)?.[1] ?? '';
    });
    bob.onCall((c) => void c.answer());
    const call = alice.call(`sip:bob@127.0.0.1:${bobAddr.port}`);
    await call.answered;
    assert.equal(rrSeen, `<sip:127.0.0.1:${addr.port};lr>`, 'the proxy record-routed the INVITE');
    assert.equal(
      call.dialog?.routeSet[0]?.toString(),
      `<sip:127.0.0.1:${addr.port};lr>`,
      "alice's route set",
    );
    const inc = [...bob.dialogs.values()][0];
    assert.ok(inc !== undefined, 'bob has the call');
    const ended = new Promise((r) => inc.once('ended', r));
    await call.hangup();
    await ended;
    assert.equal(proxy.stats.forwarded, 2, 'the INVITE and the BYE went through the proxy statefully');
    assert.equal(proxy.stats.statelessForwarded, 1, 'the ACK went through statelessly');
  } finally {
    await aliceStack.stop();
    await bobStack.stop();
    await stack.stop();
  }
});
