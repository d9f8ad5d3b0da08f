// Ports and child processes for tests that use real sockets and real programs.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

/** A port on 127.0.0.1 that nothing listens on now, for UDP and TCP alike. */
export async function freePort(): Promise<number> {
  for (;;) {
    const s = createServer();
    const port = await new Promise<number>((r) =>
      s.listen(0, '127.0.0.1', () => r((s.address() as { port: number }).port)),
    );
    await new Promise<void>((r) => s.close(() => r()));
    const u = createSocket('udp4');
    const ok = await new Promise<boolean>((r) => {
      u.once('error', () => r(false));
      u.bind(port, '127.0.0.1', () => r(true));
    });
    if (ok) {
      await new Promise<void>((r) => u.close(() => r()));
      return port;
    }
  }
}

/** A port for which that port and the next are both free (baresip listens for TLS on the SIP port + 1). */
export async function freePortPair(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port >= 65535) continue;
    const next = createServer();
    const ok = await new Promise<boolean>((r) => {
      next.once('error', () => r(false));
      next.listen(port + 1, '127.0.0.1', () => r(true));
    });
    if (ok) {
      await new Promise<void>((r) => next.close(() => r()));
      return port;
    }
  }
}

/** Runs a program to its end (killed after `timeoutMs`); resolves with its exit status and its output. */
export function run(
  program: string,
  args: string[],
  options: { cwd?: string; timeoutMs?: number; keep?: number } = {},
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(program, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const add = (d: Buffer) => {
      output += d;
    };
    p.stdout.on('data', add);
    p.stderr.on('data', add);
    const timer = setTimeout(() => p.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    p.on('error', reject);
    p.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output: output.slice(-(options.keep ?? 3000)) });
    });
  });
}

/** Open sockets, listening sockets and timers of this process, by kind. */
export interface OpenHandles {
  UDPWrap: number;
  TCPSocketWrap: number;
  TCPServerWrap: number;
  Timeout: number;
}

/** What this process has open now, once the handles closed before the call have left (a few loop turns). */
export async function openHandles(): Promise<OpenHandles> {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  const count: OpenHandles = { UDPWrap: 0, TCPSocketWrap: 0, TCPServerWrap: 0, Timeout: 0 };
  for (const r of process.getActiveResourcesInfo()) if (r in count) count[r as keyof OpenHandles]++;
  return count;
}

/** Fails unless every socket open at `before` is all that is open now, and no timer was added. */
export async function assertNothingLeft(before: OpenHandles, what: string): Promise<void> {
  const after = await openHandles();
  const { Timeout, ...sockets } = after;
  const { Timeout: timersBefore, ...socketsBefore } = before;
  if (JSON.stringify(sockets) !== JSON.stringify(socketsBefore) || Timeout > timersBefore) {
    throw new Error(`${what}: left open: before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`);
  }
}
