#!/usr/bin/env node
// Runs one tier of the test suite with Node's test runner:
//   unit         every test/**/*.test.ts outside the tiers below (npm test)
//   conformance  test/conformance: the shared corpus (RFC 4475, RFC 5118, RFC 3261/3665 examples, PROTOS)
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const tier = process.argv[2] ?? 'unit';
const TIERS = ['conformance', 'interop'];

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const all = walk(join(root, 'test'));
const files = all
  .filter((f) => {
    const top = relative(join(root, 'test'), f).split('/')[0];
    return tier === 'unit' ? !TIERS.includes(top) : top === tier;
  })
  .sort();
if (files.length === 0) {
  console.error(`no test files for tier '${tier}'`);
  process.exit(1);
}
// A test that never ends fails by name after five minutes instead of holding the tier (and CI) for ever.
// A test file whose tests have all finished but whose process stays alive (a socket a failed test left
// open) would hold the tier too: a watchdog ends the whole run after TEST_TIER_TIMEOUT_MS (default 30
// minutes) and says so. Node's --test-force-exit would end such a file at once, but it can drop the
// verdicts of a file's last tests before they are reported (nodejs/node#64833): the count printed would
// then be short, and a lost failure would go unseen.
const args = [
  '--import',
  'tsx',
  '--test',
  '--test-reporter=spec',
  '--test-timeout=300000',
  ...process.argv.slice(3),
  ...files,
];
const limitMs = Number(process.env.TEST_TIER_TIMEOUT_MS ?? 30 * 60_000);
const child = spawn(process.execPath, args, { stdio: 'inherit', cwd: root, detached: true });
const watchdog = setTimeout(() => {
  console.error(
    `\nrun-tests: the ${tier} tier did not finish within ${Math.round(limitMs / 1000)} s ` +
      '(a test, or something a test left open, kept it alive): stopped, failing.',
  );
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
  process.exit(1);
}, limitMs);
// Ctrl-C stops the tests too.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      child.kill(signal);
    }
  });
}
child.on('exit', (code, signal) => {
  clearTimeout(watchdog);
  process.exit(code ?? (signal ? 1 : 0));
});
