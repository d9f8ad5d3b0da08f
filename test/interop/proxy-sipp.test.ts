import { after, describe, test } from 'node:test';
import type { SipServer } from '../../src/server/server.js';
import {
  callThroughProxies,
  cleanUp,
  freePorts,
  installed,
  startSipwire,
  tempDir,
} from '../support/proxy-calls.js';

// sipwire serve as a stateful record-routing proxy between SIPp's uac and
// SIPp's uas (Debian sip-tester 3.6.1), with the call benchmark's scenarios
// (bench/calls/uac.xml and uas.xml): the uac sends every message to sipwire
// (-rsa) with a Request-URI naming the uas, so sipwire forwards the INVITE by
// its Request-URI (RFC 3261 §16.5), records the route (§16.6 item 4), and the
// ACK and BYE the uac sends by that route set come through it again
// (§16.12). What reached the uas is read from its message trace.

const CALLS = 10;

describe('sipwire serve proxies calls between SIPp uac and uas', {
  skip: !installed('sipp') && 'sipp not installed (scripts/install-peers.sh)',
}, () => {
  after(cleanUp);

  for (const transport of ['udp', 'tcp'] as const) {
    test(`${CALLS} calls over ${transport.toUpperCase()}: record-routed, ACK and BYE through the proxy`, {
      timeout: 60_000,
    }, async () => {
      const [proxyPort, uasPort, uacPort] = (await freePorts(3)) as [number, number, number];
      let server: SipServer | undefined;
      try {
        server = await startSipwire(proxyPort);
        await callThroughProxies({
          dir: tempDir(`proxy-sipp-${transport}-`),
          requestUriPort: uasPort,
          proxyPort,
          hops: [{ name: 'sipwire', port: proxyPort }],
          ports: { uas: uasPort, uac: uacPort },
          transport,
          calls: CALLS,
        });
      } finally {
        await server?.stop();
      }
    });
  }
});
