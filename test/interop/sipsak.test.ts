import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SipStack } from '../../src/index.js';
import { testCertificate } from '../support/certs.js';
import { freePort, run } from '../support/net.js';

// Interop with sipsak (Debian package sipsak), a SIP test client with its own
// TLS (GnuTLS): it sends OPTIONS to a sipwire endpoint over UDP, TCP and TLS
// and must see the 200. sipsak 0.9.8 reads nothing on a TLS 1.3 connection
// (it fails the same way against a bare Node TLS server), so the TLS case
// runs with sipwire's TLS capped at 1.2 through the maxVersion option.

function sipsak(args: string[]): Promise<{ code: number | null; output: string }> {
  return run('sipsak', args, { timeoutMs: 20_000 });
}

describe('sipsak interop', () => {
  const cert = testCertificate();

  for (const transport of ['udp', 'tcp', 'tls'] as const) {
    test(`sipsak sends OPTIONS to a sipwire endpoint over ${transport.toUpperCase()} and gets 200`, async () => {
      const port = await freePort();
      const stack = new SipStack({
        listen: [`${transport}:127.0.0.1:${port}`],
        tls: { certFile: cert.certFile, keyFile: cert.keyFile, maxVersion: 'TLSv1.2' },
        role: 'endpoint',
      });
      await stack.start();
      const seen: string[] = [];
      stack.onRequest((incoming) => {
        seen.push(
          `${incoming.request.method} ${incoming.source.transport} ${incoming.request.topVia?.transport}`,
        );
        incoming.respond(200, 'OK', { headers: [['Allow', 'INVITE, ACK, BYE, CANCEL, OPTIONS']] });
      });
      try {
        const tlsArgs =
          transport === 'tls' ? ['--tls-ca-cert', cert.certFile, '--tls-ignore-cert-failure'] : [];
        const r = await sipsak([
          '-s',
          `sip:test@127.0.0.1:${port}`,
          `--transport=${transport}`,
          '-vv',
          ...tlsArgs,
        ]);
        assert.equal(r.code, 0, `sipsak exit status 0:\n${r.output}`);
        assert.match(r.output, /SIP\/2\.0 200 OK/, `sipsak printed the 200:\n${r.output}`);
        assert.deepEqual(
          seen,
          [`OPTIONS ${transport} ${transport.toUpperCase()}`],
          'one OPTIONS, over the transport its Via names',
        );
      } finally {
        await stack.stop();
      }
    });
  }
});
