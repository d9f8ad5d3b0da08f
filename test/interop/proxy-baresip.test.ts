import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeUser } from '../../src/cli/serve-commands.js';
import type { TransportAddress } from '../../src/index.js';
import { createLogger } from '../../src/server/log.js';
import { SipServer } from '../../src/server/server.js';
import { MemoryLocationStore, MemoryUserStore } from '../../src/server/store/memory.js';
import type { Binding } from '../../src/server/store/types.js';
import { Baresip, type BaresipEvent, WAIT_MS, within } from '../support/baresip.js';
import { field, fields } from '../support/headers.js';

// sipwire serve as the record-routing proxy between two baresip 1.0.0
// (Debian baresip-core), each started in its own folder on its own SIP port
// (test/support/baresip.ts) and driven over its ctrl_tcp socket. alice and
// bob register with a password (Digest MD5: baresip 1.0.0 gives up on any
// other challenge, see registrar.test.ts), each with sipwire as its outbound
// proxy (the `outbound=` account parameter, which baresip sends as a loose
// Route). alice dials bob's address of record; sipwire challenges the INVITE
// with 407, then forwards it to the contact bob registered, on the flow he
// registered on, and records the route. bob answers at once
// (answermode=auto); alice hangs up, and the BYE follows the recorded route.
// Each test runs once over UDP and once over TCP (transport=tcp in the
// account line, the outbound proxy and so in everything baresip sends).
// Each side is checked by what baresip reports (ctrl_tcp events) and by what
// sipwire did (its counters, its location service and its message trace).
// A failure prints sipwire's trace and both baresips' own SIP traces.

const DOMAIN = 'example.test';
const PASSWORDS = { alice: 'alice-secret', bob: 'bob-secret' } as const;
type Name = keyof typeof PASSWORDS;
const TEST_TIMEOUT_MS = 60_000;

type Transport = 'udp' | 'tcp';

/** One message sipwire sent or received. */
interface Traced {
  direction: 'in' | 'out';
  transport: string;
  address: string;
  port: number;
  text: string;
}

interface Proxy {
  server: SipServer;
  /** The port sipwire listens on for this test's transport. */
  port: number;
  trace: Traced[];
}

/** sipwire serve in this process, on UDP and TCP of loopback, with alice and bob as users of DOMAIN. */
async function startProxy(transport: Transport): Promise<Proxy> {
  const users = new MemoryUserStore();
  for (const [name, password] of Object.entries(PASSWORDS))
    await users.put(makeUser(`${name}@${DOMAIN}`, password));
  const server = new SipServer({
    listen: ['udp:127.0.0.1:0', 'tcp:127.0.0.1:0'],
    domains: [DOMAIN],
    stores: { location: new MemoryLocationStore(), users },
    auth: { algorithms: ['MD5'] },
    logger: createLogger({ level: 'silent', pretty: false }),
  });
  const trace: Traced[] = [];
  server.stack.onTrace((direction, data, peer) => {
    trace.push({
      direction,
      transport: peer.transport,
      address: peer.address,
      port: peer.port,
      text: data.toString('utf8'),
    });
  });
  const bound = await server.start();
  const here = bound.find((b) => b.transport === transport) as TransportAddress | undefined;
  assert.ok(here !== undefined, `sipwire serve is not listening on ${transport}: ${JSON.stringify(bound)}`);
  return { server, port: here.port, trace };
}

interface Phones {
  alice?: Baresip;
  bob?: Baresip;
}

/** What a failure message shows: sipwire's counters and trace, then the end of each baresip's output. */
function diagnostics(proxy: Proxy | undefined, phones: Phones): string {
  const lines = ['--- sipwire serve ---'];
  if (proxy === undefined) lines.push('(not started)');
  else {
    lines.push(
      `stats ${JSON.stringify(proxy.server.stats)} proxy ${JSON.stringify(proxy.server.proxy.stats)}`,
    );
    for (const t of proxy.trace.slice(-40))
      lines.push(
        `${t.direction === 'in' ? '<<<' : '>>>'} ${t.direction} ${t.transport} ${t.address}:${t.port}\n${t.text}`,
      );
  }
  for (const name of ['alice', 'bob'] as const) {
    lines.push(`--- baresip ${name} ---`);
    lines.push(phones[name]?.tail() ?? '(not started)');
  }
  return lines.join('\n');
}

/** Resolves once sipwire's trace holds a message that matches; fails the test after `ms`. */
async function traced(
  proxy: Proxy,
  match: (t: Traced) => boolean,
  what: string,
  diag: () => string,
  ms = WAIT_MS,
): Promise<Traced> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = proxy.trace.find(match);
    if (found !== undefined) return found;
    if (Date.now() > deadline) assert.fail(`${what}: not in sipwire's trace after ${ms} ms\n${diag()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The first line of a message: request line or status line. */
function startLine(text: string): string {
  return text.slice(0, text.indexOf('\r\n'));
}

/** The messages of sipwire's trace for one call (by Call-ID). */
function ofCall(trace: Traced[], callId: string): Traced[] {
  return trace.filter((t) => field(t.text, 'Call-ID') === callId);
}

/** A readable list of messages, for failure messages. */
function ladder(trace: Traced[]): string {
  return trace
    .map(
      (t) =>
        `${t.direction} ${t.transport} ${t.address}:${t.port} ${startLine(t.text)} (${field(t.text, 'CSeq')})`,
    )
    .join('\n');
}

/** The account line of a user: password, sipwire as the outbound proxy, registration every 60 s. */
function accountLine(name: Name, proxyPort: number, transport: Transport): string {
  const suffix = transport === 'tcp' ? ';transport=tcp' : '';
  const answer = name === 'bob' ? ';answermode=auto' : '';
  return `<sip:${name}@${DOMAIN}${suffix}>;auth_pass=${PASSWORDS[name]};outbound="sip:127.0.0.1:${proxyPort}${suffix}";regint=60${answer}`;
}

/** Starts a baresip for a user and has it register with sipwire; fails the test if it cannot. */
async function registeredPhone(
  name: Name,
  proxy: Proxy,
  transport: Transport,
  phones: Phones,
  diag: () => string,
): Promise<Baresip> {
  const phone = await Baresip.start();
  phones[name] = phone;
  const aor = `sip:${name}@${DOMAIN}`;
  await within(
    phone.addAccount(accountLine(name, proxy.port, transport)),
    `baresip ${name}: no account`,
    diag,
  );
  const outcome = await within(phone.registration(aor), `baresip ${name} did not register`, diag);
  assert.equal(outcome.type, 'REGISTER_OK', `baresip ${name}'s registration outcome\n${diag()}`);
  return phone;
}

/** The one binding of a user, read from sipwire's location service. */
async function bindingOf(proxy: Proxy, name: Name, diag: () => string): Promise<Binding> {
  const bindings = await proxy.server.location.lookup(`sip:${name}@${DOMAIN}`, Date.now());
  assert.equal(bindings.length, 1, `one binding for ${name}: ${JSON.stringify(bindings)}\n${diag()}`);
  return bindings[0] as Binding;
}

function isCallEvent(type: string, aor: string): (e: BaresipEvent) => boolean {
  return (e) => e.type === type && e.accountaor === aor;
}

describe('sipwire serve proxies a call between two baresips', () => {
  for (const transport of ['udp', 'tcp'] as const) {
    const T = transport.toUpperCase();

    test(`alice calls bob's AOR through sipwire over ${T}: 407, record-routed call, alice hangs up`, {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      let proxy: Proxy | undefined;
      const phones: Phones = {};
      const diag = () => diagnostics(proxy, phones);
      try {
        proxy = await startProxy(transport);
        const p = proxy;
        const alice = await registeredPhone('alice', p, transport, phones, diag);
        const bob = await registeredPhone('bob', p, transport, phones, diag);
        const aliceAor = `sip:alice@${DOMAIN}`;
        const bobAor = `sip:bob@${DOMAIN}`;

        // Both registrations went through the challenge and are in the location service.
        assert.equal(p.server.stats.registered, 2, `sipwire counted two registrations\n${diag()}`);
        assert.equal(p.server.stats.refused, 0, `sipwire refused nothing\n${diag()}`);
        const challengedBefore = p.server.stats.challenged;
        assert.ok(
          challengedBefore >= 2,
          `each REGISTER was challenged first (${challengedBefore})\n${diag()}`,
        );
        const aliceBinding = await bindingOf(p, 'alice', diag);
        const bobBinding = await bindingOf(p, 'bob', diag);
        for (const [name, b, phone] of [
          ['alice', aliceBinding, alice],
          ['bob', bobBinding, bob],
        ] as const) {
          assert.match(
            b.contact,
            new RegExp(`^sip:${name}-[^@]+@127\\.0\\.0\\.1:${phone.sipPort}`),
            `${name}'s binding is the Contact of baresip ${name}\n${diag()}`,
          );
          assert.equal(b.flow?.transport, transport, `${name}'s binding's flow is ${transport}\n${diag()}`);
          assert.equal(
            b.flow?.address,
            '127.0.0.1',
            `${name}'s binding's flow comes from loopback\n${diag()}`,
          );
          if (transport === 'udp')
            assert.equal(b.flow?.port, phone.sipPort, `${name}'s flow is baresip's SIP port\n${diag()}`);
        }
        const forwardedBefore = p.server.proxy.stats.forwarded;

        // alice dials bob's address of record; bob answers at once.
        await within(alice.useAccount(aliceAor), 'baresip alice cannot select her account', diag);
        await within(alice.dial(bobAor), `baresip alice could not dial ${bobAor}`, diag);
        const aliceUp = await within(
          alice.waitForEvent(isCallEvent('CALL_ESTABLISHED', aliceAor), WAIT_MS),
          'baresip alice did not establish the call',
          diag,
        );
        const callId = aliceUp.id ?? '';
        assert.notEqual(callId, '', `alice's CALL_ESTABLISHED names the call\n${diag()}`);
        assert.equal(aliceUp.direction, 'outgoing', `alice's call is outgoing\n${diag()}`);
        assert.match(
          aliceUp.peeruri ?? '',
          /^sip:bob@example\.test(;|$)/,
          `alice called bob's AOR\n${diag()}`,
        );
        const bobUp = await within(
          bob.callEvent('CALL_ESTABLISHED', callId),
          'baresip bob did not establish the call',
          diag,
        );
        assert.equal(bobUp.accountaor, bobAor, `the call reached bob's account\n${diag()}`);
        assert.equal(bobUp.direction, 'incoming', `bob's call is incoming\n${diag()}`);
        assert.equal(bobUp.peeruri, aliceAor, `bob sees the call from alice\n${diag()}`);

        // alice hangs up: both sides close the call.
        await within(alice.hangup(), 'baresip alice could not hang up', diag);
        const bobClosed = await within(
          bob.callEvent('CALL_CLOSED', callId),
          'baresip bob did not close the call',
          diag,
        );
        assert.equal(bobClosed.accountaor, bobAor, `bob's account closed the call\n${diag()}`);
        await within(alice.callEvent('CALL_CLOSED', callId), 'baresip alice did not close the call', diag);

        // What sipwire did: challenged the INVITE, then forwarded it and the BYE.
        assert.ok(
          p.server.stats.challenged > challengedBefore,
          `sipwire challenged the INVITE (challenged ${challengedBefore} -> ${p.server.stats.challenged})\n${diag()}`,
        );
        assert.ok(
          p.server.proxy.stats.forwarded >= forwardedBefore + 2,
          `sipwire forwarded the INVITE and the BYE (forwarded ${forwardedBefore} -> ${p.server.proxy.stats.forwarded})\n${diag()}`,
        );
        assert.equal(p.server.stats.routeErrors, 0, `no route failed\n${diag()}`);
        assert.equal(p.server.proxy.stats.loops, 0, `no loop was detected\n${diag()}`);

        const call = ofCall(p.trace, callId);
        const list = () => `the call in sipwire's trace:\n${ladder(call)}\n${diag()}`;
        for (const t of call)
          assert.equal(t.transport, transport, `every message of the call went over ${transport}\n${list()}`);
        const invites = call.filter((t) => t.direction === 'in' && startLine(t.text).startsWith('INVITE '));
        assert.equal(invites.length, 2, `alice sent the INVITE twice (before and after the 407)\n${list()}`);
        const [unauthenticated, authenticated] = invites as [Traced, Traced];
        assert.equal(
          field(unauthenticated.text, 'Proxy-Authorization'),
          undefined,
          `alice's first INVITE has no credentials\n${list()}`,
        );
        const cseq1 = field(unauthenticated.text, 'CSeq');
        const challenge = call.find(
          (t) =>
            t.direction === 'out' &&
            /^SIP\/2\.0 [2-6]\d\d /.test(startLine(t.text)) &&
            field(t.text, 'CSeq') === cseq1,
        );
        assert.ok(challenge !== undefined, `sipwire gave alice's first INVITE a final answer\n${list()}`);
        assert.equal(
          startLine(challenge.text),
          'SIP/2.0 407 Proxy Authentication Required',
          `the answer to the first INVITE is a 407\n${list()}`,
        );
        const offered = fields(challenge.text, 'Proxy-Authenticate');
        assert.equal(offered.length, 1, `one challenge in the 407: ${offered.join(' | ')}\n${list()}`);
        assert.match(
          offered[0] ?? '',
          /^Digest .*realm="example\.test"/,
          `the realm is the domain\n${list()}`,
        );
        assert.match(offered[0] ?? '', /algorithm=MD5(,|$)/, `the challenge is for MD5\n${list()}`);
        assert.match(
          field(authenticated.text, 'Proxy-Authorization') ?? '',
          /^Digest username="alice", realm="example\.test"/,
          `alice's second INVITE answers the challenge\n${list()}`,
        );

        // Bob's flow: his SIP port over UDP; over TCP, the connection his REGISTER came on.
        const bobFlowPort = transport === 'udp' ? bob.sipPort : bobBinding.flow?.port;
        const toBob = (method: string) =>
          call.filter(
            (t) =>
              t.direction === 'out' &&
              startLine(t.text).startsWith(`${method} `) &&
              t.address === '127.0.0.1' &&
              t.port === bobFlowPort,
          );
        const forwardedInvites = toBob('INVITE');
        assert.equal(forwardedInvites.length, 1, `sipwire forwarded one INVITE to bob\n${list()}`);
        const invite = (forwardedInvites[0] as Traced).text;
        assert.equal(
          startLine(invite),
          `INVITE ${bobBinding.contact} SIP/2.0`,
          `the INVITE went to the contact bob registered\n${list()}`,
        );
        const recorded = fields(invite, 'Record-Route');
        assert.ok(recorded.length >= 1, `sipwire recorded the route\n${list()}`);
        for (const rr of recorded)
          assert.match(
            rr,
            new RegExp(`^<sip:127\\.0\\.0\\.1:${p.port}[;>].*\\blr\\b`),
            `a loose route to sipwire: ${rr}\n${list()}`,
          );
        assert.equal(
          field(invite, 'Proxy-Authorization'),
          undefined,
          `alice's credentials for sipwire's realm did not go on to bob\n${list()}`,
        );
        assert.equal(
          fields(invite, 'Route').length,
          0,
          `sipwire took its own Route off the INVITE\n${list()}`,
        );
        assert.equal(field(invite, 'Max-Forwards'), '69', `sipwire counted down Max-Forwards\n${list()}`);
        assert.match(
          field(invite, 'Via') ?? '',
          new RegExp(`^SIP/2\\.0/${T} 127\\.0\\.0\\.1:${p.port};branch=z9hG4bK`),
          `sipwire's Via is on top\n${list()}`,
        );

        const okToAlice = call.find(
          (t) =>
            t.direction === 'out' &&
            startLine(t.text).startsWith('SIP/2.0 200 ') &&
            field(t.text, 'CSeq') === field(authenticated.text, 'CSeq'),
        );
        assert.ok(okToAlice !== undefined, `sipwire passed bob's 200 on to alice\n${list()}`);
        assert.deepEqual(
          fields(okToAlice.text, 'Record-Route'),
          recorded,
          `the 200 alice got carries the recorded route\n${list()}`,
        );

        // The ACK and the BYE: sent by alice to sipwire (her route set), on to bob.
        for (const method of ['ACK', 'BYE']) {
          const fromAlice = call.find(
            (t) => t.direction === 'in' && startLine(t.text).startsWith(`${method} `),
          );
          assert.ok(fromAlice !== undefined, `alice sent the ${method} by way of sipwire\n${list()}`);
          assert.ok(
            fields(fromAlice.text, 'Route').length >= 1,
            `alice's ${method} follows the recorded route\n${list()}`,
          );
          assert.equal(toBob(method).length, 1, `sipwire passed the ${method} on to bob\n${list()}`);
          assert.equal(
            fields((toBob(method)[0] as { text: string }).text, 'Proxy-Authorization').length,
            0,
            `credentials for sipwire's realm stop at sipwire on the ${method} too\n${list()}`,
          );
        }
        // bob closed the call when the BYE came, as he answered it: his 200 may still be on its way.
        const byeAnswered = await traced(
          p,
          (t) =>
            t.direction === 'out' &&
            field(t.text, 'Call-ID') === callId &&
            startLine(t.text).startsWith('SIP/2.0 200 ') &&
            /^\d+ BYE$/.test(field(t.text, 'CSeq') ?? ''),
          "bob's 200 to the BYE did not come back to alice through sipwire",
          diag,
        );
        assert.equal(
          byeAnswered.port,
          transport === 'udp' ? alice.sipPort : aliceBinding.flow?.port,
          `the 200 to the BYE went to alice on her flow\n${diag()}`,
        );
      } finally {
        await phones.alice?.stop();
        await phones.bob?.stop();
        await proxy?.server.stop();
      }
    });
  }
});
