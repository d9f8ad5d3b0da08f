import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseSipUri, parseUri, SipParseError, SipUri, uriEquals } from '../../src/index.js';

describe('sip: and sips: URIs (RFC 3261 §19.1)', () => {
  test('reads every part', () => {
    const u = parseSipUri(
      'sips:alice:secret@[2001:db8::1]:5061;transport=tcp;lr;maddr=239.255.255.1?subject=hi&priority=urgent',
    );
    assert.equal(u.scheme, 'sips');
    assert.equal(u.user, 'alice');
    assert.equal(u.password, 'secret');
    assert.equal(u.host, '[2001:db8::1]');
    assert.equal(u.hostType, 'ipv6');
    assert.equal(u.port, 5061);
    assert.equal(u.transport, 'tcp');
    assert.equal(u.lr, true);
    assert.equal(u.maddr, '239.255.255.1');
    assert.equal(u.headers.getRaw('subject'), 'hi');
    assert.equal(u.headers.getRaw('priority'), 'urgent');
  });

  test('host only, IPv4, hostname with trailing dot', () => {
    assert.equal(parseSipUri('sip:192.0.2.4').hostType, 'ipv4');
    assert.equal(parseSipUri('sip:example.com.').host, 'example.com.');
    assert.equal(parseSipUri('sip:example.com').user, undefined);
  });

  test('the scheme is case-insensitive', () => {
    assert.equal(parseSipUri('SIP:bob@biloxi.com').scheme, 'sip');
    assert.equal(parseSipUri('SiPs:bob@biloxi.com').scheme, 'sips');
  });

  test('escapes decode in the user part and stay as written on output', () => {
    const u = parseSipUri('sip:I%20have%20spaces@example.net');
    assert.equal(u.user, 'I have spaces');
    assert.equal(u.toString(), 'sip:I%20have%20spaces@example.net');
  });

  test('the user part may carry ; ? and other user-unreserved characters', () => {
    const u = parseSipUri('sip:user;par=u%40example.net@example.com');
    assert.equal(u.user, 'user;par=u@example.net');
    assert.equal(u.params.size, 0);
  });

  test('built URIs escape what needs escaping', () => {
    const u = new SipUri({
      user: 'a b@c',
      host: 'example.com',
      port: 5070,
      params: { transport: 'tcp', lr: true },
    });
    assert.equal(u.toString(), 'sip:a%20b%40c@example.com:5070;transport=tcp;lr');
    assert.equal(parseSipUri(u.toString()).user, 'a b@c');
  });

  test('with() and withParam() return changed copies', () => {
    const u = parseSipUri('sip:bob@biloxi.com;transport=udp');
    assert.equal(u.with({ port: 5080 }).toString(), 'sip:bob@biloxi.com:5080;transport=udp');
    assert.equal(u.withParam('lr').toString(), 'sip:bob@biloxi.com;transport=udp;lr');
    assert.equal(u.withoutParam('transport').toString(), 'sip:bob@biloxi.com');
    assert.equal(u.with({ user: undefined }).toString(), 'sip:biloxi.com;transport=udp');
    assert.equal(u.toString(), 'sip:bob@biloxi.com;transport=udp');
  });

  const bad: Array<[string, RegExp, number]> = [
    ['sip:', /empty host/, 4],
    ['sip:@example.com', /empty user/, 4],
    ['sip:bob@example.com:99999', /port number out of range/, 20],
    ['sip:bob@example.com:x', /port/, 20],
    ['sip:2001:db8::10', /IPv6 address must be enclosed/, 4],
    ['sip:bob@[2001:db8::1', /unterminated IPv6/, 8],
    ['sip:bob@exa mple.com', /invalid character 0x20 in host/, 8],
    ['sip:bob@10.0.0.256', /invalid IPv4/, 8],
    ['sip:bob@example.com;;lr', /empty uri-parameter name/, 20],
    ['<sip:bob@example.com>', /must start with a scheme/, 0],
  ];
  for (const [text, re, offset] of bad) {
    test(`rejects ${JSON.stringify(text)} with SIP_ERR_URI at offset ${offset}`, () => {
      assert.throws(
        () => parseUri(text),
        (e: unknown) =>
          e instanceof SipParseError && e.code === 'SIP_ERR_URI' && re.test(e.message) && e.offset === offset,
      );
    });
  }
});

describe('tel: and other URIs', () => {
  test('tel: global number with parameters (RFC 3966)', () => {
    const u = parseUri('tel:+1-201-555-0123;ext=1234');
    assert.equal(u.kind, 'tel');
    assert.ok(u.kind === 'tel' && u.isGlobal && u.digits === '+12015550123', u.toString());
    assert.equal(u.params.get('ext'), '1234');
  });

  test('tel: local number needs a phone-context', () => {
    assert.throws(() => parseUri('tel:7042'), /phone-context/);
    const u = parseUri('tel:7042;phone-context=example.com');
    assert.ok(u.kind === 'tel' && u.phoneContext === 'example.com', u.toString());
  });

  test('any other scheme is kept as an absolute URI', () => {
    const u = parseUri('urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6');
    assert.equal(u.kind, 'absolute');
    assert.equal(u.scheme, 'urn');
    assert.equal(u.toString(), 'urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6');
    assert.equal(parseUri('mailto:bob@biloxi.example.com').scheme, 'mailto');
  });
});

describe('URI comparison (RFC 3261 §19.1.4)', () => {
  const equal: Array<[string, string]> = [
    ['sip:%61lice@atlanta.com;transport=TCP', 'sip:alice@AtLanTa.CoM;Transport=tcp'],
    ['sip:carol@chicago.com', 'sip:carol@chicago.com;newparam=5'],
    ['sip:carol@chicago.com', 'sip:carol@chicago.com;security=on'],
    [
      'sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com',
      'sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com',
    ],
    [
      'sip:alice@atlanta.com?subject=project%20x&priority=urgent',
      'sip:alice@atlanta.com?priority=urgent&subject=project%20x',
    ],
    ['sip:bob@[2001:db8::1]', 'sip:bob@[2001:DB8:0:0:0:0:0:1]'],
    ['tel:+1-201-555-0123', 'tel:+1.201.555.0123'],
  ];
  const notEqual: Array<[string, string]> = [
    ['SIP:ALICE@AtLanTa.CoM;Transport=udp', 'sip:alice@AtLanTa.CoM;Transport=UDP'],
    ['sip:bob@biloxi.com', 'sip:bob@biloxi.com:5060'],
    ['sip:bob@biloxi.com', 'sip:bob@biloxi.com;transport=udp'],
    ['sip:bob@biloxi.com', 'sip:bob@biloxi.com:6000;transport=tcp'],
    ['sip:carol@chicago.com', 'sip:carol@chicago.com?Subject=next%20meeting'],
    ['sip:bob@phone21.boxesbybob.com', 'sip:bob@192.0.2.4'],
    ['sip:carol@chicago.com;security=on', 'sip:carol@chicago.com;security=off'],
    ['sip:bob@biloxi.com', 'sips:bob@biloxi.com'],
    ['sip:a%3Bb@x.com', 'sip:a;b@x.com'],
  ];
  for (const [a, b] of equal) {
    test(`${a} equals ${b}`, () => {
      assert.equal(uriEquals(parseUri(a), parseUri(b)), true);
      assert.equal(uriEquals(parseUri(b), parseUri(a)), true);
    });
  }
  for (const [a, b] of notEqual) {
    test(`${a} differs from ${b}`, () => {
      assert.equal(uriEquals(parseUri(a), parseUri(b)), false);
      assert.equal(uriEquals(parseUri(b), parseUri(a)), false);
    });
  }
});
