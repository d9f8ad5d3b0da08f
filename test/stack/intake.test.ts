import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { finishesWork, Intake } from '../../src/stack/intake.js';

/** A host with a hand-turned event loop and a clock that each handled message advances. */
function host(msPerMessage = 0) {
  const handled: string[] = [];
  const shed: string[] = [];
  let turnEnd: Array<() => void> = [];
  let clock = 0;
  let deferred = 0;
  const h = {
    handle(data: Buffer) {
      handled.push(data.toString('latin1').split(' ')[0] as string);
      clock += msPerMessage;
    },
    deferred() {
      deferred++;
    },
    shed(data: Buffer) {
      shed.push(data.toString('latin1').split(' ')[0] as string);
    },
    now: () => clock,
    later(fn: () => void) {
      turnEnd.push(fn);
    },
  };
  /** Ends the current turn: runs what was scheduled for it. */
  const endTurn = () => {
    const fns = turnEnd;
    turnEnd = [];
    for (const fn of fns) fn();
  };
  return { h, handled, shed, endTurn, deferredCount: () => deferred, pending: () => turnEnd.length };
}

const msg = (first: string) => Buffer.from(`${first} x SIP/2.0\r\n\r\n`, 'latin1');

describe('intake: the order received messages are handled in', () => {
  test('below the burst size each message is handled at once, in arrival order', () => {
    const t = host();
    const intake = new Intake(t.h, { burst: 4 });
    for (const m of ['INVITE', 'SIP/2.0', 'BYE', 'REGISTER']) intake.push(msg(m), 'peer');
    assert.deepEqual(t.handled, ['INVITE', 'SIP/2.0', 'BYE', 'REGISTER']);
    assert.equal(t.deferredCount(), 0);
    t.endTurn();
    // A new turn starts with a fresh count.
    for (const m of ['OPTIONS', 'ACK', 'INVITE', 'CANCEL']) intake.push(msg(m), 'peer');
    assert.equal(t.handled.length, 8);
  });

  test('past the burst, responses and in-dialog requests are handled before new requests at the end of the turn', () => {
    const t = host();
    const intake = new Intake(t.h, { burst: 2 });
    const arriving = [
      'INVITE',
      'INVITE',
      'INVITE',
      'SIP/2.0',
      'REGISTER',
      'ACK',
      'CANCEL',
      'BYE',
      'PRACK',
      'NOTIFY',
    ];
    for (const m of arriving) intake.push(msg(m), 'peer');
    assert.deepEqual(t.handled, ['INVITE', 'INVITE'], 'the first two at once');
    assert.equal(intake.queued, 8);
    assert.equal(t.deferredCount(), 8);
    t.endTurn();
    assert.deepEqual(t.handled.slice(2), [
      'SIP/2.0',
      'ACK',
      'BYE',
      'PRACK',
      'NOTIFY',
      'INVITE',
      'REGISTER',
      'CANCEL',
    ]);
    assert.equal(intake.queued, 0);
  });

  test('new requests get a time budget per turn; what is left waits, and later arrivals queue behind it', () => {
    const t = host(1);
    const intake = new Intake(t.h, { burst: 1, budgetMs: 3 });
    intake.push(msg('OPTIONS'), 'peer');
    for (let i = 0; i < 6; i++) intake.push(msg(`INVITE${i}`), 'peer');
    t.endTurn();
    assert.deepEqual(t.handled, ['OPTIONS', 'INVITE0', 'INVITE1', 'INVITE2'], 'three within 3 ms');
    assert.equal(t.pending(), 1, 'another turn is asked for');
    // Next turn: a response and a new request arrive while three INVITEs wait.
    intake.push(msg('SIP/2.0'), 'peer');
    intake.push(msg('MESSAGE'), 'peer');
    assert.equal(t.handled.length, 4, 'nothing handled out of turn while others wait');
    t.endTurn();
    assert.deepEqual(t.handled.slice(4), ['SIP/2.0', 'INVITE3', 'INVITE4', 'INVITE5']);
    t.endTurn();
    assert.deepEqual(t.handled.slice(8), ['MESSAGE']);
    assert.equal(t.pending(), 0);
  });

  test('with no time budget, one new request is still handled per turn', () => {
    const t = host(1);
    const intake = new Intake(t.h, { burst: 1, budgetMs: 0 });
    for (const m of ['A0', 'INVITE', 'REGISTER']) intake.push(msg(m), 'peer');
    t.endTurn();
    assert.deepEqual(t.handled, ['A0', 'INVITE']);
    t.endTurn();
    assert.deepEqual(t.handled, ['A0', 'INVITE', 'REGISTER']);
  });

  test('a full queue drops what arrives and says so', () => {
    const t = host();
    const intake = new Intake(t.h, { burst: 1, maxQueued: 2 });
    for (const m of ['INVITE', 'BYE', 'INVITE2', 'ACK', 'SIP/2.0']) intake.push(msg(m), 'peer');
    assert.deepEqual(t.shed, ['ACK', 'SIP/2.0']);
    t.endTurn();
    assert.deepEqual(t.handled, ['INVITE', 'BYE', 'INVITE2']);
  });

  test('past maxQueuedBytes what arrives is dropped too, and the room comes back as the queue drains', () => {
    const t = host();
    const big = (name: string) => Buffer.concat([msg(name), Buffer.alloc(3000, 0x20)]);
    const intake = new Intake(t.h, { burst: 1, maxQueuedBytes: 7000 });
    for (const m of ['INVITE', 'INVITE2', 'INVITE3', 'INVITE4']) intake.push(big(m), 'peer');
    assert.deepEqual(t.shed, ['INVITE4'], 'the first is handled at once, two fit, the fourth would not');
    intake.push(msg('BYE'), 'peer');
    assert.deepEqual(t.shed, ['INVITE4'], 'a small one still fits');
    t.endTurn();
    assert.deepEqual(t.handled, ['INVITE', 'BYE', 'INVITE2', 'INVITE3']);
    for (const m of ['INVITE5', 'INVITE6']) intake.push(big(m), 'peer');
    assert.deepEqual(t.shed, ['INVITE4'], 'room again once drained');
    assert.throws(() => new Intake(t.h, { maxQueuedBytes: 0 }), RangeError);
  });

  test('options are checked', () => {
    const t = host();
    assert.throws(() => new Intake(t.h, { burst: 0 }), RangeError);
    assert.throws(() => new Intake(t.h, { maxQueued: 1.5 }), RangeError);
    assert.throws(() => new Intake(t.h, { budgetMs: -1 }), RangeError);
  });

  test('what finishes work under way: responses and the methods that only live in a dialog', () => {
    const yes = [
      'SIP/2.0 200 OK',
      '\r\n\r\nSIP/2.0 180 Ringing',
      'ACK sip:a',
      'BYE sip:a',
      'PRACK sip:a',
      'UPDATE sip:a',
      'INFO sip:a',
      'NOTIFY sip:a',
    ];
    const no = [
      'INVITE sip:a',
      'CANCEL sip:a',
      'REGISTER sip:a',
      'OPTIONS sip:a',
      'ack sip:a',
      'ACKX sip:a',
      'BYEBYE sip:a',
      'SIPX',
      'INF',
      '',
      'SUBSCRIBE sip:a',
    ];
    for (const s of yes) assert.equal(finishesWork(Buffer.from(s)), true, s);
    for (const s of no) assert.equal(finishesWork(Buffer.from(s)), false, s);
  });
});
