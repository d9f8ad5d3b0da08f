import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { SipStack } from '../../src/index.js';
import { testCertificate } from '../support/certs.js';
import { freePort, run } from '../support/net.js';
import { answerCalls, placeCall } from '../support/test-ua.js';

// Interop with SIPp (Debian package sip-tester), started by the tests on loopback.
// Debian's SIPp is built without OpenSSL ("To use a TLS transport you must
// compile SIPp with OpenSSL"), so TLS with a real peer is covered by the
// sipsak tier (sipsak.test.ts) instead of here.

async function sipp(args: string[], timeoutMs = 60000): Promise<{ code: number | null; errors: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'sipp-'));
  const errorFile = join(dir, 'errors.log');
  const r = await run('sipp', [...args, '-nostdin', '-trace_err', '-error_file', errorFile], {
    cwd: dir,
    timeoutMs,
  });
  const errors = existsSync(errorFile) ? readFileSync(errorFile, 'utf8') : '';
  return { code: r.code, errors: `${errors}${r.output}`.slice(-3000) };
}

const SIPP_TRANSPORT = { udp: 'u1', tcp: 't1' } as const;

describe('SIPp interop', () => {
  const cert = testCertificate();

  for (const transport of ['udp', 'tcp'] as const) {
    test(`SIPp uac calls a sipwire UAS over ${transport.toUpperCase()} (10 calls)`, async () => {
      const port = await freePort();
      const stack = new SipStack({
        listen: [`${transport}:127.0.0.1:${port}`],
        tls: { certFile: cert.certFile, keyFile: cert.keyFile },
        role: 'endpoint',
      });
      await stack.start();
      const counts = answerCalls(stack, `sip:uas@127.0.0.1:${port};transport=${transport}`);
      const r = await sipp([
        '-sn',
        'uac',
        `127.0.0.1:${port}`,
        '-i',
        '127.0.0.1',
        '-p',
        String(await freePort()),
        '-t',
        SIPP_TRANSPORT[transport],
        '-m',
        '10',
        '-r',
        '20',
        '-d',
        '100',
        '-timeout',
        '30',
        '-timeout_error',
        '-max_socket',
        '10',
      ]);
      await stack.stop();
      assert.equal(r.code, 0, `sipp failed:\n${r.errors}`);
      assert.equal(counts.invites, 10);
      assert.equal(counts.byes, 10);
      assert.ok(counts.acks >= 10, `acks ${counts.acks}`);
    });

    test(`sipwire calls SIPp uas over ${transport.toUpperCase()}`, async () => {
      const sippPort = await freePort();
      const sippRun = sipp([
        '-sn',
        'uas',
        '-i',
        '127.0.0.1',
        '-p',
        String(sippPort),
        '-t',
        SIPP_TRANSPORT[transport],
        '-m',
        '1',
        '-timeout',
        '30',
        '-timeout_error',
      ]);
      await new Promise((r) => setTimeout(r, 500));
      const stack = new SipStack({
        listen: [`${transport}:127.0.0.1:0`],
        tls: { certFile: cert.certFile, keyFile: cert.keyFile, verifyServer: false },
      });
      await stack.start();
      const statuses = await placeCall(
        stack,
        `sip:service@127.0.0.1:${sippPort}`,
        `${transport}:127.0.0.1:${sippPort}`,
      );
      const r = await sippRun;
      await stack.stop();
      assert.deepEqual(statuses, [180, 200, 200]);
      assert.equal(r.code, 0, `sipp failed:\n${r.errors}`);
    });
  }
});
