import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { build } from 'esbuild';
import { type Browser, launchBrowser, type Page } from '../support/browser.js';
import { testCertificate } from '../support/certs.js';
import { bound, type Child, stopAll, until } from '../support/children.js';
import { freePort } from '../support/net.js';
import { ROOT, sipwireCommand, startServe } from '../support/sipwire-cli.js';

// JsSIP in a real browser (Debian's Chromium, headless, driven over the
// DevTools protocol) against `sipwire serve` on a SQLite file: two tabs
// register with passwords, alice over secure WebSocket (WSS, the server's
// self-signed certificate accepted by the browser's flag) and bob over
// WebSocket (RFC 7118); a MESSAGE goes from one to the other through the
// proxy; alice calls bob with WebRTC audio (fake microphone), the call is
// answered and confirmed, RTP flows between the tabs with the SDP the proxy
// carried (ICE, DTLS-SRTP), and alice hangs up. JsSIP is bundled for the
// browser at test time from the npm package (esbuild); test/interop/browser-page.js
// holds the page's helpers.

const DOMAIN = 'example.test';
const USERS = { alice: 'alice-secret', bob: 'bob-secret', carol: 'carol-secret' } as const;

/** JsSIP as one script that sets window.JsSIP, then the page's helpers. */
async function pageScripts(): Promise<{ jssip: string; harness: string }> {
  const out = await build({
    entryPoints: ['jssip'],
    bundle: true,
    format: 'iife',
    globalName: 'JsSIPBundle',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
    absWorkingDir: ROOT,
    footer: { js: 'window.JsSIP = JsSIPBundle.default || JsSIPBundle;' },
  });
  return {
    jssip: (out.outputFiles[0] as { text: string }).text,
    harness: readFileSync(join(ROOT, 'test', 'interop', 'browser-page.js'), 'utf8'),
  };
}

/** Serves the test page and its scripts on loopback. */
async function servePage(scripts: { jssip: string; harness: string }): Promise<HttpServer> {
  const files: Record<string, [string, string]> = {
    '/': [
      'text/html',
      '<!doctype html><meta charset="utf-8"><title>sipwire browser test</title>' +
        '<script src="/jssip.js"></script><script src="/harness.js"></script>',
    ],
    '/jssip.js': ['text/javascript', scripts.jssip],
    '/harness.js': ['text/javascript', scripts.harness],
  };
  const http = createServer((req, res) => {
    const file = files[req.url ?? ''];
    if (file === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': file[0], 'cache-control': 'no-store' }).end(file[1]);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return http;
}

describe('JsSIP in Chromium with sipwire serve (WS, WSS, WebRTC call)', { timeout: 120_000 }, () => {
  let dir: string;
  let db: string;
  let server: Child;
  let ports: { ws: number; wss: number; udp: number };
  let http: HttpServer;
  let browser: Browser;
  let alice: Page;
  let bob: Page;
  let url: string;

  /** What the server and both tabs said, for a failure message. */
  const said = () =>
    `\n--- sipwire serve\n${server?.output().slice(-4000)}\n--- alice\n${alice?.log().join('\n')}` +
    `\n--- bob\n${bob?.log().join('\n')}`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sipwire-browser-'));
    db = join(dir, 'sipwire.db');
    for (const [user, password] of Object.entries(USERS)) {
      const r = await sipwireCommand([
        'user',
        'add',
        `${user}@${DOMAIN}`,
        '--password',
        password,
        '--db',
        db,
      ]);
      assert.equal(r.code, 0, `sipwire user add ${user}:\n${r.output}`);
    }
    const cert = testCertificate();
    ports = { ws: await freePort(), wss: await freePort(), udp: await freePort() };
    server = startServe(
      [`ws:127.0.0.1:${ports.ws}`, `wss:127.0.0.1:${ports.wss}`, `udp:127.0.0.1:${ports.udp}`],
      DOMAIN,
      db,
      ['--tls-cert', cert.certFile, '--tls-key', cert.keyFile],
    );
    await until(
      () =>
        server.process.exitCode !== null ||
        (bound('tcp', ports.ws) === true && bound('tcp', ports.wss) === true),
      20_000,
      `sipwire serve is not listening:\n${server.output()}`,
    );
    assert.equal(server.process.exitCode, null, `sipwire serve ended on start:\n${server.output()}`);

    http = await servePage(await pageScripts());
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/`;
    // The server's certificate is self-signed; the browser is told to accept it.
    browser = await launchBrowser(['--ignore-certificate-errors']);
    alice = await browser.open(url, 'window.JsSIP && window.harness');
    bob = await browser.open(url, 'window.JsSIP && window.harness');
  });

  after(async () => {
    await Promise.all([alice?.evaluate('harness.stop()', 5000), bob?.evaluate('harness.stop()', 5000)]).catch(
      () => undefined,
    );
    await browser?.close();
    await new Promise((resolve) => (http ? http.close(resolve) : resolve(undefined)));
    const exit = await server?.stop('SIGTERM', 10_000);
    await stopAll();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    if (exit !== undefined) {
      assert.equal(
        exit.code,
        0,
        `sipwire serve exit status ${exit.code} (${exit.signal}):\n${server.output()}`,
      );
    }
  });

  test('alice registers over WSS and bob over WS, with passwords; sipwire registrations lists both', async () => {
    const [a, b] = await Promise.all([
      alice.evaluate<number>(
        `harness.register('wss://127.0.0.1:${ports.wss}', 'sip:alice@${DOMAIN}', '${USERS.alice}')`,
      ),
      bob.evaluate<number>(
        `harness.register('ws://127.0.0.1:${ports.ws}', 'sip:bob@${DOMAIN}', '${USERS.bob}')`,
      ),
    ]).catch((e: Error) => assert.fail(`${e.message}${said()}`));
    assert.equal(a, 1, 'the 200 lists alice’s one binding');
    assert.equal(b, 1, 'the 200 lists bob’s one binding');
    const listed = await sipwireCommand(['registrations', '--db', db]);
    assert.equal(listed.code, 0, listed.output);
    const line = (aor: string) => listed.output.split('\n').find((l) => l.includes(aor)) ?? '';
    // The FROM column is the flow the REGISTER came in on (JsSIP writes transport=ws in its
    // Contact over either).
    assert.match(line(`sip:alice@${DOMAIN}`), / wss:127\.0\.0\.1:\d+ /, `alice over WSS:\n${listed.output}`);
    assert.match(line(`sip:bob@${DOMAIN}`), / ws:127\.0\.0\.1:\d+ /, `bob over WS:\n${listed.output}`);
  });

  test('a MESSAGE from alice (WSS) reaches bob (WS) through the proxy', async () => {
    const status = await alice
      .evaluate<number>(`harness.message('sip:bob@${DOMAIN}', 'hello from tab to tab')`)
      .catch((e: Error) => assert.fail(`${e.message}${said()}`));
    assert.equal(status, 200, 'bob’s browser answered 200');
    await until(
      async () => (await bob.evaluate<string[]>('harness.messages()')).includes('hello from tab to tab'),
      5000,
      `bob did not get the text${said()}`,
    );
  });

  test('alice calls bob with WebRTC audio: answered, confirmed, RTP both ways, hung up', async () => {
    await alice
      .evaluate(`harness.call('sip:bob@${DOMAIN}')`, 30_000)
      .catch((e: Error) => assert.fail(`${e.message}${said()}`));
    assert.equal(await bob.evaluate('harness.confirmed(5000)'), true, 'bob’s side confirmed (ACK received)');
    const sdp = await bob.evaluate<string>('harness.remoteSdp()');
    assert.match(sdp, /^a=fingerprint:/m, 'the offer reached bob with its DTLS fingerprint');
    assert.match(sdp, /^a=candidate:/m, 'and its ICE candidates');
    const [atAlice, atBob] = await Promise.all([
      alice.evaluate<{ bytes: number }>('harness.audioReceived(15000)', 20_000),
      bob.evaluate<{ bytes: number }>('harness.audioReceived(15000)', 20_000),
    ]).catch((e: Error) => assert.fail(`${e.message}${said()}`));
    assert.ok(atAlice.bytes > 0, 'alice receives audio');
    assert.ok(atBob.bytes > 0, 'bob receives audio');
    assert.equal(await alice.evaluate('harness.hangup()'), true, 'alice’s side ended');
    await until(
      async () => (await bob.evaluate<unknown[]>('harness.ended()')).length > 0,
      5000,
      `bob’s side did not end${said()}`,
    );
    const ended =
      await bob.evaluate<Array<{ originator: string; cause: string; failed?: boolean }>>('harness.ended()');
    assert.deepEqual(
      ended.map((e) => [e.originator, e.failed === true]),
      [['remote', false]],
      `bob’s call ended by alice’s BYE: ${JSON.stringify(ended)}`,
    );
  });

  test('a call to a user whose tab closed without unregistering is answered 480 (RFC 5626 §5.3)', async () => {
    const carol = await browser.open(url, 'window.JsSIP && window.harness');
    await carol.evaluate(
      `harness.register('ws://127.0.0.1:${ports.ws}', 'sip:carol@${DOMAIN}', '${USERS.carol}')`,
    );
    await carol.close();
    // The binding stays until it expires; the WebSocket it came on is gone.
    await until(
      async () =>
        (await sipwireCommand(['registrations', '--db', db])).output.includes(`sip:carol@${DOMAIN}`),
      5000,
      'carol registered',
    );
    const r = await alice.evaluate<{ cause: string; status: number | null; reason: string | null }>(
      `harness.callFails('sip:carol@${DOMAIN}')`,
      30_000,
    );
    assert.deepEqual(
      [r.status, r.cause],
      [480, 'Unavailable'],
      `alice's call failed with: ${JSON.stringify(r)}${said()}`,
    );
    assert.match(r.reason ?? '', /connection the user registered on is closed/, 'the reason says why');
  });
});
