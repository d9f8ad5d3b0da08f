import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type CallEnd,
  type IncomingCall,
  type IncomingReferral,
  type Negotiated,
  SipStack,
  type TransportName,
  UserAgent,
} from '../../src/index.js';
import { Baresip, within } from '../support/baresip.js';

// Interop with baresip (Debian package baresip-core), started by each test on loopback
// and driven over its ctrl_tcp socket (test/support/baresip.ts). Each test calls in one
// direction over UDP or TCP, checks that the call is answered and that media is agreed,
// and has one side or the other hang up. A failure prints sipwire's ladder and baresip's
// own SIP trace.

const TEST_TIMEOUT_MS = 60_000;

/** A sipwire user agent on one transport, with every message it sends and receives written down. */
interface Sipwire {
  stack: SipStack;
  ua: UserAgent;
  port: number;
  ladder: string[];
}

async function startSipwire(transport: TransportName): Promise<Sipwire> {
  const stack = new SipStack({ listen: [`${transport}:127.0.0.1:0`] });
  const ladder: string[] = [];
  stack.onTrace((direction, data, peer) => {
    const arrow = direction === 'in' ? '<<<' : '>>>';
    ladder.push(
      `${arrow} ${direction} ${peer.transport} ${peer.address}:${peer.port}\n${data.toString('utf8')}`,
    );
  });
  const [bound] = await stack.start();
  const ua = new UserAgent(stack, { uri: 'sip:bob@127.0.0.1' });
  return { stack, ua, port: (bound as { port: number }).port, ladder };
}

/** What a failure message shows: sipwire's ladder, then the end of baresip's output. */
function diagnostics(s: Sipwire | undefined, b: Baresip | undefined): string {
  return [
    '--- sipwire ladder ---',
    s === undefined ? '(not started)' : s.ladder.join('\n') || '(no messages)',
    '--- baresip output ---',
    b === undefined ? '(not started)' : b.tail(),
  ].join('\n');
}

/** Whether the ladder shows a message received that matches every pattern. */
function received(s: Sipwire, ...patterns: RegExp[]): boolean {
  return s.ladder.some((m) => m.startsWith('<<< in') && patterns.every((p) => p.test(m)));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function endOf(call: { once(event: 'ended', fn: (end: CallEnd) => void): unknown }): Promise<CallEnd> {
  return new Promise((resolve) => call.once('ended', resolve));
}

function assertMedia(media: Negotiated, diag: () => string): void {
  assert.ok(
    media.codec.name === 'PCMU' || media.codec.name === 'PCMA',
    `negotiated codec ${media.codec.name}, expected PCMU or PCMA\n${diag()}`,
  );
  assert.equal(media.remoteAddress, '127.0.0.1', `baresip's media address\n${diag()}`);
  assert.ok(media.remotePort > 0, `baresip's media port ${media.remotePort}\n${diag()}`);
}

/** The call baresip places to sipwire, answered by sipwire: the call, its answer() and its first media event. */
interface Answered {
  call: IncomingCall;
  answered: Promise<void>;
  media: Promise<Negotiated>;
}

/** Makes the agent ring and answer the first incoming call; resolves when it comes. */
function answerFirstCall(ua: UserAgent): Promise<Answered> {
  return new Promise((resolve) => {
    ua.onCall((call) => {
      // The media event fires inside answer(): listen before answering.
      const media = new Promise<Negotiated>((r) => call.once('media', r));
      call.ring();
      const answered = call.answer();
      resolve({ call, answered, media });
    });
  });
}

/** Has baresip dial sipwire and waits until the call is answered, ACKed and agreed on both sides. */
async function baresipCallsSipwire(
  transport: TransportName,
  s: Sipwire,
  b: Baresip,
  diag: () => string,
): Promise<IncomingCall> {
  const incoming = answerFirstCall(s.ua);
  const uri = `sip:bob@127.0.0.1:${s.port}${transport === 'tcp' ? ';transport=tcp' : ''}`;
  await within(b.dial(uri), `baresip could not dial ${uri}`, diag);
  const { call, answered, media } = await within(incoming, 'no INVITE from baresip reached sipwire', diag);
  assert.equal(
    call.invite.source.transport,
    transport,
    `the INVITE came over ${call.invite.source.transport}\n${diag()}`,
  );
  // answer() resolves when the ACK for the 200 arrives (without one it would take 64*T1 = 32 s).
  await within(answered, 'sipwire answered but no ACK settled answer()', diag);
  assert.equal(call.state, 'answered', `sipwire's call state after the ACK\n${diag()}`);
  assert.ok(
    received(s, /^ACK /m, new RegExp(`^Call-ID: ${escapeRegExp(call.callId)}`, 'mi')),
    `the ladder shows no ACK from baresip\n${diag()}`,
  );
  assertMedia(await within(media, 'sipwire emitted no media event', diag), diag);
  await within(b.callEvent('CALL_ESTABLISHED', call.callId), 'baresip did not establish the call', diag);
  return call;
}

describe('baresip interop', () => {
  for (const transport of ['udp', 'tcp'] as const) {
    const T = transport.toUpperCase();

    test(`baresip calls sipwire over ${T}, sipwire hangs up`, { timeout: TEST_TIMEOUT_MS }, async () => {
      let b: Baresip | undefined;
      let s: Sipwire | undefined;
      const diag = () => diagnostics(s, b);
      try {
        b = await Baresip.start();
        s = await startSipwire(transport);
        const call = await baresipCallsSipwire(transport, s, b, diag);
        const ended = endOf(call);
        await within(call.hangup(), 'sipwire could not hang up', diag);
        const end = await within(ended, "sipwire's call did not end", diag);
        assert.equal(end.by, 'local', `sipwire's call end ${JSON.stringify(end)}\n${diag()}`);
        await within(b.callEvent('CALL_CLOSED', call.callId), 'baresip did not close the call', diag);
        await within(b.waitForOutput(/session closed/), 'baresip did not print the call closed', diag);
        assert.ok(
          received(s, /^SIP\/2\.0 200 /m, /^CSeq: \d+ BYE/m),
          `baresip did not answer the BYE with 200\n${diag()}`,
        );
      } finally {
        await b?.stop();
        await s?.stack.stop();
      }
    });

    test(`baresip calls sipwire over ${T}, baresip hangs up`, { timeout: TEST_TIMEOUT_MS }, async () => {
      let b: Baresip | undefined;
      let s: Sipwire | undefined;
      const diag = () => diagnostics(s, b);
      try {
        b = await Baresip.start();
        s = await startSipwire(transport);
        const call = await baresipCallsSipwire(transport, s, b, diag);
        const ended = endOf(call);
        await within(b.hangup(), 'baresip could not hang up', diag);
        const end = await within(ended, "sipwire's call did not end after baresip's BYE", diag);
        assert.equal(end.by, 'remote', `sipwire's call end ${JSON.stringify(end)}\n${diag()}`);
        assert.equal(call.state, 'ended', `sipwire's call state\n${diag()}`);
        await within(b.callEvent('CALL_CLOSED', call.callId), 'baresip did not close the call', diag);
      } finally {
        await b?.stop();
        await s?.stack.stop();
      }
    });

    for (const hangsUp of ['sipwire', 'baresip'] as const) {
      test(`sipwire calls baresip over ${T}, ${hangsUp} hangs up`, { timeout: TEST_TIMEOUT_MS }, async () => {
        let b: Baresip | undefined;
        let s: Sipwire | undefined;
        const diag = () => diagnostics(s, b);
        try {
          b = await Baresip.start({ answerMode: 'auto' });
          s = await startSipwire(transport);
          const uri = `sip:baresip@127.0.0.1:${b.sipPort}${transport === 'tcp' ? ';transport=tcp' : ''}`;
          const call = s.ua.call(uri);
          const media = new Promise<Negotiated>((r) => call.once('media', r));
          const ended = endOf(call);
          const ok = await within(call.answered, `baresip did not answer ${uri}`, diag);
          assert.equal(ok.status, 200, `baresip's final response\n${diag()}`);
          assert.equal(call.state, 'answered', `sipwire's call state\n${diag()}`);
          assert.ok(
            received(s, new RegExp(`^<<< in ${transport} `), /^SIP\/2\.0 200 /m, /^CSeq: \d+ INVITE/m),
            `the 200 to the INVITE did not come over ${transport}\n${diag()}`,
          );
          assertMedia(await within(media, 'sipwire emitted no media event', diag), diag);
          const established = await within(
            b.callEvent('CALL_ESTABLISHED', call.callId),
            'baresip did not establish the call',
            diag,
          );
          assert.equal(established.direction, 'incoming', `baresip's call direction\n${diag()}`);
          if (hangsUp === 'sipwire') {
            await within(call.hangup(), 'sipwire could not hang up', diag);
            const end = await within(ended, "sipwire's call did not end", diag);
            assert.equal(end.by, 'local', `sipwire's call end ${JSON.stringify(end)}\n${diag()}`);
            await within(b.callEvent('CALL_CLOSED', call.callId), 'baresip did not close the call', diag);
            assert.ok(
              received(s, /^SIP\/2\.0 200 /m, /^CSeq: \d+ BYE/m),
              `baresip did not answer the BYE with 200\n${diag()}`,
            );
          } else {
            await within(b.hangup(), 'baresip could not hang up', diag);
            const end = await within(ended, "sipwire's call did not end after baresip's BYE", diag);
            assert.equal(end.by, 'remote', `sipwire's call end ${JSON.stringify(end)}\n${diag()}`);
            await within(b.callEvent('CALL_CLOSED', call.callId), 'baresip did not close the call', diag);
          }
          assert.equal(call.state, 'ended', `sipwire's call state\n${diag()}`);
        } finally {
          await b?.stop();
          await s?.stack.stop();
        }
      });
    }
  }
});
describe('baresip transfers a call to sipwire (RFC 3515)', () => {
  test('baresip REFERs its call with a sipwire agent to another; the agent calls it and reports 200 OK', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    let b: Baresip | undefined;
    let s: Sipwire | undefined;
    let carol: Sipwire | undefined;
    const diag = () => `${diagnostics(s, b)}\n--- target ladder ---\n${carol?.ladder.join('\n') ?? ''}`;
    try {
      b = await Baresip.start({ answerMode: 'auto' });
      s = await startSipwire('udp');
      carol = await startSipwire('udp');
      const atCarol = answerFirstCall(carol.ua);
      const call = s.ua.call(`sip:baresip@127.0.0.1:${b.sipPort}`);
      const referred = new Promise<IncomingReferral>((resolve) =>
        call.on('refer', (r) => {
          resolve(r);
          r.accept();
        }),
      );
      await within(call.answered, 'baresip did not answer', diag);
      await within(b.callEvent('CALL_ESTABLISHED', call.callId), 'baresip did not establish the call', diag);
      const target = `sip:carol@127.0.0.1:${carol.port}`;
      await within(b.command('transfer', target), 'baresip refused the transfer command', diag);
      const referral = await within(referred, 'no REFER from baresip reached the call', diag);
      assert.equal(referral.target.port, carol.port, `Refer-To ${referral.referTo}\n${diag()}`);
      const transferred = await within(atCarol, 'the transferred call did not reach the target', diag);
      await within(transferred.answered, 'the target did not answer', diag);
      assert.ok(
        s.ladder.some((m) => m.startsWith('>>> out') && /^NOTIFY /m.test(m) && /^SIP\/2\.0 200 OK/m.test(m)),
        `sipwire reported 200 OK to baresip in a NOTIFY\n${diag()}`,
      );
      assert.ok(
        received(s, /^SIP\/2\.0 200 /m, /^CSeq: \d+ NOTIFY/m),
        `baresip answered the NOTIFYs\n${diag()}`,
      );
      await transferred.call.hangup();
      if (call.state !== 'ended') await call.hangup();
    } finally {
      await b?.stop();
      await s?.stack.stop();
      await carol?.stack.stop();
    }
  });
});
