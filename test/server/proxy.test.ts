import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { makeUser } from '../../src/cli/serve-commands.js';
import {
  type CallEnd,
  type IncomingCall,
  type SipResponse,
  SipStack,
  type TransportAddress,
  UserAgent,
} from '../../src/index.js';
import { SipResolver } from '../../src/resolver/resolver.js';
import { createLogger } from '../../src/server/log.js';
import { type Routes, type ServerOptions, SipServer } from '../../src/server/server.js';
import { MemoryLocationStore, MemoryUserStore } from '../../src/server/store/memory.js';
import { testCertificate } from '../support/certs.js';
import { TestDnsServer } from '../support/dns-server.js';
import { freePort } from '../support/net.js';

// Full calls between sipwire user agents through `sipwire serve` on loopback:
// registration, 407 on INVITE, record-routed dialogs, forking, CANCEL, busy,
// redirect, and routes written in TypeScript.

const DOMAIN = 'example.test';
const PASSWORDS: Record<string, string> = { alice: 'a-secret', bob: 'b-secret', carol: 'c-secret' };

async function startServer(options: Partial<ServerOptions> = {}) {
  const users = new MemoryUserStore();
  for (const [u, p] of Object.entries(PASSWORDS)) await users.put(makeUser(`${u}@${DOMAIN}`, p));
  const server = new SipServer({
    listen: ['udp:127.0.0.1:0', 'tcp:127.0.0.1:0'],
    domains: [DOMAIN],
    stores: { location: new MemoryLocationStore(), users },
    logger: createLogger({ level: 'silent', pretty: false }),
    ...options,
  });
  const bound = await server.start();
  const udp = bound.find((b) => b.transport === 'udp') as TransportAddress;
  const tcp = bound.find((b) => b.transport === 'tcp') as TransportAddress;
  return { server, udp, tcp };
}

interface Phone {
  ua: UserAgent;
  stack: SipStack;
  /** Requests this phone received, by method. */
  seen: Map<string, number>;
  invites: string[];
}

async function phone(
  user: string,
  proxy: TransportAddress,
  transport: 'udp' | 'tcp' = 'udp',
  register = true,
): Promise<Phone> {
  const stack = new SipStack({ listen: [`${transport}:127.0.0.1:0`], role: 'endpoint' });
  await stack.start();
  const seen = new Map<string, number>();
  const invites: string[] = [];
  stack.onTrace((dir, data) => {
    if (dir !== 'in') return;
    const text = data.toString('latin1');
    const m = /^([A-Z]+) /.exec(text);
    if (m === null) return;
    seen.set(m[1] as string, (seen.get(m[1] as string) ?? 0) + 1);
    if (m[1] === 'INVITE') invites.push(text);
  });
  const ua = new UserAgent(stack, {
    uri: `sip:${user}@${DOMAIN}`,
    auth: { username: user, password: PASSWORDS[user] ?? 'x' },
    outboundProxy: `sip:127.0.0.1:${proxy.port}${transport === 'tcp' ? ';transport=tcp' : ''}`,
  });
  if (register) {
    const r = ua.register({ target: `${transport}:127.0.0.1:${proxy.port}`, expires: 300 });
    await r.registered;
  }
  return { ua, stack, seen, invites };
}

function statusOf(e: unknown): number {
  return (e as { status: number }).status;
}

/** Starts a server and registered UDP phones for the users named, runs `fn`, then stops them all. */
async function scenario<U extends string>(
  options: Partial<ServerOptions>,
  users: readonly U[],
  fn: (phones: Record<U, Phone>, srv: Awaited<ReturnType<typeof startServer>>) => Promise<void>,
): Promise<void> {
  const srv = await startServer(options);
  const phones = {} as Record<U, Phone>;
  try {
    for (const u of users) phones[u] = await phone(u, srv.udp);
    await fn(phones, srv);
  } finally {
    for (const p of Object.values<Phone>(phones)) await p.stack.stop();
    await srv.server.stop(0);
  }
}

describe('calls through sipwire serve (proxy)', () => {
  let srv: Awaited<ReturnType<typeof startServer>>;
  let alice: Phone;
  let bob: Phone;
  before(async () => {
    srv = await startServer();
    alice = await phone('alice', srv.udp);
    bob = await phone('bob', srv.udp);
  });
  after(async () => {
    await alice.stack.stop();
    await bob.stack.stop();
    await srv.server.stop(0);
  });

  test('alice calls bob: 407 answered, bob rings, answers, the dialog goes through the proxy and ends with BYE', async () => {
    const challengedBefore = srv.server.stats.challenged;
    bob.ua.onCall((c) => {
      c.ring();
      void c.answer();
    });
    const call = alice.ua.call(`sip:bob@${DOMAIN}`);
    await call.answered;
    assert.ok(srv.server.stats.challenged > challengedBefore, 'the INVITE was challenged (407) first');
    const invite = bob.invites.at(-1) ?? '';
    assert.match(
      invite,
      new RegExp(`Record-Route: <sip:127\\.0\\.0\\.1:${srv.udp.port};lr>`),
      'record-routed',
    );
    assert.match(invite, /^INVITE sip:bob@127\.0\.0\.1:\d+/, 'Request-URI is bob’s registered contact');
    assert.doesNotMatch(invite, /\r\nRoute:/i, 'the Route naming the proxy was taken off');
    assert.doesNotMatch(invite, /\r\nProxy-Authorization:/i, 'the credentials for this proxy were consumed');
    const inc = [...bob.ua.dialogs.values()][0] as IncomingCall;
    assert.deepEqual(
      inc.dialog?.routeSet.map((r) => r.toString()),
      [`<sip:127.0.0.1:${srv.udp.port};lr>`],
      "bob's route set is the proxy",
    );
    assert.deepEqual(
      call.dialog?.routeSet.map((r) => r.toString()),
      [`<sip:127.0.0.1:${srv.udp.port};lr>`],
      "alice's route set is the proxy too (bob's 200 carried the Record-Route)",
    );
    const ended = once(inc, 'ended');
    const byesBefore = bob.seen.get('BYE') ?? 0;
    await call.hangup();
    const [end] = (await ended) as [CallEnd];
    assert.equal(end.by, 'remote', 'bob got the BYE');
    assert.equal(bob.seen.get('BYE'), byesBefore + 1, 'one BYE reached bob');
  });

  test('busy: bob rejects with 486 and alice gets the 486', async () => {
    bob.ua.onCall((c) => c.reject(486));
    const call = alice.ua.call(`sip:bob@${DOMAIN}`);
    await assert.rejects(call.answered, (e) => statusOf(e) === 486, '486 forwarded upstream');
  });

  test('CANCEL: alice cancels while bob rings; both see the call end with 487', async () => {
    const rung = new Promise<IncomingCall>((resolve) =>
      bob.ua.onCall((c) => {
        c.ring();
        resolve(c);
      }),
    );
    const call = alice.ua.call(`sip:bob@${DOMAIN}`);
    const inc = await rung;
    await once(call, 'ringing');
    const bobEnded = once(inc, 'ended');
    await call.cancel();
    await assert.rejects(call.answered, (e) => statusOf(e) === 487, '487 upstream');
    const [end] = (await bobEnded) as [CallEnd];
    assert.equal(end.reason, 'cancelled', 'bob saw the CANCEL the proxy sent');
  });

  test('a user with no registration gets 480; an unknown user 404', async () => {
    const c1 = alice.ua.call(`sip:carol@${DOMAIN}`);
    await assert.rejects(c1.answered, (e) => statusOf(e) === 480, '480 for carol');
    const c2 = alice.ua.call(`sip:nobody@${DOMAIN}`);
    await assert.rejects(c2.answered, (e) => statusOf(e) === 404, '404 for nobody');
  });

  test('a wrong password is refused with 403 and the server goes on serving', async () => {
    const mallory = new SipStack({ listen: ['udp:127.0.0.1:0'], role: 'endpoint' });
    await mallory.start();
    try {
      const ua = new UserAgent(mallory, {
        uri: `sip:alice@${DOMAIN}`,
        auth: { username: 'alice', password: 'wrong' },
        outboundProxy: `sip:127.0.0.1:${srv.udp.port}`,
      });
      const call = ua.call(`sip:bob@${DOMAIN}`);
      await assert.rejects(call.answered, (e) => [403, 407].includes(statusOf(e)), 'refused');
      bob.ua.onCall((c) => void c.answer());
      const ok = alice.ua.call(`sip:bob@${DOMAIN}`);
      await ok.answered;
      await ok.hangup();
    } finally {
      await mallory.stop();
    }
  });

  test('requests to and from other domains are not relayed for strangers (403)', async () => {
    const stranger = new SipStack({ listen: ['udp:127.0.0.1:0'], role: 'endpoint' });
    await stranger.start();
    try {
      const ua = new UserAgent(stranger, {
        uri: 'sip:eve@elsewhere.test',
        outboundProxy: `sip:127.0.0.1:${srv.udp.port}`,
      });
      const call = ua.call('sip:someone@far.test');
      await assert.rejects(call.answered, (e) => statusOf(e) === 403, 'relaying denied');
      // A stranger may call our users.
      bob.ua.onCall((c) => void c.answer());
      const ok = ua.call(`sip:bob@${DOMAIN}`);
      await ok.answered;
      await ok.hangup();
    } finally {
      await stranger.stop();
    }
  });
});

describe('forking', () => {
  test('two devices of bob ring in parallel; one answers, the other is cancelled', async () => {
    const srv = await startServer();
    const alice = await phone('alice', srv.udp);
    const desk = await phone('bob', srv.udp);
    const mobile = await phone('bob', srv.tcp, 'tcp');
    try {
      const rang: IncomingCall[] = [];
      const bothRang = new Promise<void>((resolve) => {
        const on = (c: IncomingCall) => {
          c.ring();
          rang.push(c);
          if (rang.length === 2) resolve();
        };
        desk.ua.onCall(on);
        mobile.ua.onCall(on);
      });
      const call = alice.ua.call(`sip:bob@${DOMAIN}`);
      await bothRang;
      const deskCall = rang.find((c) => c.ua === desk.ua) as IncomingCall;
      const mobileCall = rang.find((c) => c.ua === mobile.ua) as IncomingCall;
      assert.ok(deskCall && mobileCall, 'both devices rang');
      const cancelled = once(deskCall, 'ended');
      await mobileCall.answer();
      await call.answered;
      const [end] = (await cancelled) as [CallEnd];
      assert.equal(end.reason, 'cancelled', 'the desk phone was cancelled when the mobile answered');
      // Mobile is on TCP, alice on UDP: double Record-Route, and the BYE still reaches the mobile.
      assert.match(
        mobile.invites.at(-1) ?? '',
        /Record-Route: <sip:127\.0\.0\.1:\d+;transport=tcp;lr;sw-flow=\d+>\r\nRecord-Route: <sip:127\.0\.0\.1:\d+;lr>/,
        'double Record-Route toward TCP',
      );
      const ended = once(mobileCall, 'ended');
      await call.hangup();
      await ended;
    } finally {
      for (const p of [alice, desk, mobile]) await p.stack.stop();
      await srv.server.stop(0);
    }
  });

  test('sequential: a 486 from the first target moves on to the next group', async () => {
    const routes: Routes = (p) => {
      p.after('location', 'desks-then-carol', async (ctx, next) => {
        if (ctx.sipUri?.user === 'bob') {
          const carol = await ctx.server.location.lookup(`sip:carol@${DOMAIN}`, Date.now());
          ctx.targets = [
            ...ctx.targets.map((t) => ({ ...t, q: 1 })),
            ...carol.map((b) => ({ ...ctx.server.targetOf(b), q: 0.5 })),
          ];
        }
        return next();
      });
    };
    await scenario({ routes }, ['alice', 'bob', 'carol'], async ({ alice, bob, carol }) => {
      bob.ua.onCall((c) => c.reject(486));
      carol.ua.onCall((c) => void c.answer());
      const call = alice.ua.call(`sip:bob@${DOMAIN}`);
      await call.answered;
      assert.equal(bob.seen.get('INVITE'), 1, 'bob was tried first');
      assert.equal(carol.seen.get('INVITE'), 1, 'then carol');
      await call.hangup();
    });
  });

  test('ring group then voicemail: unanswered desks are cancelled after the group timeout', async () => {
    const routes: Routes = (p) => {
      p.after('location', 'ring-then-voicemail', async (ctx, next) => {
        if (ctx.sipUri?.user !== 'bob') return next();
        const vm = await ctx.server.location.lookup(`sip:carol@${DOMAIN}`, Date.now());
        ctx.targets = [...ctx.targets, ...vm.map((b) => ({ ...ctx.server.targetOf(b), q: 0.1 }))];
        ctx.forward(undefined, { groupTimeoutMs: 300 });
      });
    };
    await scenario({ routes }, ['alice', 'bob', 'carol'], async ({ alice, bob, carol: voicemail }) => {
      let bobCall: IncomingCall | undefined;
      bob.ua.onCall((c) => {
        c.ring();
        bobCall = c;
      });
      voicemail.ua.onCall((c) => void c.answer());
      const call = alice.ua.call(`sip:bob@${DOMAIN}`);
      await call.answered;
      assert.equal(bobCall?.state, 'ended', 'the desk was cancelled');
      assert.equal(voicemail.seen.get('INVITE'), 1, 'voicemail answered');
      await call.hangup();
    });
  });
});

describe('redirect and routes', () => {
  test('redirect mode answers 302 with the registered contact', async () => {
    await scenario({ redirect: true }, ['alice', 'bob'], async ({ alice, bob }) => {
      // The 302 itself is under test: the caller does not follow it.
      const call = alice.ua.call(`sip:bob@${DOMAIN}`, { redirects: 0 });
      let response: SipResponse | undefined;
      await assert.rejects(call.answered, (e) => {
        response = (e as { response: SipResponse }).response;
        return statusOf(e) === 302;
      });
      const contact = response?.contact[0];
      assert.ok(contact && !contact.wildcard, 'a Contact');
      assert.match(
        String(contact.uri),
        new RegExp(`^sip:bob@127\\.0\\.0\\.1:${bob.stack.transports.addresses[0]?.port}`),
        "bob's contact",
      );
      assert.equal(bob.seen.get('INVITE') ?? 0, 0, 'bob was not called');
    });
  });

  test('a routes module sends 9xxx to a gateway, blocks a user agent, and a failing stage answers 500', async () => {
    let gatewayPort = 0;
    const routes: Routes = (p) => {
      p.before('auth', 'block', (ctx, next) => {
        if (/scanner/i.test(ctx.header('User-Agent') ?? '')) return ctx.reply(403, 'Forbidden (blocked)');
        if (ctx.sipUri?.user === 'explode') throw new Error('a bug in the routes');
        return next();
      });
      p.before('location', 'pstn', (ctx, next) => {
        const user = ctx.sipUri?.user ?? '';
        if (/^9\d+$/.test(user)) return ctx.forward([`sip:${user.slice(1)}@127.0.0.1:${gatewayPort}`]);
        return next();
      });
    };
    const srv = await startServer({ routes, open: true });
    const alice = await phone('alice', srv.udp);
    const gateway = await phone('carol', srv.udp, 'udp', false);
    gatewayPort = gateway.stack.transports.addresses[0]?.port ?? 0;
    try {
      gateway.ua.onCall((c) => void c.answer());
      const call = alice.ua.call(`sip:95551234@${DOMAIN}`);
      await call.answered;
      assert.match(
        gateway.invites.at(-1) ?? '',
        /^INVITE sip:5551234@127\.0\.0\.1:/,
        'the gateway got the number',
      );
      await call.hangup();

      const stack = new SipStack({ listen: ['udp:127.0.0.1:0'], role: 'endpoint' });
      await stack.start();
      const scanner = new UserAgent(stack, { uri: `sip:alice@${DOMAIN}`, userAgent: 'friendly-scanner' });
      const blocked = scanner.call(`sip:bob@${DOMAIN}`, { target: `udp:127.0.0.1:${srv.udp.port}` });
      await assert.rejects(blocked.answered, (e) => statusOf(e) === 403, 'blocked by user agent');
      const boom = alice.ua.call(`sip:explode@${DOMAIN}`);
      await assert.rejects(boom.answered, (e) => statusOf(e) === 500, 'a throwing stage answers 500');
      assert.equal(srv.server.stats.routeErrors, 1, 'the error was counted');
      const again = alice.ua.call(`sip:95550000@${DOMAIN}`);
      await again.answered;
      await again.hangup();
      await stack.stop();
    } finally {
      for (const p of [alice, gateway]) await p.stack.stop();
      await srv.server.stop(0);
    }
  });
});

describe('other domains (RFC 3263)', () => {
  test('a call to another domain goes where its SRV records say, past a server that does not answer', async () => {
    const deadPort = await freePort();
    const far = await phone(
      'carol',
      { transport: 'udp', host: '127.0.0.1', port: 9 } as TransportAddress,
      'udp',
      false,
    );
    const farPort = far.stack.transports.addresses[0]?.port ?? 0;
    const dns = new TestDnsServer([
      {
        type: 'SRV',
        name: '_sip._udp.far.test',
        priority: 1,
        weight: 0,
        port: deadPort,
        target: 'dead.far.test',
      },
      {
        type: 'SRV',
        name: '_sip._udp.far.test',
        priority: 2,
        weight: 0,
        port: farPort,
        target: 'live.far.test',
      },
      { type: 'A', name: 'dead.far.test', address: '127.0.0.1' },
      { type: 'A', name: 'live.far.test', address: '127.0.0.1' },
    ]);
    const resolver = new SipResolver({ servers: [await dns.start()], transports: ['udp'] });
    // A short T1 so the silent server's Timer B (64*T1) runs out quickly.
    const srv = await startServer({ resolver, timers: { t1: 25 } });
    const alice = await phone('alice', srv.udp);
    try {
      far.ua.onCall((c) => void c.answer());
      const call = alice.ua.call('sip:carol@far.test');
      await call.answered;
      assert.ok(
        dns.queries.some((q) => q.includes('_sip._udp.far.test')),
        'the SRV records were asked for',
      );
      assert.match(
        far.invites.at(-1) ?? '',
        /^INVITE sip:carol@far\.test SIP\/2\.0/,
        'the Request-URI is kept',
      );
      await call.hangup();
    } finally {
      for (const p of [alice, far]) await p.stack.stop();
      await srv.server.stop(0);
      dns.close();
    }
  });
});

/**
 * A redirect server for other.test where carol (`aor`) is registered over
 * UDP and answers every call, and our proxy (following redirects) sending
 * calls for other.test to it; alice is a registered phone of ours.
 */
async function redirectedCarol(aor: string) {
  const redirector = new SipServer({
    listen: ['udp:127.0.0.1:0'],
    domains: ['other.test'],
    stores: { location: new MemoryLocationStore(), users: new MemoryUserStore() },
    logger: createLogger({ level: 'silent', pretty: false }),
    open: true,
    redirect: true,
  });
  const [rAddr] = (await redirector.start()) as [TransportAddress];
  const carolStack = new SipStack({ listen: ['udp:127.0.0.1:0'], role: 'endpoint' });
  await carolStack.start();
  const carol = new UserAgent(carolStack, { uri: aor });
  await carol.register({ target: `udp:127.0.0.1:${rAddr.port}`, expires: 300 }).registered;
  const routes: Routes = (p) => {
    p.before('location', 'other', (ctx, next) => {
      const uri = ctx.sipUri;
      if (uri?.host !== 'other.test') return next();
      return ctx.forward([
        { uri, destination: { transport: 'udp', address: '127.0.0.1', port: rAddr.port } },
      ]);
    });
  };
  const srv = await startServer({ routes, followRedirects: true, domains: [DOMAIN, 'other.test'] });
  const alice = await phone('alice', srv.udp);
  let rang = 0;
  carol.onCall((c) => {
    rang++;
    void c.answer();
  });
  const stop = async () => {
    await alice.stack.stop();
    await carolStack.stop();
    await srv.server.stop(0);
    await redirector.stop(0);
  };
  return { rAddr, srv, alice, rang: () => rang, stop };
}

describe('following redirects', () => {
  test('with followRedirects the proxy recurses on a 302 from a redirect server and the call reaches the new target', async () => {
    const { alice, rang, stop } = await redirectedCarol('sip:carol@other.test');
    try {
      const call = alice.ua.call('sip:carol@other.test');
      await call.answered;
      assert.equal(rang(), 1, 'carol was reached through the 302');
      await call.hangup();
    } finally {
      await stop();
    }
  });
});

describe('following redirects across schemes (RFC 5630 §5.3)', () => {
  test('a 302 to a SIPS contact for a SIP request is not followed: it goes back to the caller', async () => {
    // carol registers a SIPS contact: the redirect server hands it out as it is (§5.4).
    const { rAddr, srv, alice, rang, stop } = await redirectedCarol('sips:carol@other.test');
    const invitesOut: string[] = [];
    srv.server.stack.onTrace((dir, data, peer) => {
      if (dir === 'out' && data.toString('latin1').startsWith('INVITE '))
        invitesOut.push(`${peer.transport}:${peer.port}`);
    });
    try {
      const call = alice.ua.call('sip:carol@other.test', { redirects: 0 });
      await assert.rejects(call.answered, (e) => statusOf(e) === 302, 'the 302 reaches alice');
      assert.equal(rang(), 0, 'carol was not reached');
      assert.deepEqual(
        invitesOut,
        [`udp:${rAddr.port}`],
        'the proxy sent the INVITE to the redirect server only, and did not recurse to the SIPS contact',
      );
    } finally {
      await stop();
    }
  });
});

describe('upstream proxy', () => {
  test('requests for other domains go through the configured upstream proxy (a pushed Route)', async () => {
    const far = await phone(
      'carol',
      { transport: 'udp', host: '127.0.0.1', port: 9 } as TransportAddress,
      'udp',
      false,
    );
    const upstreamPort = far.stack.transports.addresses[0]?.port ?? 0;
    const srv = await startServer({ proxy: { upstream: `sip:127.0.0.1:${upstreamPort}` } });
    const alice = await phone('alice', srv.udp);
    try {
      far.ua.onCall((c) => void c.answer());
      const call = alice.ua.call('sip:carol@elsewhere.test');
      await call.answered;
      const invite = far.invites.at(-1) ?? '';
      assert.match(invite, /^INVITE sip:carol@elsewhere\.test SIP\/2\.0/, 'the Request-URI is kept');
      assert.match(
        invite,
        new RegExp(`\\r\\nRoute: <sip:127\\.0\\.0\\.1:${upstreamPort};lr>\\r\\n`),
        'routed via upstream',
      );
      await call.hangup();
    } finally {
      for (const p of [alice, far]) await p.stack.stop();
      await srv.server.stop(0);
    }
  });
});

describe('CANCEL while a stage is still deciding', () => {
  test('the INVITE is answered 487 and never forwarded once the stage resumes', async () => {
    let resume: () => void = () => {};
    const routes: Routes = (p) => {
      p.before('location', 'slow', async (_ctx, next) => {
        await new Promise<void>((r) => {
          resume = r;
        });
        return next();
      });
    };
    await scenario({ routes }, ['alice', 'bob'], async ({ alice, bob }) => {
      bob.ua.onCall((c) => c.ring());
      const call = alice.ua.call(`sip:bob@${DOMAIN}`);
      await once(call, 'progress'); // the 100 Trying the server transaction sends
      await call.cancel();
      await assert.rejects(call.answered, (e) => statusOf(e) === 487, '487 for the cancelled INVITE');
      resume();
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(bob.seen.get('INVITE') ?? 0, 0, 'bob never got the INVITE');
    });
  });
});

describe('a stage that never finishes', () => {
  test('is cut off by the route timeout: 500 to the caller, the error counted, the server still serving', async () => {
    const routes: Routes = (p) => {
      p.before('location', 'stuck', async (ctx, next) => {
        if (ctx.sipUri?.user === 'stuck') await new Promise(() => {});
        return next();
      });
    };
    await scenario({ routes, routeTimeoutMs: 300 }, ['alice', 'bob'], async ({ alice, bob }, srv) => {
      const call = alice.ua.call(`sip:stuck@${DOMAIN}`);
      await assert.rejects(call.answered, (e) => statusOf(e) === 500, '500 after the route timeout');
      assert.equal(srv.server.stats.routeErrors, 1, 'counted');
      bob.ua.onCall((c) => void c.answer());
      const ok = alice.ua.call(`sip:bob@${DOMAIN}`);
      await ok.answered;
      await ok.hangup();
    });
  });
});

describe('SIPS contacts over TLS (RFC 5630 §5.3)', () => {
  test('a SIP call reaches a SIPS contact registered over TLS as a SIP Request-URI, on the TLS connection', async () => {
    const cert = testCertificate();
    const srv = await startServer({
      listen: ['udp:127.0.0.1:0', 'tls:127.0.0.1:0'],
      tls: { ...cert, verifyServer: false },
    });
    const tls = srv.server.stack.transports.addresses.find((a) => a.transport === 'tls') as TransportAddress;
    const alice = await phone('alice', srv.udp);
    const stack = new SipStack({
      listen: ['tls:127.0.0.1:0'],
      role: 'endpoint',
      tls: { ...cert, verifyServer: false },
    });
    await stack.start();
    const invites: Array<{ text: string; transport: string }> = [];
    stack.onTrace((dir, data, peer) => {
      const text = data.toString('latin1');
      if (dir === 'in' && text.startsWith('INVITE ')) invites.push({ text, transport: peer.transport });
    });
    const carol = new UserAgent(stack, {
      uri: `sips:carol@${DOMAIN}`,
      auth: { username: 'carol', password: PASSWORDS.carol as string },
      outboundProxy: `sips:127.0.0.1:${tls.port}`,
    });
    try {
      const reg = carol.register({ target: `tls:127.0.0.1:${tls.port}`, expires: 300 });
      await reg.registered;
      carol.onCall((c) => {
        c.ring();
        void c.answer();
      });
      const call = alice.ua.call(`sip:carol@${DOMAIN}`);
      await call.answered;
      const got = invites.at(-1);
      assert.ok(got !== undefined, 'carol got the INVITE');
      assert.match(got.text, /^INVITE sip:carol@127\.0\.0\.1:\d+ SIP\/2\.0/, 'the SIPS contact as a SIP URI');
      assert.equal(got.transport, 'tls', 'over TLS');
      await call.hangup();
      await reg.stop();
    } finally {
      await stack.stop();
      await alice.stack.stop();
      await srv.server.stop(0);
    }
  });
});
