// Calls through proxies with SIPp on both ends, for the proxy interop tests:
// SIPp's uac and uas with the call benchmark's scenarios (bench/calls/), a
// parser for SIPp's message trace (-trace_msg), sipwire serve in-process,
// Kamailio started from a config the test writes (with the request_route of
// the call benchmark's Kamailio, bench/peers.mjs), and calls placed through a
// path of proxies with what the callee received checked.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  kamailioArgs,
  kamailioModuleDir,
  PROXY_MODULES,
  proxyRequestRoute,
  sipOptions,
} from '../../bench/peers.mjs';
import { createLogger } from '../../src/server/log.js';
import { SipServer } from '../../src/server/server.js';
import { start, stopAll } from './children.js';
import { freePort } from './net.js';

const ROOT = new URL('../..', import.meta.url).pathname;
/** INVITE, [100] [180] 200 (Record-Route kept), ACK and BYE by the route set. */
export const UAC_SCENARIO = join(ROOT, 'bench', 'calls', 'uac.xml');
/** 180 and 200 echoing the Record-Route, then ACK, BYE, 200. */
export const UAS_SCENARIO = join(ROOT, 'bench', 'calls', 'uas.xml');

export const SIPP_TRANSPORT = { udp: 'u1', tcp: 't1' } as const;
export type Transport = keyof typeof SIPP_TRANSPORT;

// ---- scratch folders and child processes --------------------------------------

const scratch = new Set<string>();

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratch.add(dir);
  return dir;
}

/** Ends every process the tests started and removes their folders (unless KEEP_INTEROP_FILES=1). */
export async function cleanUp(): Promise<void> {
  await stopAll();
  if (process.env.KEEP_INTEROP_FILES !== '1') {
    for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
  }
  scratch.clear();
}

/**
 * `n` different ports free now. Ports picked one after the other with
 * nothing bound on them yet can repeat (the kernel may hand the same port
 * out again), and two programs on one port make a proxy route to itself.
 */
export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

// ---- SIPp ---------------------------------------------------------------------

export interface SippRun {
  code: number | null;
  /** SIPp's error file and the end of its output. */
  errors: string;
  /** Every message SIPp sent or received, in order. */
  trace: TracedMessage[];
  /** The trace file, for a failure report. */
  traceFile: string;
}

export interface SippProcess {
  /** Resolves when SIPp ends (after `calls` calls, or its -timeout). */
  done: Promise<SippRun>;
  stop(): Promise<void>;
}

function sippCommon(dir: string, name: string): string[] {
  return [
    '-i',
    '127.0.0.1',
    '-nostdin',
    '-trace_msg',
    '-message_file',
    join(dir, `${name}-messages.log`),
    '-trace_err',
    '-error_file',
    join(dir, `${name}-errors.log`),
    // A run that hangs ends with an error instead.
    '-timeout',
    '30s',
    '-timeout_error',
  ];
}

function sippProcess(args: string[], dir: string, name: string): SippProcess {
  const child = start('sipp', args, dir);
  const done = child.exited.then(({ code }) => {
    const traceFile = join(dir, `${name}-messages.log`);
    const errorFile = join(dir, `${name}-errors.log`);
    const errors = existsSync(errorFile) ? readFileSync(errorFile, 'utf8') : '';
    const trace = existsSync(traceFile) ? parseSippTrace(readFileSync(traceFile, 'latin1')) : [];
    return { code, errors: `${errors.slice(-3000)}${child.output().slice(-2000)}`, trace, traceFile };
  });
  return {
    done,
    stop: async () => {
      await child.stop('SIGTERM', 2000);
    },
  };
}

/** SIPp's uas on 127.0.0.1:port: answers `calls` calls, then exits 0 (1 if one failed). */
export async function startUas(options: {
  dir: string;
  port: number;
  transport: Transport;
  calls: number;
}): Promise<SippProcess> {
  const { dir, port, transport, calls } = options;
  const args = [
    '-sf',
    UAS_SCENARIO,
    '-p',
    String(port),
    '-t',
    SIPP_TRANSPORT[transport],
    '-m',
    String(calls),
    ...sippCommon(dir, 'uas'),
  ];
  const uas = sippProcess(args, dir, 'uas');
  // SIPp says nothing when it is ready: give it a moment to bind, and make
  // sure it has not given up (a port taken, a scenario it cannot read).
  const early = await Promise.race([
    uas.done,
    new Promise<undefined>((r) => setTimeout(() => r(undefined), 400)),
  ]);
  if (early !== undefined) throw new Error(`SIPp uas ended at once (exit ${early.code}):\n${early.errors}`);
  return uas;
}

/**
 * SIPp's uac: `calls` calls whose Request-URI is sip:service@127.0.0.1:requestUriPort,
 * every message sent to 127.0.0.1:proxyPort (-rsa), each call held `holdMs`.
 */
export function runUac(options: {
  dir: string;
  requestUriPort: number;
  proxyPort: number;
  transport: Transport;
  calls: number;
  localPort: number;
  rate?: number;
  holdMs?: number;
}): Promise<SippRun> {
  const { dir, requestUriPort, proxyPort, transport, calls, localPort } = options;
  const args = [
    `127.0.0.1:${requestUriPort}`,
    '-sf',
    UAC_SCENARIO,
    '-rsa',
    `127.0.0.1:${proxyPort}`,
    '-p',
    String(localPort),
    '-t',
    SIPP_TRANSPORT[transport],
    '-m',
    String(calls),
    '-r',
    String(options.rate ?? 20),
    '-d',
    String(options.holdMs ?? 100),
    '-max_socket',
    '10',
    // See uac.xml: a 180 that comes after the 200 must not stop the call.
    '-pause_msg_ign',
    ...sippCommon(dir, 'uac'),
  ];
  return sippProcess(args, dir, 'uac').done;
}

// ---- SIPp's message trace -----------------------------------------------------

export interface TracedMessage {
  direction: 'sent' | 'received';
  transport: string;
  /** The request method, or undefined for a response. */
  method: string | undefined;
  /** The status code, or undefined for a request. */
  status: number | undefined;
  startLine: string;
  /** Header fields in order, names as written, values unfolded. */
  headers: Array<[string, string]>;
  text: string;
  /** Seconds since midnight when SIPp logged it, if the trace says. */
  time: number | undefined;
}

const COMPACT: Record<string, string> = {
  v: 'via',
  f: 'from',
  t: 'to',
  i: 'call-id',
  m: 'contact',
  l: 'content-length',
  c: 'content-type',
};

/**
 * The messages of a SIPp -trace_msg file: each one follows a line of dashes
 * with a time stamp and a line "UDP message received [N] bytes :" or
 * "TCP message sent (N bytes):".
 */
export function parseSippTrace(text: string): TracedMessage[] {
  const out: TracedMessage[] = [];
  // Each message follows a line of dashes ending in its date and time.
  const blocks = text.split(/^-{20,}([^\n]*)\n/m);
  for (let i = 2; i < blocks.length; i += 2) {
    const block = blocks[i]!;
    const head = /^(\w+) message (sent|received)[^\n]*\n\n?/.exec(block);
    if (!head) continue;
    const clock = /(\d\d):(\d\d):(\d\d(?:\.\d+)?)\s*$/.exec(blocks[i - 1]!);
    const message = block.slice(head[0].length).replace(/^\s*\n/, '');
    const [top = '', ...rest] = message.split(/\r?\n\r?\n/)[0]!.split(/\r?\n/);
    const headers: Array<[string, string]> = [];
    for (const line of rest) {
      if (/^[ \t]/.test(line) && headers.length > 0) {
        headers[headers.length - 1]![1] += ` ${line.trim()}`;
        continue;
      }
      const colon = line.indexOf(':');
      if (colon > 0) headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
    }
    const status = /^SIP\/2\.0 (\d{3})/.exec(top);
    out.push({
      direction: head[2] as 'sent' | 'received',
      transport: head[1]!,
      method: status ? undefined : top.split(' ')[0],
      status: status ? Number(status[1]) : undefined,
      startLine: top.trim(),
      headers,
      text: message,
      time: clock ? (Number(clock[1]) * 60 + Number(clock[2])) * 60 + Number(clock[3]) : undefined,
    });
  }
  return out;
}

/** Splits a header value at the commas that separate values (not inside <>, quotes). */
function splitValues(value: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let cur = '';
  for (const ch of value) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === '<') depth++;
    else if (!quoted && ch === '>') depth--;
    if (ch === ',' && depth === 0 && !quoted) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim() !== '') out.push(cur.trim());
  return out;
}

/** Every value of a header field (compact forms included), in order. */
export function headerValues(m: TracedMessage, name: string): string[] {
  const want = name.toLowerCase();
  return m.headers
    .filter(([n]) => {
      const l = n.toLowerCase();
      return l === want || COMPACT[l] === want;
    })
    .flatMap(([, v]) => splitValues(v));
}

/** The sent-by (host:port, lower case) of each Via, top first, with the transport. */
export function viaHops(m: TracedMessage): Array<{ transport: string; sentBy: string }> {
  return headerValues(m, 'via').map((v) => {
    const hop = /^SIP\s*\/\s*2\.0\s*\/\s*(\w+)\s+([^;\s]+)/i.exec(v);
    return { transport: (hop?.[1] ?? '').toUpperCase(), sentBy: (hop?.[2] ?? '').toLowerCase() };
  });
}

/** Whether a Record-Route or Route value names 127.0.0.1:port as a loose router. */
export function namesHop(value: string, port: number): boolean {
  const uri = /<([^>]*)>/.exec(value)?.[1] ?? value;
  return new RegExp(`^sips?:(?:[^@;]*@)?127\\.0\\.0\\.1:${port}(?:;|$)`, 'i').test(uri) && /;lr\b/i.test(uri);
}

/**
 * A short account of a trace, for assertion messages: its first `max`
 * messages, or (`last`) its last ones, where a call that never completed
 * left off.
 */
export function describeTrace(run: SippRun, max = 6, last = false): string {
  const picked = (last ? run.trace.slice(-max) : run.trace.slice(0, max)).map(
    (m) => `--- ${m.direction} (${m.transport})\n${m.text.trimEnd()}`,
  );
  const where = last ? `last ${picked.length} of ${run.trace.length} messages` : `first ${picked.length}`;
  return `${run.traceFile} (${where}):\n${picked.join('\n')}`;
}

/**
 * One line per Call-ID in a SIPp trace: each message as > (sent) or <
 * (received), its method or status and CSeq method, and milliseconds since
 * the trace's first message; a call that stopped short shows where.
 */
export function summarizeCalls(run: SippRun): string {
  const start = run.trace.find((m) => m.time !== undefined)?.time;
  const calls = new Map<string, string[]>();
  for (const m of run.trace) {
    const id = headerValues(m, 'call-id')[0] ?? '?';
    const cseq = headerValues(m, 'cseq')[0]?.split(/\s+/)[1] ?? '?';
    const what = m.status === undefined ? (m.method ?? '?') : `${m.status}/${cseq}`;
    const at = m.time === undefined || start === undefined ? '' : `@${Math.round((m.time - start) * 1000)}`;
    const list = calls.get(id) ?? [];
    list.push(`${m.direction === 'sent' ? '>' : '<'}${what}${at}`);
    calls.set(id, list);
  }
  return [...calls].map(([id, list]) => `  ${id}: ${list.join(' ')}`).join('\n');
}

// ---- sipwire serve ------------------------------------------------------------

/** `sipwire serve --open` in this process on UDP and TCP 127.0.0.1:port. */
export async function startSipwire(port: number): Promise<SipServer> {
  const server = new SipServer({
    listen: [`udp:127.0.0.1:${port}`, `tcp:127.0.0.1:${port}`],
    db: ':memory:',
    open: true,
    domains: ['example.test'],
    logger: createLogger({ level: 'silent', pretty: false }),
  });
  await server.start();
  return server;
}

// ---- Kamailio -----------------------------------------------------------------

/** Whether Kamailio and the modules of its proxy script are installed. */
export function kamailioInstalled(): boolean {
  return installed('kamailio') && kamailioModuleDir('tm') !== undefined;
}

export interface Kamailio {
  port: number;
  log(): string;
  stop(): Promise<void>;
}

/**
 * Kamailio in the foreground on UDP and TCP 127.0.0.1:port with `routing` as the
 * part of request_route that handles initial requests; the rest of the
 * script (Max-Forwards, the OPTIONS probe, in-dialog requests by loose_route,
 * CANCEL) is common. Resolves once it answers OPTIONS.
 */
export async function startKamailio(options: { port: number; routing: string[] }): Promise<Kamailio> {
  const { port, routing } = options;
  const dir = tempDir('kamailio-');
  const runDir = join(dir, 'run');
  mkdirSync(runDir);
  const cfg = join(dir, 'kamailio.cfg');
  writeFileSync(
    cfg,
    [
      '#!KAMAILIO',
      'debug=1',
      'log_stderror=yes',
      `listen=udp:127.0.0.1:${port}`,
      `listen=tcp:127.0.0.1:${port}`,
      'children=2',
      'tcp_children=2',
      'auto_aliases=no',
      'dns=no',
      'rev_dns=no',
      '',
      ...PROXY_MODULES.map((m) => `loadmodule "${m}.so"`),
      '',
      ...proxyRequestRoute(['if (is_method("INVITE")) record_route();', ...routing]),
      '',
    ].join('\n'),
  );
  const child = start(
    'kamailio',
    kamailioArgs({ cfg, dir, runDir, moduleDir: kamailioModuleDir('tm') }),
    dir,
  );
  const until = Date.now() + 10_000;
  for (;;) {
    if (child.process.exitCode !== null || child.process.signalCode !== null) {
      throw new Error(`kamailio exited before it answered:\n${child.output().slice(-3000)}`);
    }
    if ((await sipOptions(port, 300)) === 200) break;
    if (Date.now() > until) {
      await child.stop('SIGTERM', 1000);
      throw new Error(`kamailio did not answer OPTIONS on ${port}:\n${child.output().slice(-3000)}`);
    }
  }
  return {
    port,
    log: () => child.output(),
    stop: async () => {
      await child.stop('SIGTERM', 3000);
    },
  };
}

/** Whether a program can be run (found on PATH). */
export function installed(program: string): boolean {
  const path = process.env.PATH ?? '';
  return path.split(':').some((d) => d !== '' && existsSync(join(d, program)));
}

// ---- what the callee saw ------------------------------------------------------

/** A proxy on the path: its UDP/TCP port on 127.0.0.1 and a name for messages. */
export interface Hop {
  name: string;
  port: number;
}

/** The first copy of each request `method` the trace holds, by Call-ID (retransmissions left out). */
export function firstOfEach(run: SippRun, method: string, direction: 'sent' | 'received'): TracedMessage[] {
  const seen = new Map<string, TracedMessage>();
  for (const m of run.trace) {
    if (m.direction !== direction || m.method !== method) continue;
    const id = headerValues(m, 'call-id')[0] ?? '';
    if (!seen.has(id)) seen.set(id, m);
  }
  return [...seen.values()];
}

/**
 * Checks what the uas received against a path of proxies (`hops`, in the
 * order the INVITE crossed them, the caller's SIPp on `uacPort`), per RFC
 * 3261 §16.6 and §16.12: each INVITE carries one Record-Route of each proxy,
 * the last proxy's on top; its Max-Forwards lost one per proxy; its Vias are
 * the proxies' (last on top) over the caller's; the ACK and the BYE of each
 * call came through every proxy too (their Vias), with every Route consumed
 * on the way. Returns a list of problems, empty when all is well.
 */
export function checkDialogsThroughProxies(
  uas: SippRun,
  options: { hops: Hop[]; uacPort: number; calls: number; transport: Transport },
): string[] {
  const { hops, uacPort, calls, transport } = options;
  const problems: string[] = [];
  const wantVias = [...hops.map((h) => `127.0.0.1:${h.port}`).reverse(), `127.0.0.1:${uacPort}`];
  const path = hops.map((h) => `${h.name} (${h.port})`).join(' -> ');
  const checkVias = (m: TracedMessage, what: string) => {
    const vias = viaHops(m);
    const sentBy = vias.map((v) => v.sentBy);
    if (sentBy.join(' ') !== wantVias.join(' ')) {
      problems.push(
        `${what}: Via sent-by ${sentBy.join(', ')}; expected ${wantVias.join(', ')} (path ${path})`,
      );
    }
    const wrong = vias.filter((v) => v.transport !== transport.toUpperCase());
    if (wrong.length > 0) problems.push(`${what}: Via transport ${wrong.map((v) => v.transport).join(', ')}`);
  };
  const invites = firstOfEach(uas, 'INVITE', 'received');
  const acks = firstOfEach(uas, 'ACK', 'received');
  const byes = firstOfEach(uas, 'BYE', 'received');
  if (invites.length !== calls) problems.push(`the uas received ${invites.length} INVITEs, not ${calls}`);
  if (acks.length !== calls) problems.push(`the uas received ${acks.length} ACKs, not ${calls}`);
  if (byes.length !== calls) problems.push(`the uas received ${byes.length} BYEs, not ${calls}`);
  for (const inv of invites) {
    const id = headerValues(inv, 'call-id')[0];
    const rr = headerValues(inv, 'record-route');
    // Each proxy prepends its own value: the last proxy's comes first.
    const positions = hops.map((h) => rr.findIndex((v) => namesHop(v, h.port)));
    hops.forEach((h, i) => {
      if (positions[i] === -1)
        problems.push(`INVITE ${id}: no Record-Route of ${h.name}: [${rr.join(', ')}]`);
    });
    if (positions.every((p) => p >= 0) && positions.some((p, i) => i > 0 && p >= positions[i - 1]!)) {
      problems.push(`INVITE ${id}: Record-Route in the wrong order for ${path}: [${rr.join(', ')}]`);
    }
    const mf = Number(headerValues(inv, 'max-forwards')[0]);
    if (mf !== 70 - hops.length)
      problems.push(`INVITE ${id}: Max-Forwards ${mf}, expected ${70 - hops.length}`);
    checkVias(inv, `INVITE ${id}`);
  }
  for (const [what, list] of [
    ['ACK', acks],
    ['BYE', byes],
  ] as const) {
    for (const m of list) {
      const id = headerValues(m, 'call-id')[0];
      checkVias(m, `${what} ${id}`);
      const route = headerValues(m, 'route');
      if (route.length > 0) problems.push(`${what} ${id}: Route left for the uas: ${route.join(', ')}`);
      if (!/^\w+ sip:callee@127\.0\.0\.1:\d+/.test(m.startLine)) {
        problems.push(`${what} ${id}: Request-URI is not the uas's Contact: ${m.startLine}`);
      }
    }
  }
  return problems;
}

/**
 * `calls` calls from SIPp's uac (on ports.uac) to SIPp's uas (on
 * ports.uas) through a path of proxies: the uac sends every message to
 * `proxyPort`, with a Request-URI naming 127.0.0.1:requestUriPort. Fails the
 * test unless every call completed at both ends and what the uas received
 * crossed `hops` as RFC 3261 §16 has it (checkDialogsThroughProxies);
 * Kamailio's output, when it is on the path, goes with a failure of the uac.
 */
export async function callThroughProxies(options: {
  dir: string;
  requestUriPort: number;
  proxyPort: number;
  hops: Hop[];
  ports: { uas: number; uac: number };
  transport: Transport;
  calls: number;
  kamailio?: Kamailio;
}): Promise<void> {
  const { dir, hops, transport, calls, kamailio } = options;
  const { uas: uasPort, uac: uacPort } = options.ports;
  const uas = await startUas({ dir, port: uasPort, transport, calls });
  const uac = await runUac({
    dir,
    requestUriPort: options.requestUriPort,
    proxyPort: options.proxyPort,
    transport,
    calls,
    localPort: uacPort,
  });
  // A uas still waiting for calls that will not come is ended, not waited for.
  if (uac.code !== 0) await uas.stop();
  const callee = await uas.done;
  const kamailioLog = kamailio === undefined ? '' : `\n--- kamailio\n${kamailio.log().slice(-2000)}`;
  assert.equal(
    uac.code,
    0,
    `SIPp uac: not every call completed (exit ${uac.code}):\n${uac.errors}\n--- uac calls\n${summarizeCalls(uac)}\n--- uas calls\n${summarizeCalls(callee)}\n${describeTrace(uac, 10, true)}\n--- uas\n${describeTrace(callee, 10, true)}${kamailioLog}`,
  );
  assert.equal(callee.code, 0, `SIPp uas: not every call completed (exit ${callee.code}):\n${callee.errors}`);
  const problems = checkDialogsThroughProxies(callee, { hops, uacPort, calls, transport });
  assert.equal(
    problems.length,
    0,
    `what the uas received did not cross ${hops.map((h) => h.name).join(' and ')} as RFC 3261 §16 has it:\n${problems.slice(0, 12).join('\n')}${problems.length > 12 ? `\n(${problems.length - 12} more)` : ''}\n${describeTrace(callee)}`,
  );
}
