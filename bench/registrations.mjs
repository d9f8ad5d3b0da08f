// Registrations per second with digest authentication, sipwire against
// Kamailio in the same run.
//
// Each registration is REGISTER -> 401 -> REGISTER with credentials -> 200,
// over loopback UDP, for a thousand distinct users, driven by SIPp in its own
// process at fixed rates stepped upwards. Servers:
//   - kamailio-mem: Kamailio, usrloc in memory (db_mode 0);
//   - kamailio-db1: Kamailio, usrloc written through to SQLite (db_mode 1:
//     durable), the same 4 UDP workers, SQLite in WAL mode (with SQLite's
//     default rollback journal its workers lock each other out even at
//     100/s);
//   - kamailio-db1-single: db_mode 1 with a single UDP worker, so that no
//     two processes contend for the SQLite file (Kamailio's best durable
//     figure here);
//   - sipwire: `sipwire serve` on its SQLite store (durable: a 200 means on
//     disk).
// Each step prints the achieved rate, the failures and the server's CPU time
// per successful registration (user + system of all its processes, from
// /proc). The summary gives each server's highest rate held with no failure
// and sipwire's ratios against each Kamailio configuration.
//
// Alone: node bench/registrations.mjs  (needs scripts/install-peers.sh run
// once for SIPp and Kamailio, and `npm run build` for sipwire). Environment:
//   REG_BENCH_SERVERS   kamailio-mem,kamailio-db1,kamailio-db1-single,sipwire
//   REG_BENCH_RATES     100,200,500,1000,1500,2000   (registrations per second)
//   REG_BENCH_SECONDS   4       seconds per step
//   REG_BENCH_WARMUP    1000    registrations before the steps (at 200/s), 0 for none
//   REG_BENCH_USERS     1000
//   REG_BENCH_STOP_PCT  10      stop stepping up after a step with more failures than this (%)
//   REG_BENCH_PAUSE_MS  1000    pause after each step (the server's tail of work is counted)
//   REG_BENCH_KAMAILIO_CHILDREN 4   UDP worker processes of Kamailio
//   REG_BENCH_KAMAILIO_DB_CHILDREN  the same for kamailio-db1 (default: as above)
//   REG_BENCH_SQLITE_JOURNAL WAL    journal mode of Kamailio's SQLite file with db_mode 1
//                                   (WAL, DELETE, TRUNCATE, ...; 'default' leaves SQLite's own)
//   REG_BENCH_SIPWIRE_FORCE=1       run sipwire even when `sipwire serve --help` fails
//   REG_BENCH_HEAP_BINDINGS 100000  bindings for sipwire's heap-per-binding figure
//   REG_BENCH_DIR       parent of the temporary directory (default: the OS's)
//   REG_BENCH_KEEP=1    keep the temporary directory (configs, logs, SIPp files)

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { errorLines, kamailioModuleDir, startKamailio } from './registrations/kamailio.mjs';
import { freeUdpPort, fsType, installCleanupHandlers, onPath, run, stopAll } from './registrations/procs.mjs';
import { runSipp, writeSippUsers } from './registrations/sipp.mjs';
import {
  measureSipwireHeapPerBinding,
  sipwireServeAvailable,
  startSipwire,
} from './registrations/sipwire.mjs';

const DOMAIN = 'bench.test';
const PASSWORD = 'pw';
const DEFAULT_SERVERS = ['kamailio-mem', 'kamailio-db1', 'kamailio-db1-single', 'sipwire'];
const KNOWN_SERVERS = DEFAULT_SERVERS;

const list = (v, fallback) =>
  v === undefined || v === ''
    ? fallback
    : String(v)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);

/** Options from the environment (see the top of this file). */
export function optionsFromEnv(env = process.env) {
  return {
    servers: list(env.REG_BENCH_SERVERS, DEFAULT_SERVERS),
    rates: list(env.REG_BENCH_RATES, ['100', '200', '500', '1000', '1500', '2000']).map(Number),
    seconds: Number(env.REG_BENCH_SECONDS ?? 4),
    warmup: Number(env.REG_BENCH_WARMUP ?? 1000),
    users: Number(env.REG_BENCH_USERS ?? 1000),
    stopPct: Number(env.REG_BENCH_STOP_PCT ?? 10),
    pauseMs: Number(env.REG_BENCH_PAUSE_MS ?? 1000),
    kamailioChildren: Number(env.REG_BENCH_KAMAILIO_CHILDREN ?? 4),
    kamailioDbChildren: Number(env.REG_BENCH_KAMAILIO_DB_CHILDREN ?? env.REG_BENCH_KAMAILIO_CHILDREN ?? 4),
    sqliteJournal: env.REG_BENCH_SQLITE_JOURNAL || 'WAL',
    forceSipwire: env.REG_BENCH_SIPWIRE_FORCE === '1',
    heapBindings: Number(env.REG_BENCH_HEAP_BINDINGS ?? 100_000),
    dir: env.REG_BENCH_DIR || tmpdir(),
    keep: env.REG_BENCH_KEEP === '1',
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);

/** A step holds its rate when nothing failed and at least 95% of the offered rate completed. */
const held = (s) => s.failed === 0 && s.successful > 0 && s.achieved >= 0.95 * s.rate;

function describeFailures(step) {
  if (step.failed === 0) return '';
  const parts = Object.entries(step.causes).map(([k, v]) => `${k} ${v}`);
  const codes = Object.entries(step.unexpected).map(([c, v]) => `${c} x${v}`);
  if (codes.length > 0) parts.push(`answers: ${codes.join(', ')}`);
  return parts.join('; ');
}

/** Starts one of the servers; resolves with it, or with { skipped: note }. */
async function startServer(kind, o, dir, users) {
  const port = await freeUdpPort();
  if (kind.startsWith('kamailio-') && KNOWN_SERVERS.includes(kind)) {
    if (!onPath('kamailio')) return { skipped: 'kamailio not installed (scripts/install-peers.sh)' };
    if (!kamailioModuleDir()) return { skipped: 'db_sqlite.so not found (scripts/install-peers.sh)' };
    return startKamailio({
      dir: join(dir, kind),
      port,
      dbMode: kind === 'kamailio-mem' ? 0 : 1,
      users,
      password: PASSWORD,
      domain: DOMAIN,
      children: { 'kamailio-mem': o.kamailioChildren, 'kamailio-db1': o.kamailioDbChildren }[kind] ?? 1,
      // The journal mode matters only where usrloc writes (auth_db only reads).
      journalMode: kind === 'kamailio-mem' || o.sqliteJournal === 'default' ? undefined : o.sqliteJournal,
    });
  }
  if (kind === 'sipwire') {
    if (!o.forceSipwire) {
      const avail = await sipwireServeAvailable();
      if (!avail.ok) return { skipped: `sipwire serve not available yet (${avail.why})` };
    }
    const sub = join(dir, kind);
    mkdirSync(sub, { recursive: true });
    return startSipwire({ dir: sub, port, users, password: PASSWORD, domain: DOMAIN });
  }
  return { skipped: `unknown server '${kind}' (known: ${KNOWN_SERVERS.join(', ')})` };
}

/** Runs the warm-up and the rate steps against one started server. */
async function benchServer(server, o, dir, usersCsv, kind) {
  const result = { name: server.name, kind, steps: [] };
  // One SIPp port for all runs against a server: the warm-up creates each
  // user's binding and every step after refreshes it.
  const localPort = await freeUdpPort();
  const sippArgs = { port: server.port, usersCsv, domain: DOMAIN, workDir: join(dir, kind), localPort };
  if (o.warmup > 0) {
    const w = await runSipp({ ...sippArgs, rate: 200, calls: o.warmup, tag: 'warmup' });
    console.log(`    warm-up: ${w.successful} registered, ${w.failed} failed at 200/s`);
    await sleep(o.pauseMs);
  }
  console.log(
    `    ${pad('rate/s', 8)}${lpad('achieved/s', 11)}${lpad('ok', 8)}${lpad('failed', 8)}${lpad('CPU us/reg', 12)}${lpad('retrans', 9)}`,
  );
  for (const rate of o.rates) {
    const calls = Math.max(1, Math.round(rate * o.seconds));
    const logErrorsBefore = kind.startsWith('kamailio') ? errorLines(server.logFile).length : 0;
    const cpu0 = server.cpu();
    const step = await runSipp({ ...sippArgs, rate, calls, tag: `r${rate}` });
    // The server's CPU is read after the pause so that work it still had queued counts.
    await sleep(o.pauseMs);
    const cpu1 = server.cpu();
    step.cpuSeconds = cpu1.seconds - cpu0.seconds;
    step.processes = cpu1.processes;
    step.cpuUsPerReg = step.successful > 0 ? (step.cpuSeconds / step.successful) * 1e6 : Number.NaN;
    step.serverErrors = kind.startsWith('kamailio') ? errorLines(server.logFile).length - logErrorsBefore : 0;
    result.steps.push(step);
    const notes = [describeFailures(step)];
    if (step.serverErrors > 0) notes.push(`${step.serverErrors} ERROR lines in the server log`);
    console.log(
      `    ${pad(rate, 8)}${lpad(fmt(step.achieved), 11)}${lpad(step.successful, 8)}${lpad(step.failed, 8)}${lpad(fmt(step.cpuUsPerReg), 12)}${lpad(step.retransmissions, 9)}  ${notes.filter(Boolean).join('; ')}`,
    );
    if (step.failed > (o.stopPct / 100) * calls || step.successful === 0) {
      console.log(`    (stopped stepping up: more than ${o.stopPct}% of this step failed)`);
      break;
    }
  }
  if (server.storedBindings) {
    try {
      result.storedBindings = server.storedBindings();
      console.log(`    bindings in the database afterwards: ${result.storedBindings}`);
    } catch (err) {
      console.log(`    bindings in the database afterwards: unreadable (${err.message})`);
    }
  }
  const sample = kind.startsWith('kamailio') ? errorLines(server.logFile).slice(0, 3) : [];
  if (sample.length > 0) {
    console.log('    first ERROR lines of the server log:');
    for (const l of sample) console.log(`      ${l.trim().slice(0, 200)}`);
  }
  return result;
}

/** The highest offered rate a server held (no failure, >= 95% achieved), with that step. */
function best(result) {
  const ok = result.steps.filter(held);
  return ok.length === 0 ? undefined : ok.reduce((a, b) => (b.rate > a.rate ? b : a));
}

/** The step of `result` at `rate`, if it held. */
const heldAt = (result, rate) => result.steps.find((s) => s.rate === rate && held(s));

function printSummary(results, o) {
  console.log('');
  console.log(
    `  Summary: highest rate held (0 failures, >= 95% of the offered rate achieved), of ${o.rates.join(', ')}/s, ${o.seconds} s each`,
  );
  console.log(
    `    ${pad('server', 32)}${lpad('rate/s', 8)}${lpad('achieved/s', 12)}${lpad('CPU us/reg', 12)}`,
  );
  for (const r of results) {
    if (r.skipped) {
      console.log(`    ${pad(r.name, 32)}  skipped: ${r.skipped}`);
      continue;
    }
    const b = best(r);
    if (!b) {
      console.log(`    ${pad(r.name, 32)}${lpad('none', 8)}  (no step held)`);
      continue;
    }
    // A lower step that did not hold (a stall of the machine, or of the disk) is named.
    const lower = r.steps.filter((st) => st.rate < b.rate && !held(st)).map((st) => `${st.rate}/s`);
    const note = lower.length > 0 ? `  (lower step not held: ${lower.join(', ')})` : '';
    console.log(
      `    ${pad(r.name, 32)}${lpad(b.rate, 8)}${lpad(fmt(b.achieved), 12)}${lpad(fmt(b.cpuUsPerReg), 12)}${note}`,
    );
  }
  const ours = results.find((r) => r.kind === 'sipwire' && !r.skipped);
  const peers = results.filter((r) => r.kind.startsWith('kamailio') && !r.skipped);
  if (!ours) {
    console.log('    ratios: none (sipwire did not run)');
    return;
  }
  const ourBest = best(ours);
  for (const peer of peers) {
    const theirBest = best(peer);
    const rateText =
      ourBest && theirBest
        ? `${fmt(ourBest.rate / theirBest.rate, 2)}x (${ourBest.rate} vs ${theirBest.rate}/s)`
        : `n/a (${ourBest ? peer.name : 'sipwire'} held no step)`;
    // CPU is compared at the same offered rate: the highest both held.
    const common = ours.steps
      .filter(held)
      .map((s) => s.rate)
      .filter((rate) => heldAt(peer, rate))
      .sort((a, b) => b - a)[0];
    const cpuText =
      common === undefined
        ? 'no common rate held'
        : `${fmt(heldAt(ours, common).cpuUsPerReg / heldAt(peer, common).cpuUsPerReg, 2)}x at ${common}/s (${fmt(heldAt(ours, common).cpuUsPerReg)} vs ${fmt(heldAt(peer, common).cpuUsPerReg)} us)`;
    console.log(
      `    sipwire / ${pad(`${peer.name}:`, 34)} rate held ${rateText}, CPU per registration ${cpuText}`,
    );
  }
  // The issue's targets: 1000/s durable with 0 failures; CPU per registration
  // no more than Kamailio's in-memory figure.
  const at1000 = heldAt(ours, 1000);
  const step1000 = ours.steps.find((st) => st.rate === 1000);
  const detail = step1000
    ? ` (${fmt(step1000.achieved)}/s achieved, ${step1000.failed} failed)`
    : ' (1000/s not run)';
  console.log(`    target 1000/s durable with 0 failures: ${at1000 ? 'met' : 'not met'}${detail}`);
  const mem = peers.find((p) => p.kind === 'kamailio-mem');
  if (mem) {
    const rate = heldAt(mem, 1000) && at1000 ? 1000 : undefined;
    if (rate) {
      const ok = at1000.cpuUsPerReg <= heldAt(mem, 1000).cpuUsPerReg;
      console.log(
        `    target CPU/registration <= Kamailio in memory at 1000/s: ${ok ? 'met' : 'not met'} (${fmt(at1000.cpuUsPerReg)} vs ${fmt(heldAt(mem, 1000).cpuUsPerReg)} us)`,
      );
    } else {
      console.log(
        '    target CPU/registration <= Kamailio in memory at 1000/s: not comparable (one of them did not hold 1000/s)',
      );
    }
  }
}

/**
 * Runs the registration benchmark; prints every step and a summary and
 * resolves with the figures ({ results, heap }).
 */
export async function runRegistrationBench(options = {}) {
  const o = { ...optionsFromEnv(), ...options };
  console.log('');
  console.log(
    `Registrations with digest authentication over loopback UDP (REGISTER, 401, REGISTER with credentials, 200; ${o.users} users), SIPp in another process`,
  );
  if (!onPath('sipp')) {
    console.log('  skipped: SIPp not installed (scripts/install-peers.sh)');
    return { results: [], skipped: 'sipp not installed' };
  }
  const version = (await run('sipp', ['-v'])).stdout.match(/SIPp v?([\d.]+)/)?.[1] ?? '?';
  const dir = mkdtempSync(join(o.dir, 'sipwire-reg-bench-'));
  const removeHandlers = installCleanupHandlers(() => {
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
  });
  const results = [];
  let heap;
  try {
    console.log(`  SIPp ${version}; work directory ${dir} (${fsType(dir)})`);
    const users = Array.from({ length: o.users }, (_, i) => `user${String(i).padStart(4, '0')}`);
    const usersCsv = writeSippUsers(join(dir, 'users.csv'), users, PASSWORD);
    for (const kind of o.servers) {
      console.log('');
      let server;
      try {
        server = await startServer(kind, o, dir, users);
      } catch (err) {
        console.log(`  ${kind}: failed to start: ${err.message}`);
        results.push({ name: kind, kind, skipped: 'failed to start', steps: [] });
        continue;
      }
      if (server.skipped) {
        console.log(`  ${kind}: skipped: ${server.skipped}`);
        results.push({ name: kind, kind, skipped: server.skipped, steps: [] });
        continue;
      }
      console.log(
        `  ${server.name} on udp:127.0.0.1:${server.port}, ${server.cpu().processes} processes${server.describe ? `; ${server.describe}` : ''}`,
      );
      try {
        results.push(await benchServer(server, o, dir, usersCsv, kind));
      } catch (err) {
        console.log(`    failed: ${err.message}`);
        results.push({
          name: server.name,
          kind,
          skipped: `failed: ${err.message.split('\n')[0]}`,
          steps: [],
        });
      } finally {
        await server.stop();
      }
    }
    printSummary(results, o);
    if (o.servers.includes('sipwire')) {
      heap = await measureSipwireHeapPerBinding({ bindings: o.heapBindings });
      console.log(
        heap.skipped
          ? `  sipwire heap per stored binding (${heap.bindings} bindings): skipped: ${heap.note}`
          : `  sipwire per stored binding (${heap.bindings} bindings): SQLite store ${fmt(heap.bytesPerBinding)} bytes of heap, ${fmt(heap.rssPerBinding)} bytes of RSS (page cache); in-memory store ${fmt(heap.memoryStoreBytesPerBinding)} bytes of heap`,
      );
    }
  } finally {
    await stopAll();
    removeHandlers();
    if (o.keep) console.log(`  kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
  return { results, heap };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runRegistrationBench();
}
