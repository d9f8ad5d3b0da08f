import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  createResponse,
  NameAddr,
  Params,
  parseMessage,
  parseSipUri,
  type SipMessage,
  SipRequest,
  SipResponse,
  Via,
} from '../../src/index.js';

const crlf = (...lines: string[]) => lines.join('\r\n');
const INVITE = crlf(
  'INVITE sip:bob@biloxi.com SIP/2.0',
  'Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8',
  'Max-Forwards: 70',
  'Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>',
  'To: Bob <sip:bob@biloxi.com>',
  'From: Alice <sip:alice@atlanta.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710',
  'CSeq: 314159 INVITE',
  'X-Odd-Spacing :   kept   as   is',
  'Subject: folded',
  '  line',
  'Contact: <sip:alice@pc33.atlanta.com>',
  'Content-Type: application/sdp',
  'Content-Length: 4',
  '',
  'v=0\n',
).replace('v=0\n', 'v=0\n');

describe('serializer', () => {
  test('an unchanged message is written back byte for byte', () => {
    const m = parseMessage(INVITE);
    assert.equal(m.toBuffer().toString('latin1'), INVITE);
  });

  test('proxy edits touch only what they change (RFC 3261 §16.6)', () => {
    const m = parseMessage(INVITE) as SipRequest;
    m.prependHeader('Via', new Via('UDP', 'proxy.example.com', 5060, Params.from({ branch: 'z9hG4bKp1' })));
    m.decrementMaxForwards();
    m.removeFirstValue('Route');
    m.prependHeader('Record-Route', '<sip:proxy.example.com;lr>');
    m.uri = parseSipUri('sip:bob@192.0.2.4');
    const out = m.toBuffer().toString('latin1');
    assert.equal(
      out,
      crlf(
        'INVITE sip:bob@192.0.2.4 SIP/2.0',
        'Record-Route: <sip:proxy.example.com;lr>',
        'Via: SIP/2.0/UDP proxy.example.com:5060;branch=z9hG4bKp1',
        'Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8',
        'Max-Forwards: 69',
        'Route: <sip:p2.example.com;lr>',
        'To: Bob <sip:bob@biloxi.com>',
        'From: Alice <sip:alice@atlanta.com>;tag=1928301774',
        'Call-ID: a84b4c76e66710',
        'CSeq: 314159 INVITE',
        'X-Odd-Spacing :   kept   as   is',
        'Subject: folded',
        '  line',
        'Contact: <sip:alice@pc33.atlanta.com>',
        'Content-Type: application/sdp',
        'Content-Length: 4',
        '',
        'v=0\n',
      ),
    );
    // The edited message parses back with the meaning of the edits.
    const back = parseMessage(out) as SipRequest;
    assert.equal(back.via.length, 2);
    assert.equal(back.topVia?.branch, 'z9hG4bKp1');
    assert.equal(back.maxForwards, 69);
    assert.equal(back.route.length, 1);
  });

  test('wireLength() is the length toBuffer() writes', () => {
    const lf = 'OPTIONS sip:b@example.com SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK2\nSubject: a\n b\n\n';
    for (const m of [parseMessage(INVITE), parseMessage(lf), new SipResponse({ status: 486 })]) {
      assert.equal(m.wireLength(), m.toBuffer().length);
      m.appendHeader('X-Long', 'x'.repeat(300));
      m.body = Buffer.from('é body');
      assert.equal(m.wireLength(), m.toBuffer().length);
    }
  });

  test('Content-Length follows the body', () => {
    const m = parseMessage(INVITE);
    m.body = Buffer.from('v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n');
    const back = parseMessage(m.toBuffer());
    assert.equal(back.contentLength, m.body.length);
    assert.equal(back.body.toString(), m.body.toString());
  });

  test('a Content-Length amid the header fields is kept as written, or rewritten in its place for a new body', () => {
    const text = crlf(
      'MESSAGE sip:a@b.com SIP/2.0',
      'Via: SIP/2.0/UDP h;branch=z9hG4bK9',
      'l:   5',
      'Content-Type: text/plain',
      'Call-ID: c1',
      '',
      'hello',
    );
    const m = parseMessage(text);
    assert.equal(m.toBuffer().toString('latin1'), text, 'unchanged: byte for byte');
    const edited = m.clone();
    edited.prependHeader('Via', 'SIP/2.0/UDP p;branch=z9hG4bK8');
    assert.equal(
      edited.toBuffer().toString('latin1'),
      text.replace('\r\nVia:', '\r\nVia: SIP/2.0/UDP p;branch=z9hG4bK8\r\nVia:'),
      'a field added above leaves the rest as written',
    );
    edited.body = Buffer.from('bye');
    assert.equal(
      edited.toBuffer().toString('latin1'),
      crlf(
        'MESSAGE sip:a@b.com SIP/2.0',
        'Via: SIP/2.0/UDP p;branch=z9hG4bK8',
        'Via: SIP/2.0/UDP h;branch=z9hG4bK9',
        'Content-Length: 3',
        'Content-Type: text/plain',
        'Call-ID: c1',
        '',
        'bye',
      ),
      'a new body: the Content-Length where it was',
    );
  });

  test('Content-Length is added to a message that had none (RFC 2543 datagram)', () => {
    const m = parseMessage(crlf('MESSAGE sip:a@b.com SIP/2.0', 'Content-Type: text/plain', '', 'hello'));
    assert.match(m.toString(), /Content-Length: 5\r\n\r\nhello$/);
  });

  test('bare-LF input is written with CRLF', () => {
    const m = parseMessage(INVITE.replace(/\r\n/g, '\n').replace('v=0\n', 'v=0\n'));
    const out = m.toBuffer().toString('latin1');
    assert.equal(
      out.split('\r\n\r\n')[0]!.includes('\n') && !/[^\r]\n/.test(out.split('\r\n\r\n')[0]!),
      true,
    );
  });

  test('new messages are written canonically', () => {
    const r = new SipRequest({
      method: 'OPTIONS',
      uri: 'sip:carol@chicago.com',
      headers: [
        ['Via', 'SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKhjhs8ass877'],
        ['Max-Forwards', 70],
        ['To', new NameAddr('sip:carol@chicago.com')],
        ['From', new NameAddr('sip:alice@atlanta.com', 'Alice', { tag: '1928301774' })],
        ['Call-ID', 'a84b4c76e66710'],
        ['CSeq', '63104 OPTIONS'],
        ['Subject', 'Grüße'],
      ],
    });
    const text = r.toString();
    assert.equal(
      text,
      crlf(
        'OPTIONS sip:carol@chicago.com SIP/2.0',
        'Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKhjhs8ass877',
        'Max-Forwards: 70',
        'To: <sip:carol@chicago.com>',
        'From: "Alice" <sip:alice@atlanta.com>;tag=1928301774',
        'Call-ID: a84b4c76e66710',
        'CSeq: 63104 OPTIONS',
        'Subject: Grüße',
        'Content-Length: 0',
        '',
        '',
      ),
    );
    const back = parseMessage(r.toBuffer());
    assert.equal(back.get('Subject'), 'Grüße');
    assert.equal(back.from?.displayName, 'Alice');
  });

  test('responses: status line rewritten only when changed', () => {
    const text = crlf(
      'SIP/2.0 180 Ringing',
      'Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1',
      'Content-Length: 0',
      '',
      '',
    );
    const r = parseMessage(text) as SipResponse;
    assert.equal(r.toString(), text);
    r.status = 183;
    r.reason = 'Session Progress';
    assert.match(r.toString(), /^SIP\/2\.0 183 Session Progress\r\n/);
    assert.equal(new SipResponse({ status: 486 }).toString().split('\r\n')[0], 'SIP/2.0 486 Busy Here');
  });

  test('header edits: set, append, remove, replace first value', () => {
    const m = parseMessage(INVITE);
    m.setHeader('Subject', 'new');
    assert.equal(m.get('Subject'), 'new');
    m.appendHeader('X-Trace', 'a');
    m.appendHeader('X-Trace', 'b');
    assert.deepEqual(m.getAll('x-trace'), ['a', 'b']);
    assert.equal(m.removeHeader('X-Trace'), 2);
    m.replaceFirstValue('Route', '<sip:p9.example.com;lr>');
    assert.deepEqual(m.getAll('Route'), ['<sip:p9.example.com;lr>', '<sip:p2.example.com;lr>']);
    const copy = m.clone();
    copy.setHeader('Max-Forwards', 1);
    assert.equal(m.maxForwards, 70);
    assert.equal(copy.maxForwards, 1);
  });
});

describe('sleeping messages', () => {
  // A message kept only while its transaction lingers sleeps: its fields become one string.
  const wire = (m: SipMessage) => m.toBuffer().toString('latin1');

  test('a parsed message writes the same bytes asleep, and reads the same values when it wakes', () => {
    const m = parseMessage(INVITE) as SipRequest;
    const fields = m.headers;
    m.sleep();
    assert.equal(wire(m), INVITE, 'byte for byte: folding, odd spacing and body included');
    assert.notEqual(m.headers, fields, 'the fields were split again');
    assert.equal(m.from?.tag, '1928301774');
    assert.equal(m.cseq?.seq, 314159);
    assert.equal(m.topVia?.branch, 'z9hG4bKnashds8');
    assert.deepEqual(m.getAll('Route'), ['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>']);
    assert.equal(m.get('Subject'), 'folded line');
    assert.equal(m.uri.toString(), 'sip:bob@biloxi.com');
    m.decrementMaxForwards();
    assert.match(wire(m), /\r\nMax-Forwards: 69\r\n/, 'an awake message takes edits again');
  });

  test('an edited message writes its edits asleep', () => {
    const m = parseMessage(INVITE) as SipRequest;
    m.prependHeader('Via', new Via('UDP', 'proxy.example.com', 5060, Params.from({ branch: 'z9hG4bKp1' })));
    m.decrementMaxForwards();
    m.removeFirstValue('Route');
    m.appendHeader('Record-Route', '<sip:proxy.example.com;lr>');
    m.uri = parseSipUri('sip:bob@192.0.2.4');
    const before = wire(m);
    m.sleep();
    assert.equal(wire(m), before);
  });

  test('a message put to sleep with the bytes it was just sent as sleeps as without them', () => {
    const edit = (m: SipRequest) => {
      m.decrementMaxForwards();
      m.appendHeader('Record-Route', '<sip:proxy.example.com;lr>');
      m.body = Buffer.from('v=0\r\no=- 1 1 IN IP4 \xe9\r\n', 'latin1');
    };
    const byText = parseMessage(INVITE) as SipRequest;
    edit(byText);
    byText.sleep();
    const byBytes = parseMessage(INVITE) as SipRequest;
    edit(byBytes);
    const sent = byBytes.toBuffer();
    byBytes.sleep(sent);
    assert.deepEqual(byBytes.toBuffer(), sent, 'the same bytes, asleep');
    assert.deepEqual(byBytes.toBuffer(), byText.toBuffer());
    assert.deepEqual(
      byBytes.body,
      Buffer.from('v=0\r\no=- 1 1 IN IP4 \xe9\r\n', 'latin1'),
      'the body, byte for byte',
    );
    assert.equal(byBytes.maxForwards, 69);
    assert.deepEqual(byBytes.getAll('Record-Route'), ['<sip:proxy.example.com;lr>']);
    const made = createResponse(byBytes, 200, 'OK', { toTag: 'a1' });
    const bytes = made.toBuffer();
    made.sleep(bytes);
    assert.deepEqual(made.toBuffer(), bytes, 'a response made here, asleep from its bytes');
    assert.equal(made.to?.tag, 'a1');
  });

  test('the start line is kept as it arrived, or as it is changed while asleep', () => {
    const bare = crlf(
      'SIP/2.0 200',
      'Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1',
      'Content-Length: 0',
      '',
      '',
    );
    const r = parseMessage(bare) as SipResponse;
    r.sleep();
    assert.equal(wire(r), bare, 'a status line without a reason stays so');
    const m = parseMessage(INVITE) as SipRequest;
    m.sleep();
    m.uri = parseSipUri('sip:bob@192.0.2.9');
    assert.match(wire(m), /^INVITE sip:bob@192\.0\.2\.9 SIP\/2\.0\r\nVia: /);
  });

  test('bare-LF input sleeps and is written with CRLF, as awake', () => {
    const lf =
      'OPTIONS sip:b@example.com SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK2\nSubject: a\n b\nContent-Length: 0\n\n';
    const awake = wire(parseMessage(lf));
    const m = parseMessage(lf);
    m.sleep();
    assert.equal(wire(m), awake);
  });

  test('the body sleeps in the text: read asleep, written asleep, whether it was read before or not', () => {
    for (const readFirst of [false, true]) {
      const m = parseMessage(Buffer.from(INVITE, 'latin1'));
      if (readFirst) assert.equal(m.body.toString(), 'v=0\n');
      m.sleep();
      assert.equal(m.bodyLength, 4);
      assert.equal(m.body.toString(), 'v=0\n', 'the body read from the sleeping text');
      assert.equal(wire(m), INVITE);
    }
    const m = parseMessage(INVITE);
    m.sleep();
    m.body = Buffer.from('v=1\r\n');
    assert.match(wire(m), /Content-Length: 5\r\n\r\nv=1\r\n$/, 'a body given while asleep replaces it');
  });

  test('slim() on a sleeping message picks the same fields as awake, and drops the body', () => {
    const awake = parseMessage(INVITE);
    awake.slim();
    const asleep = parseMessage(INVITE);
    asleep.sleep();
    asleep.slim();
    assert.equal(wire(asleep), wire(awake));
    assert.equal(asleep.bodyLength, 0);
    assert.deepEqual(
      asleep.headers.map((f) => f.name),
      ['Via', 'Route', 'To', 'From', 'Call-ID', 'CSeq'],
    );
  });

  test('a message with a line break inside a value given by code stays awake', () => {
    const m = new SipResponse({ status: 200, headers: [['X-Odd', 'a\r\nb']] });
    const fields = m.headers;
    m.sleep();
    assert.equal(m.headers, fields);
  });
});

describe('header index through reads and edits', () => {
  const text = [
    'INVITE sip:bob@biloxi.com SIP/2.0',
    'f: <sip:alice@atlanta.com>;tag=1',
    'Via: SIP/2.0/UDP a.example.com;branch=z9hG4bKa',
    'v: SIP/2.0/UDP b.example.com;branch=z9hG4bKb',
    'To: <sip:bob@biloxi.com>',
    'i: x@y',
    'CSeq: 1 INVITE',
    'Route: <sip:r1.example.com;lr>',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');

  test('lookups stay right after inserts and deletes, whatever was read before', () => {
    const m = parseMessage(text);
    assert.equal(m.from?.tag, '1');
    m.prependHeader('Via', 'SIP/2.0/UDP p.example.com;branch=z9hG4bKp');
    assert.equal(m.topVia?.host, 'p.example.com');
    assert.deepEqual(
      m.via.map((v) => v.host),
      ['p.example.com', 'a.example.com', 'b.example.com'],
    );
    assert.equal(m.removeFirstValue('Via'), true);
    assert.equal(m.topVia?.host, 'a.example.com');
    m.appendHeader('Route', '<sip:r2.example.com;lr>');
    assert.deepEqual(
      m.route.map((r) => r.uri.toString()),
      ['sip:r1.example.com;lr', 'sip:r2.example.com;lr'],
    );
    assert.equal(m.callId, 'x@y');
    m.removeHeader('Route');
    assert.equal(m.route.length, 0);
    m.appendHeader('Route', '<sip:r3.example.com;lr>');
    assert.equal(m.route[0]?.uri.toString(), 'sip:r3.example.com;lr');
    assert.equal(parseMessage(m.toBuffer()).via.length, 2);
  });

  test('a compact first field is found before a later full-name one', () => {
    const m = parseMessage(text.replace('f: <sip:alice@atlanta.com>;tag=1', 'X-Other: 1'));
    m.appendHeader('Via', 'SIP/2.0/UDP z.example.com;branch=z9hG4bKz');
    assert.equal(m.topVia?.host, 'a.example.com');
  });
});
