// Starts baresip (Debian package baresip-core) on loopback and drives it for interop tests.
//
// baresip is configured from a temporary folder (`baresip -f DIR`):
// - SIP on 127.0.0.1:PORT, UDP and TCP alike (baresip listens on both transports of sip_listen),
//   with `net_interface 127.0.0.1` so that its SDP offers loopback whatever the machine's interfaces;
// - the g711 codecs only (PCMU, PCMA);
// - audio through `aubridge`, a source and player pair that needs no sound hardware;
// - `menu` for the commands (dial, hangup, ...) and `ctrl_tcp` to send them as JSON in netstrings
//   over a TCP socket; the same socket brings baresip's events (CALL_ESTABLISHED, CALL_CLOSED, ...).
// The account it starts with does not register; addAccount() adds one that does (the `uanew` command)
// and useAccount() makes an account the one `dial` calls from (the `uafind` command);
// registration() waits for its REGISTER_OK or REGISTER_FAIL, and quit() ends baresip the way a user
// would, which unregisters its accounts first.
// Everything baresip prints (with `-s`, every SIP message it sends and receives) is kept for failure messages.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, freePortPair } from './net.js';

/** One event of baresip's ctrl_tcp interface. */
export interface BaresipEvent {
  type: string;
  class?: string;
  accountaor?: string;
  direction?: string;
  peeruri?: string;
  /** The call's Call-ID, for call events. */
  id?: string;
  param?: string;
}

/** The response of baresip to a command. */
export interface BaresipResponse {
  ok: boolean;
  data: string;
}

export interface BaresipOptions {
  /** How the account answers incoming calls: 'auto' answers at once, 'manual' lets them ring. */
  answerMode?: 'auto' | 'manual';
  /** Milliseconds to wait for baresip to be ready. */
  startTimeoutMs?: number;
  /**
   * Give baresip an instance UUID (its uuid module), which accounts with
   * `sipnat=outbound` (RFC 5626) need.
   */
  uuid?: boolean;
}

/** How long a test waits for baresip (or sipwire) to do one thing, by default. */
export const WAIT_MS = 10_000;

/** Resolves with what `p` gives; fails the test (with the diagnostics) if it rejects or takes longer than `ms`. */
export async function within<T>(p: Promise<T>, what: string, diag: () => string, ms = WAIT_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } catch (e) {
    assert.fail(`${what}: ${e instanceof Error ? e.message : String(e)}\n${diag()}`);
  } finally {
    clearTimeout(timer);
  }
}

const MODULE_PATH = '/usr/lib/baresip/modules';
/** The account's address of record; `regint=0` keeps it from registering. */
const AOR = 'sip:baresip@127.0.0.1';

function configText(sipPort: number, ctrlPort: number, uuid: boolean): string {
  return [
    'poll_method\t\tepoll',
    `sip_listen\t\t127.0.0.1:${sipPort}`,
    'net_interface\t\t127.0.0.1',
    'call_local_timeout\t30',
    'call_max_calls\t\t4',
    'audio_player\t\taubridge,sipwire',
    'audio_source\t\taubridge,sipwire',
    'audio_alert\t\taubridge,sipwire',
    'rtp_stats\t\tno',
    `module_path\t\t${MODULE_PATH}`,
    'module\t\t\tg711.so',
    'module\t\t\taubridge.so',
    'module_tmp\t\taccount.so',
    ...(uuid ? ['module_tmp\t\tuuid.so'] : []),
    'module_app\t\tmenu.so',
    'module_app\t\tctrl_tcp.so',
    `ctrl_tcp_listen\t\t127.0.0.1:${ctrlPort}`,
    '',
  ].join('\n');
}

/** Strips the colour escapes baresip writes around its SIP trace. */
function plain(s: string): string {
  return s.replace(/\x1b\[[0-9;]*m/g, '');
}

/** A running baresip, driven through ctrl_tcp. */
export class Baresip {
  /** The SIP port baresip listens on (UDP and TCP) on 127.0.0.1. */
  readonly sipPort: number;
  /** The account's address of record. */
  readonly aor = AOR;
  /** Every event received so far. */
  readonly events: BaresipEvent[];
  private readonly dir: string;
  private readonly proc: ChildProcess;
  private text: string;
  private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private spawnError: Error | undefined;
  private socket: Socket | undefined;
  private inbox: Buffer;
  private nextToken: number;
  private readonly waiting: Map<string, (r: BaresipResponse) => void>;
  private readonly watchers: Set<() => void>;

  private constructor(dir: string, sipPort: number, proc: ChildProcess) {
    this.dir = dir;
    this.sipPort = sipPort;
    this.proc = proc;
    this.events = [];
    this.text = '';
    this.exited = undefined;
    this.spawnError = undefined;
    this.socket = undefined;
    this.inbox = Buffer.alloc(0);
    this.nextToken = 1;
    this.waiting = new Map();
    this.watchers = new Set();
    const add = (d: Buffer) => {
      this.text += plain(d.toString('utf8'));
      this.changed();
    };
    proc.stdout?.on('data', add);
    proc.stderr?.on('data', add);
    proc.on('exit', (code, signal) => {
      this.exited = { code, signal };
      this.changed();
    });
    proc.on('error', (e) => {
      // Not started at all (not installed): there is no process to wait for.
      this.spawnError = e;
      this.exited ??= { code: null, signal: null };
      this.changed();
    });
  }

  /** Starts baresip with one local account that does not register; resolves once its control socket answers. */
  static async start(options: BaresipOptions = {}): Promise<Baresip> {
    let last: unknown;
    // A port found free may be taken before baresip binds it: try again with others.
    for (let attempt = 0; attempt < 3; attempt++) {
      const sipPort = await freePortPair();
      // baresip also listens for SIP over TLS on the port after sipPort: both must be free, and the
      // control port off both.
      let ctrlPort = await freePort();
      while (ctrlPort === sipPort || ctrlPort === sipPort + 1) ctrlPort = await freePort();
      const dir = mkdtempSync(join(tmpdir(), 'baresip-'));
      writeFileSync(join(dir, 'config'), configText(sipPort, ctrlPort, options.uuid === true));
      writeFileSync(join(dir, 'accounts'), `<${AOR}>;regint=0;answermode=${options.answerMode ?? 'auto'}\n`);
      writeFileSync(join(dir, 'contacts'), '');
      const proc = spawn('baresip', ['-f', dir, '-s'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      const b = new Baresip(dir, sipPort, proc);
      try {
        await b.until(() => b.text.includes('baresip is ready.'), options.startTimeoutMs ?? 10_000);
        await b.connect(ctrlPort);
        return b;
      } catch (e) {
        last = e;
        await b.stop();
        if (b.spawnError !== undefined)
          throw new Error(
            `cannot run baresip (${b.spawnError.message}): install it with scripts/install-peers.sh`,
          );
      }
    }
    throw last instanceof Error ? last : new Error(String(last));
  }

  /** Everything baresip printed so far (colour escapes removed). */
  get output(): string {
    return this.text;
  }

  /** The tail of the output, for failure messages. */
  tail(chars = 6000): string {
    return this.text.length > chars ? `...${this.text.slice(-chars)}` : this.text;
  }

  /** Sends a command (as typed after '/' in baresip's menu) and resolves with baresip's response. */
  command(command: string, params = '', timeoutMs = 5000): Promise<BaresipResponse> {
    const socket = this.socket;
    if (socket === undefined) return Promise.reject(new Error('baresip control socket is not connected'));
    const token = `t${this.nextToken++}`;
    const json = JSON.stringify({ command, params, token });
    return new Promise<BaresipResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(token);
        reject(new Error(`baresip did not answer '${command} ${params}' within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(token, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      socket.write(`${Buffer.byteLength(json)}:${json},`);
    });
  }

  /** Dials a SIP URI; rejects when baresip refuses the command. */
  async dial(uri: string): Promise<void> {
    const r = await this.command('dial', uri);
    if (!r.ok) throw new Error(`baresip refused to dial ${uri}: ${r.data}`);
  }

  /** Hangs up the current call. */
  async hangup(): Promise<void> {
    const r = await this.command('hangup');
    if (!r.ok) throw new Error(`baresip refused to hang up: ${r.data}`);
  }

  /**
   * Adds a user agent for `account`, a line as in baresip's accounts file
   * (`<sip:alice@example.com>;auth_pass=...;outbound="sip:host:port";regint=60`),
   * with the `uanew` command. With a `regint` above 0 it starts registering at once;
   * `registration()` gives the outcome.
   */
  async addAccount(account: string): Promise<void> {
    const r = await this.command('uanew', account);
    if (!r.ok) throw new Error(`baresip refused to add the account ${account}: ${r.data}`);
  }

  /**
   * Makes the account whose address of record is `aor` the current one (the
   * `uafind` command): `dial` places its calls from there. Without it baresip 1.0.0
   * dials from the account it started with.
   */
  async useAccount(aor: string): Promise<void> {
    const r = await this.command('uafind', aor);
    if (!r.ok) throw new Error(`baresip has no account ${aor} to dial from: ${r.data}`);
  }

  /**
   * Resolves with the first REGISTER_OK or REGISTER_FAIL event of the account
   * whose address of record is `aor` (e.g. `sip:alice@example.com`).
   */
  registration(aor: string, timeoutMs = 10_000): Promise<BaresipEvent> {
    return this.waitForEvent(
      (e) => (e.type === 'REGISTER_OK' || e.type === 'REGISTER_FAIL') && e.accountaor === aor,
      timeoutMs,
    ).catch((e: Error) => {
      throw new Error(`baresip reported no outcome of the registration of ${aor} (${e.message})`);
    });
  }

  /**
   * Sends `quit` and waits for baresip to end by itself (it unregisters its
   * accounts first); resolves with how it exited. Rejects if it is still
   * running after `timeoutMs`; `stop()` then ends it.
   */
  async quit(timeoutMs = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    // baresip may close the control socket before it answers.
    await this.command('quit', '', Math.min(timeoutMs, 5000)).catch(() => undefined);
    await this.until(() => this.exited !== undefined, timeoutMs).catch((e: Error) => {
      throw new Error(`baresip did not exit after quit (${e.message})`);
    });
    return this.exited as { code: number | null; signal: NodeJS.Signals | null };
  }

  /** Resolves with the first event (already received or to come) that matches; rejects after `timeoutMs`. */
  async waitForEvent(match: (e: BaresipEvent) => boolean, timeoutMs = 10_000): Promise<BaresipEvent> {
    let found: BaresipEvent | undefined;
    await this.until(() => {
      found = this.events.find(match);
      return found !== undefined;
    }, timeoutMs);
    return found as BaresipEvent;
  }

  /** Resolves once a call event of this type came for the call with this Call-ID. */
  callEvent(type: string, callId: string, timeoutMs = 10_000): Promise<BaresipEvent> {
    return this.waitForEvent((e) => e.type === type && e.id === callId, timeoutMs).catch((e: Error) => {
      throw new Error(`baresip reported no ${type} for Call-ID ${callId} (${e.message})`);
    });
  }

  /** Resolves once baresip's output matches; rejects after `timeoutMs`. */
  async waitForOutput(pattern: RegExp, timeoutMs = 10_000): Promise<void> {
    await this.until(() => pattern.test(this.text), timeoutMs).catch((e: Error) => {
      throw new Error(`baresip printed nothing matching ${pattern} (${e.message})`);
    });
  }

  /** Ends baresip (SIGTERM, then SIGKILL) and removes its folder. */
  async stop(): Promise<void> {
    this.socket?.destroy();
    this.socket = undefined;
    if (this.exited === undefined) {
      this.proc.kill('SIGTERM');
      const gone = await this.until(() => this.exited !== undefined, 3000).then(
        () => true,
        () => false,
      );
      if (!gone) {
        this.proc.kill('SIGKILL');
        await this.until(() => this.exited !== undefined, 3000).catch(() => {});
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  // ---- internals --------------------------------------------------------------

  private async connect(port: number): Promise<void> {
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        this.socket = await new Promise<Socket>((resolve, reject) => {
          const s = connect(port, '127.0.0.1');
          s.once('connect', () => {
            s.off('error', reject);
            resolve(s);
          });
          s.once('error', reject);
        });
        break;
      } catch (e) {
        if (Date.now() > deadline || this.exited !== undefined) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const socket = this.socket;
    socket.on('error', () => {});
    socket.on('data', (d: Buffer) => {
      this.inbox = Buffer.concat([this.inbox, d]);
      this.readNetstrings();
    });
  }

  /** Takes every complete netstring (`LEN:JSON,`) out of the inbox. */
  private readNetstrings(): void {
    for (;;) {
      const colon = this.inbox.indexOf(0x3a);
      if (colon < 0) return;
      const len = Number(this.inbox.subarray(0, colon).toString('latin1'));
      if (!Number.isInteger(len) || len < 0) {
        this.text += `\n[ctrl_tcp: bad netstring ${this.inbox.toString('latin1').slice(0, 80)}]\n`;
        this.inbox = Buffer.alloc(0);
        return;
      }
      if (this.inbox.length < colon + 1 + len + 1) return;
      const json = this.inbox.subarray(colon + 1, colon + 1 + len).toString('utf8');
      this.inbox = this.inbox.subarray(colon + 1 + len + 1);
      this.message(json);
    }
  }

  private message(json: string): void {
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(json) as Record<string, unknown>;
    } catch {
      this.text += `\n[ctrl_tcp: not JSON: ${json}]\n`;
      return;
    }
    if (m.response === true) {
      const token = typeof m.token === 'string' ? m.token : '';
      this.waiting.get(token)?.({ ok: m.ok === true, data: typeof m.data === 'string' ? m.data : '' });
      this.waiting.delete(token);
    } else if (m.event === true) {
      this.events.push(m as unknown as BaresipEvent);
      this.text += `\n[ctrl_tcp event ${m.type} ${m.id ?? ''} ${m.param ?? ''}]\n`;
      this.changed();
    }
  }

  private changed(): void {
    for (const w of [...this.watchers]) w();
  }

  /** Resolves once `check()` holds; rejects after `timeoutMs`, or when baresip exits first. */
  private until(check: () => boolean, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = (e?: Error) => {
        clearTimeout(timer);
        this.watchers.delete(watch);
        if (e) reject(e);
        else resolve();
      };
      const watch = () => {
        if (check()) done();
        else if (this.exited !== undefined)
          done(new Error(`baresip exited (${this.exited.code ?? this.exited.signal}):\n${this.tail()}`));
      };
      const timer = setTimeout(() => done(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      this.watchers.add(watch);
      watch();
    });
  }
}
