import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  NameAddr,
  Params,
  parseAccept,
  parseAuthHeader,
  parseCallId,
  parseContactList,
  parseCSeq,
  parseDate,
  parseExpires,
  parseMaxForwards,
  parseMediaType,
  parseNameAddr,
  parseNameAddrList,
  parseRAck,
  parseRetryAfter,
  parseSessionExpires,
  parseTokenList,
  parseTokenWithParams,
  parseViaList,
  parseWarningList,
  SipParseError,
  Via,
} from '../../src/index.js';

const fails = (fn: () => unknown, re: RegExp) =>
  assert.throws(
    fn,
    (e: unknown) => e instanceof SipParseError && e.code === 'SIP_ERR_HEADER_VALUE' && re.test(e.message),
  );

describe('Via (RFC 3261 §20.42)', () => {
  test('sent-by and transport of values taken by the fast grammar', () => {
    const cases: Array<[string, string, string, number | undefined]> = [
      ['SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1', 'UDP', '10.0.0.1', 5060],
      ['SIP/2.0/udp host.example.com;branch=x;rport', 'UDP', 'host.example.com', undefined],
      ['SIP/2.0/TCP [2001:db8::1]:5070;branch=y', 'TCP', '[2001:db8::1]', 5070],
      ['SIP/2.0/TLS [::1];branch=z', 'TLS', '[::1]', undefined],
      ['SIP/2.0/UDP [2001:db8::1]', 'UDP', '[2001:db8::1]', undefined],
      ['SIP/2.0/sctp 192.0.2.1:65535', 'SCTP', '192.0.2.1', 65535],
      ['SIP/2.0/UDP a.b:1;x="a;b:2"', 'UDP', 'a.b', 1],
    ];
    for (const [text, transport, host, port] of cases) {
      const [v] = parseViaList(`SIP/2.0/WS first.example;branch=f, ${text}`).slice(1);
      assert.equal(v?.transport, transport, `${text}: transport`);
      assert.equal(v?.host, host, `${text}: host`);
      assert.equal(v?.port, port, `${text}: port`);
    }
  });

  test('sent-protocol, sent-by and parameters', () => {
    const [v] = parseViaList(
      'SIP/2.0/UDP 198.51.100.17:5060;branch=z9hG4bK776;received=192.0.2.9;rport=5061;maddr=224.2.0.1;ttl=16',
    );
    assert.ok(v instanceof Via, 'a Via');
    assert.equal(v.protocol, 'SIP');
    assert.equal(v.version, '2.0');
    assert.equal(v.transport, 'UDP');
    assert.equal(v.host, '198.51.100.17');
    assert.equal(v.port, 5060);
    assert.equal(v.branch, 'z9hG4bK776');
    assert.equal(v.received, '192.0.2.9');
    assert.equal(v.rport, 5061);
    assert.equal(v.maddr, '224.2.0.1');
    assert.equal(v.ttl, 16);
    assert.equal(v.rfc3261Branch, true);
    assert.equal(v.sentBy, '198.51.100.17:5060');
  });

  test('rport without a value, RFC 2543 branch, lower-case transport', () => {
    const [v] = parseViaList('SIP/2.0/tcp host.example.com;rport;branch=1234');
    assert.equal(v!.rport, null);
    assert.equal(v!.transport, 'TCP');
    assert.equal(v!.rfc3261Branch, false);
    assert.equal(parseViaList('SIP/2.0/UDP a.example.com;branch=z9hG4bK')[0]!.rfc3261Branch, false);
  });

  test('LWS around the separators, as RFC 3261 §25.1 allows', () => {
    const [v] = parseViaList(
      'SIP / 2.0 / UDP first.example.com: 4000;ttl=16 ;maddr=224.2.0.1 ;branch=z9hG4bKa7c6a8dlze.1',
    );
    assert.equal(v!.host, 'first.example.com');
    assert.equal(v!.port, 4000);
    assert.equal(v!.branch, 'z9hG4bKa7c6a8dlze.1');
    assert.equal(v!.ttl, 16);
  });

  test('parameter names are case-insensitive', () => {
    assert.equal(parseViaList('SIP/2.0/UDP a.example.com;BRANCH=z9hG4bKq')[0]!.branch, 'z9hG4bKq');
  });

  test('withParam adds received and keeps the rest', () => {
    const [v] = parseViaList('SIP/2.0/UDP a.example.com;branch=z9hG4bK1;rport');
    assert.equal(
      v!.withParam('received', '192.0.2.1').withParam('rport', 5060).toString(),
      'SIP/2.0/UDP a.example.com;branch=z9hG4bK1;rport=5060;received=192.0.2.1',
    );
  });

  test('markedFrom fills in received and rport as withParam would (RFC 3261 §18.2.1, RFC 3581 §4)', () => {
    const cases = [
      'SIP/2.0/UDP a.example.com;branch=z9hG4bK1;rport',
      'SIP/2.0/UDP a.example.com;rport;branch=z9hG4bK1',
      'SIP/2.0/UDP a.example.com;branch=z9hG4bK1',
      'SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bK1',
      'SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1;rport',
      'SIP/2.0/UDP a.example.com;received=198.51.100.1;branch=z9hG4bK1;RPORT',
      'SIP/2.0/UDP a.example.com;RPORT;Received=198.51.100.1;branch=z9hG4bK1',
      'SIP/2.0/UDP a.example.com;rport=5999;branch=z9hG4bK1',
      'SIP/2.0/UDP a.example.com;received;branch=z9hG4bK1;rport',
      'SIP/2.0/UDP a.example.com;branch=z9hG4bK1;x="q;rport";rport',
      'SIP/2.0/UDP [2001:db8::1];branch=z9hG4bK1',
      // A received written by the sender is replaced by the source (unless it is the source).
      'SIP/2.0/UDP 192.0.2.1;received=203.0.113.9;branch=z9hG4bK1',
      'SIP/2.0/UDP 192.0.2.1;received=192.0.2.1;branch=z9hG4bK1',
      'SIP/2.0/UDP [2001:db8::1];received=[2001:db8::1];branch=z9hG4bK1',
      'SIP/2.0/UDP [2001:db8::1];branch=z9hG4bK1;x="q";received=203.0.113.9',
    ];
    for (const text of cases) {
      for (const from of ['192.0.2.1', '2001:db8::1']) {
        const [v] = parseViaList(text);
        const [w] = parseViaList(text);
        const host = w!.host.startsWith('[') ? w!.host.slice(1, -1) : w!.host;
        let expected = w!;
        const written = w!.received;
        if (host !== from || (written !== undefined && written !== from))
          expected = expected.withParam('received', from);
        if (w!.rport === null) expected = expected.withParam('rport', 5062).withParam('received', from);
        const got = v!.markedFrom(from, 5062);
        assert.deepEqual(
          [...got.params.entries()].map(([k, x]) => [k.toLowerCase(), x]),
          [...expected.params.entries()].map(([k, x]) => [k.toLowerCase(), x]),
          `${text} from ${from}`,
        );
        assert.equal(got === v, expected === w, `${text} from ${from}: unchanged when nothing is added`);
        assert.deepEqual([got.transport, got.host, got.port], [w!.transport, w!.host, w!.port]);
        const head = text.slice(0, text.indexOf(';'));
        assert.ok(got.toString().startsWith(`${head};`), `${text} from ${from}: the head as written`);
        const [again] = parseViaList(got.toString());
        assert.deepEqual([...again!.params.entries()], [...got.params.entries()], 'written as it reads');
      }
    }
  });

  test('an IPv6 received is read with or without brackets (RFC 5118 §4.5)', () => {
    const [a] = parseViaList('SIP/2.0/UDP [2001:db8::9:1];received=[2001:db8::9:255];branch=z9hG4bKas3');
    const [b] = parseViaList('SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255;branch=z9hG4bKas3');
    assert.equal(a!.received, '2001:db8::9:255');
    assert.equal(b!.received, '2001:db8::9:255');
    assert.equal(a!.host, '[2001:db8::9:1]');
  });

  test('a new Via is written canonically', () => {
    const v = new Via('TLS', 'proxy.example.com', 5061, Params.from({ branch: 'z9hG4bKabc', rport: null }));
    assert.equal(v.toString(), 'SIP/2.0/TLS proxy.example.com:5061;branch=z9hG4bKabc;rport');
  });

  test('malformed values', () => {
    fails(() => parseViaList('SIP/2.0/UDP'), /whitespace before sent-by/);
    fails(() => parseViaList('SIP/2.0 UDP host'), /expected '\/'/);
    fails(() => parseViaList('SIP/2.0/UDP host;;branch=1'), /parameter name/);
    fails(() => parseViaList('SIP/2.0/UDP host;branch='), /empty value/);
    fails(() => parseViaList('SIP/2.0/UDP host:70000'), /port number out of range/);
    fails(() => parseViaList('SIP/2.0/UDP host, '), /protocol name/);
  });
});

describe('name-addr headers (RFC 3261 §20.10, §20.20, §20.39)', () => {
  test('display name, URI, parameters', () => {
    const n = parseNameAddr('"Alice A." <sip:alice@atlanta.com>;tag=88sja8x');
    assert.equal(n.displayName, 'Alice A.');
    assert.equal(n.uri.toString(), 'sip:alice@atlanta.com');
    assert.equal(n.tag, '88sja8x');
  });

  test('token display name and addr-spec forms', () => {
    assert.equal(parseNameAddr('Bob Smith <sip:bob@biloxi.com>').displayName, 'Bob Smith');
    const a = parseNameAddr('sip:carol@chicago.com;tag=5');
    assert.equal(a.angle, false);
    assert.equal(a.uri.toString(), 'sip:carol@chicago.com');
    assert.equal(a.tag, '5');
  });

  test('escaped quotes in display names', () => {
    assert.equal(parseNameAddr('"say \\"hi\\"" <sip:a@b.com>').displayName, 'say "hi"');
  });

  test('Contact: q and expires, lists, and *', () => {
    const list = parseContactList('<sip:a@b.com>;q=0.7;expires=3600, "X" <sip:c@d.com>;q=1.0');
    assert.equal(list.length, 2);
    const [a, b] = list as NameAddr[];
    assert.equal(a!.q, 0.7);
    assert.equal(a!.expires, 3600);
    assert.equal(b!.q, 1);
    const star = parseContactList(' * ');
    assert.equal(star[0]!.wildcard, true);
  });

  test('a Route list with several values', () => {
    assert.deepEqual(
      parseNameAddrList('<sip:p1.example.com;lr>,<sip:p2.example.com;lr>').map((r) => r.uri.toString()),
      ['sip:p1.example.com;lr', 'sip:p2.example.com;lr'],
    );
  });

  test('built values and edits', () => {
    const n = new NameAddr('sip:bob@biloxi.com', 'Bob', { tag: 'a6c85cf' });
    assert.equal(n.toString(), '"Bob" <sip:bob@biloxi.com>;tag=a6c85cf');
    assert.equal(
      parseNameAddr('<sip:bob@biloxi.com>').withTag('x1').toString(),
      '<sip:bob@biloxi.com>;tag=x1',
    );
  });

  test('malformed values', () => {
    fails(() => parseNameAddr('"unterminated <sip:a@b.com>'), /unterminated quoted string/);
    fails(() => parseNameAddr('< sip:a@b.com>'), /whitespace after '<'/);
    fails(() => parseNameAddr('<sip:a@b.com'), /missing '>'/);
    fails(() => parseNameAddr('sip:a@b.com?x=y'), /must be enclosed in <>/);
    fails(() => parseNameAddr('<sip:a@b.com>;;tag=1'), /parameter name/);
    assert.throws(() => parseNameAddr('Bell, Alexander <sip:a@b.com>'), { code: 'SIP_ERR_URI' });
    assert.throws(() => parseNameAddr('<sip:a@b.com:x>').uri, { code: 'SIP_ERR_URI' });
  });
});

describe('CSeq, RAck, Call-ID, numbers', () => {
  test('CSeq', () => {
    const c = parseCSeq('4711 INVITE');
    assert.equal(c.seq, 4711);
    assert.equal(c.method, 'INVITE');
    assert.equal(parseCSeq('0009\t  ACK').seq, 9);
    fails(() => parseCSeq('4294967296 INVITE'), /larger than 2\^32-1/);
    fails(() => parseCSeq('1'), /whitespace/);
    fails(() => parseCSeq('x INVITE'), /sequence number/);
  });

  test('RAck (RFC 3262)', () => {
    const r = parseRAck('776656 1 INVITE');
    assert.deepEqual([r.rseq, r.seq, r.method], [776656, 1, 'INVITE']);
  });

  test('Call-ID words', () => {
    assert.equal(
      parseCallId('f81d4fae-7dec-11d0-a765-00a0c91e6bf6@foo.bar.com'),
      'f81d4fae-7dec-11d0-a765-00a0c91e6bf6@foo.bar.com',
    );
    assert.throws(() => parseCallId('a@b@c'), /'@' must separate two words/);
    assert.throws(() => parseCallId('has space'), /invalid character/);
    assert.throws(() => parseCallId(''), /empty/);
  });

  test('Max-Forwards, Expires', () => {
    assert.equal(parseMaxForwards('70'), 70);
    fails(() => parseMaxForwards('256'), /larger than 255/);
    fails(() => parseMaxForwards('-1'), /a number/);
    assert.equal(parseExpires('3600'), 3600);
    // RFC 2543 absolute dates are recognised and read as "no usable value" (RFC 3261 §10.3).
    assert.equal(parseExpires('Thu, 01 Dec 1994 16:00:00 GMT'), undefined);
    fails(() => parseExpires('99999999999'), /larger than 2\^32-1/);
  });

  test('Retry-After with comment and duration', () => {
    const r = parseRetryAfter('18000;duration=3600');
    assert.equal(r.seconds, 18000);
    assert.equal(r.duration, 3600);
    assert.equal(parseRetryAfter("120 (I'm in a meeting)").comment, "I'm in a meeting");
  });

  test('Session-Expires (RFC 4028)', () => {
    const s = parseSessionExpires('4000;refresher=UAS');
    assert.equal(s.seconds, 4000);
    assert.equal(s.refresher, 'uas');
  });
});

describe('media types and lists', () => {
  test('Content-Type with parameters', () => {
    const m = parseMediaType('multipart/mixed; boundary="unique boundary"');
    assert.equal(m.essence, 'multipart/mixed');
    assert.equal(m.params.get('boundary'), 'unique boundary');
  });

  test('Accept with ranges, and empty', () => {
    const a = parseAccept('application/sdp;level=1, application/*, */*;q=0.5');
    assert.equal(a.length, 3);
    assert.equal(a[1]!.matches('application/pidf+xml'), true);
    assert.equal(a[0]!.matches('text/plain'), false);
    assert.deepEqual(parseAccept(''), []);
  });

  test('token lists', () => {
    assert.deepEqual(parseTokenList('INVITE, ACK ,BYE', 'Allow'), ['INVITE', 'ACK', 'BYE']);
    assert.deepEqual(parseTokenList('', 'Supported'), []);
    fails(() => parseTokenList('a,,b', 'Require'), /a token/);
  });

  test('Event and Subscription-State (RFC 6665)', () => {
    const e = parseTokenWithParams('presence;id=1', 'Event');
    assert.equal(e.value, 'presence');
    assert.equal(e.params.get('id'), '1');
    const s = parseTokenWithParams('active;expires=600', 'Subscription-State');
    assert.equal(s.params.get('expires'), '600');
  });
});

describe('Date and Warning', () => {
  test('RFC 1123 dates in GMT only', () => {
    assert.equal(parseDate('Sat, 13 Nov 2010 23:29:00 GMT').toISOString(), '2010-11-13T23:29:00.000Z');
    fails(() => parseDate('Fri, 01 Jan 2010 16:00:00 EST'), /time zone must be GMT/);
    fails(() => parseDate('Fri, 01 Jan 2010 16:00:00 UTC'), /time zone must be GMT/);
    fails(() => parseDate('Fri, 31 Feb 2010 16:00:00 GMT'), /day out of range/);
    fails(() => parseDate('yesterday'), /expected the form/);
  });

  test('Warning values', () => {
    const [w1, w2] = parseWarningList(
      '307 isi.edu "Session parameter \'foo\' not understood", 301 isi.edu "Incompatible network address type \'E.164\'"',
    );
    assert.equal(w1!.code, 307);
    assert.equal(w1!.agent, 'isi.edu');
    assert.equal(w2!.text, "Incompatible network address type 'E.164'");
    fails(() => parseWarningList('1812 overture "In Progress"'), /three digits/);
  });
});

describe('authentication headers (RFC 2617, RFC 7616, RFC 8760)', () => {
  test('a Digest challenge', () => {
    const c = parseAuthHeader(
      'Digest realm="atlanta.com", domain="sip:ss1.carrier.com", qop="auth", nonce="f84f1cec41e6cbe5aea9c8e88d359", opaque="", stale=FALSE, algorithm=SHA-256',
      'WWW-Authenticate',
      'challenge',
    );
    assert.equal(c.isDigest, true);
    assert.equal(c.get('realm'), 'atlanta.com');
    assert.equal(c.get('opaque'), '');
    assert.equal(c.algorithm, 'SHA-256');
  });

  test('Digest credentials check the response length for the algorithm', () => {
    const ok = parseAuthHeader(
      'Digest username="bob", realm="biloxi.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="sip:bob@biloxi.com", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
      'Authorization',
      'credentials',
    );
    assert.equal(ok.get('nc'), '00000001');
    fails(
      () =>
        parseAuthHeader(
          'Digest username="b", realm="r", nonce="n", uri="sip:x", response="abc", algorithm=SHA-256',
          'Authorization',
          'credentials',
        ),
      /3 hex digits, SHA-256 needs 64/,
    );
    fails(
      () => parseAuthHeader('Digest username="b", realm="r" nonce="n"', 'Authorization', 'credentials'),
      /expected ','/,
    );
    fails(() => parseAuthHeader('Digest realm="r"', 'WWW-Authenticate', 'challenge'), /without 'nonce'/);
    fails(
      () => parseAuthHeader('Digest realm="a", realm="b", nonce="n"', 'WWW-Authenticate', 'challenge'),
      /appears twice/,
    );
  });

  test('Basic and unknown schemes are read as values', () => {
    const b = parseAuthHeader('Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==', 'Authorization', 'credentials');
    assert.equal(b.scheme, 'Basic');
    assert.equal(b.token68, 'QWxhZGRpbjpvcGVuIHNlc2FtZQ==');
    const u = parseAuthHeader('NoOneKnowsThisScheme opaque-data=here', 'Authorization', 'credentials');
    assert.equal(u.get('opaque-data'), 'here');
    const challenge = parseAuthHeader('Basic realm="example.org"', 'WWW-Authenticate', 'challenge');
    assert.equal(challenge.get('realm'), 'example.org', 'a Basic challenge has auth-params');
    assert.throws(
      () => parseAuthHeader('Basic realm="x"', 'Authorization', 'credentials'),
      /unexpected text/,
    );
  });
});
