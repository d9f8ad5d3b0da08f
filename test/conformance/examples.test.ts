import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { inspect, looksLikeResponse, parseMessage, type Verdict } from '../../src/index.js';
import { corpusDir, corpusFile } from '../support/corpus.js';

// Every message printed in RFC 3261 §24 and RFC 3665 §2-3. All are accepted,
// except those whose printed text carries a defect flagged in
// shared/corpus/examples/INDEX.md: there the verdict follows the defect.
// Requests are checked as the endpoint they are addressed to; responses,
// which travel back through proxies in these flows, as a forwarding proxy.
const DEFECTS: Record<string, 'drop' | number> = {
  // Content-Length 142 / 131 printed over a 25 / 23 octet placeholder body.
  'rfc3261-s24.2-F01-INVITE.sip': 400,
  'rfc3261-s24.2-F03-INVITE.sip': 400,
  'rfc3261-s24.2-F05-INVITE.sip': 400,
  'rfc3261-s24.2-F09-200.sip': 'drop',
  'rfc3261-s24.2-F10-200.sip': 'drop',
  'rfc3261-s24.2-F11-200.sip': 'drop',
  // Authorization parameters without a comma after realm.
  'rfc3665-s2.1-F03-REGISTER.sip': 400,
  // Digest response with too few hex digits for MD5.
  'rfc3665-s3.2-F04-INVITE.sip': 400,
  'rfc3665-s3.3-F04-INVITE.sip': 400,
  'rfc3665-s3.3-F10-ACK.sip': 400,
  'rfc3665-s3.3-F11-INVITE.sip': 400,
  'rfc3665-s3.3-F13-INVITE.sip': 400,
  'rfc3665-s3.3-F19-ACK.sip': 400,
  'rfc3665-s3.3-F20-ACK.sip': 400,
  // "SIP/2.0  486": two spaces in the status line.
  'rfc3665-s3.9-F06-486.sip': 'drop',
  'rfc3665-s3.9-F08-486.sip': 'drop',
  'rfc3665-s3.9-F10-486.sip': 'drop',
  // A folded Record-Route continuation printed without its leading whitespace.
  'rfc3665-s3.10-F04-INVITE.sip': 400,
};

const outcome = (v: Verdict) => (v.action === 'reject' ? v.status : v.action);

describe('RFC 3261 §24 and RFC 3665 example messages', () => {
  const files = readdirSync(join(corpusDir(), 'examples')).filter((f) => f.endsWith('.sip'));

  test('all 197 printed messages are present', () => {
    assert.equal(files.length, 197);
    for (const f of Object.keys(DEFECTS)) assert.ok(files.includes(f), f);
  });

  for (const file of files) {
    const defect: 'drop' | number | undefined = DEFECTS[file];
    const want = defect === undefined ? ('accept' as const) : defect;
    test(`${file}: ${want}`, () => {
      const data = corpusFile('examples', file);
      const role = looksLikeResponse(data) ? 'proxy' : 'endpoint';
      const { verdict, message } = inspect(data, { role });
      assert.equal(outcome(verdict), want, JSON.stringify(verdict));
      if (defect === undefined) {
        // Accepted messages re-serialize to the same bytes (RFC 3665 bodies match their Content-Length).
        assert.ok(message !== undefined, 'parsed');
        if (message.declaredLength === message.bodyLength)
          assert.equal(message.toBuffer().toString('latin1'), data.toString('latin1'));
      }
    });
  }

  test('3665 §3.8 F19 has no Content-Length: fine in a datagram, a framing error on a stream', () => {
    const data = corpusFile('examples', 'rfc3665-s3.8-F19-487.sip');
    assert.equal(outcome(inspect(data, { role: 'proxy' }).verdict), 'accept');
    assert.throws(() => parseMessage(data, { framing: 'stream' }), {
      code: 'SIP_ERR_CONTENT_LENGTH_REQUIRED',
    });
  });

  test('the 3665 §2.1 F2 challenge and F3 credentials read back', () => {
    const challenge = parseMessage(corpusFile('examples', 'rfc3665-s2.1-F02-401.sip'));
    const ch = challenge.parsed('WWW-Authenticate') as { scheme: string; get(n: string): string | undefined };
    assert.equal(ch.scheme, 'Digest');
    assert.equal(ch.get('realm'), 'atlanta.example.com');
    assert.equal(ch.get('qop'), 'auth');
    const ok = parseMessage(corpusFile('examples', 'rfc3665-s2.2-F01-REGISTER.sip'));
    const cr = ok.parsed('Authorization') as { get(n: string): string | undefined };
    assert.equal(cr.get('username'), 'bob');
    assert.equal(cr.get('response'), '71ba27c64bd01de719686aa4590d5824');
  });
});
