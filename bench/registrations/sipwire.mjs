// sipwire as the registrar under test: `sipwire serve` on its SQLite store,
// with the benchmark's users imported by `sipwire user import` first.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, startServerGroup } from './procs.mjs';

/** The repository root (bench/registrations/ is two levels below it). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The built CLI. */
export const BIN = join(ROOT, 'dist', 'cli', 'bin.js');

/**
 * The options `npm start` gives node for `sipwire serve` (package.json's
 * start script), so the benchmarks measure the server as it is run.
 */
export const SERVE_NODE_FLAGS = (() => {
  const start = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts?.start ?? '';
  const m = /\bnode((?: --[\w-]+(?:=\S+)?)*) dist\/cli\/bin\.js serve\b/.exec(start);
  if (m === null) throw new Error(`package.json's start script does not run dist/cli/bin.js serve: ${start}`);
  return m[1].trim().split(' ').filter(Boolean);
})();

/**
 * Whether the built CLI has `serve`: resolves with { ok } or { ok: false, why }.
 * (`npm run build` makes dist/ from src/.)
 */
export async function sipwireServeAvailable() {
  if (!existsSync(BIN)) return { ok: false, why: `${BIN} not built (npm run build)` };
  const res = await run(process.execPath, [BIN, 'serve', '--help'], { cwd: ROOT });
  if (res.code !== 0) {
    const said = (res.stderr || res.stdout).trim().split('\n')[0] ?? '';
    return { ok: false, why: `'sipwire serve --help' exited ${res.code}${said ? `: ${said}` : ''}` };
  }
  return { ok: true };
}

/**
 * Writes the benchmark's users into a fresh database in `dir` with
 * `sipwire user import`; resolves with the database file.
 */
export async function importUsers({ dir, users, password, domain }) {
  const dbFile = join(dir, 'sipwire.sqlite');
  const usersFile = join(dir, 'sipwire-users.txt');
  writeFileSync(usersFile, `${users.map((u) => `${u}@${domain} ${password}`).join('\n')}\n`);
  const imp = await run(process.execPath, [BIN, 'user', 'import', usersFile, '--db', dbFile], { cwd: ROOT });
  if (imp.code !== 0) {
    throw new Error(
      `sipwire user import exited ${imp.code}: ${(imp.stderr || imp.stdout).trim().slice(0, 2000)}`,
    );
  }
  return dbFile;
}

/**
 * Imports the users into a fresh database and starts `sipwire serve` on it in
 * `dir`. Resolves once it answers OPTIONS.
 */
export async function startSipwire({ dir, port, users, password, domain, readyTimeoutMs = 15000 }) {
  const dbFile = await importUsers({ dir, users, password, domain });
  const args = [
    ...SERVE_NODE_FLAGS,
    BIN,
    'serve',
    '--listen',
    `udp:127.0.0.1:${port}`,
    '--domain',
    domain,
    '--db',
    dbFile,
    '--digest-algorithms',
    'MD5',
    '--log-level',
    'warn',
  ];
  const server = await startServerGroup(process.execPath, args, {
    dir,
    port,
    logFile: join(dir, 'sipwire.log'),
    name: 'sipwire serve',
    readyTimeoutMs,
  });
  return { ...server, name: 'sipwire (SQLite)', dbFile };
}

/**
 * Heap bytes per stored binding with `bindings` (default 100,000) bindings
 * stored, measured by bench/bindings.mjs in a process of its own
 * (--expose-gc): bindings are written to the location store the server runs
 * on (SQLite, a fresh file) and to the in-memory store, with heapUsed read
 * after gc() before and after. Also the RSS growth per binding with SQLite
 * (its page cache lives outside the V8 heap).
 */
export async function measureSipwireHeapPerBinding({ bindings = 100_000 } = {}) {
  // Measured in a process of its own with --expose-gc (bench/bindings.mjs).
  const script = join(ROOT, 'bench', 'bindings.mjs');
  const res = await run(process.execPath, ['--expose-gc', script, String(bindings)], { cwd: ROOT });
  if (res.code !== 0)
    return { skipped: true, bindings, note: `bench/bindings.mjs exited ${res.code}: ${res.stderr.trim()}` };
  const r = JSON.parse(res.stdout.trim().split('\n').at(-1));
  return {
    skipped: false,
    bindings,
    bytesPerBinding: r.sqliteHeapPerBinding,
    rssPerBinding: r.sqliteRssPerBinding,
    memoryStoreBytesPerBinding: r.memoryHeapPerBinding,
  };
}

const PARTS_SCRIPT = join(ROOT, 'bench', 'registrations', 'parts-server.mjs');

/**
 * Starts the reference made of sipwire's registrar parts without its stack
 * (parts-server.mjs) on a fresh database with the users imported.
 */
export async function startSipwireParts({ dir, port, users, password, domain, readyTimeoutMs = 15000 }) {
  const dbFile = await importUsers({ dir, users, password, domain });
  // Under the same node options as serve, so that the difference is the stack's.
  const args = [...SERVE_NODE_FLAGS, PARTS_SCRIPT, String(port), dbFile];
  const server = await startServerGroup(process.execPath, args, {
    dir,
    port,
    logFile: join(dir, 'parts.log'),
    name: 'sipwire parts server',
    readyTimeoutMs,
  });
  return {
    ...server,
    name: "sipwire's parts, no stack",
    describe: 'reference: parser, Authenticator, Registrar, SQLite store; no transactions or pipeline',
  };
}
