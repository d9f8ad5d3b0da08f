import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { freePort } from '../support/net.js';

// `sipwire serve --routes FILE.ts`: a TypeScript routes module loaded by the
// command, and a broken one refused at start-up by name.

const bin = new URL('../../src/cli/bin.ts', import.meta.url).pathname;
const srcIndex = new URL('../../src/index.ts', import.meta.url).pathname;

function serve(args: string[]): {
  done: Promise<{ code: number | null; out: string }>;
  up: Promise<void>;
  stop: () => void;
  /** What the server printed so far. */
  output: () => string;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', bin, 'serve', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let markUp: () => void = () => {};
  const up = new Promise<void>((r) => {
    markUp = r;
  });
  const onData = (d: Buffer) => {
    out += d;
    if (out.includes('sipwire serve is up')) markUp();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const done = new Promise<{ code: number | null; out: string }>((r) =>
    child.on('exit', (code) => r({ code, out })),
  );
  return { done, up, stop: () => child.kill('SIGTERM'), output: () => out };
}

async function options(port: number, uri: string): Promise<string> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const local = s.address().port;
  const got = new Promise<string>((resolve) => s.on('message', (m) => resolve(m.toString('latin1'))));
  const text = [
    `OPTIONS ${uri} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bK-routes-${local};rport`,
    'Max-Forwards: 70',
    `To: <${uri}>`,
    'From: <sip:tester@example.test>;tag=r1',
    `Call-ID: routes-${local}@127.0.0.1`,
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  s.send(Buffer.from(text, 'latin1'), port, '127.0.0.1');
  const r = await Promise.race([got, new Promise<string>((res) => setTimeout(() => res('(nothing)'), 5000))]);
  s.close();
  return r;
}

describe('sipwire serve --routes', () => {
  test('a TypeScript routes module answers what it is written to answer; other requests take the default path', {
    timeout: 60_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sipwire-routes-'));
    const file = join(dir, 'routes.ts');
    writeFileSync(
      file,
      [
        `import type { Routes, RouteContext } from '${srcIndex}';`,
        'const routes: Routes = (pipeline) => {',
        "  pipeline.before('sanity', 'closed-line', (ctx: RouteContext, next) => {",
        "    if (ctx.sipUri?.user === 'closed') return ctx.reply(410, 'Gone (routes.ts)');",
        '    return next();',
        '  });',
        '};',
        'export default routes;',
        '',
      ].join('\n'),
    );
    const port = await freePort();
    const s = serve([
      '--listen',
      `udp:127.0.0.1:${port}`,
      '--domain',
      'example.test',
      '--db',
      join(dir, 'r.db'),
      '--open',
      '--routes',
      file,
    ]);
    try {
      await Promise.race([s.up, s.done.then((d) => Promise.reject(new Error(`exited: ${d.out}`)))]);
      const closed = await options(port, 'sip:closed@example.test');
      assert.match(closed, /^SIP\/2\.0 410 Gone \(routes\.ts\)/, 'the routes module answered');
      const own = await options(port, `sip:127.0.0.1:${port}`);
      assert.match(own, /^SIP\/2\.0 200 /, 'the default stages still answer');
    } finally {
      s.stop();
      await s.done;
    }
  });

  test('a routes module that does not compile stops start-up with its name in the message', {
    timeout: 60_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sipwire-routes-'));
    const file = join(dir, 'broken.ts');
    writeFileSync(file, 'export default (p => { p.use("x", ) ;\n');
    const port = await freePort();
    const s = serve(['--listen', `udp:127.0.0.1:${port}`, '--db', join(dir, 'r.db'), '--routes', file]);
    const { code, out } = await s.done;
    assert.equal(code, 2, 'a usage error');
    assert.match(out, /routes: .*broken\.ts did not load/, 'names the file');
  });
});

/** `sipwire serve --open` on a fresh database and a free UDP port, logging at info, with `extra` flags. */
async function serveOpen(extra: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'sipwire-serve-'));
  const port = await freePort();
  const s = serve([
    '--open',
    '--db',
    join(dir, 'serve.db'),
    '--listen',
    `udp:127.0.0.1:${port}`,
    ...extra,
    '--log-level',
    'info',
  ]);
  return { port, s };
}

describe('sipwire serve --stats-interval', () => {
  test('the stats line comes every S seconds, with the counters of what was served', {
    timeout: 60_000,
  }, async () => {
    const { port, s } = await serveOpen(['--stats-interval', '1']);
    try {
      await s.up;
      assert.match(await options(port, `sip:127.0.0.1:${port}`), /^SIP\/2\.0 200 /, 'OPTIONS answered');
      // Two stats lines, where the default interval would give none for a minute.
      const lines = () =>
        s
          .output()
          .split('\n')
          .filter((l) => l.includes('"msg":"stats"'));
      const until = Date.now() + 20_000;
      while (lines().length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      const stats = lines();
      assert.ok(stats.length >= 2, `two stats lines, got ${stats.length}:\n${s.output()}`);
      assert.match(stats.at(-1) as string, /"heapMiB":\d+/, 'with the counters');
    } finally {
      s.stop();
    }
    await s.done;
  });
});

describe('sipwire serve --max-transactions', () => {
  test('past the limit a new request is answered 503; a bad value is a usage error', {
    timeout: 60_000,
  }, async () => {
    const { port, s } = await serveOpen(['--max-transactions', '1']);
    try {
      await s.up;
      assert.match(await options(port, `sip:127.0.0.1:${port}`), /^SIP\/2\.0 200 /, 'the first is answered');
      // The first OPTIONS transaction lingers (Timer J), so a second request finds the table full.
      const second = await options(port, `sip:127.0.0.1:${port}`);
      assert.match(second, /^SIP\/2\.0 503 Service Unavailable\r\n/, second);
      assert.match(second, /\r\nRetry-After: 5\r\n/, second);
    } finally {
      s.stop();
    }
    await s.done;
    const bad = await serve(['--max-transactions', '0']).done;
    assert.equal(bad.code, 2, bad.out);
    assert.match(bad.out, /--max-transactions must be a whole number from 1/);
    const slow = await serve(['--commit-interval', '1001']).done;
    assert.equal(slow.code, 2, slow.out);
    assert.match(slow.out, /--commit-interval must be a whole number of ms from 0 to 1000/);
  });
});
