// A headless Chromium for the interop tests, driven over the DevTools
// protocol (CDP) with the `ws` package: pages are opened, scripts evaluated
// in them (promises awaited), and what they log kept for a failure message.
// Chromium is Debian's `chromium` (scripts/install-peers.sh); it runs with
// fake camera and microphone and grants them without asking, so WebRTC calls
// run unattended.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { type Child, start, until, within } from './children.js';

/** The Chromium binary: $CHROMIUM, else Debian's. */
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  method: string;
}

export interface Page {
  /** Evaluates `expression` in the page, awaits it if it is a promise, and returns its value (JSON). */
  evaluate<T = unknown>(expression: string, timeoutMs?: number): Promise<T>;
  /** What the page logged (console and uncaught errors), oldest first. */
  log(): string[];
  /** Closes the tab, as a user closing it would: the page gets no chance to clean up. */
  close(): Promise<void>;
}

export interface Browser {
  /** Opens `url` in a new tab; resolves once `ready` (an expression) is true in it. */
  open(url: string, ready: string): Promise<Page>;
  /** Chromium's own output so far. */
  output(): string;
  close(): Promise<void>;
}

/** Starts Chromium headless and connects to it. */
export async function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'sipwire-chromium-'));
  const child: Child = start(
    CHROMIUM,
    [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--no-first-run',
      '--no-default-browser-check',
      '--disable-background-networking',
      '--remote-debugging-port=0',
      `--user-data-dir=${profile}`,
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      // ICE candidates on loopback too, so two tabs reach each other on any host.
      '--allow-loopback-in-peer-connection',
      ...extraArgs,
      'about:blank',
    ],
    profile,
  );
  // Chromium writes its DevTools port and browser path to this file once it listens.
  const portFile = join(profile, 'DevToolsActivePort');
  try {
    await until(
      () => existsSync(portFile) || child.process.exitCode !== null,
      20_000,
      `Chromium did not start:\n${child.output().slice(-2000)}`,
    );
  } catch (e) {
    await child.stop('SIGKILL', 1000);
    rmSync(profile, { recursive: true, force: true });
    throw e;
  }
  if (!existsSync(portFile)) {
    rmSync(profile, { recursive: true, force: true });
    throw new Error(`Chromium exited before listening:\n${child.output().slice(-2000)}`);
  }
  const [port, path] = readFileSync(portFile, 'utf8').trim().split('\n');
  const socket = new WebSocket(`ws://127.0.0.1:${port}${path}`, { perMessageDeflate: false });
  await within(
    new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    }),
    10_000,
    'connecting to Chromium DevTools',
  );

  let nextId = 1;
  const pending = new Map<number, Pending>();
  const logs = new Map<string, string[]>();
  socket.on('message', (data) => {
    const msg = JSON.parse(data.toString()) as {
      id?: number;
      result?: unknown;
      error?: { message: string };
      method?: string;
      params?: Record<string, unknown>;
      sessionId?: string;
    };
    if (msg.id !== undefined) {
      const p = pending.get(msg.id);
      if (p === undefined) return;
      pending.delete(msg.id);
      if (msg.error !== undefined) p.reject(new Error(`${p.method}: ${msg.error.message}`));
      else p.resolve(msg.result);
      return;
    }
    const log = msg.sessionId === undefined ? undefined : logs.get(msg.sessionId);
    if (log === undefined) return;
    if (msg.method === 'Runtime.consoleAPICalled') {
      const args = (msg.params?.args as Array<{ value?: unknown; description?: string }>) ?? [];
      log.push(
        `${msg.params?.type}: ${args.map((a) => (a.value !== undefined ? String(a.value) : a.description)).join(' ')}`,
      );
    } else if (msg.method === 'Runtime.exceptionThrown') {
      const d = msg.params?.exceptionDetails as { exception?: { description?: string }; text?: string };
      log.push(`uncaught: ${d.exception?.description ?? d.text}`);
    }
    if (log.length > 500) log.splice(0, log.length - 500);
  });
  socket.on('close', () => {
    for (const p of pending.values()) p.reject(new Error(`${p.method}: Chromium closed the connection`));
    pending.clear();
  });

  const send = <T>(method: string, params: object = {}, sessionId?: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (socket.readyState !== WebSocket.OPEN) {
        reject(new Error(`${method}: not connected to Chromium`));
        return;
      }
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject, method });
      socket.send(JSON.stringify({ id, method, params, sessionId }));
    });

  const evaluateIn = async <T>(sessionId: string, expression: string, timeoutMs = 20_000): Promise<T> => {
    const r = await within(
      send<{
        result: { value?: T };
        exceptionDetails?: { text?: string; exception?: { description?: string } };
      }>('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true }, sessionId),
      timeoutMs,
      `evaluating ${expression.slice(0, 80)}`,
    );
    if (r.exceptionDetails !== undefined) {
      const d = r.exceptionDetails;
      throw new Error(`in the page: ${d.exception?.description ?? d.text}`);
    }
    return r.result.value as T;
  };

  return {
    async open(url, ready) {
      const { targetId } = await send<{ targetId: string }>('Target.createTarget', { url: 'about:blank' });
      const { sessionId } = await send<{ sessionId: string }>('Target.attachToTarget', {
        targetId,
        flatten: true,
      });
      const log: string[] = [];
      logs.set(sessionId, log);
      await send('Runtime.enable', {}, sessionId);
      await send('Page.enable', {}, sessionId);
      await send('Page.navigate', { url }, sessionId);
      await until(
        async () => (await evaluateIn<boolean>(sessionId, `Boolean(${ready})`).catch(() => false)) === true,
        20_000,
        `page ${url} not ready (${ready}); it logged:\n${log.join('\n')}`,
        100,
      );
      return {
        evaluate: (expression, timeoutMs) => evaluateIn(sessionId, expression, timeoutMs),
        log: () => log.slice(),
        async close() {
          await send('Target.closeTarget', { targetId });
          logs.delete(sessionId);
        },
      };
    },
    output: () => child.output(),
    async close() {
      try {
        await within(send('Browser.close'), 5000, 'closing Chromium').catch(() => undefined);
        socket.close();
        await child.stop('SIGTERM', 5000);
      } finally {
        rmSync(profile, { recursive: true, force: true });
      }
    },
  };
}
