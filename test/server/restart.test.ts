import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { makeUser } from '../../src/cli/serve-commands.js';
import { type AuthHeader, chooseChallenge, DigestClient, SipStack, UserAgent } from '../../src/index.js';
import { openDatabase, SqliteLocationStore, SqliteUserStore } from '../../src/server/store/sqlite.js';
import { freePort } from '../support/net.js';

const bin = new URL('../../src/cli/bin.ts', import.meta.url).pathname;

/** Starts `sipwire serve` as a child process and resolves once it is up. */
function serve(db: string, port: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        bin,
        'serve',
        '--listen',
        `udp:127.0.0.1:${port}`,
        '--domain',
        'example.test',
        '--db',
        db,
        '--log-level',
        'info',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    const onData = (d: Buffer) => {
      out += d;
      if (out.includes('sipwire serve is up')) resolve(child);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`serve exited (${code}):\n${out}`)));
    setTimeout(() => reject(new Error(`serve did not start:\n${out}`)), 20_000).unref();
  });
}

/** A database file with the user alice@example.test (password "secret"). */
async function addAlice(db: string): Promise<void> {
  const d = openDatabase(db);
  const users = new SqliteUserStore(d);
  await users.put(makeUser('alice@example.test', 'secret'));
  await users.close();
  d.close();
}

describe('nonces across restarts', () => {
  test('a nonce issued before a restart is still good after it (the key is kept in the database)', {
    timeout: 60_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sipwire-nonce-'));
    const db = join(dir, 'serve.db');
    await addAlice(db);
    const port = await freePort();
    const stack = new SipStack({ listen: ['udp:127.0.0.1:0'] });
    await stack.start();
    const ua = new UserAgent(stack, { uri: 'sip:alice@example.test' });
    let child = await serve(db, port);
    try {
      const req = ua.newRequest('REGISTER', 'sip:example.test');
      req.setHeader('To', '<sip:alice@example.test>');
      req.setHeader('Contact', '<sip:alice@127.0.0.1:9>');
      const { response } = await ua.send(req.clone(), { target: `udp:127.0.0.1:${port}` });
      assert.equal(response.status, 401, 'challenged');
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      child = await serve(db, port);
      const client = new DigestClient({ username: 'alice', password: 'secret' });
      const challenge = chooseChallenge(
        response.fields('WWW-Authenticate').map((f) => response.parseField(f) as AuthHeader),
      );
      const retry = req.clone();
      retry.setHeader('CSeq', '2 REGISTER');
      retry.appendHeader(
        'Authorization',
        client.authorize(challenge as AuthHeader, { method: 'REGISTER', uri: retry.uriRaw }),
      );
      const second = await ua.send(retry, { target: `udp:127.0.0.1:${port}` });
      assert.equal(
        second.response.status,
        200,
        `accepted by the restarted server: ${second.response.status}`,
      );
    } finally {
      child.kill('SIGKILL');
      await stack.stop();
    }
  });
});

describe('durability of bindings', () => {
  test('SIGKILL right after the 200 OK loses no binding; the restarted server serves it', {
    timeout: 90_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sipwire-restart-'));
    const db = join(dir, 'serve.db');
    await addAlice(db);
    const port = await freePort();
    const stack = new SipStack({ listen: ['udp:127.0.0.1:0'] });
    await stack.start();
    const ua = new UserAgent(stack, {
      uri: 'sip:alice@example.test',
      auth: { username: 'alice', password: 'secret' },
    });
    let child = await serve(db, port);
    try {
      for (let round = 0; round < 3; round++) {
        const reg = ua.register({ target: `udp:127.0.0.1:${port}`, expires: 600 });
        const res = await reg.registered;
        // Killed the moment the 200 is here: no chance to flush anything more.
        child.kill('SIGKILL');
        assert.equal(res.status, 200, `round ${round}: 200 OK`);
        await new Promise((r) => child.once('exit', r));
        const d = openDatabase(db);
        const location = new SqliteLocationStore(d);
        const bindings = await location.lookup('sip:alice@example.test', Date.now());
        await location.close();
        d.close();
        assert.equal(bindings.length, 1, `round ${round}: the binding survived the kill`);
        child = await serve(db, port);
        const again = await ua.options(`sip:example.test`, { target: `udp:127.0.0.1:${port}` });
        assert.equal(again.status, 200, `round ${round}: the restarted server answers`);
        // The restarted server takes the removal of the binding it kept.
        await reg.stop();
      }
    } finally {
      child.kill('SIGKILL');
      await stack.stop();
    }
  });
});
