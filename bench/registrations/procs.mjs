// Process helpers for the registration and call benchmarks: spawning servers
// in their own process group (so every child they fork can be found, measured
// and stopped) and waiting until they answer OPTIONS, CPU time of a process
// group from /proc, free loopback ports, and stopping everything on exit or
// Ctrl-C.

import { execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { sipOptions } from '../peers.mjs';

/** Every process group this benchmark started and has not stopped yet. */
const live = new Set();

let clockTicks;
/** Clock ticks per second, the unit of utime/stime in /proc/PID/stat. */
export function clkTck() {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** Fields of /proc/PID/stat after the command name, or undefined when the process is gone. */
function statFields(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name may hold spaces and parentheses: cut after the last ')'.
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/**
 * CPU time in seconds (user + system, all threads) of every live process in
 * the process group `pgid` or descending from `rootPid`, with their count.
 */
export function groupCpu(rootPid, pgid = rootPid) {
  const procs = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(name);
    if (f === undefined) continue;
    // After the name: [0] state, [1] ppid, [2] pgrp, ... [11] utime, [12] stime.
    procs.set(Number(name), { ppid: Number(f[1]), pgrp: Number(f[2]), ticks: Number(f[11]) + Number(f[12]) });
  }
  const members = new Set();
  for (const [pid, p] of procs) if (pid === rootPid || p.pgrp === pgid) members.add(pid);
  // Children that moved to a group of their own still count.
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, p] of procs) {
      if (!members.has(pid) && members.has(p.ppid)) {
        members.add(pid);
        grew = true;
      }
    }
  }
  let ticks = 0;
  for (const pid of members) ticks += procs.get(pid).ticks;
  return { seconds: ticks / clkTck(), processes: members.size };
}

/**
 * Spawns a long-running process as the leader of a new process group; it is
 * stopped by stopAll() if still running when the benchmark ends.
 */
export function spawnGroup(cmd, args, options = {}) {
  const child = spawn(cmd, args, { ...options, detached: true });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

function signalGroup(child, sig) {
  try {
    process.kill(-child.pid, sig);
  } catch {
    try {
      child.kill(sig);
    } catch {
      // already gone
    }
  }
}

function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM to the group, then SIGKILL to whatever is left after `graceMs`. */
export async function stopGroup(child, graceMs = 5000) {
  if (child.pid === undefined) return;
  signalGroup(child, 'SIGTERM');
  const until = Date.now() + graceMs;
  while (
    Date.now() < until &&
    ((child.exitCode === null && child.signalCode === null) || groupAlive(child.pid))
  ) {
    await new Promise((r) => setTimeout(r, 50));
  }
  if (groupAlive(child.pid)) signalGroup(child, 'SIGKILL');
  live.delete(child);
}

/** Stops every process group still running (synchronously: usable from 'exit'). */
export function killAllNow() {
  for (const child of live) signalGroup(child, 'SIGKILL');
  live.clear();
}

export async function stopAll() {
  await Promise.all([...live].map((c) => stopGroup(c, 2000)));
}

/**
 * On Ctrl-C, SIGTERM or exit, no server or SIPp is left behind (`onSignal`
 * then runs, before the exit). Returns a function that removes the handlers.
 */
export function installCleanupHandlers(onSignal) {
  const stopOnSignal = (sig) => {
    console.log(`\n${sig}: stopping the benchmark's processes`);
    killAllNow();
    onSignal?.();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', stopOnSignal);
  process.on('SIGTERM', stopOnSignal);
  process.on('exit', killAllNow);
  return () => {
    process.off('SIGINT', stopOnSignal);
    process.off('SIGTERM', stopOnSignal);
    process.off('exit', killAllNow);
  };
}

/** A UDP port on 127.0.0.1 free right now. */
export function freeUdpPort() {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Waits until the server on `port` answers an OPTIONS; rejects if `child` exits or `timeoutMs` passes. */
export async function waitForSip(port, child, timeoutMs, name) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `${name} exited (${child.exitCode ?? child.signalCode}) before it answered on port ${port}`,
      );
    }
    const code = await sipOptions(port, 300);
    if (code > 0) return code;
  }
  throw new Error(`${name} did not answer OPTIONS on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

/** The last `n` lines of a file. */
export function tail(file, n = 20) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}

/**
 * Starts a server (`cmd` with `args`) as a process group in `dir`, its
 * output to `logFile`, and resolves once it answers OPTIONS on `port`; if it
 * does not within `readyTimeoutMs`, it is stopped and the error ends with its
 * log. Resolves with what the benchmarks use of every server: the process,
 * its port and log, its CPU time, stop() and the end of its log.
 */
export async function startServerGroup(cmd, args, { dir, port, logFile, name, readyTimeoutMs }) {
  const log = openSync(logFile, 'w');
  const child = spawnGroup(cmd, args, { cwd: dir, stdio: ['ignore', log, log] });
  closeSync(log);
  try {
    await waitForSip(port, child, readyTimeoutMs, name);
  } catch (err) {
    await stopGroup(child);
    throw new Error(`${err.message}\n--- ${logFile} (end) ---\n${tail(logFile)}`);
  }
  return {
    child,
    port,
    logFile,
    cpu: () => groupCpu(child.pid),
    stop: () => stopGroup(child),
    logTail: (n) => tail(logFile, n),
  };
}

/** Runs a command to completion; resolves with its exit code, stdout and stderr. */
export function run(cmd, args, options = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    // Tracked too, so that a signal to this process stops it.
    live.add(child);
    child.once('exit', () => live.delete(child));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', (err) => resolve({ code: -1, stdout, stderr: stderr + String(err) }));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr }));
  });
}

/** Whether `cmd` can be found on PATH. */
export function onPath(cmd) {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Filesystem type of `dir` (durability of an fsync depends on it: tmpfs has none). */
export function fsType(dir) {
  try {
    return execFileSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}
