import { after, describe, test } from 'node:test';
import type { SipServer } from '../../src/server/server.js';
import {
  callThroughProxies,
  cleanUp,
  freePorts,
  installed,
  type Kamailio,
  kamailioInstalled,
  startKamailio,
  startSipwire,
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
  : !kamailioInstalled()
    ? 'kamailio not installed (scripts/install-peers.sh)'
    : undefined;

type Ports = Record<'sipwire' | 'kamailio' | 'uas' | 'uac', number>;

/** Where Kamailio stands on the path, and how it routes initial requests. */
const PLACES = [
  {
    where: 'upstream',
    path: 'SIPp uac -> Kamailio -> sipwire -> SIPp uas',
    // Every initial request goes to sipwire, its Request-URI untouched.
    routing: (ports: Ports, transport: Transport) => [
      `$du = "sip:127.0.0.1:${ports.sipwire};transport=${transport}";`,
    ],
    requestUri: 'uas',
    hops: ['kamailio', 'sipwire'],
  },
  {
    where: 'downstream',
    path: 'SIPp uac -> sipwire -> Kamailio -> SIPp uas',
    // The Request-URI names Kamailio: it is retargeted to the uas (its transport parameter stays).
    routing: (ports: Ports) => ['$rd = "127.0.0.1";', `$rp = ${ports.uas};`],
    requestUri: 'kamailio',
    hops: ['sipwire', 'kamailio'],
  },
] as const;

describe('sipwire serve and Kamailio on one call path', { skip: missing }, () => {
  after(cleanUp);

  for (const transport of ['udp', 'tcp'] as const) {
    for (const place of PLACES) {
      test(`Kamailio ${place.where} of sipwire over ${transport.toUpperCase()}: ${place.path} (${CALLS} calls)`, {
        timeout: 60_000,
      }, async () => {
        const [sipwire, kamailioPort, uas, uac] = (await freePorts(4)) as [number, number, number, number];
        const ports: Ports = { sipwire, kamailio: kamailioPort, uas, uac };
        let server: SipServer | undefined;
        let kamailio: Kamailio | undefined;
        try {
          server = await startSipwire(sipwire);
          kamailio = await startKamailio({ port: kamailioPort, routing: place.routing(ports, transport) });
          await callThroughProxies({
            dir: tempDir(`proxy-kamailio-${transport}-`),
            requestUriPort: ports[place.requestUri],
            proxyPort: ports[place.hops[0]],
            hops: place.hops.map((name) => ({ name, port: ports[name] })),
            ports: { uas, uac },
            transport,
            calls: CALLS,
            kamailio,
          });
        } finally {
          await kamailio?.stop();
          await server?.stop();
        }
      });
    }
  }
});
