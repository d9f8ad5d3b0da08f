import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  FakeClock,
  parseMessage,
  type SipRequest,
  TransactionLayer,
  TransactionStateError,
} from '../../src/index.js';
import { ackFor, RecordingChannel, RecordingServerUser, request, response } from '../support/tx.js';

function setup(method: string, reliable = false) {
  const clock = new FakeClock();
  const layer = new TransactionLayer({ clock });
  const channel = new RecordingChannel(reliable);
  const tu = new RecordingServerUser();
  const req = request(method);
  const r = layer.receiveRequest(req, channel, tu);
  assert.equal(r.kind, 'new');
  const tx = (r as { tx: import('../../src/index.js').ServerTransaction }).tx;
  return { clock, layer, channel, tu, req, tx };
}

describe('INVITE server transaction (RFC 3261 Figure 7, RFC 6026)', () => {
  describe('Proceeding', () => {
    test('sends 100 Trying when the TU has not answered within 200 ms', () => {
      const { clock, channel, tx } = setup('INVITE');
      clock.tick(199);
      assert.deepEqual(channel.lines, []);
      clock.tick(1);
      assert.deepEqual(channel.lines, ['100']);
      assert.equal(tx.lastResponse?.status, 100);
    });

    test('no automatic 100 when the TU answers in time', () => {
      const { clock, channel, tx, req } = setup('INVITE');
      tx.respond(response(req, 180));
      clock.tick(1000);
      assert.deepEqual(channel.lines, ['180']);
    });

    test('a retransmitted INVITE gets the latest provisional response again', () => {
      const { channel, tx, req, layer } = setup('INVITE');
      tx.respond(response(req, 180));
      const r = layer.receiveRequest(req, channel);
      assert.equal(r.kind, 'absorbed');
      assert.deepEqual(channel.lines, ['180', '180']);
    });

    test('a 2xx from the TU is sent once and moves to Accepted', () => {
      const { clock, channel, tx, req } = setup('INVITE');
      tx.respond(response(req, 200));
      assert.equal(tx.state, 'accepted');
      clock.tick(10000);
      assert.deepEqual(channel.lines, ['200'], 'the TU retransmits 2xx, not the transaction');
    });

    test('a 300-699 moves to Completed', () => {
      const { tx, req } = setup('INVITE');
      tx.respond(response(req, 486));
      assert.equal(tx.state, 'completed');
    });

    test('a transport error informs the TU and keeps the state (RFC 6026 §8.8)', () => {
      const { tx, tu } = setup('INVITE');
      tx.transportError(new Error('x'));
      assert.equal(tx.state, 'proceeding');
      assert.deepEqual(tu.events, ['transport-error x']);
    });
  });

  describe('Completed', () => {
    test('Timer G retransmits the final response at T1, doubling up to T2 (unreliable)', () => {
      const { clock, channel, tx, req } = setup('INVITE');
      tx.respond(response(req, 486));
      const at: number[] = [];
      for (let t = 0; t < 20000; t += 50) {
        const n = channel.sent.length;
        clock.tick(50);
        if (channel.sent.length > n) at.push(clock.now());
      }
      assert.deepEqual(at, [500, 1500, 3500, 7500, 11500, 15500, 19500]);
    });

    test('a retransmitted INVITE gets the final response again', () => {
      const { channel, tx, req, layer } = setup('INVITE');
      tx.respond(response(req, 486));
      layer.receiveRequest(req, channel);
      assert.deepEqual(channel.lines, ['486', '486']);
    });

    test('the ACK moves to Confirmed (absorbed), Timer I (T4) ends it', () => {
      const { clock, channel, tx, req, layer, tu } = setup('INVITE');
      tx.respond(response(req, 486));
      const r = layer.receiveRequest(ackFor(req), channel);
      assert.equal(r.kind, 'absorbed');
      assert.equal(tx.state, 'confirmed');
      assert.equal(tx.lastResponse, undefined, 'the response is never sent again: it is let go');
      assert.deepEqual(tu.events, [], 'ACK for a non-2xx is not passed up');
      layer.receiveRequest(ackFor(req), channel);
      clock.tick(4999);
      assert.equal(tx.state, 'confirmed');
      clock.tick(1);
      assert.equal(tx.state, 'terminated');
      assert.deepEqual(channel.lines, ['486'], 'no retransmission once confirmed');
    });

    test('Timer H (64*T1) without an ACK: failure to the TU', () => {
      const { clock, tx, req, tu } = setup('INVITE', true);
      tx.respond(response(req, 486));
      clock.tick(32000);
      assert.equal(tx.state, 'terminated');
      assert.deepEqual(tu.events, ['timeout', 'terminated']);
    });

    test('Timer I is zero over a reliable transport', () => {
      const { clock, tx, req, layer, channel } = setup('INVITE', true);
      tx.respond(response(req, 486));
      layer.receiveRequest(ackFor(req), channel);
      clock.tick(0);
      assert.equal(tx.state, 'terminated');
    });

    test('a second final response is a bug', () => {
      const { tx, req } = setup('INVITE');
      tx.respond(response(req, 486));
      assert.throws(() => tx.respond(response(req, 500)), TransactionStateError);
    });
  });

  describe('Accepted (RFC 6026)', () => {
    test('INVITE retransmissions are absorbed, ACKs go to the TU, 2xx from the TU are sent, Timer L ends it', () => {
      const { clock, channel, tx, req, layer, tu } = setup('INVITE');
      tx.respond(response(req, 200));
      layer.receiveRequest(req, channel);
      assert.deepEqual(channel.lines, ['200']);
      tx.respond(response(req, 200));
      assert.deepEqual(channel.lines, ['200', '200']);
      layer.receiveRequest(ackFor(req), channel);
      assert.deepEqual(tu.events, ['ack ACK']);
      assert.throws(() => tx.respond(response(req, 486)), TransactionStateError);
      clock.tick(32000);
      assert.equal(tx.state, 'terminated');
      assert.equal(layer.receiveRequest(ackFor(req), channel).kind, 'ack', 'later ACKs are end to end');
    });
  });
});

describe('non-INVITE server transaction (RFC 3261 Figure 8, RFC 4320)', () => {
  test('Trying absorbs retransmissions', () => {
    const { channel, req, layer } = setup('OPTIONS');
    assert.equal(layer.receiveRequest(req, channel).kind, 'absorbed');
    assert.deepEqual(channel.lines, []);
  });

  test('RFC 4320: sends 100 once Timer E would reach T2 (3.5 s) if the TU has not answered', () => {
    const { clock, channel, tx, req, layer } = setup('REGISTER');
    clock.tick(3499);
    assert.deepEqual(channel.lines, []);
    clock.tick(1);
    assert.deepEqual(channel.lines, ['100']);
    assert.equal(tx.state, 'proceeding');
    layer.receiveRequest(req, channel);
    assert.deepEqual(channel.lines, ['100', '100']);
  });

  test('RFC 4320: no provisional but 100, and no early 100 over UDP', () => {
    const { channel, tx, req } = setup('OPTIONS');
    assert.throws(() => tx.respond(response(req, 180)), TransactionStateError);
    tx.respond(response(req, 100));
    assert.deepEqual(channel.lines, [], 'held back over an unreliable transport');
    const r = setup('OPTIONS', true);
    r.tx.respond(response(r.req, 100));
    assert.deepEqual(r.channel.lines, ['100'], 'allowed at once over a reliable transport');
  });

  test('a TU that never answers: the transaction ends 64*T1 + T4 after the request, telling the TU', () => {
    const { clock, channel, tx, tu, layer, req } = setup('MESSAGE');
    clock.tick(3500);
    assert.deepEqual(channel.lines, ['100']);
    clock.tick(64 * 500 + 5000 - 3500 - 1);
    assert.equal(tx.state, 'proceeding', 'the client may still be retransmitting until its Timer F');
    clock.tick(1);
    assert.equal(tx.state, 'terminated');
    assert.deepEqual(tu.events, ['timeout', 'terminated']);
    assert.equal(layer.size.servers, 0, 'gone from the table');
    assert.deepEqual(channel.lines, ['100'], 'nothing is sent: no one is waiting');
    assert.throws(() => tx.respond(response(req, 200)), TransactionStateError, 'a late answer is refused');
  });

  test('the wait for the TU is the same after a 100 it sent itself (reliable transport)', () => {
    const { clock, channel, tx, tu, req } = setup('INFO', true);
    clock.tick(1000);
    tx.respond(response(req, 100));
    assert.deepEqual(channel.lines, ['100']);
    clock.tick(64 * 500 + 5000 - 1000 - 1);
    assert.equal(tx.state, 'proceeding');
    clock.tick(1);
    assert.equal(tx.state, 'terminated');
    assert.deepEqual(tu.events, ['timeout', 'terminated']);
  });

  test('an answer in time stops the wait: the transaction lingers only for Timer J', () => {
    const { clock, tx, tu, req } = setup('MESSAGE');
    clock.tick(30000);
    tx.respond(response(req, 200));
    clock.tick(7000);
    assert.equal(tx.state, 'completed', 'not ended at 64*T1 + T4 after the request');
    clock.tick(25000);
    assert.equal(tx.state, 'terminated');
    assert.deepEqual(tu.events, ['terminated']);
  });

  test('a final response moves to Completed; retransmissions get it again; Timer J ends it', () => {
    const { clock, channel, tx, req, layer } = setup('OPTIONS');
    tx.respond(response(req, 200));
    assert.equal(tx.state, 'completed');
    layer.receiveRequest(req, channel);
    assert.deepEqual(channel.lines, ['200', '200']);
    clock.tick(32000);
    assert.equal(tx.state, 'terminated');
    assert.equal(layer.size.servers, 0);
  });

  test('while it lingers over UDP its request and response sleep; a retransmission gets the same bytes', async () => {
    const { channel, tx, req, layer } = setup('OPTIONS');
    const res = response(req, 200);
    const bytes = res.toBuffer();
    const reqFields = req.headers;
    const resFields = res.headers;
    tx.respond(res);
    await Promise.resolve(); // the request sleeps at the end of the turn
    assert.notEqual(req.headers, reqFields, 'the request slept (its fields were split again on reading)');
    assert.notEqual(res.headers, resFields, 'the response slept');
    layer.receiveRequest(parseMessage(req.toBuffer()) as SipRequest, channel);
    assert.equal(channel.sent.length, 2);
    assert.deepEqual(channel.sent[1]?.toBuffer(), bytes);
    const tcp = setup('OPTIONS', true);
    const fields = tcp.req.headers;
    tcp.tx.respond(response(tcp.req, 200));
    assert.equal(tcp.req.headers, fields, 'over TCP the transaction ends at once: nothing sleeps');
  });

  test('Timer J is zero over a reliable transport', () => {
    const { clock, tx, req } = setup('OPTIONS', true);
    tx.respond(response(req, 200));
    clock.tick(0);
    assert.equal(tx.state, 'terminated');
  });

  test('forget() after the final response ends it at once: the request sent again is a new one (§8.2.7)', () => {
    const { tx, req, tu, layer, channel } = setup('REGISTER');
    assert.throws(() => tx.forget(), TransactionStateError, 'not before the final response');
    tx.respond(response(req, 401));
    tx.forget();
    assert.equal(tx.state, 'terminated');
    assert.deepEqual(tu.events, ['terminated']);
    assert.equal(layer.size.servers, 0, 'gone from the table');
    assert.equal(layer.receiveRequest(req, channel).kind, 'new', 'a retransmission starts a new transaction');
    assert.deepEqual(channel.lines, ['401'], 'and the old 401 is not sent again');
  });

  test('an INVITE server transaction cannot be forgotten (it absorbs the ACK of its final response)', () => {
    const { tx, req } = setup('INVITE');
    tx.respond(response(req, 407));
    assert.throws(() => tx.forget(), TransactionStateError);
    assert.equal(tx.state, 'completed');
  });

  test('a transport error informs the TU and ends it', () => {
    const { tx, req, tu } = setup('OPTIONS');
    tx.respond(response(req, 200));
    tx.transportError(new Error('y'));
    assert.deepEqual(tu.events, ['transport-error y', 'terminated']);
  });
});

describe('lingering messages (memory, not behaviour)', () => {
  test('over UDP an answered request sleeps at the end of the turn, unless the TU ended the transaction in it', async () => {
    for (const forget of [false, true]) {
      const { tx, req } = setup('OPTIONS');
      req.decrementMaxForwards(); // edited: sleeping writes its text anew
      const fields = req.headers;
      tx.respond(response(req, forget ? 401 : 200));
      if (forget) tx.forget();
      assert.equal(req.headers, fields, 'still awake in the turn that answered it');
      await Promise.resolve();
      if (forget) assert.equal(req.headers, fields, 'an ended transaction leaves its request awake');
      else assert.notEqual(req.headers, fields, 'asleep, then split again when read');
      assert.equal(req.maxForwards, 69, 'the same values either way');
      assert.equal(tx.state, forget ? 'terminated' : 'completed');
    }
  });

  test('a request that cannot sleep stays awake, and the others answered in the turn still sleep', async () => {
    const a = setup('OPTIONS');
    const b = setup('OPTIONS');
    a.req.sleep = () => {
      throw new Error('cannot sleep');
    };
    const fields = b.req.headers;
    a.tx.respond(response(a.req, 200));
    b.tx.respond(response(b.req, 200));
    await Promise.resolve();
    assert.notEqual(b.req.headers, fields, 'the second one slept');
    assert.equal(a.req.maxForwards, 70);
  });
});

describe('matching requests to server transactions (RFC 3261 §17.2.3)', () => {
  test('same branch but another sent-by is a new transaction', () => {
    const { layer, req, channel } = setup('OPTIONS');
    const other = parseMessage(
      req.toString().replace('pc33.atlanta.example.com:5060', 'evil.example.com:5060'),
    ) as SipRequest;
    assert.equal(layer.receiveRequest(other, channel).kind, 'new');
  });

  test('CANCEL finds the INVITE it cancels (§9.2) and has its own transaction', () => {
    const { layer, req, channel, tx } = setup('INVITE');
    const cancel = parseMessage(
      req
        .toString()
        .replace(/^INVITE/, 'CANCEL')
        .replace('1 INVITE', '1 CANCEL'),
    ) as SipRequest;
    assert.equal(layer.findInviteForCancel(cancel), tx);
    assert.equal(layer.receiveRequest(cancel, channel).kind, 'new');
  });

  test('RFC 2543 requests without the magic cookie match on Request-URI, tags, Call-ID, CSeq and Via', () => {
    const clock = new FakeClock();
    const layer = new TransactionLayer({ clock });
    const ch = new RecordingChannel();
    const old = parseMessage(
      [
        'INVITE sip:bob@biloxi.example.com SIP/2.0',
        'Via: SIP/2.0/UDP old.example.com',
        'To: sip:bob@biloxi.example.com',
        'From: sip:alice@atlanta.example.com;tag=x',
        'Call-ID: 2543@old.example.com',
        'CSeq: 5 INVITE',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    ) as SipRequest;
    const r = layer.receiveRequest(old, ch);
    assert.equal(r.kind, 'new');
    const tx = (r as { tx: import('../../src/index.js').ServerTransaction }).tx;
    assert.equal(layer.receiveRequest(old, ch).kind, 'absorbed');
    tx.respond(response(old, 486, 'srv'));
    const ack = parseMessage(
      old
        .toString()
        .replace(/^INVITE/, 'ACK')
        .replace('5 INVITE', '5 ACK')
        .replace('biloxi.example.com\r\nFrom', 'biloxi.example.com;tag=srv\r\nFrom'),
    ) as SipRequest;
    assert.equal(layer.receiveRequest(ack, ch).kind, 'absorbed');
    assert.equal(tx.state, 'confirmed');
  });

  test('a request without Via cannot be matched', () => {
    const layer = new TransactionLayer({ clock: new FakeClock() });
    const req = parseMessage(
      'OPTIONS sip:a@b.com SIP/2.0\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n',
    ) as SipRequest;
    assert.equal(layer.receiveRequest(req, new RecordingChannel()).kind, 'unmatchable');
  });

  test('close() stops every transaction', () => {
    const { clock, layer, channel } = setup('INVITE');
    layer.close();
    clock.tick(1000);
    assert.deepEqual(channel.lines, []);
    assert.deepEqual(layer.size, { clients: 0, servers: 0 });
  });

  test('past maxServerTransactions a new request makes none; retransmissions, ACK and CANCEL still match', () => {
    const clock = new FakeClock();
    const layer = new TransactionLayer({ clock, maxServerTransactions: 2 });
    const ch = new RecordingChannel();
    const invite = request('INVITE');
    const first = layer.receiveRequest(invite, ch);
    assert.equal(first.kind, 'new');
    assert.equal(layer.receiveRequest(request('OPTIONS'), ch).kind, 'new');
    assert.equal(layer.receiveRequest(request('OPTIONS'), ch).kind, 'overloaded', 'a third is refused');
    assert.equal(layer.receiveRequest(request('INVITE'), ch).kind, 'overloaded');
    assert.deepEqual(layer.size, { clients: 0, servers: 2 }, 'the refused ones made no transaction');
    assert.equal(layer.receiveRequest(invite, ch).kind, 'absorbed', 'a retransmission still matches');
    assert.equal(layer.receiveRequest(request('ACK'), ch).kind, 'ack', 'an ACK for a 2xx still passes');
    const cancel = parseMessage(
      invite
        .toString()
        .replace(/^INVITE/, 'CANCEL')
        .replace('1 INVITE', '1 CANCEL'),
    ) as SipRequest;
    const c = layer.receiveRequest(cancel, ch);
    assert.equal(c.kind, 'new', 'a CANCEL is let in');
    // Once transactions end there is room again: the INVITE (486, Timer H) and the CANCEL (200, Timer J) end.
    const tx = (first as { tx: import('../../src/index.js').ServerTransaction }).tx;
    tx.respond(response(invite, 486, 'srv'));
    (c as { tx: import('../../src/index.js').ServerTransaction }).tx.respond(response(cancel, 200));
    assert.equal(
      layer.receiveRequest(request('OPTIONS'), ch).kind,
      'overloaded',
      'still full while they linger',
    );
    clock.tick(64 * 500);
    assert.deepEqual(layer.size, { clients: 0, servers: 1 });
    assert.equal(layer.receiveRequest(request('OPTIONS'), ch).kind, 'new', 'room again once some ended');
  });

  test('past maxServerTransactionBytes of held requests a new request makes none; the bytes come back as transactions end', () => {
    const clock = new FakeClock();
    const size = request('OPTIONS').receivedBytes;
    assert.ok(size > 200, `a parsed request knows its size (${size})`);
    const layer = new TransactionLayer({ clock, maxServerTransactionBytes: Math.floor(2.5 * size) });
    const ch = new RecordingChannel();
    const a = request('OPTIONS');
    const first = layer.receiveRequest(a, ch);
    assert.equal(first.kind, 'new');
    assert.equal(layer.receiveRequest(request('OPTIONS'), ch).kind, 'new');
    assert.equal(layer.serverBytes, 2 * size);
    assert.equal(layer.receiveRequest(request('OPTIONS'), ch).kind, 'overloaded', 'a third would go past');
    assert.equal(layer.receiveRequest(a, ch).kind, 'absorbed', 'a retransmission still matches');
    assert.equal(layer.serverBytes, 2 * size, 'refused and absorbed requests hold nothing');
    const cancel = request('CANCEL');
    assert.equal(layer.receiveRequest(cancel, ch).kind, 'new', 'a CANCEL is let in');
    assert.equal(layer.serverBytes, 2 * size + cancel.receivedBytes);
    (first as { tx: import('../../src/index.js').ServerTransaction }).tx.respond(response(a, 200));
    clock.tick(64 * 500);
    assert.equal(
      layer.serverBytes,
      size + cancel.receivedBytes,
      'the answered one gave its bytes back after Timer J',
    );
    layer.close();
    assert.equal(layer.serverBytes, 0);
  });

  test('maxServerTransactionBytes: a request larger than the whole limit is refused; the limit must be at least 1', () => {
    const layer = new TransactionLayer({ clock: new FakeClock(), maxServerTransactionBytes: 100 });
    assert.equal(layer.receiveRequest(request('OPTIONS'), new RecordingChannel()).kind, 'overloaded');
    assert.equal(layer.size.servers, 0);
    assert.throws(() => new TransactionLayer({ maxServerTransactionBytes: 0 }), /at least 1/);
  });

  test('maxServerTransactions must be at least 1', () => {
    assert.throws(() => new TransactionLayer({ maxServerTransactions: 0 }), /at least 1/);
  });
});
