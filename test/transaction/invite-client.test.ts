import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeClock, TransactionLayer } from '../../src/index.js';
import { RecordingChannel, RecordingClientUser, request, response } from '../support/tx.js';

function setup(reliable = false) {
  const clock = new FakeClock();
  const layer = new TransactionLayer({ clock });
  const channel = new RecordingChannel(reliable);
  const tu = new RecordingClientUser();
  const invite = request('INVITE');
  const tx = layer.sendRequest(invite, channel, tu);
  return { clock, layer, channel, tu, invite, tx };
}

describe('INVITE client transaction (RFC 3261 Figure 5, RFC 6026)', () => {
  describe('Calling', () => {
    test('sends the INVITE and retransmits on Timer A at T1, 2T1, 4T1... (unreliable)', () => {
      const { clock, channel, tx } = setup();
      assert.equal(tx.state, 'calling');
      assert.deepEqual(channel.lines, ['INVITE']);
      const at: number[] = [];
      for (let t = 0; t < 32000; t += 100) {
        const before = channel.sent.length;
        clock.tick(100);
        if (channel.sent.length > before) at.push(clock.now());
      }
      assert.deepEqual(at, [500, 1500, 3500, 7500, 15500, 31500]);
    });

    test('no retransmissions over a reliable transport', () => {
      const { clock, channel } = setup(true);
      clock.tick(31000);
      assert.deepEqual(channel.lines, ['INVITE']);
    });

    test('Timer B (64*T1) ends it with a timeout to the TU and no ACK', () => {
      const { clock, channel, tu, tx, layer } = setup();
      clock.tick(32000);
      assert.equal(tx.state, 'terminated');
      assert.deepEqual(tu.events, ['timeout', 'terminated']);
      assert.ok(!channel.lines.includes('ACK'), 'no ACK');
      assert.equal(layer.size.clients, 0);
    });

    test('a 1xx moves to Proceeding, goes to the TU, and stops retransmissions', () => {
      const { clock, channel, tu, tx, invite, layer } = setup();
      assert.equal(layer.receiveResponse(response(invite, 180)), true);
      assert.equal(tx.state, 'proceeding');
      assert.deepEqual(tu.events, ['response 180']);
      clock.tick(60000);
      assert.deepEqual(channel.lines, ['INVITE']);
      assert.equal(tx.state, 'proceeding');
    });

    test('after a CANCEL (§9.1), no final response in 64*T1 ends it with a timeout; more 1xx do not stop that', () => {
      const { clock, channel, tu, tx, invite, layer } = setup();
      layer.receiveResponse(response(invite, 180));
      clock.tick(10_000);
      tx.cancelSent?.();
      clock.tick(20_000);
      layer.receiveResponse(response(invite, 183));
      assert.equal(tx.state, 'proceeding');
      clock.tick(11_999);
      assert.equal(tx.state, 'proceeding', 'not before 64*T1');
      clock.tick(1);
      assert.equal(tx.state, 'terminated');
      assert.deepEqual(tu.events, ['response 180', 'response 183', 'timeout', 'terminated']);
      assert.ok(!channel.lines.includes('ACK'), 'no ACK');
      assert.equal(layer.size.clients, 0);
    });

    test('after a CANCEL, the 487 ends it as usual (Completed, ACK) and the timer no longer matters', () => {
      const { clock, channel, tu, tx, invite, layer } = setup();
      layer.receiveResponse(response(invite, 180));
      tx.cancelSent?.();
      clock.tick(1000);
      layer.receiveResponse(response(invite, 487));
      assert.equal(tx.state, 'completed');
      assert.deepEqual(channel.lines, ['INVITE', 'ACK']);
      clock.tick(64_000);
      assert.equal(tx.state, 'terminated');
      assert.deepEqual(tu.events, ['response 180', 'response 487', 'terminated'], 'no timeout');
    });

    test('a 2xx moves to Accepted and goes to the TU (RFC 6026)', () => {
      const { tx, tu, invite, layer } = setup();
      layer.receiveResponse(response(invite, 200));
      assert.equal(tx.state, 'accepted');
      assert.deepEqual(tu.events, ['response 200']);
    });

    test('a 300-699 moves to Completed, goes to the TU, and an ACK is sent', () => {
      const { tx, tu, invite, layer, channel } = setup();
      layer.receiveResponse(response(invite, 486));
      assert.equal(tx.state, 'completed');
      assert.deepEqual(tu.events, ['response 486']);
      assert.deepEqual(channel.lines, ['INVITE', 'ACK']);
      const ack = channel.sent[1] as import('../../src/index.js').SipRequest;
      // §17.1.1.3: same branch, To from the response, CSeq number with ACK.
      assert.equal(ack.topVia?.branch, invite.topVia?.branch);
      assert.equal(ack.to?.tag, 'b1a2c3');
      assert.equal(ack.cseq?.method, 'ACK');
      assert.equal(ack.cseq?.seq, invite.cseq?.seq);
      assert.equal(ack.uri.toString(), invite.uri.toString());
      assert.equal(ack.callId, invite.callId);
      assert.equal(ack.via.length, 1);
    });

    test('a transport error ends it and informs the TU', () => {
      const { tx, tu, layer } = setup();
      layer.clientTransportError(tx.key, new Error('unreachable'));
      assert.equal(tx.state, 'terminated');
      assert.deepEqual(tu.events, ['transport-error unreachable', 'terminated']);
    });
  });

  describe('Proceeding', () => {
    test('further 1xx go to the TU; 2xx to Accepted; 300-699 to Completed with ACK', () => {
      const a = setup();
      a.layer.receiveResponse(response(a.invite, 100));
      a.layer.receiveResponse(response(a.invite, 183));
      a.layer.receiveResponse(response(a.invite, 200));
      assert.deepEqual(a.tu.events, ['response 100', 'response 183', 'response 200']);
      assert.equal(a.tx.state, 'accepted');
      const b = setup();
      b.layer.receiveResponse(response(b.invite, 180));
      b.layer.receiveResponse(response(b.invite, 603));
      assert.equal(b.tx.state, 'completed');
      assert.deepEqual(b.channel.lines, ['INVITE', 'ACK']);
    });
  });

  describe('Completed', () => {
    test('retransmitted final responses get the ACK again and do not reach the TU', () => {
      const { tu, invite, layer, channel } = setup();
      layer.receiveResponse(response(invite, 404));
      layer.receiveResponse(response(invite, 404));
      layer.receiveResponse(response(invite, 404));
      assert.deepEqual(channel.lines, ['INVITE', 'ACK', 'ACK', 'ACK']);
      assert.deepEqual(tu.events, ['response 404']);
    });

    test('Timer D (32 s unreliable) ends it', () => {
      const { clock, tx, invite, layer, tu } = setup();
      layer.receiveResponse(response(invite, 404));
      clock.tick(31999);
      assert.equal(tx.state, 'completed');
      clock.tick(1);
      assert.equal(tx.state, 'terminated');
      assert.deepEqual(tu.events, ['response 404', 'terminated']);
    });

    test('Timer D is zero over a reliable transport', () => {
      const { clock, tx, invite, layer } = setup(true);
      layer.receiveResponse(response(invite, 404));
      clock.tick(0);
      assert.equal(tx.state, 'terminated');
    });

    test('a transport error ends it', () => {
      const { tx, invite, layer, tu } = setup();
      layer.receiveResponse(response(invite, 404));
      tx.transportError(new Error('gone'));
      assert.equal(tx.state, 'terminated');
      assert.deepEqual(tu.events, ['response 404', 'transport-error gone', 'terminated']);
    });
  });

  describe('Accepted (RFC 6026)', () => {
    test('2xx retransmissions and forked 2xx go to the TU; Timer M ends it', () => {
      const { clock, tx, invite, layer, tu } = setup();
      layer.receiveResponse(response(invite, 200, 'a'));
      layer.receiveResponse(response(invite, 200, 'a'));
      layer.receiveResponse(response(invite, 200, 'fork2'));
      layer.receiveResponse(response(invite, 486));
      assert.deepEqual(tu.events, ['response 200', 'response 200', 'response 200']);
      clock.tick(64 * 500 - 1);
      assert.equal(tx.state, 'accepted');
      clock.tick(1);
      assert.equal(tx.state, 'terminated');
      assert.equal(layer.receiveResponse(response(invite, 200)), false, 'late 2xx goes to the core');
    });
  });

  test('T1 is set per layer', () => {
    const clock = new FakeClock();
    const layer = new TransactionLayer({ clock, timers: { t1: 100 } });
    const channel = new RecordingChannel();
    layer.sendRequest(request('INVITE'), channel, new RecordingClientUser());
    clock.tick(100);
    assert.equal(channel.sent.length, 2);
    clock.tick(6400);
    assert.equal(layer.size.clients, 0);
  });
});
