import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import JsSIP from 'jssip';
import WebSocket from 'ws';
import { makeUser } from '../../src/cli/serve-commands.js';
import { type IncomingRequest, SipStack, type TransportAddress, UserAgent } from '../../src/index.js';
import { createLogger } from '../../src/server/log.js';
import { SipServer } from '../../src/server/server.js';
import { MemoryLocationStore, MemoryUserStore } from '../../src/server/store/memory.js';

// JsSIP, the SIP library browsers run, talking to `sipwire serve` over
// WebSocket (RFC 7118): it registers with a password, and MESSAGEs go
// through the proxy both ways between it and a sipwire user agent on UDP,
// the one to JsSIP over the WebSocket connection it registered on. The
// server offers its default challenges (SHA-256, then MD5).

// JsSIP opens its socket with the browser's WebSocket; Node 20 has none built in.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

const DOMAIN = 'example.test';

describe('JsSIP over WebSocket through sipwire serve', () => {
  let server: SipServer;
  let ws: TransportAddress;
  let udp: TransportAddress;
  let jssip: JsSIP.UA;
  let bobStack: SipStack;
  let bob: UserAgent;
  const toBob: IncomingRequest[] = [];

  before(async () => {
    const users = new MemoryUserStore();
    await users.put(makeUser(`alice@${DOMAIN}`, 'alice-secret'));
    await users.put(makeUser(`bob@${DOMAIN}`, 'bob-secret'));
    server = new SipServer({
      listen: ['ws:127.0.0.1:0', 'udp:127.0.0.1:0'],
      domains: [DOMAIN],
      stores: { location: new MemoryLocationStore(), users },
      logger: createLogger({ level: 'silent', pretty: false }),
    });
    const bound = await server.start();
    ws = bound.find((b) => b.transport === 'ws') as TransportAddress;
    udp = bound.find((b) => b.transport === 'udp') as TransportAddress;

    bobStack = new SipStack({ listen: ['udp:127.0.0.1:0'], role: 'endpoint' });
    await bobStack.start();
    bob = new UserAgent(bobStack, {
      uri: `sip:bob@${DOMAIN}`,
      auth: { username: 'bob', password: 'bob-secret' },
      outboundProxy: `sip:127.0.0.1:${udp.port}`,
    });
    bob.on('message', (inc) => {
      toBob.push(inc);
      inc.respond(200, 'OK');
    });
    await bob.register({ target: `udp:127.0.0.1:${udp.port}`, expires: 300 }).registered;

    JsSIP.debug.disable();
    jssip = new JsSIP.UA({
      sockets: [new JsSIP.WebSocketInterface(`ws://127.0.0.1:${ws.port}`)],
      uri: `sip:alice@${DOMAIN}`,
      password: 'alice-secret',
      register: true,
      register_expires: 300,
      session_timers: false,
    });
    const registered = new Promise<void>((resolve, reject) => {
      jssip.on('registered', () => resolve());
      jssip.on('registrationFailed', (e: { cause?: string }) =>
        reject(new Error(`JsSIP registration failed: ${e.cause}`)),
      );
    });
    jssip.start();
    await registered;
  });

  after(async () => {
    await new Promise<void>((resolve) => {
      jssip.once('disconnected', () => resolve());
      jssip.stop();
      setTimeout(resolve, 2000).unref();
    });
    await bobStack.stop();
    await server.stop(0);
  });

  test('JsSIP registered over the WebSocket: the binding remembers the connection', async () => {
    const bindings = await server.location.lookup(`sip:alice@${DOMAIN}`, Date.now());
    assert.equal(bindings.length, 1, 'one binding for alice');
    assert.equal(bindings[0]?.flow?.transport, 'ws', 'registered over ws');
    assert.ok(bindings[0]?.flow?.connectionId !== undefined, 'the connection is remembered');
  });

  test('a MESSAGE from JsSIP (challenged with 407) reaches bob on UDP through the proxy', async () => {
    const challengedBefore = server.stats.challenged;
    const sent = new Promise<void>((resolve, reject) => {
      jssip.sendMessage(`sip:bob@${DOMAIN}`, 'hello from the browser', {
        eventHandlers: {
          succeeded: () => resolve(),
          failed: (e: { cause?: string }) => reject(new Error(`MESSAGE failed: ${e.cause}`)),
        },
      });
    });
    await sent;
    const got = toBob.at(-1);
    assert.ok(got !== undefined, 'bob got the MESSAGE');
    assert.equal(got.request.body.toString('utf8'), 'hello from the browser', 'the text arrived');
    assert.ok(server.stats.challenged > challengedBefore, 'JsSIP answered a 407 from the proxy');
  });

  test('a MESSAGE from bob reaches JsSIP over the WebSocket connection it registered on', async () => {
    const received = new Promise<string>((resolve) => {
      jssip.once('newMessage', (e: { originator: string; request: { body: string } }) => {
        if (e.originator === 'remote') resolve(e.request.body);
      });
    });
    const res = await bob.message(`sip:alice@${DOMAIN}`, 'hello back over the flow');
    assert.equal(res.status, 200, 'JsSIP answered 200');
    assert.equal(await received, 'hello back over the flow', 'JsSIP got the text');
  });
});
