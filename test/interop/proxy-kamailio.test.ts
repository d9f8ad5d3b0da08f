import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { SipServer } from '../../src/server/server.js';
import {
  checkDialogsThroughProxies,
  cleanUp,
  describeTrace,
  freePorts,
  type Hop,
  installed,
  type Kamailio,
  kamailioModuleDir,
  runUac,
  startKamailio,
  startSipwire,
  startUas,
  type Transport,
  tempDir,
} from '../support/proxy-calls.js';

// sipwire serve and Kamailio (Debian kamailio 5.6) as two stateful
// record-routing proxies on one call path, over UDP and over TCP on
// loopback, with SIPp's uac and uas at the ends (the call benchmark's
// scenarios). Kamailio runs a script written here (tm, rr: record_route,
// loose_route, t_relay):
//   - upstream of sipwire: Kamailio sends every initial request to sipwire
//     (destination URI $du), and sipwire forwards it by its Request-URI to
//     the uas;
//   - downstream of sipwire: the Request-URI names Kamailio, sipwire
//     forwards to it by that URI, and Kamailio rewrites the host and port to
//     the uas's.
// Each call's INVITE must collect both Record-Routes, and its ACK and BYE
// must come back through both proxies by the route set (RFC 3261 §16.12).

const CALLS = 8;

const missing = !installed('sipp')
  ? 'sipp not installed (scripts/install-peers.sh)'
  : !installed('kamailio') || kamailioModuleDir() === undefined
    ? 'kamailio not installed (scripts/install-peers.sh)'
    : undefined;

interface Layout {
  /** What the uac's Request-URI names, and where it sends. */
  requestUriPort: number;
  proxyPort: number;
  hops: Hop[];
}

async function callThrough(
  layout: Layout,
  ports: { uas: number; uac: number },
  kamailio: Kamailio,
  transport: Transport,
): Promise<void> {
  const { uas: uasPort, uac: uacPort } = ports;
  const dir = tempDir(`proxy-kamailio-${transport}-`);
  const uas = await startUas({ dir, port: uasPort, transport, calls: CALLS });
  const uac = await runUac({
    dir,
    requestUriPort: layout.requestUriPort,
    proxyPort: layout.proxyPort,
    transport,
    calls: CALLS,
    localPort: uacPort,
  });
  if (uac.code !== 0) await uas.stop();
  const callee = await uas.done;
  assert.equal(
    uac.code,
    0,
    `SIPp uac: not every call completed (exit ${uac.code}):\n${uac.errors}\n${describeTrace(uac)}\n--- uas\n${describeTrace(callee)}\n--- kamailio\n${kamailio.log().slice(-2000)}`,
  );
  assert.equal(callee.code, 0, `SIPp uas: not every call completed (exit ${callee.code}):\n${callee.errors}`);
  const problems = checkDialogsThroughProxies(callee, {
    hops: layout.hops,
    uacPort,
    calls: CALLS,
    transport,
  });
  assert.equal(
    problems.length,
    0,
    `what the uas received did not cross both proxies as RFC 3261 §16 has it:\n${problems.slice(0, 12).join('\n')}${problems.length > 12 ? `\n(${problems.length - 12} more)` : ''}\n${describeTrace(callee)}`,
  );
}

describe('sipwire serve and Kamailio on one call path', { skip: missing }, () => {
  after(cleanUp);

  for (const transport of ['udp', 'tcp'] as const) {
    const T = transport.toUpperCase();

    test(`Kamailio upstream of sipwire over ${T}: SIPp uac -> Kamailio -> sipwire -> SIPp uas (${CALLS} calls)`, {
      timeout: 60_000,
    }, async () => {
      const [sipwirePort, kamailioPort, uasPort, uacPort] = (await freePorts(4)) as [
        number,
        number,
        number,
        number,
      ];
      let server: SipServer | undefined;
      let kamailio: Kamailio | undefined;
      try {
        server = await startSipwire(sipwirePort);
        kamailio = await startKamailio({
          port: kamailioPort,
          // Every initial request goes to sipwire, its Request-URI untouched.
          routing: [`$du = "sip:127.0.0.1:${sipwirePort};transport=${transport}";`],
        });
        await callThrough(
          {
            requestUriPort: uasPort,
            proxyPort: kamailioPort,
            hops: [
              { name: 'kamailio', port: kamailioPort },
              { name: 'sipwire', port: sipwirePort },
            ],
          },
          { uas: uasPort, uac: uacPort },
          kamailio,
          transport,
        );
      } finally {
        await kamailio?.stop();
        await server?.stop();
      }
    });

    test(`Kamailio downstream of sipwire over ${T}: SIPp uac -> sipwire -> Kamailio -> SIPp uas (${CALLS} calls)`, {
      timeout: 60_000,
    }, async () => {
      const [sipwirePort, kamailioPort, uasPort, uacPort] = (await freePorts(4)) as [
        number,
        number,
        number,
        number,
      ];
      let server: SipServer | undefined;
      let kamailio: Kamailio | undefined;
      try {
        server = await startSipwire(sipwirePort);
        kamailio = await startKamailio({
          port: kamailioPort,
          // The Request-URI names Kamailio: it is retargeted to the uas (its transport parameter stays).
          routing: ['$rd = "127.0.0.1";', `$rp = ${uasPort};`],
        });
        await callThrough(
          {
            requestUriPort: kamailioPort,
            proxyPort: sipwirePort,
            hops: [
              { name: 'sipwire', port: sipwirePort },
              { name: 'kamailio', port: kamailioPort },
            ],
          },
          { uas: uasPort, uac: uacPort },
          kamailio,
          transport,
        );
      } finally {
        await kamailio?.stop();
        await server?.stop();
      }
    });
  }
});
