// Calls per second through a stateful record-routing proxy, sipwire against
// Kamailio in the same run.
//
// Each call is INVITE (with SDP) -> [100] [180] 200 -> ACK, a 200 ms hold,
// BYE -> 200, over loopback UDP: SIPp's uac (bench/calls/uac.xml) sends
// everything to the proxy (-rsa) with a Request-URI naming SIPp's uas
// (bench/calls/uas.xml), so the proxy forwards the INVITE by its
// Request-URI, records the route, and the ACK and BYE come back through it
// by their Route. Proxies:
//   - kamailio: Kamailio with tm and rr (record_route, loose_route,
//     t_relay), 2 UDP workers, no database;
//   - sipwire: `sipwire serve --open`, which proxies requests whose
//     Request-URI is not its own.
// The rates are fixed and stepped upwards. Each step prints the calls
// completed and failed, the rate of completed calls (per second from the
// first INVITE to the end of the last call less one hold; calls that fail by
// a receive timeout lengthen that time), and the proxy's CPU time
// per completed call (user + system of all its processes, from /proc, read
// before the step and after a short tail). For sipwire, the heap per active
// call is measured after the steps: sipwire is started again through
// bench/calls/serve-with-heap.mjs, which reports its heap after a full
// collection on SIGUSR2; (heap with N calls held - heap idle) / N, and again
// once they have all hung up, while their transactions still linger for
// retransmissions (RFC 3261 Timer J, RFC 6026 Timer L: 32 s over UDP). The
// summary gives each proxy's highest rate held with no failure, the CPU per
// call at each rate both ran, and sipwire's ratios to Kamailio.
//
// Alone: node bench/calls.mjs  (needs scripts/install-peers.sh run once for
// SIPp and Kamailio, and `npm run build` for sipwire). Environment:
//   CALL_BENCH_SERVERS   kamailio,sipwire
//   CALL_BENCH_RATES     500,1000,2000,3000   (calls per second)
//   CALL_BENCH_SECONDS   5       seconds of calls per step
//   CALL_BENCH_HOLD_MS   200     how long each call lasts between ACK and BYE
//   CALL_BENCH_WARMUP    1000    calls before the steps (at 500/s), 0 for none
//   CALL_BENCH_ROUNDS    2       rounds, alternating the proxies (kamailio, sipwire, kamailio, ...);
//                                the summary takes each proxy's best round at each rate
//   CALL_BENCH_STOP_PCT  10      stop stepping up after a step with more failures than this (%)
//   CALL_BENCH_PAUSE_MS  1000    tail after each step (the proxy's work still queued is counted)
//   CALL_BENCH_KAMAILIO_CHILDREN 2   UDP worker processes of Kamailio
//   CALL_BENCH_KAMAILIO_SHM_MB 1024  Kamailio's shared memory (transactions live there; with
//                                    256 MB it runs out when it falls behind at 2000/s)
//   CALL_BENCH_HEAP_CALLS    1500   calls held for sipwire's heap per active call (0: not measured)
//   CALL_BENCH_HEAP_RATE     500    the rate they are placed at
//   CALL_BENCH_HEAP_HOLD_MS  5000   how long each of them lasts (at least 2 s more than placing them takes)
//   CALL_BENCH_SIPWIRE_FORCE=1      run sipwire even when `sipwire serve --help` fails
//   CALL_BENCH_JSON      a file to write the figures to, as JSON
//   CALL_BENCH_DIR       parent of the temporary directory (default: the OS's)
//   CALL_BENCH_KEEP=1    keep the temporary directory (configs, logs, SIPp files)

import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startKamailioProxy } from './calls/kamailio.mjs';
import { kamailioModuleDir } from './peers.mjs';
import { errorLines } from './registrations/kamailio.mjs';
import {
  freeUdpPort,
  onPath,
  spawnGroup,
  startServerGroup,
  stopGroup,
  tail,
} from './registrations/procs.mjs';
import { runSippLoad } from './registrations/sipp.mjs';
import { BIN, SERVE_NODE_FLAGS, sipwireServeAvailable } from './registrations/sipwire.mjs';
import {
  benchThenStop,
  best,
  cpuUsPerSuccess,
  describeFailures,
  fmt,
  held,
  list,
  lpad,
  measuredStep,
  pad,
  printHeldSummary,
  sleep,
  withSippWorkDir,
} from './registrations/steps.mjs';

const UAC = fileURLToPath(new URL('./calls/uac.xml', import.meta.url));
const UAS = fileURLToPath(new URL('./calls/uas.xml', import.meta.url));
const HEAP_WRAPPER = fileURLToPath(new URL('./calls/serve-with-heap.mjs', import.meta.url));
const DOMAIN = 'bench.test';
const DEFAULT_SERVERS = ['kamailio', 'sipwire'];

/** Options from the environment (see the top of this file). */
export function optionsFromEnv(env = process.env) {
  return {
    servers: list(env.CALL_BENCH_SERVERS, DEFAULT_SERVERS),
    rates: list(env.CALL_BENCH_RATES, ['500', '1000', '2000', '3000']).map(Number),
    seconds: Number(env.CALL_BENCH_SECONDS ?? 5),
    holdMs: Number(env.CALL_BENCH_HOLD_MS ?? 200),
    warmup: Number(env.CALL_BENCH_WARMUP ?? 1000),
    stopPct: Number(env.CALL_BENCH_STOP_PCT ?? 10),
    pauseMs: Number(env.CALL_BENCH_PAUSE_MS ?? 1000),
    kamailioChildren: Number(env.CALL_BENCH_KAMAILIO_CHILDREN ?? 2),
    kamailioShmMb: Number(env.CALL_BENCH_KAMAILIO_SHM_MB ?? 1024),
    heapCalls: Number(env.CALL_BENCH_HEAP_CALLS ?? 1500),
    heapRate: Number(env.CALL_BENCH_HEAP_RATE ?? 500),
    heapHoldMs: Number(env.CALL_BENCH_HEAP_HOLD_MS ?? 5000),
    rounds: Math.max(1, Number(env.CALL_BENCH_ROUNDS ?? 2)),
    forceSipwire: env.CALL_BENCH_SIPWIRE_FORCE === '1',
    json: env.CALL_BENCH_JSON || undefined,
    dir: env.CALL_BENCH_DIR || tmpdir(),
    keep: env.CALL_BENCH_KEEP === '1',
  };
}

const handedOut = new Set();
/**
 * A UDP port free now and not handed out before in this run: ports picked
 * before anything binds them could otherwise repeat, and a proxy whose
 * callee shares its port would route to itself.
 */
async function newPort() {
  for (;;) {
    const port = await freeUdpPort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/** The first entry of SIPp's error file (why a call failed), on one line and shortened. */
function firstSippError(file) {
  if (!file || !existsSync(file)) return undefined;
  // Entries start with "date<TAB>time<TAB>epoch: " and do not always end with a newline.
  const entries = readFileSync(file, 'utf8').split(/(?=\d{4}-\d\d-\d\d\t\d\d:\d\d:\d\d\.\d+\t)/);
  const first = entries.find((e) => /Aborting call|aborting call|Call failed|timeout|unexpected/.test(e));
  return first
    ?.replace(/^\S+\t\S+\t[\d.]+:\s*/, '')
    .replace(/\s+/g, ' ')
    .replace(/'$/, '')
    .trim()
    .slice(0, 220);
}

/**
 * SIPp's uas (bench/calls/uas.xml) on `port`, answering every call until
 * stopped; its own process group.
 */
async function startUas(dir, port) {
  const logFile = join(dir, 'sipp-uas.log');
  const log = openSync(logFile, 'w');
  const child = spawnGroup(
    'sipp',
    [
      '-sf',
      UAS,
      '-i',
      '127.0.0.1',
      '-p',
      String(port),
      '-t',
      'u1',
      '-cp',
      String(await newPort()),
      '-nostdin',
      '-trace_err',
      '-error_file',
      join(dir, 'sipp-uas-errors.log'),
    ],
    { cwd: dir, stdio: ['ignore', 'ignore', log] },
  );
  closeSync(log);
  // SIPp has no readiness signal of its own: give it a moment, then check it is still there.
  await sleep(300);
  if (child.exitCode !== null || child.signalCode !== null) {
    throw new Error(`SIPp uas exited (${child.exitCode ?? child.signalCode}): ${tail(logFile, 10)}`);
  }
  return { child, port, stop: () => stopGroup(child) };
}

/**
 * Starts `sipwire serve --open` on udp:127.0.0.1:port with a database in
 * `dir`: the CLI itself, or through serve-with-heap.mjs when `heapFile` is
 * given. Resolves once it answers OPTIONS.
 */
async function startSipwireProxy({ dir, port, heapFile, readyTimeoutMs = 15000 }) {
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, heapFile ? 'sipwire-heap.log' : 'sipwire.log');
  const serve = [
    'serve',
    '--open',
    '--db',
    join(dir, heapFile ? 'calls-heap.db' : 'calls.db'),
    '--listen',
    `udp:127.0.0.1:${port}`,
    '--domain',
    DOMAIN,
    '--log-level',
    'warn',
  ];
  const args = heapFile
    ? ['--expose-gc', ...SERVE_NODE_FLAGS, HEAP_WRAPPER, heapFile, ...serve]
    : [...SERVE_NODE_FLAGS, BIN, ...serve];
  const server = await startServerGroup(process.execPath, args, {
    dir,
    port,
    logFile,
    name: 'sipwire serve',
    readyTimeoutMs,
  });
  return {
    ...server,
    name: 'sipwire',
    kind: 'sipwire',
    describe: 'sipwire serve --open, one Node.js process',
  };
}

/** Starts one of the proxies; resolves with it, or with { skipped: note }. */
async function startProxy(kind, o, dir) {
  const port = await newPort();
  const sub = join(dir, kind);
  mkdirSync(sub, { recursive: true });
  if (kind === 'kamailio') {
    if (!onPath('kamailio')) return { skipped: 'kamailio not installed (scripts/install-peers.sh)' };
    if (!kamailioModuleDir('db_sqlite'))
      return { skipped: "Kamailio's modules not found (scripts/install-peers.sh)" };
    return startKamailioProxy({ dir: sub, port, children: o.kamailioChildren, shmMb: o.kamailioShmMb });
  }
  if (kind === 'sipwire') {
    if (!o.forceSipwire) {
      const avail = await sipwireServeAvailable();
      if (!avail.ok) return { skipped: `sipwire serve not available (${avail.why})` };
    }
    return startSipwireProxy({ dir: sub, port });
  }
  return { skipped: `unknown proxy '${kind}' (known: ${DEFAULT_SERVERS.join(', ')})` };
}

/**
 * One run of SIPp's uac through the proxy to the uas: `calls` calls at
 * `rate`, each held `holdMs`.
 */
async function placeCalls({ proxyPort, uasPort, rate, calls, holdMs, workDir, tag, limit }) {
  const args = [
    `127.0.0.1:${uasPort}`,
    '-sf',
    UAC,
    '-rsa',
    `127.0.0.1:${proxyPort}`,
    '-t',
    'u1',
    '-i',
    '127.0.0.1',
    '-p',
    String(await newPort()),
    '-d',
    String(holdMs),
    // A 180 that a proxy with parallel workers (Kamailio) forwards after the
    // 200 must not end up waking nothing (see uac.xml).
    '-pause_msg_ign',
  ];
  // Room for two seconds of calls beyond the hold before SIPp holds new calls back.
  const open = limit ?? Math.max(100, Math.ceil(rate * (holdMs / 1000 + 2)));
  const step = await runSippLoad({
    args,
    rate,
    calls,
    limit: open,
    workDir,
    tag,
    recvTimeoutMs: 5000,
    controlPort: await newPort(),
  });
  // SIPp's elapsed time runs to the end of the last call: take the hold of
  // that call off, so that the rate is calls completed per second of placing them.
  const span = step.seconds - holdMs / 1000;
  step.achieved = span > 0 ? step.successful / span : 0;
  return step;
}

/** Runs the warm-up and the rate steps through one started proxy. */
async function benchProxy(server, uas, o, dir, kind, label = kind) {
  const result = { name: server.name, kind, describe: server.describe, steps: [] };
  const workDir = join(dir, label);
  const base = { proxyPort: server.port, uasPort: uas.port, holdMs: o.holdMs, workDir };
  if (o.warmup > 0) {
    const w = await placeCalls({ ...base, rate: 500, calls: o.warmup, tag: 'warmup' });
    console.log(`    warm-up: ${w.successful} calls completed, ${w.failed} failed at 500/s`);
    if (w.failed > 0) {
      const why = describeFailures(w);
      const first = firstSippError(w.errorFile);
      if (why) console.log(`      ${why}`);
      if (first) console.log(`      first SIPp error: ${first}`);
    }
    await sleep(o.pauseMs);
  }
  console.log(
    `    ${pad('rate/s', 8)}${lpad('completed', 10)}${lpad('failed', 8)}${lpad('achieved/s', 12)}${lpad('CPU us/call', 13)}${lpad('setup ms', 10)}${lpad('retrans', 9)}`,
  );
  for (const rate of o.rates) {
    const calls = Math.max(1, Math.round(rate * o.seconds));
    let step;
    try {
      step = await measuredStep(server, { pauseMs: o.pauseMs, kamailio: kind === 'kamailio' }, () =>
        placeCalls({ ...base, rate, calls, tag: `r${rate}` }),
      );
    } catch (err) {
      console.log(`    ${pad(rate, 8)}  SIPp failed: ${err.message.split('\n')[0]}`);
      result.steps.push({ rate, calls, successful: 0, failed: calls, error: err.message });
      break;
    }
    step.cpuUsPerCall = cpuUsPerSuccess(step);
    if (step.failed > 0) step.firstError = firstSippError(step.errorFile);
    result.steps.push(step);
    const notes = [describeFailures(step)];
    if (step.serverErrors > 0) notes.push(`${step.serverErrors} ERROR lines in the proxy's log`);
    console.log(
      `    ${pad(rate, 8)}${lpad(step.successful, 10)}${lpad(step.failed, 8)}${lpad(fmt(step.achieved), 12)}${lpad(fmt(step.cpuUsPerCall, 1), 13)}${lpad(fmt(step.meanMs), 10)}${lpad(step.retransmissions, 9)}  ${notes.filter(Boolean).join('; ')}`,
    );
    if (step.firstError) console.log(`      first SIPp error: ${step.firstError}`);
    if (step.failed > (o.stopPct / 100) * calls || step.successful === 0) {
      console.log(`    (stopped stepping up: more than ${o.stopPct}% of this step failed)`);
      break;
    }
  }
  if (server.child.exitCode !== null || server.child.signalCode !== null) {
    console.log(`    the proxy exited (${server.child.exitCode ?? server.child.signalCode}); its log ends:`);
    for (const l of server.logTail(10).split('\n')) console.log(`      ${l.slice(0, 200)}`);
  }
  const sample = kind === 'kamailio' ? errorLines(server.logFile).slice(0, 3) : [];
  if (sample.length > 0) {
    console.log("    first ERROR lines of the proxy's log:");
    for (const l of sample) console.log(`      ${l.trim().slice(0, 200)}`);
  }
  return result;
}

/** Asks the process started by serve-with-heap.mjs for its heap after a full GC. */
async function heapSample(child, heapFile, seq, timeoutMs = 10000) {
  process.kill(child.pid, 'SIGUSR2');
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const s = JSON.parse(readFileSync(heapFile, 'utf8'));
      if (s.seq === seq) return s;
    } catch {
      // not written yet
    }
    await sleep(20);
  }
  throw new Error(`no heap sample ${seq} from sipwire within ${timeoutMs} ms`);
}

/**
 * sipwire's heap per active call: a fresh sipwire (through
 * serve-with-heap.mjs) idle, then with `heapCalls` calls placed at
 * `heapRate` and each held `heapHoldMs`, sampled once every call should be
 * up and before the first one hangs up.
 */
async function measureHeapPerCall(o, dir, uas) {
  const calls = o.heapCalls;
  const placing = (calls / o.heapRate) * 1000;
  // The sample is taken a second after the last INVITE goes out; the first
  // BYE goes out a hold after the first INVITE. Lengthen the hold if it is too short.
  const holdMs = Math.max(o.heapHoldMs, Math.ceil(placing + 2000));
  const sub = join(dir, 'sipwire');
  const heapFile = join(sub, 'heap.json');
  const port = await newPort();
  const server = await startSipwireProxy({ dir: sub, port, heapFile });
  try {
    await sleep(1000);
    const idle = await heapSample(server.child, heapFile, 1);
    const started = Date.now();
    const running = placeCalls({
      proxyPort: port,
      uasPort: uas.port,
      rate: o.heapRate,
      calls,
      holdMs,
      workDir: sub,
      tag: 'heap',
      limit: calls + 100,
    });
    await sleep(placing + 1000);
    const loaded = await heapSample(server.child, heapFile, 2);
    const sampledAt = Date.now() - started;
    const step = await running;
    // Every call has hung up; the first ones' Timer L runs out 32 s after they were answered.
    const ended = await heapSample(server.child, heapFile, 3);
    const endedAt = Date.now() - started;
    const result = {
      calls,
      rate: o.heapRate,
      holdMs,
      sampledAtMs: sampledAt,
      completed: step.successful,
      failed: step.failed,
      heapIdle: idle.heapUsed,
      heapLoaded: loaded.heapUsed,
      heapEnded: ended.heapUsed,
      endedSampledAtMs: endedAt,
      rssIdle: idle.rss,
      rssLoaded: loaded.rss,
    };
    if (step.successful === 0) return { ...result, skipped: `no call completed (${describeFailures(step)})` };
    // Every call that completed was up when the sample was taken (all placed
    // a second before it, none hung up until a hold after it began).
    result.bytesPerCall = (loaded.heapUsed - idle.heapUsed) / step.successful;
    result.rssPerCall = (loaded.rss - idle.rss) / step.successful;
    result.bytesPerEndedCall = (ended.heapUsed - idle.heapUsed) / step.successful;
    if (sampledAt >= holdMs) result.note = 'sampled after the first calls hung up: figure too low';
    if (step.failed > 0) result.note = `${step.failed} calls failed: figure approximate`;
    return result;
  } finally {
    await server.stop();
  }
}

/**
 * With several rounds (each proxy run in turn, kamailio, sipwire, kamailio,
 * sipwire, ...) the machine's drift hits both alike; each proxy's figure at
 * a rate is its best round there: a step that held before one that did
 * not, then the lower CPU per call.
 */
function mergeRounds(results, o) {
  if (o.rounds <= 1) return results;
  const out = [];
  for (const kind of o.servers) {
    const mine = results.filter((r) => r.kind === kind && !r.skipped);
    if (mine.length === 0) {
      const skipped = results.find((r) => r.kind === kind);
      if (skipped) out.push(skipped);
      continue;
    }
    const steps = [];
    for (const rate of o.rates) {
      const cands = mine.map((r) => r.steps.find((s) => s.rate === rate)).filter(Boolean);
      if (cands.length === 0) continue;
      cands.sort(
        (a, b) =>
          Number(held(b)) - Number(held(a)) ||
          (a.cpuUsPerCall ?? Number.POSITIVE_INFINITY) - (b.cpuUsPerCall ?? Number.POSITIVE_INFINITY),
      );
      steps.push(cands[0]);
    }
    out.push({ ...mine[0], steps });
  }
  console.log('');
  console.log(`  Best of ${o.rounds} rounds per proxy and rate (rounds alternate between the proxies).`);
  return out;
}

function compare(results) {
  const ours = results.find((r) => r.kind === 'sipwire' && !r.skipped);
  const theirs = results.find((r) => r.kind === 'kamailio' && !r.skipped);
  if (!ours || !theirs) return undefined;
  const ob = best(ours);
  const tb = best(theirs);
  const rates = ours.steps
    .map((s) => s.rate)
    .filter((rate) => theirs.steps.some((t) => t.rate === rate))
    .sort((a, b) => a - b);
  return {
    rateHeldRatio: ob && tb ? ob.rate / tb.rate : null,
    sipwireRateHeld: ob?.rate ?? null,
    kamailioRateHeld: tb?.rate ?? null,
    cpu: rates.map((rate) => {
      const s = ours.steps.find((x) => x.rate === rate);
      const k = theirs.steps.find((x) => x.rate === rate);
      const both = Number.isFinite(s.cpuUsPerCall) && Number.isFinite(k.cpuUsPerCall);
      return {
        rate,
        sipwireUsPerCall: s.cpuUsPerCall ?? null,
        kamailioUsPerCall: k.cpuUsPerCall ?? null,
        sipwireHeld: held(s),
        kamailioHeld: held(k),
        ratio: both ? s.cpuUsPerCall / k.cpuUsPerCall : null,
      };
    }),
  };
}

function printSummary(results, comparison, heap, o) {
  printHeldSummary(results, o, {
    server: ['proxy', 12],
    cpu: ['CPU us/call', 13, (b) => fmt(b.cpuUsPerCall, 1)],
    counted: 'completed',
  });
  if (!comparison) {
    console.log('    sipwire / kamailio: not compared (one of them did not run)');
  } else {
    const c = comparison;
    console.log(
      `    sipwire / kamailio, rate held: ${c.rateHeldRatio === null ? `n/a (sipwire ${c.sipwireRateHeld ?? 'none'}, kamailio ${c.kamailioRateHeld ?? 'none'})` : `${fmt(c.rateHeldRatio, 2)}x (${c.sipwireRateHeld} vs ${c.kamailioRateHeld}/s)`}`,
    );
    console.log('    CPU per completed call at each rate both ran (us; * = the step did not hold):');
    console.log(`      ${pad('rate/s', 8)}${lpad('sipwire', 10)}${lpad('kamailio', 10)}${lpad('ratio', 8)}`);
    for (const row of c.cpu) {
      const s = `${fmt(row.sipwireUsPerCall, 1)}${row.sipwireHeld ? '' : '*'}`;
      const k = `${fmt(row.kamailioUsPerCall, 1)}${row.kamailioHeld ? '' : '*'}`;
      console.log(
        `      ${pad(row.rate, 8)}${lpad(s, 10)}${lpad(k, 10)}${lpad(row.ratio === null ? '-' : `${fmt(row.ratio, 2)}x`, 8)}`,
      );
    }
  }
  if (heap) {
    if (heap.skipped) {
      console.log(`  sipwire heap per active call: skipped: ${heap.skipped}`);
    } else {
      console.log(
        `  sipwire heap per active call: ${fmt(heap.bytesPerCall)} bytes (${heap.completed} calls held ${heap.holdMs} ms, placed at ${heap.rate}/s, sampled at ${fmt(heap.sampledAtMs / 1000, 1)} s: heap ${fmt(heap.heapIdle / 1048576, 1)} -> ${fmt(heap.heapLoaded / 1048576, 1)} MiB; RSS ${fmt(heap.rssPerCall)} bytes per call)${heap.note ? `; ${heap.note}` : ''}`,
      );
      console.log(
        `  sipwire heap per ended call, its transactions lingering: ${fmt(heap.bytesPerEndedCall)} bytes (sampled at ${fmt(heap.endedSampledAtMs / 1000, 1)} s, after every call hung up: heap ${fmt(heap.heapEnded / 1048576, 1)} MiB)`,
      );
    }
  }
}

/** Plain numbers and strings only, for the JSON summary. */
function stepForJson(s) {
  return {
    rate: s.rate,
    calls: s.calls,
    completed: s.successful,
    failed: s.failed,
    achieved: s.achieved ?? 0,
    cpuUsPerCall: Number.isFinite(s.cpuUsPerCall) ? s.cpuUsPerCall : null,
    cpuSeconds: s.cpuSeconds ?? null,
    meanSetupMs: Number.isFinite(s.meanMs) ? s.meanMs : null,
    retransmissions: s.retransmissions ?? null,
    held: held(s),
    failures: s.causes ?? {},
    unexpectedAnswers: s.unexpected ?? {},
    firstError: s.firstError ?? s.error ?? null,
  };
}

/**
 * Runs the call benchmark; prints every step and a summary and resolves with
 * the figures ({ results, comparison, heap }).
 */
export async function runCallBench(options = {}) {
  const o = { ...optionsFromEnv(), ...options };
  console.log('');
  console.log(
    `Calls through a stateful record-routing proxy over loopback UDP (INVITE with SDP, 180, 200, ACK, ${o.holdMs} ms, BYE, 200), SIPp uac -> proxy -> SIPp uas`,
  );
  return withSippWorkDir(o, 'sipwire-call-bench-', async (dir, version) => {
    const results = [];
    let heap;
    console.log(`  SIPp ${version}; work directory ${dir}`);
    const runs = [];
    for (let round = 1; round <= o.rounds; round++) for (const kind of o.servers) runs.push({ kind, round });
    for (const { kind, round } of runs) {
      console.log('');
      if (o.rounds > 1) console.log(`  round ${round} of ${o.rounds}`);
      const sub = join(dir, `${kind}-${round}`);
      mkdirSync(sub, { recursive: true });
      let uas;
      let server;
      try {
        uas = await startUas(sub, await newPort());
        server = await startProxy(kind, o, dir);
      } catch (err) {
        console.log(`  ${kind}: failed to start: ${err.message}`);
        results.push({
          name: kind,
          kind,
          skipped: `failed to start: ${err.message.split('\n')[0]}`,
          steps: [],
        });
        await uas?.stop();
        continue;
      }
      if (server.skipped) {
        console.log(`  ${kind}: skipped: ${server.skipped}`);
        results.push({ name: kind, kind, skipped: server.skipped, steps: [] });
        await uas.stop();
        continue;
      }
      console.log(
        `  ${server.name} on udp:127.0.0.1:${server.port} (${server.cpu().processes} processes; ${server.describe}), SIPp uas on udp:127.0.0.1:${uas.port}`,
      );
      results.push(
        await benchThenStop(server, kind, () => benchProxy(server, uas, o, dir, kind, `${kind}-${round}`)),
      );
      if (kind === 'sipwire' && o.heapCalls > 0 && heap === undefined) {
        try {
          heap = await measureHeapPerCall(o, dir, uas);
        } catch (err) {
          heap = { skipped: `failed: ${err.message.split('\n')[0]}` };
        }
      }
      await uas.stop();
    }
    const merged = mergeRounds(results, o);
    const comparison = compare(merged);
    printSummary(merged, comparison, heap, o);
    if (o.json) {
      const summary = {
        benchmark: 'calls through a stateful record-routing proxy',
        date: new Date().toISOString(),
        node: process.version,
        cpus: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}`,
        sipp: version,
        options: { ...o, json: undefined, dir: undefined },
        results: results.map((r) => ({
          proxy: r.name,
          describe: r.describe ?? null,
          skipped: r.skipped ?? null,
          highestRateHeld: r.skipped ? null : (best(r)?.rate ?? null),
          steps: r.steps.map(stepForJson),
        })),
        comparison: comparison ?? null,
        sipwireHeapPerCall: heap ?? null,
      };
      writeFileSync(o.json, `${JSON.stringify(summary, null, 2)}\n`);
      console.log(`  figures written to ${o.json}`);
    }
    return { results, comparison, heap };
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runCallBench();
}
