import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeClock, TransactionLayer } from '../../src/index.js';
import { RecordingChannel, RecordingClientUser, request, response } from '../support/tx.js';

function setup(reliable = false, method = 'OPTIONS') {
  const clock = new FakeClock();
  const layer = new TransactionLayer({ clock });
  const channel = new RecordingChannel(reliable);
  const tu = new RecordingClientUser();
  const req = request(method);
  const tx = layer.sendRequest(req, channel, tu);
  return { clock, layer, channel, tu, req, tx };
}

function sendTimes(clock: FakeClock, channel: RecordingChannel, until: number): number[] {
  const at: number[] = [];
  for (let t = 0; t < until; t += 50) {
    const before = channel.sent.length;
    clock.tick(50);
    if (channel.sent.length > before) at.push(clock.now());
  }
  return at;
}

describe('non-INVITE client transaction (RFC 3261 Figure 6)', () => {
  describe('Trying', () => {
    test('Timer E retransmits at T1, doubling up to T2 (unreliable)', () => {
      const { clock, channel } = setup();
      assert.deepEqual(sendTimes(clock, channel, 20000), [500, 1500, 3500, 7500, 11500, 15500, 19500]);
    });

    test('Timer F (64*T1) ends it with a timeout', () => {
      const { clock, tx, tu } = setup();
      clock.tick(31999);
      assert.equal(tx.state, 'trying');
      clock.tick(1);
      assert.equal(tx.state, 'terminated');
      assert.deepEqual(tu.events, ['timeout', 'terminated']);
    });

    test('no retransmission over a reliable transport, Timer F still applies', () => {
      const { clock, channel, tu } = setup(true);
      clock.tick(32000);
      assert.deepEqual(channel.lines, ['OPTIONS']);
      assert.deepEqual(tu.events, ['timeout', 'terminated']);
    });

    test('a 1xx moves to Proceeding; retransmissions continue every T2', () => {
      const { clock, channel, tx, req, layer, tu } = setup();
      clock.tick(600);
      layer.receiveResponse(response(req, 100));
      assert.equal(tx.state, 'proceeding');
      assert.deepEqual(tu.events, ['response 100']);
      channel.sent.length = 0;
      // E was due at 1500 with interval 1000; from Proceeding it is reset to T2 each time.
      assert.deepEqual(sendTimes(clock, channel, 10000).slice(0, 3), [1500, 5500, 9500]);
    });

    test('a final response moves to Completed and goes to the TU', () => {
      const { tx, req, layer, tu } = setup();
      layer.receiveResponse(response(req, 200));
      assert.equal(tx.state, 'completed');
      assert.deepEqual(tu.events, ['response 200']);
    });

    test('a transport error ends it', () => {
      const { tx, tu } = setup();
      tx.transportError(new Error('refused'));
      assert.deepEqual(tu.events, ['transport-error refused', 'terminated']);
    });
  });

  describe('Proceeding', () => {
    test('1xx go to the TU, a final response to Completed, Timer F still ends it', () => {
      const a = setup();
      a.layer.receiveResponse(response(a.req, 100));
      a.layer.receiveResponse(response(a.req, 100));
      a.layer.receiveResponse(response(a.req, 404));
      assert.deepEqual(a.tu.events, ['response 100', 'response 100', 'response 404']);
      const b = setup();
      b.layer.receiveResponse(response(b.req, 100));
      b.clock.tick(32000);
      assert.deepEqual(b.tu.events, ['response 100', 'timeout', 'terminated']);
    });

    test('a transport error ends it', () => {
      const { tx, req, layer, tu } = setup();
      layer.receiveResponse(response(req, 100));
      tx.transportError(new Error('reset'));
      assert.deepEqual(tu.events, ['response 100', 'transport-error reset', 'terminated']);
    });
  });

  describe('Completed', () => {
    test('absorbs retransmitted responses; Timer K (T4) ends it', () => {
      const { clock, tx, req, layer, tu, channel } = setup();
      layer.receiveResponse(response(req, 200));
      layer.receiveResponse(response(req, 200));
      assert.deepEqual(tu.events, ['response 200']);
      clock.tick(4999);
      assert.equal(tx.state, 'completed');
      clock.tick(1);
      assert.equal(tx.state, 'terminated');
      assert.deepEqual(channel.lines, ['OPTIONS'], 'no retransmission after the final response');
    });

    test('Timer K is zero over a reliable transport', () => {
      const { clock, tx, req, layer } = setup(true);
      layer.receiveResponse(response(req, 200));
      clock.tick(0);
      assert.equal(tx.state, 'terminated');
    });
  });

  test('a CANCEL and its INVITE are distinct client transactions with the same branch (§17.1.3)', () => {
    const clock = new FakeClock();
    const layer = new TransactionLayer({ clock });
    const ch = new RecordingChannel();
    const invite = request('INVITE', 'z9hG4bKsamebranch');
    const cancel = request('CANCEL', 'z9hG4bKsamebranch');
    const inviteTu = new RecordingClientUser();
    const cancelTu = new RecordingClientUser();
    layer.sendRequest(invite, ch, inviteTu);
    layer.sendRequest(cancel, ch, cancelTu);
    layer.receiveResponse(response(cancel, 200));
    layer.receiveResponse(response(invite, 487));
    assert.deepEqual(cancelTu.events, ['response 200']);
    assert.deepEqual(inviteTu.events, ['response 487']);
  });
});
