import assert from 'node:assert/strict';
import { describe, mock, test } from 'node:test';
import { TransactionTimeoutError } from '../../src/errors.js';
import { parseMessage, type SipRequest, type SipResponse } from '../../src/index.js';
import { createResponse } from '../../src/message/response.js';
import { parseUri } from '../../src/message/uri.js';
import { type ForwardOptions, ProxyCore } from '../../src/proxy/proxy.js';
import type { ProxyTarget } from '../../src/proxy/target.js';
import type { IncomingRequest, OutgoingRequest, SipStack } from '../../src/stack/sip-stack.js';
import type { Source } from '../../src/transport/transport-layer.js';

// Forking and response selection of a response context (RFC 3261 §16.7,
// §16.8, §16.10) with the transport faked: each branch's client transaction
// is a stand-in the test answers by hand, and the upstream server
// transaction records what it is given.

const SOURCE: Source = {
  transport: 'udp',
  address: '192.0.2.1',
  port: 5060,
  localAddress: '127.0.0.1',
  localPort: 5060,
  connection: undefined,
};

function invite(): SipRequest {
  return parseMessage(
    [
      'INVITE sip:bob@example.test SIP/2.0',
      'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-upstream',
      'Max-Forwards: 70',
      'To: <sip:bob@example.test>',
      'From: <sip:alice@example.test>;tag=a',
      'Call-ID: fork-1@192.0.2.1',
      'CSeq: 1 INVITE',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  ) as SipRequest;
}

/** A branch's client transaction, answered by the test. */
class FakeBranch {
  readonly request: SipRequest;
  readonly handlers: Array<(r: SipResponse) => void> = [];
  readonly errorHandlers: Array<(e: Error) => void> = [];
  cancels = 0;
  constructor(request: SipRequest) {
    this.request = request;
  }
  onResponse(fn: (r: SipResponse) => void): this {
    this.handlers.push(fn);
    return this;
  }
  onError(fn: (e: Error) => void): this {
    this.errorHandlers.push(fn);
    return this;
  }
  released = false;
  release(late: (r: SipResponse) => void): void {
    this.handlers.length = 0;
    this.errorHandlers.length = 0;
    this.handlers.push(late);
    this.released = true;
  }
  cancel(): Promise<unknown> {
    this.cancels++;
    return Promise.resolve();
  }
  /** A response from downstream: our Via on top, as the transaction layer hands it up. */
  answer(status: number, extra: Array<[string, string]> = []): void {
    const withVia = this.request.clone();
    withVia.prependHeader('Via', 'SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKproxy.x');
    const r = createResponse(withVia, status, undefined, { toTag: `t-${this.request.uri}`, headers: extra });
    for (const h of this.handlers) h(r);
  }
  timeout(): void {
    for (const h of this.errorHandlers) h(new TransactionTimeoutError('no final response'));
  }
}

class FakeCore extends ProxyCore {
  readonly sent: FakeBranch[] = [];
  readonly loops: Array<string | undefined> = [];
  /** Responses sent on statelessly once their context was done. */
  readonly late: SipResponse[] = [];
  override forwardLateResponse(r: SipResponse): Promise<void> {
    this.late.push(r);
    return Promise.resolve();
  }
  override send(
    copy: SipRequest,
    _t: ProxyTarget,
    _s: Source,
    _o: ForwardOptions,
    loop: string | undefined,
  ): Promise<OutgoingRequest> {
    this.loops.push(loop);
    const b = new FakeBranch(copy);
    this.sent.push(b);
    return Promise.resolve(b as unknown as OutgoingRequest);
  }
}

function setup(targets: string[], options: ForwardOptions & { timerCMs?: number; q?: number[] } = {}) {
  const core = new FakeCore({} as SipStack, { isOurUri: () => false, timerCMs: options.timerCMs });
  const upstream: SipResponse[] = [];
  let state = 'proceeding';
  const req = invite();
  const incoming = {
    request: req,
    source: SOURCE,
    get state() {
      return state;
    },
    respond(r: SipResponse) {
      upstream.push(r);
      if (r.status >= 200) state = r.status < 300 ? 'accepted' : 'completed';
      return r;
    },
  } as unknown as IncomingRequest;
  const list: ProxyTarget[] = targets.map((t, i) => ({ uri: parseUri(t), q: options.q?.[i] }));
  const ctx = core.forward(incoming, list, options, () => 'tag');
  return { core, ctx, upstream, branch: (i: number) => core.sent[i] as FakeBranch };
}

const tick = () => new Promise((r) => setImmediate(r));
const statuses = (rs: SipResponse[]) => rs.map((r) => r.status);

describe('response context', () => {
  test('parallel fork: 180 goes up at once, a 486 waits, the 200 goes up and the rest is cancelled', async () => {
    const { upstream, branch, core } = setup(['sip:a@x.test', 'sip:b@x.test', 'sip:c@x.test']);
    await tick();
    assert.equal(core.sent.length, 3, 'three branches at once');
    assert.deepEqual(core.loops, ['tag', 'tag', 'tag'], 'forked branches carry the loop tag (RFC 5393)');
    assert.equal(branch(0).request.maxForwards, 69, 'Max-Forwards decremented on each copy');
    assert.equal(branch(1).request.uri.toString(), 'sip:b@x.test', 'each copy has its target as Request-URI');
    branch(0).answer(100);
    branch(0).answer(180);
    branch(2).answer(180);
    branch(1).answer(486);
    assert.deepEqual(statuses(upstream), [180, 180], '100 absorbed, 180s forwarded, 486 held');
    assert.equal(upstream[0]?.via.length, 1, "the proxy's Via is off the forwarded response");
    branch(2).answer(200);
    assert.deepEqual(statuses(upstream), [180, 180, 200], '200 forwarded at once');
    assert.equal(branch(0).cancels, 1, 'the ringing branch is cancelled');
    assert.equal(branch(1).cancels, 0, 'a branch with a final response is not');
    branch(2).answer(200);
    assert.deepEqual(statuses(upstream), [180, 180, 200, 200], 'a retransmitted 2xx goes up too');
    assert.equal(branch(2).released, false, 'the context holds its branches while one is pending');
    branch(0).answer(487);
    assert.ok(
      [0, 1, 2].every((i) => branch(i).released),
      'once every branch is final, no branch holds the context any more',
    );
    branch(2).answer(200);
    assert.deepEqual(statuses(upstream), [180, 180, 200, 200], 'the context forwards nothing more');
    assert.deepEqual(statuses(core.late), [200], 'a 2xx after that goes upstream statelessly');
    branch(1).answer(486);
    assert.deepEqual(statuses(core.late), [200], 'anything else stops here');
  });

  test('a 6xx ends the search: pending branches cancelled, the 6xx chosen over their 487s', async () => {
    const { upstream, branch } = setup(['sip:a@x.test', 'sip:b@x.test']);
    await tick();
    branch(1).answer(180);
    branch(0).answer(603);
    assert.equal(branch(1).cancels, 1, 'the other branch is cancelled');
    assert.deepEqual(statuses(upstream), [180], 'the 6xx waits for the other branch');
    branch(1).answer(487);
    assert.deepEqual(statuses(upstream), [180, 603], '603 is the best response');
  });

  test('all branches fail: the challenges of every 401/407 are gathered into one', async () => {
    const { upstream, branch } = setup(['sip:a@x.test', 'sip:b@x.test', 'sip:c@x.test']);
    await tick();
    branch(0).answer(407, [['Proxy-Authenticate', 'Digest realm="a", nonce="1"']]);
    branch(1).answer(404);
    branch(2).answer(401, [['WWW-Authenticate', 'Digest realm="c", nonce="3"']]);
    assert.equal(upstream.length, 1, 'one final response');
    const best = upstream[0] as SipResponse;
    assert.ok(best.status === 401 || best.status === 407, 'a challenge was chosen over the 404');
    assert.equal(best.getAll('Proxy-Authenticate').length, 1, 'the 407’s challenge');
    assert.equal(best.getAll('WWW-Authenticate').length, 1, 'the 401’s challenge');
  });

  test('a 503 is sent on as 500; a timeout counts as 408, and 4xx is a lower class than 5xx', async () => {
    const a = setup(['sip:a@x.test']);
    await tick();
    assert.deepEqual(a.core.loops, [undefined], 'a single target needs no loop tag');
    a.branch(0).answer(503);
    assert.deepEqual(statuses(a.upstream), [500], 'a lone 503 goes up as 500');
    const b = setup(['sip:a@x.test', 'sip:b@x.test']);
    await tick();
    b.branch(0).answer(503);
    b.branch(1).timeout();
    await tick();
    assert.deepEqual(statuses(b.upstream), [408], 'the timeout (408) beats the 503');
  });

  test('sequential: lower q waits for higher q to fail', async () => {
    const { upstream, branch, core } = setup(['sip:low@x.test', 'sip:high@x.test'], { q: [0.2, 0.9] });
    await tick();
    assert.equal(core.sent.length, 1, 'one group at a time');
    assert.equal(branch(0).request.uri.toString(), 'sip:high@x.test', 'highest q first');
    branch(0).answer(486);
    await tick();
    assert.equal(core.sent.length, 2, 'then the next group');
    assert.equal(upstream.length, 0, 'the 486 is held');
    branch(1).answer(200);
    assert.deepEqual(statuses(upstream), [200], 'the second group answered');
  });

  // A 100 is a provisional response too (§9.1), though it goes no further upstream and does not reset Timer C.
  for (const provisional of [180, 100]) {
    test(`CANCEL from upstream: a branch is cancelled once its first provisional response (${provisional}) comes, not before; 487 upstream`, async () => {
      const { ctx, upstream, branch } = setup(['sip:a@x.test', 'sip:b@x.test']);
      await tick();
      branch(0).answer(provisional);
      ctx.cancel();
      assert.equal(branch(0).cancels, 1, 'the branch that answered is cancelled at once');
      assert.equal(branch(1).cancels, 0, 'no CANCEL before a provisional response (§9.1)');
      branch(1).answer(provisional);
      assert.equal(branch(1).cancels, 1, 'cancelled when its provisional came');
      branch(0).answer(487);
      branch(1).answer(487);
      assert.deepEqual(
        statuses(upstream),
        provisional === 100 ? [487] : [180, 487],
        '487 Request Terminated upstream',
      );
    });

    test(`Timer C: a branch that answered ${provisional} and nothing more is cancelled (§16.8)`, async () => {
      mock.timers.enable({ apis: ['setTimeout'] });
      try {
        const { branch } = setup(['sip:a@x.test'], { timerCMs: 200_000 });
        await tick();
        branch(0).answer(provisional);
        mock.timers.tick(199_000);
        assert.equal(branch(0).cancels, 0, 'not before Timer C');
        mock.timers.tick(2_000);
        assert.equal(branch(0).cancels, 1, 'CANCEL when Timer C fires');
      } finally {
        mock.timers.reset();
      }
    });
  }
});
