// SIPp as the load generator: the REGISTER-with-digest scenario of
// register.xml at a fixed rate for a fixed number of calls, and its statistics
// file read back into successes, failures (by cause), achieved rate and mean
// registration time.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeUdpPort, run } from './procs.mjs';

export const SCENARIO = fileURLToPath(new URL('./register.xml', import.meta.url));

/** Writes SIPp's injection file: one `user;password` line per user, read in order. */
export function writeSippUsers(file, users, password, order = 'SEQUENTIAL') {
  writeFileSync(file, `${order}\n${users.map((u) => `${u};${password}`).join('\n')}\n`);
  return file;
}

/** SIPp's durations in its statistics file: HH:MM:SS or HH:MM:SS:uuuuuu. */
function duration(text) {
  const p = (text ?? '').split(':').map(Number);
  if (p.length < 3 || p.some(Number.isNaN)) return Number.NaN;
  return p[0] * 3600 + p[1] * 60 + p[2] + (p.length > 3 ? p[3] / 1e6 : 0);
}

/** SIPp's time stamps: "date<TAB>time<TAB>epoch.micro". */
function epoch(text) {
  return Number((text ?? '').split('\t').pop());
}

/** The last row of SIPp's statistics file (-trace_stat) as a name -> text map. */
export function readSippStats(file) {
  if (!existsSync(file)) return undefined;
  const rows = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  if (rows.length < 2) return undefined;
  const names = rows[0].split(';');
  const values = rows[rows.length - 1].split(';');
  return new Map(names.map((n, i) => [n, values[i]]));
}

const FAILURE_CAUSES = {
  'FailedUnexpectedMessage(C)': 'unexpected answer',
  'FailedTimeoutOnRecv(C)': 'receive timeout',
  'FailedMaxUDPRetrans(C)': 'max retransmissions',
  'FailedCallRejected(C)': 'rejected',
  'FailedCannotSendMessage(C)': 'cannot send',
  'FailedOutboundCongestion(C)': 'outbound congestion',
  'FailedTimeoutOnSend(C)': 'send timeout',
  'FailedCmdNotSent(C)': 'command not sent',
};

/** The SIP status codes of the unexpected answers SIPp logged, counted. */
function unexpectedCodes(errorFile) {
  const counts = {};
  if (!existsSync(errorFile)) return counts;
  const text = readFileSync(errorFile, 'utf8');
  for (const m of text.matchAll(/call on unexpected message for Call-Id .*?, received 'SIP\/2\.0 (\d{3})/g)) {
    counts[m[1]] = (counts[m[1]] ?? 0) + 1;
  }
  return counts;
}

/**
 * Runs SIPp against 127.0.0.1:port at `rate` registrations per second for
 * `calls` registrations and resolves with what it measured.
 */
export async function runSipp({
  port,
  rate,
  calls,
  usersCsv,
  domain,
  workDir,
  tag,
  localPort,
  recvTimeoutMs = 8000,
}) {
  // The same local port run after run keeps each user's Contact the same, so a
  // later run refreshes the bindings an earlier one made.
  const sipPort = localPort ?? (await freeUdpPort());
  const args = [
    `127.0.0.1:${port}`,
    '-sf',
    SCENARIO,
    '-inf',
    usersCsv,
    '-key',
    'domain',
    domain,
    // The digest-uri must be the Request-URI (RFC 3261 22.4); SIPp's default
    // is the remote address instead.
    '-auth_uri',
    domain,
    '-t',
    'u1',
    '-i',
    '127.0.0.1',
    '-p',
    String(sipPort),
  ];
  // Never more than a few seconds of calls open at once.
  return runSippLoad({ args, rate, calls, limit: Math.max(100, rate * 4), workDir, tag, recvTimeoutMs });
}

/**
 * Runs SIPp with `args` (scenario, addresses, transport) at `rate` calls per
 * second for `calls` calls, at most `limit` open at once, and resolves with
 * what its statistics file says: successes, failures by cause, the SIP
 * status codes of unexpected answers, the achieved rate and the mean
 * response time (rtd 1) in ms. SIPp's control port is `controlPort`, or
 * one free now.
 */
export async function runSippLoad({
  args,
  rate,
  calls,
  limit,
  workDir,
  tag,
  recvTimeoutMs = 8000,
  controlPort,
}) {
  const statFile = join(workDir, `sipp-${tag}.csv`);
  const errFile = join(workDir, `sipp-${tag}-errors.log`);
  const screenFile = join(workDir, `sipp-${tag}-screen.log`);
  const cp = controlPort ?? (await freeUdpPort());
  const all = [
    ...args,
    '-cp',
    String(cp),
    '-r',
    String(rate),
    '-rp',
    '1000',
    '-m',
    String(calls),
    '-l',
    String(limit),
    '-recv_timeout',
    String(recvTimeoutMs),
    // An unexpected answer fails the call at once; nothing (no BYE) is sent
    // for a failed one.
    '-default_behaviors',
    'abortunexp',
    '-nostdin',
    '-trace_stat',
    '-stf',
    statFile,
    '-fd',
    '1',
    '-trace_err',
    '-error_file',
    errFile,
    '-trace_screen',
    '-screen_file',
    screenFile,
  ];
  const started = process.hrtime.bigint();
  const res = await run('sipp', all, { cwd: workDir });
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const stats = readSippStats(statFile);
  if (stats === undefined) {
    throw new Error(
      `SIPp wrote no statistics (exit ${res.code}): ${(res.stderr || res.stdout).slice(0, 2000)}`,
    );
  }
  const num = (name) => Number(stats.get(name) ?? 0);
  const successful = num('SuccessfulCall(C)');
  const failed = num('FailedCall(C)');
  const seconds = epoch(stats.get('CurrentTime')) - epoch(stats.get('StartTime'));
  const causes = {};
  for (const [col, label] of Object.entries(FAILURE_CAUSES)) if (num(col) > 0) causes[label] = num(col);
  return {
    rate,
    calls,
    created: num('OutgoingCall(C)'),
    successful,
    failed,
    // SIPp exits 0 when every call succeeded, 1 when some failed.
    exitCode: res.code,
    seconds,
    wallSeconds,
    achieved: seconds > 0 ? successful / seconds : 0,
    // SIPp keeps response times in whole milliseconds.
    meanMs: duration(stats.get('ResponseTime1(C)')) * 1000,
    retransmissions: num('Retransmissions(C)'),
    deadCallMessages: num('DeadCallMsgs(C)'),
    causes,
    unexpected: unexpectedCodes(errFile),
    errorFile: errFile,
  };
}
