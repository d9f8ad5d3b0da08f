import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { SipServer } from '../../src/server/server.js';
import {
  checkDialogsThroughProxies,
  cleanUp,
  describeTrace,
  freePorts,
  installed,
  runUac,
  startSipwire,
  startUas,
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
      const dir = tempDir(`proxy-sipp-${transport}-`);
      let server: SipServer | undefined;
      try {
        server = await startSipwire(proxyPort);
        const uas = await startUas({ dir, port: uasPort, transport, calls: CALLS });
        const uac = await runUac({
          dir,
          requestUriPort: uasPort,
          proxyPort,
          transport,
          calls: CALLS,
          localPort: uacPort,
        });
        // A uas still waiting for calls that will not come is ended, not waited for.
        if (uac.code !== 0) await uas.stop();
        const callee = await uas.done;
        assert.equal(
          uac.code,
          0,
          `SIPp uac: not every call completed (exit ${uac.code}):\n${uac.errors}\n${describeTrace(uac)}\n--- uas\n${describeTrace(callee)}`,
        );
        assert.equal(
          callee.code,
          0,
          `SIPp uas: not every call completed (exit ${callee.code}):\n${callee.errors}`,
        );
        const problems = checkDialogsThroughProxies(callee, {
          hops: [{ name: 'sipwire', port: proxyPort }],
          uacPort,
          calls: CALLS,
          transport,
        });
        assert.equal(
          problems.length,
          0,
          `what the uas received is not what a record-routing proxy sends:\n${problems.slice(0, 12).join('\n')}${problems.length > 12 ? `\n(${problems.length - 12} more)` : ''}\n${describeTrace(callee)}`,
        );
      } finally {
        await server?.stop();
      }
    });
  }
});
