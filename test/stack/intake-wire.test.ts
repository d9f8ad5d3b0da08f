import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import { SipStack, type TransportAddress } from '../../src/index.js';

/** A request as a peer writes it, its method naming it apart. */
function request(method: string, n: number, port: number): Buffer {
  return Buffer.from(
    [
      `${method} sip:bob@127.0.0.1:${port} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-intake-${method}-${n};rport`,
      'Max-Forwards: 70',
      `From: <sip:alice@127.0.0.1>;tag=a${n}`,
      `To: <sip:bob@127.0.0.1>${method === 'BYE' ? ';tag=b1' : ''}`,
      `Call-ID: intake-${n}@127.0.0.1`,
      `CSeq: ${n + 1} ${method}`,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
    'latin1',
  );
}

describe('intake on a real socket', () => {
  let stack: SipStack;
  let addr: TransportAddress;
  const order: string[] = [];

  before(async () => {
    stack = new SipStack({ listen: ['udp:127.0.0.1:0'], intake: { burst: 8 } });
    [addr] = (await stack.start()) as [TransportAddress];
    stack.onRequest((inc) => {
      order.push(`${inc.request.method} ${inc.request.cseq?.seq}`);
      inc.respond(200, undefined, { toTag: 'b1' });
    });
  });
  after(() => stack.stop());

  test('a burst read in one turn: the first handled at once, then BYEs ahead of the MESSAGEs that came before them', async () => {
    const peer = createSocket('udp4');
    await new Promise<void>((resolve) => peer.bind(0, '127.0.0.1', resolve));
    const answered = new Promise<void>((resolve) => {
      let n = 0;
      peer.on('message', () => {
        if (++n === 24) resolve();
      });
    });
    // Twenty MESSAGEs and then four BYEs, written in one go: all wait in the
    // socket before the stack reads any of them.
    for (let i = 0; i < 20; i++) peer.send(request('MESSAGE', i, addr.port), addr.port, addr.host);
    for (let i = 20; i < 24; i++) peer.send(request('BYE', i, addr.port), addr.port, addr.host);
    await answered;
    peer.close();
    const firstBye = order.findIndex((o) => o.startsWith('BYE'));
    const lastMessage = order.findLastIndex((o) => o.startsWith('MESSAGE'));
    assert.equal(order.length, 24);
    assert.deepEqual(
      order.slice(0, 8),
      [...Array(8).keys()].map((i) => `MESSAGE ${i + 1}`),
      'the first eight in arrival order',
    );
    assert.ok(firstBye < lastMessage, `BYEs went ahead of waiting MESSAGEs: ${order.join(', ')}`);
    assert.deepEqual(
      order.filter((o) => o.startsWith('BYE')),
      ['BYE 21', 'BYE 22', 'BYE 23', 'BYE 24'],
    );
    assert.ok(stack.stats.deferred >= 4, `deferred ${stack.stats.deferred}`);
    assert.equal(stack.stats.shed, 0);
  });
});
