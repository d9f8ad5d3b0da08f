// Kamailio as the reference proxy of the call benchmark: a stateful
// record-routing proxy on loopback UDP (tm, rr), no database. Initial
// requests are relayed by their Request-URI (record-routed when they are
// INVITEs), in-dialog requests by their Route set (loose_route), CANCEL and
// the ACK of a non-2xx through the transaction they belong to.

import { PROXY_MODULES, proxyRequestRoute } from '../peers.mjs';
import { kamailioUdpGlobals, startKamailioProcess } from '../registrations/kamailio.mjs';

/** The text of kamailio.cfg for the proxy. */
export function kamailioProxyConfig({ port, children }) {
  return [
    '#!KAMAILIO',
    '# Call benchmark: stateful record-routing proxy, forwarding by the Request-URI.',
    '',
    ...kamailioUdpGlobals({ port, children }),
    // The same UDP receive buffer sipwire asks for (Kamailio probes up to this size).
    'maxbuffer=4194304',
    '',
    ...PROXY_MODULES.map((m) => `loadmodule "${m}.so"`),
    '',
    ...proxyRequestRoute([
      'if (uri == myself) {',
      '  sl_send_reply("404", "Not Found");',
      '  exit;',
      '}',
      'if (is_method("INVITE")) record_route();',
    ]),
    '',
  ].join('\n');
}

/**
 * Starts Kamailio as the proxy in the foreground (its children in its process
 * group) in `dir`. Resolves once it answers OPTIONS.
 */
export async function startKamailioProxy({ dir, port, children = 2, shmMb = 256, readyTimeoutMs = 15000 }) {
  const config = kamailioProxyConfig({ port, children });
  const server = await startKamailioProcess({ dir, port, config, shmMb, readyTimeoutMs });
  return {
    ...server,
    name: 'kamailio',
    kind: 'kamailio',
    describe: `${children} UDP worker${children === 1 ? '' : 's'}, ${shmMb} MB shared memory, tm + rr, no database`,
  };
}
