import assert from 'node:assert/strict';
import { createSocket, type RemoteInfo } from 'node:dgram';
import { test } from 'node:test';
import { NameAddr, newCallId, newTag, SipRequest, SipStack, type TransportAddress } from '../../src/index.js';

/** A UDP relay between one client and one server that drops every third datagram each way. */
async function lossyRelay(
  serverPort: number,
): Promise<{ port: number; dropped: () => number; close: () => void }> {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  let client: RemoteInfo | undefined;
  let n = 0;
  let dropped = 0;
  sock.on('message', (msg, from) => {
    n++;
    if (n % 3 === 0) {
      dropped++;
      return;
    }
    if (from.port === serverPort) {
      if (client) sock.send(msg, client.port, client.address);
    } else {
      client = from;
      sock.send(msg, serverPort, '127.0.0.1');
    }
  });
  return { port: sock.address().port, dropped: () => dropped, close: () => sock.close() };
}

test('over a UDP path that loses a third of the datagrams, retransmissions still complete every transaction', async () => {
  const server = new SipStack({ listen: ['udp:127.0.0.1:0'], timers: { t1: 15 } });
  const [s] = (await server.start()) as [TransportAddress];
  let served = 0;
  server.onRequest((inc) => {
    served++;
    if (inc.request.method === 'INVITE') {
      inc.respond(486, undefined, { toTag: 'busy' });
    } else inc.respond(200);
  });
  const client = new SipStack({ listen: ['udp:127.0.0.1:0'], timers: { t1: 15 } });
  await client.start();
  const relay = await lossyRelay(s.port);
  const results: number[] = [];
  for (let i = 0; i < 12; i++) {
    const method = i % 2 === 0 ? 'OPTIONS' : 'INVITE';
    const req = new SipRequest({
      method,
      uri: `sip:bob@127.0.0.1:${s.port}`,
      headers: [
        ['Max-Forwards', 70],
        ['To', new NameAddr(`sip:bob@127.0.0.1:${s.port}`)],
        ['From', new NameAddr('sip:alice@127.0.0.1', undefined, { tag: newTag() })],
        ['Call-ID', newCallId()],
        ['CSeq', `1 ${method}`],
        ['Contact', '<sip:alice@127.0.0.1>'],
      ],
    });
    const out = await client.request(req, { target: `udp:127.0.0.1:${relay.port}` });
    results.push((await out.final).status);
  }
  assert.deepEqual(
    results,
    Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? 200 : 486)),
  );
  assert.ok(relay.dropped() >= 8, `relay dropped ${relay.dropped()} datagrams`);
  assert.equal(served, 12, 'each request reached the server transaction user once');
  relay.close();
  await client.stop();
  await server.stop();
});
