import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { parseArgs } from 'node:util';
import { bareHost } from '../message/host.js';
import type { SipResponse } from '../message/message.js';
import { parseUri, type SipUri } from '../message/uri.js';
import { SipStack } from '../stack/sip-stack.js';
import { timerDelay } from '../transaction/clock.js';
import { formatTransportAddress, parseTransportAddress, type TransportName } from '../transport/address.js';
import type { Source, Target } from '../transport/transport-layer.js';
import type { CallEnd, IncomingCall, OutgoingCall } from '../ua/call.js';
import { RequestFailedError, UserAgent } from '../ua/user-agent.js';

type Print = (s: string) => void;

/** Common flags of the commands that talk to a SIP peer. */
const COMMON = {
  listen: { type: 'string', multiple: true },
  target: { type: 'string' },
  from: { type: 'string' },
  auth: { type: 'string' },
  transport: { type: 'string' },
  timeout: { type: 'string' },
  tls: { type: 'boolean', default: false },
} as const;

export class UsageError extends Error {}

function seconds(v: string | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${name} must be a number of seconds, not '${v}'`);
  return n;
}

function credentials(v: string | undefined): { username: string; password: string } | undefined {
  if (v === undefined) return undefined;
  const colon = v.indexOf(':');
  if (colon <= 0) throw new UsageError(`--auth must be user:password`);
  return { username: v.slice(0, colon), password: v.slice(colon + 1) };
}

function sipUri(text: string, what: string): SipUri {
  let u: ReturnType<typeof parseUri>;
  try {
    u = parseUri(text.includes(':') ? text : `sip:${text}`);
  } catch (e) {
    throw new UsageError(`${what} '${text}' is not a SIP URI: ${(e as Error).message}`);
  }
  if (u.kind !== 'sip') throw new UsageError(`${what} must be a sip: or sips: URI, not '${text}'`);
  return u as SipUri;
}

/** An IPv4 address of this host other than loopback, for Contact and SDP when talking to other hosts. */
function externalAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

function isLoopback(host: string): boolean {
  const h = bareHost(host);
  return h === 'localhost' || h === '::1' || h.startsWith('127.');
}

/**
 * A stack for a command: the --listen addresses, or one ephemeral port on
 * the transport the peer needs, bound to loopback for a loopback peer.
 */
async function commandStack(
  listen: string[] | undefined,
  peerHost: string,
  transport: TransportName,
): Promise<{ stack: SipStack; address: string }> {
  const local = isLoopback(peerHost) ? '127.0.0.1' : externalAddress();
  const addresses =
    listen !== undefined && listen.length > 0
      ? listen
      : [`${transport}:${isLoopback(peerHost) ? '127.0.0.1' : '0.0.0.0'}:0`];
  for (const a of addresses) parseTransportAddress(a); // usage errors before any socket opens
  const stack = new SipStack({ listen: addresses, advertise: local, tls: { verifyServer: false } });
  const bound = await stack.start();
  const first = bound[0];
  const host = first !== undefined && first.host !== '0.0.0.0' && first.host !== '::' ? first.host : local;
  return { stack, address: host };
}

function transportOf(uri: SipUri, flag: string | undefined): TransportName {
  const t = (flag ?? uri.transport ?? (uri.scheme === 'sips' ? 'tls' : 'udp')).toLowerCase();
  if (t !== 'udp' && t !== 'tcp' && t !== 'tls' && t !== 'ws' && t !== 'wss')
    throw new UsageError(`--transport must be udp, tcp, tls, ws or wss, not '${t}'`);
  return t;
}

/** Prints each message's first line with the time since start, like a ladder diagram. */
function ladder(stack: SipStack, out: Print): () => number {
  const t0 = performance.now();
  const elapsed = () => (performance.now() - t0) / 1000;
  stack.onTrace((direction, data, peer) => {
    const end = data.indexOf('\r\n');
    const first = data.toString('latin1', 0, end === -1 ? Math.min(data.length, 120) : end);
    if (first.trim() === '') return; // keep-alives
    const where = formatTransportAddress({ transport: peer.transport, host: peer.address, port: peer.port });
    const text = first.startsWith('SIP/2.0 ') ? first.slice(8) : first.replace(/ SIP\/2\.0$/, '');
    out(
      `${elapsed().toFixed(3).padStart(8)}  ${direction === 'out' ? '-->' : '<--'} ${text.padEnd(48)} ${direction === 'out' ? 'to' : 'from'} ${where}`,
    );
  });
  return elapsed;
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}

const sleep = (s: number) =>
  new Promise<void>((r) => {
    const t = setTimeout(r, timerDelay(s * 1000));
    t.unref?.();
  });

// ---- sipwire options ---------------------------------------------------------

export async function runOptions(args: string[], out: Print, err: Print): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...COMMON,
      count: { type: 'string', default: '1' },
      interval: { type: 'string', default: '1' },
    },
  });
  if (positionals.length !== 1)
    throw new UsageError('give one SIP URI to ping (usage: sipwire options <uri>)');
  const uri = sipUri(positionals[0] as string, 'the target');
  const transport = transportOf(uri, values.transport);
  const count = Math.max(1, Math.floor(seconds(values.count, 'count', 1)));
  const interval = seconds(values.interval, 'interval', 1);
  const timeout = seconds(values.timeout, 'timeout', 5);
  const auth = credentials(values.auth);
  const target = targetFor(values.target, uri, transport);
  const { stack, address } = await commandStack(values.listen, uri.host, transport);
  const from = values.from ?? `sip:sipwire@${address}`;
  const ua = new UserAgent(stack, { uri: from, auth });
  let failures = 0;
  try {
    for (let i = 0; i < count; i++) {
      if (i > 0) await sleep(interval);
      const t0 = performance.now();
      try {
        const res = await Promise.race([
          ua.options(uri, { target }),
          sleep(timeout).then(() => {
            throw new Error(`nothing within ${timeout} s`);
          }),
        ]);
        const ms = performance.now() - t0;
        const agent = res.get('Server') ?? res.get('User-Agent');
        out(
          `${res.status} ${res.reason} from ${uri.toString()} in ${ms.toFixed(1)} ms${agent ? ` (${agent})` : ''}`,
        );
        if (res.status >= 300) failures++;
      } catch (e) {
        failures++;
        err(`no answer from ${uri.toString()}: ${(e as Error).message}`);
      }
    }
  } finally {
    await stack.stop();
  }
  return failures === 0 ? 0 : 1;
}

function targetFor(flag: string | undefined, uri: SipUri, transport: TransportName): string | undefined {
  if (flag !== undefined) {
    parseTransportAddress(flag);
    return flag;
  }
  // A numeric host with an explicit transport flag: send there directly.
  if (isIP(bareHost(uri.host)) !== 0 && uri.transport === undefined && transport !== 'udp') {
    return formatTransportAddress({
      transport,
      host: bareHost(uri.host),
      port: uri.port ?? (transport === 'tls' ? 5061 : 5060),
    });
  }
  return undefined;
}

// ---- sipwire call ----------------------------------------------------------------

export async function runCall(args: string[], out: Print, err: Print): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...COMMON,
      duration: { type: 'string', default: '5' },
      'transfer-to': { type: 'string' },
      'transfer-after': { type: 'string', default: '1' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('give one SIP URI to call (usage: sipwire call <uri>)');
  const uri = sipUri(positionals[0] as string, 'the callee');
  const transport = transportOf(uri, values.transport);
  const duration = seconds(values.duration, 'duration', 5);
  const timeout = seconds(values.timeout, 'timeout', 32);
  const auth = credentials(values.auth);
  const target = targetFor(values.target, uri, transport);
  if (values.from !== undefined) sipUri(values.from, '--from');
  const transferTo =
    values['transfer-to'] === undefined ? undefined : sipUri(values['transfer-to'], '--transfer-to');
  const transferAfter = seconds(values['transfer-after'], 'transfer-after', 1);
  const { stack, address } = await commandStack(values.listen, uri.host, transport);
  const ua = new UserAgent(stack, { uri: values.from ?? `sip:sipwire@${address}`, auth, media: { address } });
  const elapsed = ladder(stack, out);
  const call = ua.call(uri, { target });
  call.on('media', (m) =>
    out(
      `          media: ${m.codec.name}/${m.codec.clockRate} to ${m.remoteAddress}:${m.remotePort} (${m.direction})`,
    ),
  );
  const giveUp = setTimeout(() => void call.cancel(), timerDelay(timeout * 1000));
  let code = 0;
  try {
    await call.answered;
    clearTimeout(giveUp);
    const ended = new Promise<CallEnd>((resolve) => call.once('ended', resolve));
    const finished = await Promise.race([
      ended,
      sleep(transferTo === undefined ? duration : transferAfter).then(() => undefined),
      untilSignal().then(() => undefined),
    ]);
    if (finished === undefined && transferTo !== undefined && call.state === 'answered') {
      // A blind transfer (RFC 3515): the callee is asked to call transferTo; its reports are printed.
      code = await transfer(call, transferTo, out, err);
      // The callee may have ended the call itself once the transfer went through.
      if ((call.state as string) !== 'ended') await call.hangup();
      out(`call ended: hung up after the transfer, ${elapsed().toFixed(1)} s`);
    } else if (finished === undefined) {
      await call.hangup();
      out(`call ended: hung up after ${elapsed().toFixed(1)} s`);
    } else {
      out(
        `call ended by the ${finished.by === 'remote' ? 'callee' : finished.by} (${finished.reason}) after ${elapsed().toFixed(1)} s`,
      );
    }
  } catch (e) {
    clearTimeout(giveUp);
    if (e instanceof RequestFailedError) {
      err(`call failed: ${e.status} ${e.reason}`);
      code = 1;
    } else throw e;
  } finally {
    await sleep(0.2);
    await stack.stop();
  }
  return code;
}

/** Refers the callee to `to` and prints each report; 0 when the transferred call was answered. */
async function transfer(call: OutgoingCall, to: SipUri, out: Print, err: Print): Promise<number> {
  out(`          transfer to ${to.toString()}`);
  try {
    const o = await call.refer(to, {
      onProgress: (status, reason) => out(`          transfer: ${status} ${reason}`),
    });
    if (o.status < 300) return 0;
    err(`transfer failed: the transferred call got ${o.status} ${o.reason}`);
  } catch (e) {
    err(
      `transfer failed: ${e instanceof RequestFailedError ? `REFER answered ${e.status} ${e.reason}` : (e as Error).message}`,
    );
  }
  return 1;
}

// ---- sipwire answer --------------------------------------------------------------

export async function runAnswer(args: string[], out: Print, _err: Print): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      listen: { type: 'string', multiple: true },
      ring: { type: 'string', default: '0' },
      duration: { type: 'string' },
      reject: { type: 'string' },
      calls: { type: 'string' },
      tls: { type: 'boolean', default: false },
      cert: { type: 'string' },
      key: { type: 'string' },
      register: { type: 'string' },
      registrar: { type: 'string' },
      auth: { type: 'string' },
      transfers: { type: 'boolean', default: false },
    },
  });
  const listen = values.listen ?? ['udp:127.0.0.1:5090'];
  const aor = values.register === undefined ? undefined : sipUri(values.register, '--register');
  if (aor === undefined && (values.registrar !== undefined || values.auth !== undefined))
    throw new UsageError('--registrar and --auth go with --register AOR');
  for (const a of listen) parseTransportAddress(a);
  const ring = seconds(values.ring, 'ring', 0);
  const duration = values.duration === undefined ? undefined : seconds(values.duration, 'duration', 0);
  const rejectWith = values.reject === undefined ? undefined : Number(values.reject);
  if (rejectWith !== undefined && !(Number.isInteger(rejectWith) && rejectWith >= 300 && rejectWith <= 699))
    throw new UsageError(`--reject must be a status code from 300 to 699, not '${values.reject}'`);
  const maxCalls = values.calls === undefined ? Number.POSITIVE_INFINITY : Number(values.calls);
  const first = parseTransportAddress(listen[0] as string);
  const host = first.host === '0.0.0.0' || first.host === '::' ? externalAddress() : first.host;
  const stack = new SipStack({
    listen,
    advertise: host,
    tls:
      values.cert !== undefined && values.key !== undefined
        ? { certFile: values.cert, keyFile: values.key }
        : undefined,
  });
  const bound = await stack.start();
  out(`answering on ${bound.map((b) => formatTransportAddress(b)).join(', ')} (Ctrl-C to stop)`);
  const ua = new UserAgent(stack, {
    uri: aor ?? `sip:answer@${host}`,
    auth: credentials(values.auth),
    media: { address: host, port: 42000 },
  });
  ladder(stack, out);
  // With --register, the answering phone registers its address of record and keeps it fresh.
  const reg =
    aor === undefined
      ? undefined
      : ua.register({
          registrar: sipUri(
            values.registrar ?? `${aor.scheme}:${aor.host}${aor.port ? `:${aor.port}` : ''}`,
            '--registrar',
          ).toString(),
          target: (() => {
            const r = sipUri(values.registrar ?? `sip:${aor.host}`, '--registrar');
            return targetFor(undefined, r, transportOf(r, first.transport));
          })(),
          expires: 300,
        });
  if (reg !== undefined && aor !== undefined) {
    try {
      await reg.registered;
      out(`registered ${aor.toString()}`);
    } catch (e) {
      await stack.stop();
      if (e instanceof RequestFailedError) {
        out(`registration failed: ${e.status} ${e.reason}`);
        return 1;
      }
      throw e;
    }
  }
  let handled = 0;
  let resolveDone: () => void = () => {};
  const allDone = new Promise<void>((r) => {
    resolveDone = r;
  });
  ua.onCall((call: IncomingCall) => {
    handled++;
    const last = handled >= maxCalls;
    void handleCall(call, { ring, duration, rejectWith, transfers: values.transfers }, out).finally(() => {
      if (last) resolveDone();
    });
  });
  await Promise.race([untilSignal(), allDone]);
  await reg?.stop().catch(() => {});
  await sleep(0.2);
  await stack.stop();
  return 0;
}

async function handleCall(
  call: IncomingCall,
  how: { ring: number; duration: number | undefined; rejectWith: number | undefined; transfers: boolean },
  out: Print,
): Promise<void> {
  const { ring, duration, rejectWith } = how;
  out(`          call from ${call.from}`);
  const ended = new Promise<CallEnd>((resolve) => call.once('ended', resolve));
  // REFER (RFC 3515): with --transfers the transfer target is called, else it is declined.
  const transferred: Array<Promise<void>> = [];
  call.on('refer', (r) => {
    if (!how.transfers) {
      out(`          transfer to ${r.target.toString()} declined (--transfers takes them)`);
      r.reject(603, 'Decline');
      return;
    }
    out(`          transfer to ${r.target.toString()}`);
    transferred.push(followTransfer(r.accept(), duration, out));
  });
  call.on('media', (m) =>
    out(
      `          media: ${m.codec.name}/${m.codec.clockRate} to ${m.remoteAddress}:${m.remotePort} (${m.direction})`,
    ),
  );
  if (rejectWith !== undefined) {
    call.reject(rejectWith);
  } else {
    call.ring();
    if (ring > 0) await Promise.race([sleep(ring), ended]);
    // A call cancelled while ringing is over: only its end is left to print.
    if (call.state !== 'ended') {
      await call.answer().catch(() => {});
      if (duration !== undefined) {
        const done = await Promise.race([ended, sleep(duration).then(() => undefined)]);
        if (done === undefined) await call.hangup();
      }
    }
  }
  const end = await ended;
  out(`          call ended by ${endedBy(end, 'the caller')} (${end.reason})`);
  await Promise.all(transferred);
}

/** Who ended a call, as a line of output says it: `peer` for the other side. */
function endedBy(end: CallEnd, peer: string): string {
  return end.by === 'remote' ? peer : end.by === 'local' ? 'us' : 'the network';
}

/** The call made for a transfer, to its end: hung up after --duration like the others. */
async function followTransfer(next: OutgoingCall, duration: number | undefined, out: Print): Promise<void> {
  const ended = new Promise<CallEnd>((resolve) => next.once('ended', resolve));
  try {
    await next.answered;
  } catch (e) {
    out(
      `          transferred call failed: ${e instanceof RequestFailedError ? `${e.status} ${e.reason}` : (e as Error).message}`,
    );
    return;
  }
  out('          transferred call answered');
  if (duration !== undefined) {
    const done = await Promise.race([ended, sleep(duration).then(() => undefined)]);
    if (done === undefined) await next.hangup();
  }
  const end = await ended;
  out(`          transferred call ended by ${endedBy(end, 'the callee')} (${end.reason})`);
}

// ---- sipwire register --------------------------------------------------------------

export async function runRegister(args: string[], out: Print, err: Print): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...COMMON,
      registrar: { type: 'string' },
      expires: { type: 'string', default: '3600' },
      once: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1)
    throw new UsageError('give the address of record to register (usage: sipwire register <aor>)');
  const aor = sipUri(positionals[0] as string, 'the address of record');
  const registrar = sipUri(
    values.registrar ?? `${aor.scheme}:${aor.host}${aor.port ? `:${aor.port}` : ''}`,
    '--registrar',
  );
  const transport = transportOf(registrar, values.transport);
  const expires = Math.floor(seconds(values.expires, 'expires', 3600));
  const auth = credentials(values.auth);
  const target = targetFor(values.target, registrar, transport);
  const { stack } = await commandStack(values.listen, registrar.host, transport);
  const ua = new UserAgent(stack, { uri: aor, auth });
  ladder(stack, out);
  const reg = ua.register({ registrar: registrar.toString(), target, expires });
  reg.on('registered', (granted: number, res: SipResponse) => {
    const contacts = res.getAll('Contact');
    out(
      `registered ${aor.toString()} for ${granted} s${contacts.length > 1 ? ` (${contacts.length} contacts bound)` : ''}`,
    );
  });
  reg.on('failed', (e) => err(`registration failed: ${e.status} ${e.reason}`));
  try {
    await reg.registered;
  } catch (e) {
    await reg.stop().catch(() => {});
    await stack.stop();
    if (e instanceof RequestFailedError) return 1;
    throw e;
  }
  if (!values.once) {
    out('keeping the registration fresh (Ctrl-C to unregister and quit)');
    await untilSignal();
  }
  await reg.stop().catch((e: unknown) => err(`unregister failed: ${(e as Error).message}`));
  if (!values.once || reg.state === 'stopped') out(`unregistered ${aor.toString()}`);
  await stack.stop();
  return 0;
}

export type { Source, Target };
