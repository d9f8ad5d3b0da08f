import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type {
  CallEnd,
  IncomingCall,
  IncomingReferral,
  OutgoingCall,
  RequestFailedError,
} from '../../src/index.js';
import { type Agent, answering, withAgents } from '../support/agents.js';

/** Alice calls Bob, who answers; returns both ends of the call. */
async function connected(alice: Agent, bob: Agent) {
  const incoming = answering(bob);
  const call = alice.ua.call(bob.uri);
  await call.answered;
  return { call, incoming: await incoming };
}

function three(body: (a: Agent, b: Agent, c: Agent) => Promise<void>): Promise<void> {
  return withAgents(['alice', 'bob', 'carol'], ([a, b, c]) => body(a, b, c));
}

describe('call transfer with REFER (RFC 3515)', () => {
  test('blind transfer: Bob refers Alice to Carol; Alice calls Carol with Referred-By and Bob hears 100 then 200', () =>
    three(async (alice, bob, carol) => {
      const { call: aliceToBob, incoming: bobSide } = await connected(alice, bob);
      const carolGot = answering(carol);
      const referrals: IncomingReferral[] = [];
      aliceToBob.on('refer', (r) => {
        referrals.push(r);
        r.accept();
      });
      const progress: number[] = [];
      const outcome = await bobSide.refer(`${carol.uri};transport=udp`, {
        onProgress: (status) => progress.push(status),
      });
      assert.deepEqual(outcome, { status: 200, reason: 'OK' });
      assert.equal(progress[0], 100, 'first report: 100 Trying');
      assert.equal(progress.at(-1), 200);
      assert.equal(referrals.length, 1);
      assert.equal(referrals[0]?.target.host, '127.0.0.1');
      assert.equal(referrals[0]?.target.port, carol.address.port);
      const atCarol = await carolGot;
      assert.match(atCarol.inviteRequest.get('Referred-By') ?? '', /sip:bob@127\.0\.0\.1/);
      assert.match(atCarol.inviteRequest.from?.toString() ?? '', /sip:alice@/, 'the new call is from Alice');
      // The transferor leaves; the transferred call stays up.
      await bobSide.hangup();
      assert.equal(aliceToBob.state, 'ended');
      assert.equal(atCarol.state, 'answered');
      await atCarol.hangup();
      assert.equal(bob.ua.dialogs.size, 0);
    }));

  test('the target refuses: the final report carries its status', () =>
    three(async (alice, bob, carol) => {
      const { call: aliceToBob, incoming: bobSide } = await connected(alice, bob);
      carol.ua.onCall((c) => void c.reject(486, 'Busy Here'));
      aliceToBob.on('refer', (r) => r.accept());
      const outcome = await bobSide.refer(carol.uri);
      assert.deepEqual(outcome, { status: 486, reason: 'Busy Here' });
      assert.equal(aliceToBob.state, 'answered', 'the first call goes on');
      await aliceToBob.hangup();
    }));

  test('without a refer listener REFER is declined with 603; a rejecting listener chooses the status', () =>
    three(async (alice, bob, carol) => {
      const { call: aliceToBob, incoming: bobSide } = await connected(alice, bob);
      await assert.rejects(bobSide.refer(carol.uri), (e: RequestFailedError) => e.status === 603);
      aliceToBob.on('refer', (r) => r.reject(403, 'Forbidden'));
      await assert.rejects(bobSide.refer(carol.uri), (e: RequestFailedError) => e.status === 403);
      assert.equal(aliceToBob.state, 'answered');
      await aliceToBob.hangup();
    }));

  test('a REFER without one SIP Refer-To gets 400; a NOTIFY for no transfer gets 481; outside a call REFER gets 603', () =>
    three(async (alice, bob) => {
      const { call: aliceToBob, incoming: bobSide } = await connected(alice, bob);
      aliceToBob.on('refer', () => assert.fail('not a valid REFER'));
      assert.equal((await bobSide.request('REFER')).status, 400, 'no Refer-To');
      const two = await bobSide.request('REFER', {
        headers: [
          ['Refer-To', '<sip:a@127.0.0.1>'],
          ['Refer-To', '<sip:b@127.0.0.1>'],
        ],
      });
      assert.equal(two.status, 400, 'two Refer-To');
      const tel = await bobSide.request('REFER', { headers: [['Refer-To', '<tel:+15551234>']] });
      assert.equal(tel.status, 400, 'not a SIP URI');
      const notify = await bobSide.request('NOTIFY', {
        headers: [
          ['Event', 'refer;id=99'],
          ['Subscription-State', 'active'],
        ],
      });
      assert.equal(notify.status, 481);
      assert.equal(aliceToBob.state, 'answered', 'none of it ends the call');
      await aliceToBob.hangup();
      const out = bob.ua.newRequest('REFER', alice.uri);
      out.setHeader('Refer-To', '<sip:carol@127.0.0.1>');
      const { response } = await bob.ua.send(out);
      assert.equal(response.status, 603);
    }));

  test('header fields of the Refer-To URI go in the new INVITE, except those that would forge it', () =>
    three(async (alice, bob, carol) => {
      const { call: aliceToBob, incoming: bobSide } = await connected(alice, bob);
      const carolGot = answering(carol);
      aliceToBob.on('refer', (r) => r.accept());
      const target = `${carol.uri}?Subject=Handed%20over&Call-ID=forged&Route=%3Csip:evil.example%3E`;
      assert.equal((await bobSide.refer(target)).status, 200);
      const invite = (await carolGot).inviteRequest;
      assert.equal(invite.get('Subject'), 'Handed over');
      assert.notEqual(invite.callId, 'forged');
      assert.equal(invite.get('Route'), undefined);
      await aliceToBob.hangup();
    }));

  test('the call ending before the final report settles the transfer with an error', () =>
    three(async (alice, bob, carol) => {
      const { call: aliceToBob, incoming: bobSide } = await connected(alice, bob);
      carol.ua.onCall(() => {}); // rings for ever
      aliceToBob.on('refer', (r) => {
        r.accept();
        setTimeout(() => void aliceToBob.hangup(), 100);
      });
      await assert.rejects(bobSide.refer(carol.uri), /call ended before the transfer/);
    }));

  test('attended transfer: Alice hands Bob over to Carol, replacing her own call with Carol (RFC 3891)', () =>
    three(async (alice, bob, carol) => {
      const { call: aliceToBob, incoming: bobSide } = await connected(alice, bob);
      const carolCalls: IncomingCall[] = [];
      carol.ua.onCall((c) => {
        carolCalls.push(c);
        void c.answer();
      });
      const aliceToCarol = alice.ua.call(carol.uri);
      await aliceToCarol.answered;
      const aliceCarolEnded = new Promise<CallEnd>((resolve) => aliceToCarol.once('ended', resolve));
      const bobsNewCall = new Promise<OutgoingCall>((resolve) =>
        bobSide.on('refer', (r) => resolve(r.accept())),
      );
      const outcome = await aliceToBob.transfer(aliceToCarol);
      assert.deepEqual(outcome, { status: 200, reason: 'OK' });
      const replacing = carolCalls[1];
      assert.ok(replacing !== undefined, 'Carol got the second INVITE');
      assert.equal(replacing.replaces, carolCalls[0], "it names Carol's call with Alice");
      assert.match(replacing.inviteRequest.get('Replaces') ?? '', new RegExp(`^${aliceToCarol.callId};`));
      const end = await aliceCarolEnded;
      assert.equal(end.by, 'remote', 'Carol ended her call with Alice (BYE)');
      assert.equal(carolCalls[0]?.state, 'ended');
      const bobToCarol = await bobsNewCall;
      assert.equal(bobToCarol.state, 'answered', 'Bob and Carol talk');
      await aliceToBob.hangup();
      await bobToCarol.hangup();
      for (const x of [alice, bob, carol]) assert.equal(x.ua.dialogs.size, 0, 'nothing left');
    }));

  test('Replaces naming no dialog gets 481, early-only on a confirmed call 486, a malformed one 400, a call just ended 603', () =>
    three(async (alice, bob, carol) => {
      const { call: aliceToBob } = await connected(alice, bob);
      const d = aliceToBob.dialog;
      assert.ok(d !== undefined);
      const statusOf = (replaces: string[]) => {
        const call = carol.ua.call(bob.uri, { headers: replaces.map((v) => ['Replaces', v] as const) });
        return call.answered.then(
          (r) => r.status,
          (e: { status?: number }) => e.status,
        );
      };
      // Seen from Bob: to-tag is Bob's tag, from-tag Alice's.
      const mine = `${d.callId};to-tag=${d.remoteTag};from-tag=${d.localTag}`;
      assert.equal(await statusOf([`${d.callId};to-tag=nope;from-tag=${d.localTag}`]), 481);
      assert.equal(await statusOf([`${mine};early-only`]), 486);
      assert.equal(await statusOf([`${d.callId};to-tag=${d.remoteTag}`]), 400, 'no from-tag');
      assert.equal(await statusOf([mine, mine]), 400, 'two Replaces');
      assert.equal(aliceToBob.state, 'answered', 'the call named is left alone');
      await aliceToBob.hangup();
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(await statusOf([mine]), 603, 'a call just ended: Declined (§3)');
    }));

  test('Replaces naming a ringing call the agent placed: answering the new call cancels it (call pickup)', () =>
    three(async (alice, bob, carol) => {
      carol.ua.onCall((c) => c.ring()); // rings, never answers
      const aliceToCarol = alice.ua.call(carol.uri);
      await new Promise<void>((resolve) => aliceToCarol.once('ringing', () => resolve()));
      const d = aliceToCarol.dialog;
      assert.ok(d !== undefined, 'the 180 made an early dialog');
      const ended = new Promise<CallEnd>((resolve) => aliceToCarol.once('ended', resolve));
      const picked = answering(alice);
      // Seen from Alice: to-tag is her tag, from-tag Carol's.
      const pickup = bob.ua.call(alice.uri, {
        headers: [['Replaces', `${d.callId};to-tag=${d.localTag};from-tag=${d.remoteTag}`]],
      });
      await pickup.answered;
      assert.equal((await picked).replaces, aliceToCarol);
      const end = await ended;
      assert.equal(end.status, 487, 'the ringing call was cancelled');
      await pickup.hangup();
    }));
});
