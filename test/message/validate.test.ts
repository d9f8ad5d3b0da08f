import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  createResponse,
  inspect,
  parseMessage,
  type SipRequest,
  type Verdict,
  validateRequest,
  validateResponse,
} from '../../src/index.js';
import { validateRegisterAfterProxy } from '../../src/message/validate.js';

const crlf = (...lines: string[]) => lines.join('\r\n');
function request(
  method: string,
  extra: string[] = [],
  opts: { uri?: string; cseqMethod?: string } = {},
): string {
  return crlf(
    `${method} ${opts.uri ?? 'sip:bob@biloxi.com'} SIP/2.0`,
    'Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8',
    'Max-Forwards: 70',
    'To: <sip:bob@biloxi.com>',
    'From: <sip:alice@atlanta.com>;tag=1',
    'Call-ID: a84b4c76e66710',
    `CSeq: 1 ${opts.cseqMethod ?? method}`,
    ...extra,
    'Content-Length: 0',
    '',
    '',
  );
}
const outcome = (v: Verdict) => (v.action === 'reject' ? `${v.status} ${v.reason}` : v.action);

describe('request validation (RFC 3261 §8.2, §16.3)', () => {
  test('a well-formed request is accepted', () => {
    assert.equal(
      outcome(inspect(request('INVITE', ['Contact: <sip:alice@pc33.atlanta.com>'])).verdict),
      'accept',
    );
  });

  test('each mandatory header is required', () => {
    for (const h of ['Via', 'To', 'From', 'Call-ID', 'CSeq']) {
      const text = request('OPTIONS')
        .split('\r\n')
        .filter((l) => !l.startsWith(`${h}:`))
        .join('\r\n');
      assert.equal(outcome(inspect(text).verdict), `400 Missing ${h} header`);
    }
  });

  test('Max-Forwards may be missing (RFC 2543 requests)', () => {
    const text = request('OPTIONS')
      .split('\r\n')
      .filter((l) => !l.startsWith('Max-Forwards'))
      .join('\r\n');
    assert.equal(outcome(inspect(text).verdict), 'accept');
  });

  test('the reason names the header and the detail says where', () => {
    const v = inspect(request('OPTIONS', ['Contact: <sip:alice@pc33.atlanta.com;;x>'])).verdict;
    assert.ok(v.action === 'reject', 'rejected');
    assert.equal(v.reason, 'Bad Contact header');
    assert.match(v.detail, /uri-parameter/);
    assert.ok(v.offset > 0, 'offset');
  });

  test('405 for a known method this endpoint does not implement, with Allow', () => {
    const v = inspect(request('SUBSCRIBE', ['Event: presence']), {
      methods: ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS'],
    }).verdict;
    assert.equal(outcome(v), '405 Method Not Allowed');
    assert.ok(v.action === 'reject' && v.headers[0]?.[0] === 'Allow', 'Allow header');
  });

  test('proxies forward unknown methods; endpoints answer 501', () => {
    const text = request('FROBNICATE');
    assert.equal(outcome(inspect(text, { role: 'proxy' }).verdict), 'accept');
    assert.equal(outcome(inspect(text).verdict), '501 Not Implemented');
  });

  test('Require with a supported tag is fine, Require is ignored in ACK and CANCEL', () => {
    assert.equal(
      outcome(inspect(request('INVITE', ['Require: 100rel']), { supported: ['100rel'] }).verdict),
      'accept',
    );
    assert.equal(outcome(inspect(request('CANCEL', ['Require: foo'])).verdict), 'accept');
    assert.equal(outcome(inspect(request('INVITE', ['Require: foo'])).verdict), '420 Bad Extension');
  });

  test('Max-Forwards 0 at a proxy: 483, except OPTIONS which the proxy answers', () => {
    const zero = (m: string) => request(m).replace('Max-Forwards: 70', 'Max-Forwards: 0');
    assert.equal(outcome(inspect(zero('INVITE'), { role: 'proxy' }).verdict), '483 Too Many Hops');
    assert.equal(outcome(inspect(zero('OPTIONS'), { role: 'proxy' }).verdict), 'accept');
    assert.equal(outcome(inspect(zero('INVITE')).verdict), 'accept');
  });

  test('a body needs a Content-Type the endpoint understands', () => {
    const withBody = (ct: string | null) =>
      crlf(
        'MESSAGE sip:bob@biloxi.com SIP/2.0',
        'Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8',
        'To: <sip:bob@biloxi.com>',
        'From: <sip:alice@atlanta.com>;tag=1',
        'Call-ID: x',
        'CSeq: 1 MESSAGE',
        ...(ct ? [`Content-Type: ${ct}`] : []),
        'Content-Length: 2',
        '',
        'hi',
      );
    assert.equal(outcome(inspect(withBody('text/plain')).verdict), 'accept');
    assert.equal(outcome(inspect(withBody('application/x-unknown')).verdict), '415 Unsupported Media Type');
    assert.equal(outcome(inspect(withBody(null)).verdict), '400 Missing Content-Type header');
  });

  test('a body or body part not understood is refused unless its Content-Disposition says handling=optional', () => {
    const invite = (headers: string[], body: string) =>
      crlf(
        'INVITE sip:bob@biloxi.com SIP/2.0',
        'Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKdisp1',
        'Max-Forwards: 70',
        'To: <sip:bob@biloxi.com>',
        'From: <sip:alice@atlanta.com>;tag=1',
        'Call-ID: disp',
        'CSeq: 1 INVITE',
        'Contact: <sip:alice@pc33.atlanta.com>',
        ...headers,
        `Content-Length: ${Buffer.byteLength(body)}`,
        '',
        body,
      );
    const blob = 'x=1\r\n';
    assert.equal(
      outcome(inspect(invite(['Content-Type: application/x-blob'], blob)).verdict),
      '415 Unsupported Media Type',
    );
    assert.equal(
      outcome(
        inspect(invite(['Content-Type: application/x-blob', 'Content-Disposition: render'], blob)).verdict,
      ),
      '415 Unsupported Media Type',
      'handling is required when absent (§20.11)',
    );
    assert.equal(
      outcome(
        inspect(
          invite(['Content-Type: application/x-blob', 'Content-Disposition: render;handling=OPTIONAL'], blob),
        ).verdict,
      ),
      'accept',
    );
    const sdp =
      'v=0\r\no=a 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';
    const mixed = (disposition: string) =>
      invite(
        ['Content-Type: multipart/mixed;boundary=b1'],
        [
          '--b1',
          'Content-Type: application/sdp',
          '',
          sdp,
          '--b1',
          'Content-Type: application/isup;version=itu-t92+',
          ...(disposition ? [`Content-Disposition: ${disposition}`] : []),
          '',
          'binary',
          '--b1--',
          '',
        ].join('\r\n'),
      );
    const gateway = inspect(mixed(''));
    assert.equal(outcome(gateway.verdict), '415 Unsupported Media Type', 'an ISUP part, handling required');
    const accept = gateway.verdict.action === 'reject' ? gateway.verdict.headers : [];
    assert.match(accept.find(([n]) => n === 'Accept')?.[1] ?? '', /application\/sdp/, 'Accept lists SDP');
    assert.equal(
      outcome(inspect(mixed('signal;handling=optional')).verdict),
      'accept',
      'SIP-I: ISUP optional',
    );
    assert.equal(outcome(inspect(mixed('signal;handling=required')).verdict), '415 Unsupported Media Type');
    const broken = invite(['Content-Type: multipart/mixed;boundary=b1'], 'no boundary here\r\n');
    assert.equal(outcome(inspect(broken).verdict), '400 Bad multipart body');
  });

  test('registrar: the AOR must be a SIP URI and Contact * needs Expires 0 alone', () => {
    const reg = (extra: string[], to = '<sip:bob@biloxi.com>') =>
      request('REGISTER', extra, { uri: 'sip:biloxi.com' }).replace('To: <sip:bob@biloxi.com>', `To: ${to}`);
    assert.equal(
      outcome(inspect(reg(['Contact: *', 'Expires: 0']), { role: 'registrar' }).verdict),
      'accept',
    );
    assert.equal(
      outcome(inspect(reg(['Contact: *', 'Expires: 10']), { role: 'registrar' }).verdict),
      '400 Bad Contact header',
    );
    assert.equal(
      outcome(inspect(reg(['Contact: *, <sip:a@b.com>', 'Expires: 0']), { role: 'registrar' }).verdict),
      '400 Bad Contact header',
    );
    assert.equal(
      outcome(inspect(reg([], '<tel:+15551234>'), { role: 'registrar' }).verdict),
      '400 Bad To header',
    );
  });

  test('registrar checks after the proxy checks give the verdict of the registrar role at once', () => {
    const reg = (extra: string[]) => request('REGISTER', extra, { uri: 'sip:biloxi.com' });
    const cases = [
      reg(['Contact: <sip:bob@192.0.2.4>', 'Expires: 3600']),
      reg(['Contact: <sip:bob@192.0.2.4>;expires=abc']),
      reg(['Contact: <sip:bob@192.0.2.4', 'Expires: 60']),
      reg(['Contact: *', 'Expires: 10']),
      reg(['Expires: soon']),
      reg(['Require: frobnication']),
      reg(['Authorization: Digest username="bob", realm="biloxi.com"']),
      reg([
        'Authorization: Digest username="bob", realm="biloxi.com", nonce="n", uri="sip:biloxi.com", response="00"',
      ]),
      reg(['X-Name\x01: v', 'Contact: <sip:bob@192.0.2.4>']),
      reg(['Subject: a\rb', 'Contact: <sip:bob@192.0.2.4>']),
      reg(['Contact: <sip:bob@192.0.2.4>', 'Date: yesterday']),
    ];
    for (const text of cases) {
      const oneStep = outcome(
        validateRequest(parseMessage(text) as SipRequest, { role: 'registrar', strict: false }),
      );
      const req = parseMessage(text) as SipRequest;
      const proxy = validateRequest(req, { role: 'proxy', strict: false });
      const twoSteps = proxy.action === 'accept' ? outcome(validateRegisterAfterProxy(req)) : outcome(proxy);
      assert.equal(twoSteps, oneStep, JSON.stringify(text.split('\r\n').slice(7, -3)));
    }
  });

  test('lenient mode ignores malformed headers the role does not need (§8.2.2)', () => {
    const text = request('OPTIONS', ['Date: yesterday']);
    assert.equal(outcome(inspect(text).verdict), '400 Bad Date header');
    assert.equal(outcome(inspect(text, { strict: false }).verdict), 'accept');
  });

  test('a header line without a colon and a bad header name are 400', () => {
    assert.equal(outcome(inspect(request('OPTIONS', ['Foobar roobar'])).verdict), '400 Bad Header Line');
    assert.equal(outcome(inspect(request('OPTIONS', ['Bad Name: x'])).verdict), '400 Bad Header Line');
  });

  test('a bare CR inside a header value is 400 naming the header, folded lines are fine', () => {
    const bare = inspect(request('OPTIONS', ['Subject: one\rtwo'])).verdict;
    assert.equal(outcome(bare), '400 Bad Subject header');
    assert.ok(
      bare.action === 'reject' && /bare CR/.test(bare.detail),
      `detail names the CR: ${JSON.stringify(bare)}`,
    );
    assert.equal(outcome(inspect(request('OPTIONS', ['Subject: one\r\n two'])).verdict), 'accept');
    const made = parseMessage(request('OPTIONS')) as SipRequest;
    made.setHeader('Subject', 'a\rb');
    assert.equal(outcome(validateRequest(made)), '400 Bad Subject header');
  });

  test('a header name that is not a token is never put in the reason: the status line must stay one line', () => {
    for (const name of ['Sub\rject', 'Sub\x00ject', 'Sub ject']) {
      const v = inspect(request('OPTIONS', [`${name}: one\rtwo`])).verdict;
      assert.equal(outcome(v), '400 Bad Header Line', JSON.stringify(name));
    }
    // Whatever reason code gives a response, its status line ends at its CRLF.
    const res = createResponse(
      parseMessage(request('OPTIONS')) as SipRequest,
      400,
      'Bad\r\nVia: x\x00 header',
    );
    assert.equal(res.reason, 'Bad  Via: x  header');
    const wire = res.toBuffer().toString('latin1');
    assert.equal(wire.split('\r\n')[0], 'SIP/2.0 400 Bad  Via: x  header');
    res.reason = 'Still\nbad';
    assert.equal(res.toBuffer().toString('latin1').split('\r\n')[0], 'SIP/2.0 400 Still bad');
  });

  test('parse errors map to the RFC response, responses are dropped', () => {
    assert.equal(outcome(inspect('OPTIONS sip:a@b.com SIP/2.0\r\nVia: x\r\n').verdict), '400 Bad Request');
    assert.equal(inspect('SIP/2.0 2000 OK\r\n\r\n').verdict.action, 'drop');
    const big = inspect(request('OPTIONS'), { limits: { maxMessageSize: 50 } }).verdict;
    assert.equal(outcome(big), '513 Message Too Large');
  });

  test('validateRequest works on a message made by code', () => {
    const m = parseMessage(request('OPTIONS')) as SipRequest;
    m.setHeader('CSeq', '2 INVITE');
    assert.equal(outcome(validateRequest(m)), '400 CSeq method does not match');
  });
});

describe('response validation (RFC 3261 §8.1.3, §16.7)', () => {
  const response = (vias: string[]) =>
    crlf(
      'SIP/2.0 200 OK',
      ...vias.map((v) => `Via: ${v}`),
      'To: <sip:b@c.com>;tag=2',
      'From: <sip:a@c.com>;tag=1',
      'Call-ID: x',
      'CSeq: 1 INVITE',
      'Content-Length: 0',
      '',
      '',
    );

  test('a UAC drops a response with more than one Via', () => {
    const r = parseMessage(
      response(['SIP/2.0/UDP a.com;branch=z9hG4bK1', 'SIP/2.0/UDP b.com;branch=z9hG4bK2']),
    );
    assert.equal(validateResponse(r as never).action, 'drop');
    assert.equal(validateResponse(r as never, { role: 'proxy' }).action, 'accept');
  });

  test('a proxy drops a response bound for a broadcast address', () => {
    const r = parseMessage(
      response(['SIP/2.0/UDP a.com;branch=z9hG4bK1', 'SIP/2.0/UDP 255.255.255.255;branch=z9hG4bK2']),
    );
    assert.equal(validateResponse(r as never, { role: 'proxy' }).action, 'drop');
  });

  test('a lenient proxy passes on a response whose Record-Route it does not read; an endpoint drops it', () => {
    const text = response(['SIP/2.0/UDP a.com;branch=z9hG4bK1', 'SIP/2.0/UDP b.com;branch=z9hG4bK2']).replace(
      'Content-Length: 0',
      'Record-Route: <sip:p1.example.com;lr>, <bad uri>\r\nContent-Length: 0',
    );
    const r = parseMessage(text);
    assert.equal(validateResponse(r as never, { role: 'proxy', strict: false }).action, 'accept');
    assert.equal(validateResponse(r as never, { strict: false }).action, 'drop');
    const badVia = parseMessage(text.replace('SIP/2.0/UDP b.com;', 'SIP/2.0/UDP b.com:99999;'));
    assert.equal(validateResponse(badVia as never, { role: 'proxy', strict: false }).action, 'drop');
  });

  test('a response missing a mandatory header is dropped', () => {
    const text = response(['SIP/2.0/UDP a.com;branch=z9hG4bK1']).replace('Call-ID: x\r\n', '');
    const v = inspect(text).verdict;
    assert.ok(v.action === 'drop' && /Call-ID/.test(v.reason), JSON.stringify(v));
  });
});
