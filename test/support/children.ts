// Child processes for the interop tests (SIPp, sipwire serve, ...): each
// one's output kept, its end awaited, and a way to end whatever a test left
// running; plus small waiting helpers and a look at /proc/net for a port in
// use.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Child {
  readonly process: ChildProcess;
  /** stdout and stderr so far, interleaved as they came. */
  output(): string;
  readonly exited: Promise<Exit>;
  /** Ends the process if it still runs: the signal given, then SIGKILL after `graceMs`. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<Exit>;
}

const live = new Set<Child>();

/** The most output kept per child: the end of it, which is where a failure shows. */
const OUTPUT_LIMIT = 200_000;

/**
 * Starts `program` in a process group of its own; the child is tracked until
 * it exits. Signals go to the whole group, so a program that forks workers
 * (Kamailio) leaves none behind, and once the child has exited its pipes are
 * closed here, so a straggler still holding them cannot keep this process
 * alive.
 */
export function start(program: string, args: string[], cwd: string): Child {
  const p = spawn(program, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  const add = (d: Buffer) => {
    output += d.toString('utf8');
    if (output.length > OUTPUT_LIMIT) output = output.slice(-OUTPUT_LIMIT / 2);
  };
  p.stdout?.on('data', add);
  p.stderr?.on('data', add);
  const signal = (sig: NodeJS.Signals) => {
    try {
      if (p.pid !== undefined) process.kill(-p.pid, sig);
    } catch {
      // The group is gone already.
    }
  };
  const exited = new Promise<Exit>((resolve) => {
    p.on('error', (e) => {
      output += `\n[cannot run ${program}: ${e.message}]`;
      resolve({ code: null, signal: null });
    });
    p.on('exit', (code, sig) => {
      // Whatever the program forked goes with it. Its last words are read
      // until the pipes close, or for a moment at most.
      signal('SIGKILL');
      const finish = () => {
        clearTimeout(timer);
        p.stdout?.destroy();
        p.stderr?.destroy();
        resolve({ code, signal: sig });
      };
      const timer = setTimeout(finish, 200);
      p.once('close', finish);
    });
  });
  const child: Child = {
    process: p,
    output: () => output,
    exited,
    async stop(sig = 'SIGTERM', graceMs = 5000) {
      if (p.exitCode === null && p.signalCode === null) signal(sig);
      const timer = setTimeout(() => signal('SIGKILL'), graceMs);
      const r = await exited;
      clearTimeout(timer);
      return r;
    },
  };
  live.add(child);
  void exited.then(() => live.delete(child));
  return child;
}

/** Kills whatever the tests left running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((c) => c.stop('SIGKILL', 1000)));
}

/** `p`, or an error naming `what` after `ms`. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until `cond` holds, checking every `stepMs`; an error naming `what` after `ms`. */
export async function until(
  cond: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
  stepMs = 50,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what} (waited ${ms} ms)`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/**
 * Whether something is bound to `port` on loopback, read from /proc/net (a
 * probe bind of our own could take the port from the program as it starts);
 * undefined where /proc/net is not there.
 */
export function bound(transport: 'udp' | 'tcp', port: number): boolean | undefined {
  const file = `/proc/net/${transport}`;
  if (!existsSync(file)) return undefined;
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync(file, 'utf8')
    .split('\n')
    .slice(1)
    .some((line) => {
      const [, local, , state] = line.trim().split(/\s+/);
      if (local === undefined || !local.endsWith(hex)) return false;
      return transport === 'udp' || state === '0A'; // 0A: TCP_LISTEN
    });
}
