import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseMessage, type SipRequest, type Source } from '../../src/index.js';
import { parseUri, type SipUri } from '../../src/message/uri.js';
import { addressOfRecord, contactKey, Registrar } from '../../src/server/registrar.js';
import { MemoryLocationStore } from '../../src/server/store/memory.js';

const source: Source = {
  transport: 'udp',
  address: '198.51.100.7',
  port: 5062,
  localAddress: '127.0.0.1',
  localPort: 5060,
  connection: undefined,
};

function req(callId: string, cseq: number, contacts: string[], extra: string[] = []): SipRequest {
  return parseMessage(
    [
      'REGISTER sip:example.test SIP/2.0',
      'Via: SIP/2.0/UDP 198.51.100.7:5062;branch=z9hG4bK-r',
      'To: <sip:alice@Example.TEST>',
      'From: <sip:alice@example.test>;tag=1',
      `Call-ID: ${callId}`,
      `CSeq: ${cseq} REGISTER`,
      ...contacts.map((c) => `Contact: ${c}`),
      ...extra,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  ) as SipRequest;
}

const AOR = 'sip:alice@example.test';

describe('registrar (RFC 3261 §10.3)', () => {
  test('the AOR is canonical; equal contact URIs share a key (§19.1.4)', () => {
    assert.equal(
      addressOfRecord(parseUri('sip:alice@Example.TEST;transport=tcp') as SipUri),
      AOR,
      'canonical AOR',
    );
    assert.equal(
      contactKey(parseUri('sip:%61lice@HOST.example:5060;transport=TCP;foo=bar')),
      contactKey(parseUri('sip:alice@host.example:5060;transport=tcp')),
      'equal URIs, same key',
    );
    assert.notEqual(
      contactKey(parseUri('sip:alice@host.example')),
      contactKey(parseUri('sip:alice@host.example:5060')),
      'an explicit port differs (§19.1.4)',
    );
  });

  test('expiry from the contact, then the header, then the default; q and Path kept; listed in the 200', async () => {
    let now = 1_000_000;
    const r = new Registrar(new MemoryLocationStore(), { now: () => now, defaultExpires: 3600 });
    const res = await r.register(
      req(
        'c1',
        1,
        ['<sip:a@192.0.2.1>;expires=120;q=0.5', '<sip:a@192.0.2.2>'],
        ['Expires: 300', 'Path: <sip:edge.example.test;lr>'],
      ),
      AOR,
      source,
    );
    assert.equal(res.status, 200, '200');
    const contacts = res.headers.filter(([n]) => n === 'Contact').map(([, v]) => String(v));
    assert.deepEqual(
      contacts.sort(),
      ['<sip:a@192.0.2.1>;expires=120;q=0.5', '<sip:a@192.0.2.2>;expires=300'].sort(),
      'both',
    );
    assert.ok(
      res.headers.some(([n, v]) => n === 'Path' && v === '<sip:edge.example.test;lr>'),
      'Path echoed',
    );
    now += 121_000;
    const later = await r.register(req('c1', 2, []), AOR, source);
    assert.equal(later.bindings.length, 1, 'the 120 s binding expired');
    assert.deepEqual(later.bindings[0]?.path, ['<sip:edge.example.test;lr>'], 'Path stored');
  });

  test('same Call-ID with a CSeq not higher fails; another Call-ID replaces (§10.3 item 7)', async () => {
    const r = new Registrar(new MemoryLocationStore());
    assert.equal((await r.register(req('c1', 5, ['<sip:a@192.0.2.1>']), AOR, source)).status, 200, 'first');
    assert.equal(
      (await r.register(req('c1', 5, ['<sip:a@192.0.2.1>;expires=0']), AOR, source)).status,
      500,
      'replayed CSeq',
    );
    assert.equal(
      (await r.register(req('c1', 4, ['<sip:a@192.0.2.1>;expires=0']), AOR, source)).status,
      500,
      'older CSeq',
    );
    const other = await r.register(req('c2', 1, ['<sip:a@192.0.2.1>;expires=0']), AOR, source);
    assert.equal(other.status, 200, 'a new Call-ID may remove it');
    assert.equal(other.bindings.length, 0, 'removed');
  });

  test('RFC 5626: the same instance and reg-id replace the old flow; another reg-id adds one', async () => {
    const r = new Registrar(new MemoryLocationStore());
    const inst = '+sip.instance="<urn:uuid:aaaa>"';
    await r.register(req('c1', 1, [`<sip:a@192.0.2.1>;${inst};reg-id=1`]), AOR, source);
    const moved = await r.register(req('c2', 1, [`<sip:a@192.0.2.99>;${inst};reg-id=1`]), AOR, {
      ...source,
      port: 6000,
    });
    assert.equal(moved.bindings.length, 1, 'replaced, not added');
    assert.equal(moved.bindings[0]?.contact, 'sip:a@192.0.2.99', 'new contact');
    assert.equal(moved.bindings[0]?.flow?.port, 6000, 'new flow');
    assert.ok(
      moved.headers.some(([n, v]) => n === 'Require' && v === 'outbound'),
      'Require: outbound',
    );
    const two = await r.register(req('c3', 1, [`<sip:a@192.0.2.5>;${inst};reg-id=2`]), AOR, source);
    assert.equal(two.bindings.length, 2, 'a second flow');
  });

  test('Contact * removes everything; too many contacts are refused', async () => {
    const r = new Registrar(new MemoryLocationStore(), { maxContacts: 2 });
    await r.register(req('c1', 1, ['<sip:a@192.0.2.1>', '<sip:a@192.0.2.2>']), AOR, source);
    const third = await r.register(req('c1', 2, ['<sip:a@192.0.2.3>']), AOR, source);
    assert.equal(third.status, 403, 'over the limit');
    const star = await r.register(req('c9', 1, ['*'], ['Expires: 0']), AOR, source);
    assert.equal(star.status, 200, '* accepted');
    assert.equal(star.bindings.length, 0, 'all gone');
  });

  test('requests for one AOR are handled one at a time', async () => {
    const r = new Registrar(new MemoryLocationStore());
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        r.register(req('same', i + 1, [`<sip:a@192.0.2.${i + 1}>`]), AOR, source),
      ),
    );
    assert.ok(
      results.every((x) => x.status === 200),
      'all in CSeq order succeed',
    );
    assert.equal(results.at(-1)?.bindings.length, 20, 'every contact bound');
  });
});

describe('SIPS contacts (RFC 5630 §5.2)', () => {
  const sipsReq = (ruri: string, contacts: string[], extra: string[] = []) =>
    parseMessage(
      req('sips-1', 1, contacts, extra)
        .toString()
        .replace('REGISTER sip:example.test SIP/2.0', `REGISTER ${ruri} SIP/2.0`),
    ) as SipRequest;

  test('a SIPS Contact is bound only with a SIPS Request-URI, SIPS Contacts and SIPS Path', async () => {
    const r = new Registrar(new MemoryLocationStore());
    const cases: Array<[string, string[], string[], number, string]> = [
      ['sip:example.test', ['<sips:alice@198.51.100.7>'], [], 400, 'SIP Request-URI'],
      ['sips:example.test', ['<sips:alice@198.51.100.7>', '<sip:alice@198.51.100.7>'], [], 400, 'mixed'],
      [
        'sips:example.test',
        ['<sips:alice@198.51.100.7>'],
        ['Path: <sip:edge.example.test;lr>'],
        400,
        'SIP Path',
      ],
      [
        'sips:example.test',
        ['<sips:alice@198.51.100.7>'],
        ['Path: <sips:edge.example.test;lr>'],
        200,
        'all SIPS',
      ],
      ['sip:example.test', ['<sip:alice@198.51.100.8>'], [], 200, 'all SIP'],
    ];
    for (const [ruri, contacts, extra, status, what] of cases) {
      const res = await r.register(sipsReq(ruri, contacts, extra), AOR, source);
      assert.equal(res.status, status, `${what}: ${res.status} ${res.reason}`);
      if (status === 400) assert.match(res.reason, /SIPS/, `${what}: the reason names SIPS`);
    }
  });
});
