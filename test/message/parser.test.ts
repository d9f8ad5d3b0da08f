import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseMessage, SipParseError, type SipRequest, type SipResponse } from '../../src/index.js';

const crlf = (...lines: string[]) => lines.join('\r\n');
const REQ = crlf(
  'OPTIONS sip:carol@chicago.com SIP/2.0',
  'Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKhjhs8ass877',
  'Max-Forwards: 70',
  'To: <sip:carol@chicago.com>',
  'From: Alice <sip:alice@atlanta.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710',
  'CSeq: 63104 OPTIONS',
  'Contact: <sip:alice@pc33.atlanta.com>',
  'Accept: application/sdp',
  'Content-Length: 0',
  '',
  '',
);

function parseError(data: string | Buffer, opts?: Parameters<typeof parseMessage>[1]): SipParseError {
  try {
    parseMessage(data, opts);
  } catch (e) {
    assert.ok(e instanceof SipParseError, `threw ${String(e)}`);
    return e;
  }
  assert.fail('no error');
}

describe('start line (RFC 3261 §7.1, §7.2)', () => {
  test('request line', () => {
    const m = parseMessage(REQ) as SipRequest;
    assert.equal(m.isRequest, true);
    assert.equal(m.method, 'OPTIONS');
    assert.equal(m.uri.toString(), 'sip:carol@chicago.com');
    assert.equal(m.version, 'SIP/2.0');
  });

  test('status line, reason phrase with spaces', () => {
    const m = parseMessage(crlf('SIP/2.0 404 Not Found Here', 'Content-Length: 0', '', '')) as SipResponse;
    assert.equal(m.status, 404);
    assert.equal(m.reason, 'Not Found Here');
  });

  test('leading CRLFs before the start line are ignored (§7.5)', () => {
    assert.equal((parseMessage(`\r\n\r\n${REQ}`) as SipRequest).method, 'OPTIONS');
  });

  const bad: Array<[string, string, number]> = [
    ['OPTIONS sip:a@b  SIP/2.0', 'SIP_ERR_START_LINE', 15],
    ['OPTIONS sip:a@b', 'SIP_ERR_START_LINE', 15],
    ['OPTIONS sip:a@b HTTP/1.1', 'SIP_ERR_VERSION', 16],
    ['OPT<IONS sip:a@b SIP/2.0', 'SIP_ERR_START_LINE', 3],
    ['SIP/2.0 20 OK', 'SIP_ERR_STATUS_CODE', 8],
    ['SIP/2.0 2000 OK', 'SIP_ERR_STATUS_CODE', 8],
    ['SIP/2.0 099 Odd', 'SIP_ERR_STATUS_CODE', 8],
    ['SIP/2.0  200 OK', 'SIP_ERR_START_LINE', 8],
    ['SIP/2 200 OK', 'SIP_ERR_VERSION', 0],
  ];
  for (const [line, code, offset] of bad) {
    test(`${JSON.stringify(line)} is ${code} at byte ${offset}`, () => {
      const e = parseError(crlf(line, 'Content-Length: 0', '', ''));
      assert.equal(e.code, code);
      assert.equal(e.offset, offset);
      assert.equal(e.status, 400);
    });
  }
});

describe('header fields (RFC 3261 §7.3)', () => {
  test('names are matched in any letter case, and only whole names match', () => {
    const m = parseMessage(
      crlf(
        'OPTIONS sip:bob@biloxi.com SIP/2.0',
        'VIA: SIP/2.0/UDP a.example.com;branch=z9hG4bK1',
        'mAX-fORWARDS: 7',
        'from: <sip:alice@atlanta.com>;tag=1',
        'TO: <sip:bob@biloxi.com>',
        'call-id: abc@host',
        'cseq: 1 OPTIONS',
        'Max-Forwardz: 9',
        'Max\rForwards: 3',
        'Contentlength: 12',
        'content-LENGTH: 0',
        '',
        '',
      ),
    );
    assert.equal(m.topVia?.branch, 'z9hG4bK1', 'VIA in capitals is Via');
    assert.equal(m.maxForwards, 7, 'mAX-fORWARDS is Max-Forwards, and the look-alikes below it are not');
    assert.equal(m.callId, 'abc@host', 'call-id in lower case is Call-ID');
    assert.equal(m.fields('Max-Forwards').length, 1, 'one Max-Forwards: misspelt names are other headers');
    assert.equal(m.fields('Content-Length').length, 1, "a name without its '-' is another header");
    assert.equal(m.headers.filter((f) => f.id === 0).length, 3, 'three unknown headers');
  });

  test('compact forms name the same headers', () => {
    const m = parseMessage(
      crlf(
        'INVITE sip:bob@biloxi.com SIP/2.0',
        'v: SIP/2.0/UDP a.example.com;branch=z9hG4bK1',
        'f: <sip:alice@atlanta.com>;tag=1',
        't: <sip:bob@biloxi.com>',
        'i: abc@host',
        'CSeq: 1 INVITE',
        'm: <sip:alice@a.example.com>',
        'c: application/sdp',
        'e: identity',
        'k: 100rel',
        's: hello',
        'o: presence',
        'u: dialog',
        'r: <sip:carol@c.com>',
        'b: <sip:dave@d.com>',
        'x: 1800;refresher=uac',
        'y: abc',
        'a: *;audio',
        'j: *;video',
        'd: proxy',
        'l: 3',
        '',
        'v=0',
      ),
    );
    assert.equal(m.topVia?.branch, 'z9hG4bK1');
    assert.equal(m.from?.tag, '1');
    assert.equal(m.callId, 'abc@host');
    assert.equal(m.contentType?.essence, 'application/sdp');
    assert.deepEqual(m.supported, ['100rel']);
    assert.equal(m.get('Subject'), 'hello');
    assert.equal(m.get('Content-Encoding'), 'identity');
    assert.equal(m.get('Event'), 'presence');
    assert.equal(m.get('Allow-Events'), 'dialog');
    assert.equal(m.get('Refer-To'), '<sip:carol@c.com>');
    assert.equal(m.get('Referred-By'), '<sip:dave@d.com>');
    assert.equal((m.parsed('Session-Expires') as { refresher: string }).refresher, 'uac');
    assert.equal(m.get('Identity'), 'abc');
    assert.equal(m.get('Accept-Contact'), '*;audio');
    assert.equal(m.get('Reject-Contact'), '*;video');
    assert.equal(m.get('Request-Disposition'), 'proxy');
    assert.equal(m.body.toString(), 'v=0');
  });

  test('several values on one line and the same header on several lines', () => {
    const m = parseMessage(
      crlf(
        'SIP/2.0 200 OK',
        'Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/TCP b.example.com;branch=z9hG4bK2',
        'Via: SIP/2.0/UDP c.example.com;branch=z9hG4bK3',
        'Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>',
        'Record-Route: <sip:p3.example.com;lr>',
        'Allow: INVITE, ACK',
        'Allow: BYE',
        'Content-Length: 0',
        '',
        '',
      ),
    );
    assert.deepEqual(
      m.via.map((v) => v.branch),
      ['z9hG4bK1', 'z9hG4bK2', 'z9hG4bK3'],
    );
    assert.deepEqual(
      m.recordRoute.map((r) => r.uri.toString()),
      ['sip:p1.example.com;lr', 'sip:p2.example.com;lr', 'sip:p3.example.com;lr'],
    );
    assert.deepEqual(m.getAll('Allow'), ['INVITE', 'ACK', 'BYE']);
    assert.deepEqual(m.parsed('Allow'), ['INVITE', 'ACK', 'BYE']);
    assert.equal(m.get('Via'), 'SIP/2.0/UDP a.example.com;branch=z9hG4bK1');
  });

  test('commas inside quoted strings and <> do not split values', () => {
    const m = parseMessage(
      crlf(
        'SIP/2.0 200 OK',
        'Contact: "Smith, John" <sip:j@a.com;x=1,2>, <sip:k@b.com>',
        'Content-Length: 0',
        '',
        '',
      ),
    );
    assert.deepEqual(m.getAll('Contact'), ['"Smith, John" <sip:j@a.com;x=1,2>', '<sip:k@b.com>']);
  });

  test('folded header values read as one line', () => {
    const m = parseMessage(
      crlf(
        'OPTIONS sip:a@b.com SIP/2.0',
        'Subject: one',
        '  two',
        '\tthree',
        'Via: SIP/2.0/UDP',
        ' h.example.com;branch=z9hG4bKx',
        'Content-Length: 0',
        '',
        '',
      ),
    );
    assert.equal(m.get('Subject'), 'one two three');
    assert.equal(m.topVia?.host, 'h.example.com');
  });

  test('header names are case-insensitive, with optional whitespace before the colon', () => {
    const m = parseMessage(
      crlf('OPTIONS sip:a@b.com SIP/2.0', 'cALL-iD  : x@y', 'MAX-FORWARDS:7', 'Content-Length: 0', '', ''),
    );
    assert.equal(m.callId, 'x@y');
    assert.equal(m.maxForwards, 7);
  });

  test('unknown headers keep their bytes', () => {
    const m = parseMessage(
      crlf('OPTIONS sip:a@b.com SIP/2.0', 'X-Weird : ;;,, "a" <b>', 'Content-Length: 0', '', ''),
    );
    assert.equal(m.get('x-weird'), ';;,, "a" <b>');
    assert.equal(m.headers[0]?.raw, 'X-Weird : ;;,, "a" <b>');
  });

  test('a continuation line with nothing above it is an error', () => {
    const e = parseError(crlf('OPTIONS sip:a@b.com SIP/2.0', ' folded', 'Content-Length: 0', '', ''));
    assert.equal(e.code, 'SIP_ERR_HEADER_LINE');
  });

  test('lines ended by a bare LF are accepted', () => {
    const m = parseMessage(REQ.replace(/\r\n/g, '\n'));
    assert.equal(m.callId, 'a84b4c76e66710');
    assert.equal(m.crlf, false);
  });
});

describe('body framing (RFC 3261 §7.4, §18.3)', () => {
  const withBody = (cl: string, body: string) =>
    crlf('MESSAGE sip:a@b.com SIP/2.0', 'Content-Type: text/plain', `Content-Length: ${cl}`, '', body);

  test('Content-Length counts octets, not characters', () => {
    const m = parseMessage(Buffer.from(withBody('6', 'héllo'), 'utf8'));
    assert.equal(m.body.toString('utf8'), 'héllo');
  });

  test('octets after the body are ignored in a datagram', () => {
    assert.equal(parseMessage(withBody('2', 'hello')).body.toString(), 'he');
  });

  test('without Content-Length the body is the rest of the datagram (RFC 2543)', () => {
    const m = parseMessage(crlf('MESSAGE sip:a@b.com SIP/2.0', 'Content-Type: text/plain', '', 'hi there'));
    assert.equal(m.body.toString(), 'hi there');
  });

  test('on a stream Content-Length is required and must match', () => {
    assert.equal(
      parseError(crlf('MESSAGE sip:a@b.com SIP/2.0', '', 'x'), { framing: 'stream' }).code,
      'SIP_ERR_CONTENT_LENGTH_REQUIRED',
    );
    assert.equal(parseError(withBody('2', 'hello'), { framing: 'stream' }).code, 'SIP_ERR_CONTENT_LENGTH');
  });

  const badLengths: Array<[string, RegExp]> = [
    ['-1', /not a number/],
    ['five', /not a number/],
    ['99', /exceeds the 5 bytes/],
    ['12345678901', /larger than 2\^32-1/],
    ['', /empty Content-Length/],
  ];
  for (const [cl, re] of badLengths) {
    test(`Content-Length ${JSON.stringify(cl)} is rejected`, () => {
      const e = parseError(withBody(cl, 'hello'));
      assert.equal(e.code, 'SIP_ERR_CONTENT_LENGTH');
      assert.match(e.message, re);
      assert.equal(e.header, 'Content-Length');
    });
  }

  test('conflicting Content-Length values', () => {
    const e = parseError(crlf('MESSAGE sip:a@b.com SIP/2.0', 'Content-Length: 1', 'l: 2', '', 'ab'));
    assert.match(e.message, /conflicting Content-Length values 1 and 2/);
  });

  test('a header section with no empty line', () => {
    assert.equal(
      parseError('OPTIONS sip:a@b.com SIP/2.0\r\nVia: x\r\n').code,
      'SIP_ERR_HEADERS_UNTERMINATED',
    );
  });

  test('nothing but CRLFs is no message', () => {
    assert.equal(parseError('\r\n\r\n').code, 'SIP_ERR_EMPTY');
    assert.equal(parseError('').code, 'SIP_ERR_EMPTY');
  });

  test('a body is a Buffer and may hold any octet', () => {
    const body = Buffer.from([0, 1, 2, 13, 10, 13, 10, 255]);
    const head = Buffer.from(crlf('MESSAGE sip:a@b.com SIP/2.0', `Content-Length: ${body.length}`, '', ''));
    const m = parseMessage(Buffer.concat([head, body]));
    assert.deepEqual([...m.body], [...body]);
  });
});

describe('limits', () => {
  test('message size (513)', () => {
    const e = parseError(REQ, { limits: { maxMessageSize: 100 } });
    assert.equal(e.code, 'SIP_ERR_MESSAGE_TOO_LARGE');
    assert.equal(e.status, 513);
  });

  test('header count (513)', () => {
    const e = parseError(REQ, { limits: { maxHeaders: 3 } });
    assert.equal(e.code, 'SIP_ERR_TOO_MANY_HEADERS');
    assert.equal(e.status, 513);
  });

  test('header line length (513), offset at the field', () => {
    const e = parseError(REQ, { limits: { maxHeaderLineLength: 40 } });
    assert.equal(e.code, 'SIP_ERR_HEADER_TOO_LONG');
    assert.equal(e.offset, REQ.indexOf('Via:'));
  });

  test('Via count', () => {
    const vias = Array.from({ length: 5 }, (_, i) => `Via: SIP/2.0/UDP h${i}.example.com;branch=z9hG4bK${i}`);
    const e = parseError(crlf('OPTIONS sip:a@b.com SIP/2.0', ...vias, 'Content-Length: 0', '', ''), {
      limits: { maxVias: 4 },
    });
    assert.equal(e.code, 'SIP_ERR_TOO_MANY_VIAS');
  });

  test('Via values on one line count too', () => {
    const line = `Via: ${Array.from({ length: 6 }, (_, i) => `SIP/2.0/UDP h${i}.example.com`).join(', ')}`;
    const m = parseMessage(crlf('OPTIONS sip:a@b.com SIP/2.0', line, 'Content-Length: 0', '', ''), {
      limits: { maxVias: 4 },
    });
    assert.throws(
      () => m.via,
      (e: unknown) => e instanceof SipParseError && /more than 4 values/.test(e.message),
    );
  });

  test('body size (413)', () => {
    const e = parseError(crlf('MESSAGE sip:a@b.com SIP/2.0', 'Content-Length: 10', '', '0123456789'), {
      limits: { maxBodySize: 5 },
    });
    assert.equal(e.code, 'SIP_ERR_BODY_TOO_LARGE');
    assert.equal(e.status, 413);
  });

  test('limits must be positive integers', () => {
    assert.throws(() => parseMessage(REQ, { limits: { maxHeaders: 0 } }), RangeError);
  });
});
