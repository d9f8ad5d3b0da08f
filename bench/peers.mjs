// SIP peers on loopback, as the benchmarks and the interop tests run them:
// the OPTIONS probe that tells a server is up, and for Kamailio where its
// modules are, its command line in the foreground, and the request_route of
// a stateful record-routing proxy. Node's own modules only, so that the
// tests can import it too (its types: peers.d.mts).

import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Sends one OPTIONS to 127.0.0.1:port and resolves with the status code of the answer, or 0 on timeout. */
export function sipOptions(port, timeoutMs = 500) {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const done = (code) => {
      clearTimeout(timer);
      s.close();
      resolve(code);
    };
    const timer = setTimeout(() => done(0), timeoutMs);
    s.on('message', (buf) => {
      const m = /^SIP\/2\.0 (\d{3})/.exec(buf.toString('latin1'));
      if (m) done(Number(m[1]));
    });
    s.on('error', () => done(0));
    s.bind(0, '127.0.0.1', () => {
      const local = s.address().port;
      const id = randomBytes(6).toString('hex');
      const msg =
        `OPTIONS sip:127.0.0.1:${port} SIP/2.0\r\n` +
        `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bK${id};rport\r\n` +
        'Max-Forwards: 70\r\n' +
        `From: <sip:probe@127.0.0.1>;tag=${id}\r\n` +
        `To: <sip:127.0.0.1:${port}>\r\n` +
        `Call-ID: ${id}@127.0.0.1\r\n` +
        'CSeq: 1 OPTIONS\r\n' +
        'Content-Length: 0\r\n\r\n';
      s.send(msg, port, '127.0.0.1');
    });
  });
}

const KAMAILIO_MODULE_DIRS = [
  `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/kamailio/modules`,
  '/usr/lib/kamailio/modules',
  '/usr/lib64/kamailio/modules',
  '/usr/local/lib64/kamailio/modules',
  '/usr/local/lib/kamailio/modules',
];

/** The directory holding Kamailio's modules, or undefined when `module`.so is nowhere. */
export function kamailioModuleDir(module) {
  return KAMAILIO_MODULE_DIRS.find((d) => existsSync(join(d, `${module}.so`)));
}

/**
 * Kamailio's arguments to run `cfg` in the foreground (its children in its
 * process group, logging to stderr) with `dir` as its working directory and
 * its pid file in `runDir`, its modules from `moduleDir` when given.
 */
export function kamailioArgs({ cfg, dir, runDir, moduleDir }) {
  const args = ['-DD', '-E', '-f', cfg, '-P', join(runDir, 'kamailio.pid'), '-Y', runDir, '-w', dir];
  if (moduleDir) args.push('-L', moduleDir);
  return args;
}

/** The modules the proxy's request_route uses. */
export const PROXY_MODULES = ['tm', 'sl', 'rr', 'maxfwd', 'textops', 'siputils', 'pv', 'xlog'];

/**
 * The request_route of a stateful proxy: Max-Forwards, the readiness probe
 * (an OPTIONS to the proxy itself), in-dialog requests by their Route set
 * (loose_route; the ACK of a non-2xx through its transaction), CANCEL
 * through its transaction, a retransmission of a request already relayed
 * absorbed; then `initial` (lines of the script) for initial requests, which
 * are relayed after it.
 */
export function proxyRequestRoute(initial) {
  return [
    'request_route {',
    '  if (!mf_process_maxfwd_header("10")) {',
    '    sl_send_reply("483", "Too Many Hops");',
    '    exit;',
    '  }',
    '  if (is_method("OPTIONS") && uri == myself && $rU == $null) {',
    '    sl_send_reply("200", "OK");',
    '    exit;',
    '  }',
    '  if (has_totag()) {',
    '    if (loose_route()) {',
    '      if (!t_relay()) sl_reply_error();',
    '      exit;',
    '    }',
    '    if (is_method("ACK")) {',
    '      if (t_check_trans()) t_relay();',
    '      exit;',
    '    }',
    '    xlog("L_WARN", "in-dialog $rm without our Route: $ru\\n");',
    '    sl_send_reply("404", "Not here");',
    '    exit;',
    '  }',
    '  if (is_method("CANCEL")) {',
    '    if (t_check_trans()) t_relay();',
    '    exit;',
    '  }',
    '  t_check_trans();',
    ...initial.map((l) => `  ${l}`),
    '  if (!t_relay()) sl_reply_error();',
    '  exit;',
    '}',
  ];
}
