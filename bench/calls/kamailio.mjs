// Kamailio as the reference proxy of the call benchmark: a stateful
// record-routing proxy on loopback UDP (tm, rr), no database. Initial
// requests are relayed by their Request-URI (record-routed when they are
// INVITEs), in-dialog requests by their Route set (loose_route), CANCEL and
// the ACK of a non-2xx through the transaction they belong to.

import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kamailioModuleDir, tail } from '../registrations/kamailio.mjs';
import { groupCpu, spawnGroup, stopGroup, waitForSip } from '../registrations/procs.mjs';

export const PROXY_MODULES = ['tm', 'sl', 'rr', 'maxfwd', 'textops', 'siputils', 'pv', 'xlog'];

/** The text of kamailio.cfg for the proxy. */
export function kamailioProxyConfig({ port, children }) {
  return [
    '#!KAMAILIO',
    '# Call benchmark: stateful record-routing proxy, forwarding by the Request-URI.',
    '',
    'debug=0',
    'log_stderror=yes',
    `listen=udp:127.0.0.1:${port}`,
    `children=${children}`,
    'disable_tcp=yes',
    'auto_aliases=no',
    'dns=no',
    'rev_dns=no',
    'use_dns_cache=no',
    // The same UDP receive buffer sipwire asks for (Kamailio probes up to this size).
    'maxbuffer=4194304',
    '',
    ...PROXY_MODULES.map((m) => `loadmodule "${m}.so"`),
    '',
    'request_route {',
    '  if (!mf_process_maxfwd_header("10")) {',
    '    sl_send_reply("483", "Too Many Hops");',
    '    exit;',
    '  }',
    // The readiness probe: an OPTIONS to the proxy itself.
    '  if (is_method("OPTIONS") && uri == myself && $rU == $null) {',
    '    sl_send_reply("200", "OK");',
    '    exit;',
    '  }',
    '  if (has_totag()) {',
    '    if (loose_route()) {',
    '      if (!t_relay()) sl_reply_error();',
    '      exit;',
    '    }',
    // An ACK for a non-2xx answer ends in the transaction that sent it.
    '    if (is_method("ACK") && t_check_trans()) {',
    '      t_relay();',
    '      exit;',
    '    }',
    '    if (!is_method("ACK")) sl_send_reply("404", "Not here");',
    '    exit;',
    '  }',
    '  if (is_method("CANCEL")) {',
    '    if (t_check_trans()) t_relay();',
    '    exit;',
    '  }',
    // A retransmission of a request already relayed is absorbed here.
    '  t_check_trans();',
    '  if (uri == myself) {',
    '    sl_send_reply("404", "Not Found");',
    '    exit;',
    '  }',
    '  if (is_method("INVITE")) record_route();',
    '  if (!t_relay()) sl_reply_error();',
    '  exit;',
    '}',
    '',
  ].join('\n');
}

/**
 * Starts Kamailio as the proxy in the foreground (its children in its process
 * group) in `dir`. Resolves once it answers OPTIONS.
 */
export async function startKamailioProxy({ dir, port, children = 2, shmMb = 256, readyTimeoutMs = 15000 }) {
  mkdirSync(dir, { recursive: true });
  const runDir = join(dir, 'run');
  mkdirSync(runDir, { recursive: true });
  const cfg = join(dir, 'kamailio.cfg');
  writeFileSync(cfg, kamailioProxyConfig({ port, children }));
  const logFile = join(dir, 'kamailio.log');
  const log = openSync(logFile, 'w');
  const args = ['-DD', '-E', '-f', cfg, '-P', join(runDir, 'kamailio.pid'), '-Y', runDir, '-w', dir];
  args.push('-m', String(shmMb));
  const moduleDir = kamailioModuleDir();
  if (moduleDir) args.push('-L', moduleDir);
  const child = spawnGroup('kamailio', args, { cwd: dir, stdio: ['ignore', log, log] });
  closeSync(log);
  try {
    await waitForSip(port, child, readyTimeoutMs, 'kamailio');
  } catch (err) {
    await stopGroup(child);
    throw new Error(`${err.message}\n--- ${logFile} (end) ---\n${tail(logFile)}`);
  }
  return {
    name: 'kamailio',
    kind: 'kamailio',
    child,
    port,
    logFile,
    describe: `${children} UDP worker${children === 1 ? '' : 's'}, ${shmMb} MB shared memory, tm + rr, no database`,
    cpu: () => groupCpu(child.pid),
    stop: () => stopGroup(child),
    logTail: (n) => tail(logFile, n),
  };
}
