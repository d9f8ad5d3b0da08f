// What the registration and call benchmarks share about their rate steps:
// the temporary directory and the processes of a run, options read from the
// environment, formatting, when a step held its rate, the server's CPU time
// and log errors around a step, and the summary's table of the highest rate
// each server held.

import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { errorLines } from './kamailio.mjs';
import { installCleanupHandlers, onPath, run, stopAll } from './procs.mjs';

/**
 * Runs `body(dir, sippVersion)` with a fresh directory `prefix`... under
 * `o.dir` once SIPp is found, and resolves with what it gives (or with the
 * result of a benchmark skipped without SIPp). Afterwards, and on Ctrl-C,
 * every process the benchmark started is stopped and the directory removed
 * (unless `o.keep`).
 */
export async function withSippWorkDir(o, prefix, body) {
  if (!onPath('sipp')) {
    console.log('  skipped: SIPp not installed (scripts/install-peers.sh)');
    return { results: [], skipped: 'sipp not installed' };
  }
  const version = (await run('sipp', ['-v'])).stdout.match(/SIPp v?([\d.]+)/)?.[1] ?? '?';
  const dir = mkdtempSync(join(o.dir, prefix));
  const removeHandlers = installCleanupHandlers(() => {
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
  });
  try {
    return await body(dir, version);
  } finally {
    await stopAll();
    removeHandlers();
    if (o.keep) console.log(`  kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Resolves with the result of `bench()` on a started server, or with one
 * that says why it failed; the server is stopped either way.
 */
export async function benchThenStop(server, kind, bench) {
  try {
    return await bench();
  } catch (err) {
    console.log(`    failed: ${err.message}`);
    return { name: server.name, kind, skipped: `failed: ${err.message.split('\n')[0]}`, steps: [] };
  } finally {
    await server.stop();
  }
}

/** A comma-separated list from the environment, or `fallback` when it is unset or empty. */
export const list = (v, fallback) =>
  v === undefined || v === ''
    ? fallback
    : String(v)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
export const pad = (s, n) => String(s).padEnd(n);
export const lpad = (s, n) => String(s).padStart(n);

/** A step holds its rate when nothing failed and at least 95% of the offered rate completed. */
export const held = (s) => s.failed === 0 && s.successful > 0 && s.achieved >= 0.95 * s.rate;

/** The highest offered rate a server held (no failure, >= 95% achieved), with that step. */
export function best(result) {
  const ok = result.steps.filter(held);
  return ok.length === 0 ? undefined : ok.reduce((a, b) => (b.rate > a.rate ? b : a));
}

export function describeFailures(step) {
  if (step.failed === 0) return '';
  const parts = Object.entries(step.causes).map(([k, v]) => `${k} ${v}`);
  const codes = Object.entries(step.unexpected).map(([c, v]) => `${c} x${v}`);
  if (codes.length > 0) parts.push(`answers: ${codes.join(', ')}`);
  return parts.join('; ');
}

/**
 * Runs one step (`place`, which resolves with SIPp's figures) against
 * `server` and adds the server's CPU time to it (`cpuSeconds`, `processes`),
 * read after a tail of `pauseMs` so that work it still had queued counts,
 * and the ERROR lines its log gained (`serverErrors`; Kamailio's log only,
 * when `kamailio`).
 */
export async function measuredStep(server, { pauseMs, kamailio }, place) {
  const logErrorsBefore = kamailio ? errorLines(server.logFile).length : 0;
  const cpu0 = server.cpu();
  const step = await place();
  await sleep(pauseMs);
  const cpu1 = server.cpu();
  step.cpuSeconds = cpu1.seconds - cpu0.seconds;
  step.processes = cpu1.processes;
  step.serverErrors = kamailio ? errorLines(server.logFile).length - logErrorsBefore : 0;
  return step;
}

/** Microseconds of the server's CPU per successful call of a step (NaN when none succeeded). */
export const cpuUsPerSuccess = (step) =>
  step.successful > 0 ? (step.cpuSeconds / step.successful) * 1e6 : Number.NaN;

/**
 * Prints the summary's heading and its table: each server's highest rate
 * held, what it achieved there and its CPU per call (`cpu`: column heading,
 * width and the figure of a step, as text), or why there is none. `server`
 * is the heading and width of the first column, `counted` what the rate
 * held counts ('completed', 'achieved').
 */
export function printHeldSummary(results, o, { server, cpu, counted }) {
  const [serverHeading, nameWidth] = server;
  const [cpuHeading, cpuWidth, cpuOf] = cpu;
  console.log('');
  console.log(
    `  Summary: highest rate held (0 failures, >= 95% of the offered rate ${counted}), of ${o.rates.join(', ')}/s, ${o.seconds} s each`,
  );
  console.log(
    `    ${pad(serverHeading, nameWidth)}${lpad('rate/s', 8)}${lpad('achieved/s', 12)}${lpad(cpuHeading, cpuWidth)}`,
  );
  for (const r of results) {
    if (r.skipped) {
      console.log(`    ${pad(r.name, nameWidth)}  skipped: ${r.skipped}`);
      continue;
    }
    const b = best(r);
    if (!b) {
      console.log(`    ${pad(r.name, nameWidth)}${lpad('none', 8)}  (no step held)`);
      continue;
    }
    // A lower step that did not hold (a stall of the machine, or of the disk) is named.
    const lower = r.steps.filter((st) => st.rate < b.rate && !held(st)).map((st) => `${st.rate}/s`);
    const note = lower.length > 0 ? `  (lower step not held: ${lower.join(', ')})` : '';
    console.log(
      `    ${pad(r.name, nameWidth)}${lpad(b.rate, 8)}${lpad(fmt(b.achieved), 12)}${lpad(cpuOf(b), cpuWidth)}${note}`,
    );
  }
}
