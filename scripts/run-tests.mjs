#!/usr/bin/env node
// Runs one tier of the test suite with Node's test runner:
//   unit         every test/**/*.test.ts outside the tiers below (npm test)
//   conformance  test/conformance: the shared corpus (RFC 4475, RFC 5118, RFC 3261/3665 examples, PROTOS)
import { spawnSync } from 'node:child_process';
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
// A test that never ends fails by name after five minutes instead of holding the tier (and CI) for ever;
// and once every test of a file has finished, its process ends even if something (a socket a failed
// test left open) would keep it alive (--test-force-exit, Node 20.14 and later).
const [major, minor] = process.versions.node.split('.').map(Number);
const forceExit = major > 20 || (major === 20 && minor >= 14) ? ['--test-force-exit'] : [];
const args = [
  '--import',
  'tsx',
  '--test',
  '--test-reporter=spec',
  '--test-timeout=300000',
  ...forceExit,
  ...process.argv.slice(3),
  ...files,
];
const r = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
