import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  inspect,
  type NameAddr,
  parseMessage,
  type SipMessage,
  type SipRequest,
  type SipResponse,
  type ValidationRole,
  type Verdict,
} from '../../src/index.js';
import { corpusDir, corpusFile } from '../support/corpus.js';

// Expected handling of every RFC 4475 message, from shared/corpus/rfc4475/INDEX.md
// and the RFC sections it quotes. 'accept', a status number (the response the
// RFC names), or 'drop' (a response to discard). Roles: endpoint unless noted.
type Expect = 'accept' | 'drop' | number;
const EXPECTED: Record<string, Expect | Partial<Record<ValidationRole, Expect>>> = {
  'wsinv.dat': 'accept',
  'intmeth.dat': { endpoint: 501, proxy: 'accept' },
  'esc01.dat': 'accept',
  'escnull.dat': { registrar: 'accept' },
  'esc02.dat': { endpoint: 501, proxy: 'accept' },
  'lwsdisp.dat': 'accept',
  'longreq.dat': 'accept',
  'dblreq.dat': { registrar: 'accept' },
  'semiuri.dat': 'accept',
  'transports.dat': 'accept',
  // Well formed (its own test below reads it); an endpoint answers 415 all the same (§8.2.3): its
  // application/octet-stream part has no Content-Disposition, so handling=required (§20.11).
  'mpart01.dat': { endpoint: 415, proxy: 'accept' },
  'unreason.dat': { proxy: 'accept' },
  'noreason.dat': { endpoint: 'accept', proxy: 'accept' },
  'badinv01.dat': 400,
  'clerr.dat': 400,
  'ncl.dat': 400,
  'scalar02.dat': 400,
  'scalarlg.dat': 'drop',
  'quotbal.dat': 400,
  'ltgtruri.dat': 400,
  'lwsruri.dat': 400,
  'lwsstart.dat': 400,
  'trws.dat': 400,
  'escruri.dat': 400,
  'baddate.dat': 400,
  'regbadct.dat': { registrar: 400, endpoint: 400 },
  'badaspec.dat': 400,
  'baddn.dat': 400,
  'badvers.dat': 505,
  'mismatch01.dat': 400,
  'mismatch02.dat': 501,
  'bigcode.dat': 'drop',
  'badbranch.dat': 'accept',
  'insuf.dat': 400,
  'unkscm.dat': { endpoint: 416, proxy: 416 },
  'novelsc.dat': { endpoint: 416, proxy: 416 },
  'unksm2.dat': { registrar: 400, proxy: 'accept' },
  'bext01.dat': { endpoint: 420, proxy: 420 },
  'invut.dat': { endpoint: 415, proxy: 'accept' },
  'regaut01.dat': { registrar: 'accept', proxy: 'accept', endpoint: 'accept' },
  'multi01.dat': 400,
  'mcl01.dat': 400,
  'bcast.dat': { endpoint: 'drop', proxy: 'drop' },
  'zeromf.dat': { endpoint: 'accept' },
  'cparam01.dat': { registrar: 'accept' },
  'cparam02.dat': { registrar: 'accept' },
  'regescrt.dat': { registrar: 'accept' },
  'sdp01.dat': { endpoint: 406 },
  'inv2543.dat': { endpoint: 'accept', proxy: 'accept' },
  'test.dat': 400,
};

function outcome(v: Verdict): Expect {
  return v.action === 'reject' ? v.status : v.action;
}

describe('RFC 4475 torture messages', () => {
  const dir = join(corpusDir(), 'rfc4475');
  const files = readdirSync(dir).filter((f) => f.endsWith('.dat'));

  test('the corpus holds all 50 archive members and each has an expectation', () => {
    assert.equal(files.length, 50);
    for (const f of files) assert.ok(f in EXPECTED, `no expectation for ${f}`);
  });

  for (const file of Object.keys(EXPECTED).sort()) {
    const spec = EXPECTED[file]!;
    const roles: Array<[ValidationRole, Expect]> =
      typeof spec === 'object'
        ? (Object.entries(spec) as Array<[ValidationRole, Expect]>)
        : [['endpoint', spec]];
    for (const [role, want] of roles) {
      test(`${file} as ${role}: ${want}`, () => {
        const data = corpusFile('rfc4475', file);
        const { verdict } = inspect(data, { role });
        assert.equal(outcome(verdict), want, JSON.stringify(verdict));
        if (verdict.action === 'reject')
          assert.ok(verdict.detail.length > 0, 'check: verdict.detail.length > 0');
      });
    }
  }
});

const msg = (file: string): SipMessage => parseMessage(corpusFile('rfc4475', file));

describe('RFC 4475 valid messages read back the right values', () => {
  test('wsinv: folding, LWS around colons, compact forms, opaque unknown header', () => {
    const m = msg('wsinv.dat') as SipRequest;
    assert.equal(m.method, 'INVITE');
    assert.equal(m.uri.toString(), 'sip:vivekg@chair-dnrc.example.com;unknownparam');
    assert.equal(m.to?.tag, '1918181833n');
    assert.equal(m.to?.uri.toString(), 'sip:vivekg@chair-dnrc.example.com');
    assert.equal(m.from?.tag, '98asjd8');
    assert.equal(m.from?.displayName, 'J Rosenberg \\"');
    assert.equal(m.maxForwards, 68);
    assert.equal(m.cseq?.seq, 9);
    assert.equal(m.cseq?.method, 'INVITE');
    assert.equal(m.callId, 'wsinv.ndaksdj@192.0.2.1');
    const via = m.via;
    assert.deepEqual(
      via.map((v) => [v.transport, v.host, v.branch]),
      [
        ['UDP', '192.0.2.2', '390skdjuw'],
        ['TCP', 'spindle.example.com', 'z9hG4bK9ikj8'],
        ['UDP', '192.168.255.111', 'z9hG4bK30239'],
      ],
    );
    const c = m.contact[0] as NameAddr;
    assert.equal(c.displayName, 'Quoted string ""');
    assert.equal(c.params.get('newparam'), 'newvalue');
    assert.equal(c.params.get('secondparam'), null);
    assert.equal(c.q, 0.33);
    assert.equal(m.get('UnknownHeaderWithUnusualValue'), ';;,,;;,;');
    assert.equal(m.get('NewFangledHeader'), 'newfangled value continued newfangled value');
    assert.equal(m.get('Subject'), '');
    assert.equal(
      m.route[0]?.uri.toString(),
      'sip:services.example.com;lr;unknownwith=value;unknown-no-value',
    );
    assert.equal(m.body.length, 150);
  });

  test('intmeth: unusual method, URI user and password, quoted NUL, UTF-8 param', () => {
    const m = msg('intmeth.dat') as SipRequest;
    assert.equal(m.method, "!interesting-Method0123456789_*+`.%indeed'~");
    const u = m.uri;
    assert.ok(u.kind === 'sip', "check: u.kind === 'sip'");
    assert.equal(u.userRaw, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    assert.equal(u.passwordRaw, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    assert.equal(u.host, 'example.com');
    assert.equal(m.topVia?.branch, "z9hG4bK-.!%66*_+`'~");
    assert.equal(m.to?.displayName, 'BEL:\x07 NUL:\x00 DEL:\x7f');
    assert.equal(m.from?.tag, "_token~1'+`*%!-.");
    assert.equal(m.from?.params.get("fromParam''~+*_!.-%"), 'работающий');
    assert.equal(m.from?.displayName, "token1~` token2'+_ token3*%!.-");
    assert.equal(m.callId, 'intmeth.word%ZK-!.*_+\'@word`~)(><:\\/"][?}{');
    assert.equal(m.maxForwards, 255);
    assert.equal(m.get("extensionHeader-!.%*+_`'~"), '\uFEFF大停電');
  });

  test('esc01: escapes decoded only where allowed', () => {
    const m = msg('esc01.dat') as SipRequest;
    const u = m.uri;
    assert.ok(u.kind === 'sip', "check: u.kind === 'sip'");
    assert.equal(u.user, 'sips:user@example.com');
    assert.equal(m.to?.sipUri?.user, 'user');
    assert.equal(m.from?.sipUri?.user, 'I have spaces');
    const c = m.contact[0] as NameAddr;
    assert.ok(c.uri.kind === 'sip', "check: c.uri.kind === 'sip'");
    assert.equal(c.uri.user, 'caller');
    // value%41 is not valueA: one level of unescaping only.
    assert.equal(c.uri.params.getRaw('n%61me'), 'v%61lue%25%34%31');
  });

  test('escnull: %00 does not truncate users; two distinct contacts', () => {
    const m = msg('escnull.dat');
    assert.equal(m.to?.sipUri?.user, 'null-\x00-null');
    const cs = m.contact as NameAddr[];
    assert.equal(cs.length, 2);
    assert.equal((cs[0]!.uri as { user: string }).user, '\x00');
    assert.equal((cs[1]!.uri as { user: string }).user, '\x00\x00');
  });

  test('esc02: % is not an escape in methods, display names or header names', () => {
    const m = msg('esc02.dat') as SipRequest;
    assert.equal(m.method, 'RE%47IST%45R');
    assert.equal(m.to?.displayName, '%Z%45');
    assert.equal(m.contact.length, 2);
    assert.equal(m.get('C%6Fntact'), '<sip:alias2@host2.example.com>');
  });

  test('lwsdisp: display name directly followed by <', () => {
    assert.equal(msg('lwsdisp.dat').from?.displayName, 'caller');
  });

  test('longreq: long values and 34 Via values', () => {
    const m = msg('longreq.dat');
    assert.equal(m.via.length, 34);
    assert.equal(m.from?.tag?.length, 155);
    assert.ok(
      (m.callId ?? '').startsWith('longreq.onereallyreally'),
      "check: (m.callId ?? '').startsWith('longreq.onereallyreally')",
    );
    assert.equal(m.to?.sipUri?.port, 6000);
  });

  test('dblreq: only the first request, body empty', () => {
    const m = msg('dblreq.dat') as SipRequest;
    assert.equal(m.method, 'REGISTER');
    assert.equal(m.body.length, 0);
    assert.ok(!m.toString().includes('INVITE'), "check: !m.toString().includes('INVITE')");
  });

  test('semiuri: the user part holds the semicolon', () => {
    const u = (msg('semiuri.dat') as SipRequest).uri;
    assert.ok(u.kind === 'sip', "check: u.kind === 'sip'");
    assert.equal(u.user, 'user;par=u@example.net');
    assert.equal(u.host, 'example.com');
    assert.equal(u.params.size, 0);
  });

  test('transports: every transport token kept', () => {
    assert.deepEqual(
      msg('transports.dat').via.map((v) => v.transport),
      ['UDP', 'SCTP', 'TLS', 'UNKNOWN', 'TCP'],
    );
  });

  test('mpart01: binary multipart body framed by octets', () => {
    const m = msg('mpart01.dat');
    assert.equal(m.body.length, 553);
    const parts = m.bodyParts();
    assert.equal(parts.length, 2);
    assert.equal(parts[0]!.contentType.essence, 'text/plain');
    assert.equal(parts[0]!.body.toString(), 'Hello');
    assert.equal(parts[1]!.contentType.essence, 'application/octet-stream');
    assert.ok(parts[1]!.body.includes(0), 'check: parts[1]!.body.includes(0)');
  });

  test('unreason and noreason: unusual and empty reason phrases', () => {
    const u = msg('unreason.dat') as SipResponse;
    assert.equal(u.status, 200);
    assert.equal(u.reason, '= 2**3 * 5**2 но сто девяносто девять - простое');
    const n = msg('noreason.dat') as SipResponse;
    assert.equal(n.status, 100);
    assert.equal(n.reason, '');
  });

  test('inv2543: no branch, no From tag, no Max-Forwards, body to the end of the datagram', () => {
    const m = msg('inv2543.dat');
    assert.equal(m.topVia?.branch, undefined);
    assert.equal(m.from?.tag, undefined);
    assert.equal(m.maxForwards, undefined);
    assert.equal(m.body.length, 105);
    assert.equal(m.to?.params.get('user'), 'phone');
  });

  test('cparam01 and cparam02: contact-param versus url-parameter', () => {
    const a = msg('cparam01.dat').contact[0] as NameAddr;
    assert.equal(a.params.has('unknownparam'), true);
    assert.equal((a.uri as { params: { has(n: string): boolean } }).params.has('unknownparam'), false);
    const b = msg('cparam02.dat').contact[0] as NameAddr;
    assert.equal(b.params.has('unknownparam'), false);
    assert.equal((b.uri as { params: { has(n: string): boolean } }).params.has('unknownparam'), true);
  });

  test('regescrt: the escaped Route header stays in the contact URI', () => {
    const c = msg('regescrt.dat').contact[0] as NameAddr;
    assert.ok(c.uri.kind === 'sip', "check: c.uri.kind === 'sip'");
    assert.equal(c.uri.headers.getRaw('Route'), '%3Csip:sip.example.com%3E');
    assert.equal(c.uri.toString(), 'sip:user@example.com?Route=%3Csip:sip.example.com%3E');
  });

  test('zeromf: a proxy answers 483 to anything but OPTIONS', () => {
    const data = corpusFile('rfc4475', 'zeromf.dat');
    const invite = Buffer.from(data.toString('latin1').replace(/OPTIONS/g, 'INVITE'), 'latin1');
    const v = inspect(invite, { role: 'proxy' }).verdict;
    assert.equal(v.action === 'reject' && v.status, 483);
  });

  test('bext01: 420 lists the unsupported tags of Require or Proxy-Require', () => {
    const data = corpusFile('rfc4475', 'bext01.dat');
    const e = inspect(data, { role: 'endpoint' }).verdict;
    const p = inspect(data, { role: 'proxy' }).verdict;
    assert.ok(
      e.action === 'reject' && p.action === 'reject',
      "check: e.action === 'reject' && p.action === 'reject'",
    );
    assert.deepEqual(e.headers, [['Unsupported', 'nothingSupportsThis, nothingSupportsThisEither']]);
    assert.deepEqual(p.headers, [['Unsupported', 'noProxiesSupportThis, norDoAnyProxiesSupportThis']]);
  });

  test('baddn with the missing final CRLF restored is still rejected for its display names', () => {
    const v = inspect(corpusFile('rfc4475', 'variants', 'baddn-with-final-crlf.dat')).verdict;
    assert.ok(v.action === 'reject' && v.status === 400 && /From|To/.test(v.reason), JSON.stringify(v));
  });

  test('clerr over a stream waits for more data instead of answering', () => {
    const m = () => parseMessage(corpusFile('rfc4475', 'clerr.dat'), { framing: 'stream' });
    assert.throws(m, { code: 'SIP_ERR_CONTENT_LENGTH' });
  });

  test('regaut01: the unknown Authorization scheme is kept for forwarding', () => {
    const m = msg('regaut01.dat');
    assert.equal(m.get('Authorization'), 'NoOneKnowsThisScheme opaque-data=here');
  });

  test('unksm2: non-SIP URIs in To, From and Contact parse as absolute URIs', () => {
    const m = msg('unksm2.dat');
    assert.equal(m.to?.uri.kind, 'absolute');
    assert.equal(m.to?.uri.scheme, 'isbn');
    assert.equal(m.from?.uri.scheme, 'http');
    assert.equal((m.contact[0] as NameAddr).uri.scheme, 'name');
  });
});
