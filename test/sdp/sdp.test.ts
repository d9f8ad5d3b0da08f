import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  direction,
  ErrorCode,
  fmtp,
  mediaConnection,
  parseSdp,
  rtpMap,
  SdpError,
  type SessionDescription,
  serializeSdp,
} from '../../src/index.js';

const crlf = (...lines: string[]) => `${lines.join('\r\n')}\r\n`;

/** A plain two-party audio call description. */
const CALL = crlf(
  'v=0',
  'o=carol 7312 7312 IN IP4 198.51.100.23',
  's=-',
  'c=IN IP4 198.51.100.23',
  't=0 0',
  'm=audio 30000 RTP/AVP 8 0 101',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=ptime:20',
  'a=sendrecv',
);

/** Every line type, each where RFC 8866 §5 puts it, in canonical form. */
const FULL = crlf(
  'v=0',
  'o=dmitri 18446744073709551617 98765432109876543210 IN IP4 conf.example.net',
  's=Quarterly review',
  'i=Numbers and plans',
  'u=https://conf.example.net/q3',
  'e=dmitri@example.net (Dmitri K.)',
  'e=Ops Desk <ops@example.net>',
  'p=+44 20 7946 0321',
  'c=IN IP4 233.252.0.9/64',
  'b=CT:512',
  't=3900000000 3900007200',
  'r=7d 2h 0 1d',
  'r=86400 3600 0',
  't=3901000000 3901003600',
  'z=3905000000 -1h 3920000000 0',
  'a=tool:confplan 2.1',
  'a=recvonly',
  'm=audio 41000/2 RTP/AVP 96',
  'i=room audio',
  'b=AS:64',
  'a=rtpmap:96 L16/16000/2',
  'm=video 0 RTP/AVP 31',
  'm=application 42000 udp wb',
  'c=IN IP6 ff1e::4:8/3',
  'c=IN IP6 ff1e::4:20',
  'a=orient:portrait',
);

function sdpError(line: number, pattern: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof SdpError, `expected SdpError, got ${String(err)}`);
    assert.equal(err.code, ErrorCode.SDP, 'code');
    assert.equal(err.name, 'SdpError', 'name');
    assert.equal(err.line, line, `line number in: ${err.message}`);
    assert.match(err.message, pattern, 'message');
    if (line > 0)
      assert.ok(err.message.startsWith(`SDP line ${line}: `), `message names the line: ${err.message}`);
    return true;
  };
}

describe('parseSdp', () => {
  test('reads a two-party call description', () => {
    const sd = parseSdp(CALL);
    assert.equal(sd.version, 0, 'v=');
    assert.deepEqual(
      sd.origin,
      {
        username: 'carol',
        sessionId: '7312',
        sessionVersion: 7312n,
        netType: 'IN',
        addrType: 'IP4',
        address: '198.51.100.23',
      },
      'o=',
    );
    assert.equal(sd.sessionName, '-', 's=');
    assert.deepEqual(sd.connection, { netType: 'IN', addrType: 'IP4', address: '198.51.100.23' }, 'c=');
    assert.deepEqual(sd.timing, [{ start: 0n, stop: 0n, repeats: [] }], 't=');
    assert.equal(sd.media.length, 1, 'one m= section');
    const m = sd.media[0]!;
    assert.equal(m.type, 'audio', 'media type');
    assert.equal(m.port, 30000, 'port');
    assert.equal(m.portCount, undefined, 'no port count');
    assert.equal(m.proto, 'RTP/AVP', 'proto');
    assert.deepEqual(m.formats, ['8', '0', '101'], 'formats');
    assert.deepEqual(m.attributes.at(-2), { name: 'ptime', value: '20' }, 'value attribute');
    assert.deepEqual(m.attributes.at(-1), { name: 'sendrecv' }, 'property attribute');
  });

  test('reads every line type into its field', () => {
    const sd = parseSdp(FULL);
    assert.equal(sd.origin.sessionId, '18446744073709551617', 'session id beyond 2^64 kept as text');
    assert.equal(sd.origin.sessionVersion, 98765432109876543210n, 'version beyond 2^53 as bigint');
    assert.equal(sd.information, 'Numbers and plans', 'i=');
    assert.equal(sd.uri, 'https://conf.example.net/q3', 'u=');
    assert.deepEqual(sd.emails, ['dmitri@example.net (Dmitri K.)', 'Ops Desk <ops@example.net>'], 'e=');
    assert.deepEqual(sd.phones, ['+44 20 7946 0321'], 'p=');
    assert.deepEqual(
      sd.connection,
      { netType: 'IN', addrType: 'IP4', address: '233.252.0.9', ttl: 64 },
      'IP4 multicast with TTL',
    );
    assert.deepEqual(sd.bandwidths, [{ type: 'CT', value: 512 }], 'b=');
    assert.deepEqual(
      sd.timing,
      [
        { start: 3900000000n, stop: 3900007200n, repeats: ['7d 2h 0 1d', '86400 3600 0'] },
        { start: 3901000000n, stop: 3901003600n, repeats: [] },
      ],
      't= and r=',
    );
    assert.equal(sd.timeZones, '3905000000 -1h 3920000000 0', 'z=');
    assert.deepEqual(
      sd.attributes,
      [{ name: 'tool', value: 'confplan 2.1' }, { name: 'recvonly' }],
      'session a=',
    );
    const [audio, video, app] = sd.media as [
      SessionDescription['media'][0],
      SessionDescription['media'][0],
      SessionDescription['media'][0],
    ];
    assert.equal(audio.portCount, 2, 'port count');
    assert.equal(audio.information, 'room audio', 'media i=');
    assert.deepEqual(audio.bandwidths, [{ type: 'AS', value: 64 }], 'media b=');
    assert.equal(video.port, 0, 'disabled stream');
    assert.deepEqual(
      app.connections,
      [
        { netType: 'IN', addrType: 'IP6', address: 'ff1e::4:8', count: 3 },
        { netType: 'IN', addrType: 'IP6', address: 'ff1e::4:20' },
      ],
      'several media c= lines, IP6 multicast count',
    );
  });

  test('reads an IPv6 unicast c= line', () => {
    const sd = parseSdp(
      crlf(
        'v=0',
        'o=- 1 1 IN IP6 2001:db8:7::15',
        's= ',
        't=0 0',
        'm=audio 5004 RTP/AVP 0',
        'c=IN IP6 2001:db8:7::15',
      ),
    );
    assert.equal(sd.sessionName, ' ', 's= holding one space');
    assert.equal(sd.connection, undefined, 'no session c=');
    assert.deepEqual(
      mediaConnection(sd, sd.media[0]!),
      { netType: 'IN', addrType: 'IP6', address: '2001:db8:7::15' },
      'media c=',
    );
  });

  test('reads an IP4 multicast address with TTL and count', () => {
    const sd = parseSdp(
      crlf('v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 233.252.0.1/127/3', 't=0 0'),
    );
    assert.deepEqual(
      sd.connection,
      { netType: 'IN', addrType: 'IP4', address: '233.252.0.1', ttl: 127, count: 3 },
      'c=',
    );
  });

  test('accepts bare LF line ends, no final line end, and trailing empty lines', () => {
    const expected = parseSdp(CALL);
    assert.deepEqual(parseSdp(CALL.replaceAll('\r\n', '\n')), expected, 'LF only');
    assert.deepEqual(parseSdp(CALL.slice(0, -2)), expected, 'no final CRLF');
    assert.deepEqual(parseSdp(`${CALL}\r\n`), expected, 'one empty line after');
    assert.deepEqual(parseSdp(`${CALL}\r\n\n`), expected, 'several empty lines after');
  });

  test('reads a Buffer as UTF-8', () => {
    const text = CALL.replace('s=-', 's=Café ☕');
    const sd = parseSdp(Buffer.from(text, 'utf8'));
    assert.equal(sd.sessionName, 'Café ☕', 'UTF-8 session name');
    assert.deepEqual(sd, parseSdp(text), 'same as the string');
  });

  test('accepts an empty s= liberally', () => {
    const sd = parseSdp(CALL.replace('s=-', 's='));
    assert.equal(sd.sessionName, '', 'empty name');
  });

  test('keeps a k= line for inspection', () => {
    const sd = parseSdp(
      CALL.replace('RTP/AVP 8 0 101\r\n', 'RTP/AVP 8 0 101\r\nk=prompt\r\n').replace(
        't=0 0\r\n',
        't=0 0\r\nk=clear:opensesame\r\n',
      ),
    );
    assert.equal(sd.key, 'clear:opensesame', 'session k=');
    assert.equal(sd.media[0]!.key, 'prompt', 'media k=');
  });

  test('k= after a= is out of order', () => {
    assert.throws(
      () => parseSdp(`${CALL}k=prompt\r\n`),
      sdpError(13, /'k=' is out of order after 'a='/),
      'media k=',
    );
  });

  test('a stream with port 0 needs no address (RFC 8866 §5.7)', () => {
    const sd = parseSdp(crlf('v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 't=0 0', 'm=video 0 RTP/AVP 31'));
    assert.equal(sd.media[0]!.port, 0, 'parsed');
  });

  test('an a= value keeps colons and a leading space; a= name with empty value', () => {
    const sd = parseSdp(CALL.replace('a=ptime:20', 'a=x-note: a:b:c').replace('a=sendrecv', 'a=flag:'));
    assert.deepEqual(
      sd.media[0]!.attributes.at(-2),
      { name: 'x-note', value: ' a:b:c' },
      'value with colons',
    );
    assert.deepEqual(sd.media[0]!.attributes.at(-1), { name: 'flag', value: '' }, 'empty value');
  });
});

describe('parseSdp errors', () => {
  const base = [
    'v=0',
    'o=- 10 20 IN IP4 192.0.2.1',
    's=-',
    'c=IN IP4 192.0.2.1',
    't=0 0',
    'm=audio 4000 RTP/AVP 0',
  ];
  const withLine = (index: number, line: string) => {
    const l = [...base];
    l[index] = line;
    return crlf(...l);
  };
  const cases: [string, string, number, RegExp][] = [
    ['v= not first', crlf('o=- 1 1 IN IP4 192.0.2.1', 'v=0'), 1, /expected v= first/],
    ['v= not 0', withLine(0, 'v=1'), 1, /v= version '1' is not 0/],
    ['o= missing', crlf('v=0', 's=-', 't=0 0'), 2, /expected o= after v=, found 's='/],
    ['o= short', withLine(1, 'o=- 10 20 IN IP4'), 2, /o= needs 6 fields, found 5/],
    ['o= session id', withLine(1, 'o=- 1x 20 IN IP4 192.0.2.1'), 2, /o= session id '1x' is not a number/],
    ['o= version', withLine(1, 'o=- 10 -2 IN IP4 192.0.2.1'), 2, /o= session version '-2' is not a number/],
    ['s= missing', crlf('v=0', 'o=- 1 1 IN IP4 192.0.2.1', 't=0 0'), 3, /expected s= after o=, found 't='/],
    ['second s=', withLine(3, 's=again'), 4, /more than one 's=' line/],
    ['space before =', withLine(4, 't =0 0'), 5, /expected <type>=<value>/],
    ['upper-case type', withLine(4, 'T=0 0'), 5, /expected <type>=<value>, found 'T=0 0'/],
    ['no =', withLine(4, 't'), 5, /expected <type>=<value>/],
    ['unknown type', withLine(3, 'x=whatever'), 4, /unknown line type 'x='/],
    ['empty line inside', crlf('v=0', '', 'o=- 1 1 IN IP4 192.0.2.1'), 2, /empty line/],
    ['bare CR', withLine(2, 's=a\rb'), 3, /bare CR/],
    ['NUL', withLine(2, 's=a\0b'), 3, /NUL/],
    ['c= network type', withLine(3, 'c=ATM NSAP 47.0005'), 4, /c= network type 'ATM' is not IN/],
    ['c= address type', withLine(3, 'c=IN IPX 192.0.2.1'), 4, /c= address type 'IPX' is not IP4 or IP6/],
    ['c= fields', withLine(3, 'c=IN IP4'), 4, /c= needs 3 fields/],
    ['c= bad IP4', withLine(3, 'c=IN IP4 192.0.2.300'), 4, /not an IPv4 address or a host name/],
    ['c= bad IP6', withLine(3, 'c=IN IP6 2001:db8::g'), 4, /not an IPv6 address or a host name/],
    [
      'c= multicast no TTL',
      withLine(3, 'c=IN IP4 233.252.0.1'),
      4,
      /multicast address '233.252.0.1' has no \/ttl/,
    ],
    ['c= TTL too big', withLine(3, 'c=IN IP4 233.252.0.1/256'), 4, /c= TTL '256' is out of range/],
    ['c= unicast slash', withLine(3, 'c=IN IP4 192.0.2.1/3'), 4, /is not multicast but has a '\/' suffix/],
    ['c= IP6 TTL', withLine(3, 'c=IN IP6 ff1e::1/8/2'), 4, /too many '\/' parts/],
    ['c= count 0', withLine(3, 'c=IN IP6 ff1e::1/0'), 4, /count must be at least 1/],
    [
      'two session c=',
      crlf(...base.slice(0, 4), 'c=IN IP4 192.0.2.2', ...base.slice(4)),
      5,
      /more than one 'c='/,
    ],
    ['b= no colon', crlf(...base.slice(0, 4), 'b=AS64', ...base.slice(4)), 5, /b= value 'AS64' has no ':'/],
    [
      'b= value',
      crlf(...base.slice(0, 4), 'b=AS:fast', ...base.slice(4)),
      5,
      /b= bandwidth 'fast' is not a number/,
    ],
    ['t= fields', withLine(4, 't=0'), 5, /t= needs 2 fields/],
    ['t= value', withLine(4, 't=0 never'), 5, /t= stop time 'never' is not a number/],
    ['t= missing', crlf(...base.slice(0, 4), ...base.slice(5)), 5, /expected t= before 'm='/],
    ['t= missing at end', crlf(...base.slice(0, 4)), 0, /without a t= line/],
    ['a= before t=', crlf(...base.slice(0, 4), 'a=sendrecv', ...base.slice(4)), 5, /expected t= before 'a='/],
    [
      'r= alone',
      crlf(...base.slice(0, 4), 'r=1d 1h 0', ...base.slice(4)),
      5,
      /'r=' must follow 't=' or 'r='/,
    ],
    ['r= value', crlf(...base.slice(0, 5), 'r=1w 1h 0', base[5]!), 6, /r= time '1w' is not a number/],
    ['z= odd', crlf(...base.slice(0, 5), 'z=3905000000', base[5]!), 6, /z= needs pairs/],
    [
      'i= after c=',
      crlf(...base.slice(0, 4), 'i=late', ...base.slice(4)),
      5,
      /'i=' is out of order after 'c='/,
    ],
    [
      'e= after p=',
      crlf(...base.slice(0, 3), 'p=+1 555 0100', 'e=x@example.com', ...base.slice(3)),
      5,
      /out of order/,
    ],
    ['a= name', crlf(...base, 'a=bad name:1'), 7, /a= attribute name 'bad name' is not a token/],
    ['a= empty name', crlf(...base, 'a=:1'), 7, /a= attribute name '' is not a token/],
    ['m= port', withLine(5, 'm=audio abc RTP/AVP 0'), 6, /^SDP line 6: m= port 'abc' is not a number$/],
    [
      'm= port range',
      withLine(5, 'm=audio 65536 RTP/AVP 0'),
      6,
      /m= port '65536' is out of range \(0-65535\)/,
    ],
    ['m= port count', withLine(5, 'm=audio 4000/x RTP/AVP 0'), 6, /m= port count 'x' is not a number/],
    [
      'm= no format',
      withLine(5, 'm=audio 4000 RTP/AVP'),
      6,
      /m= needs media, port, proto and at least one format/,
    ],
    ['m= proto', withLine(5, 'm=audio 4000 RTP//AVP 0'), 6, /m= proto 'RTP\/\/AVP' is not a token list/],
    ['s= in media', crlf(...base, 's=late'), 7, /'s=' is not allowed in a media description/],
    ['t= in media', crlf(...base, 't=0 0'), 7, /'t=' is not allowed in a media description/],
    [
      'c= after a= in media',
      crlf(...base, 'a=sendrecv', 'c=IN IP4 192.0.2.9'),
      8,
      /'c=' is out of order after 'a='/,
    ],
    ['two media i=', crlf(...base, 'i=one', 'i=two'), 8, /more than one 'i='/],
    [
      'RFC 8866 §5.7 no c=',
      crlf(...base.slice(0, 3), ...base.slice(4)),
      5,
      /no c= line and there is no session-level/,
    ],
    ['empty', '', 0, /description is empty/],
    ['only line ends', '\r\n\r\n', 0, /description is empty/],
    ['ends after v=', 'v=0\r\n', 0, /ends after line 1: o= missing/],
    ['ends after o=', crlf('v=0', 'o=- 1 1 IN IP4 192.0.2.1'), 0, /ends after line 2: s= missing/],
  ];
  for (const [name, text, line, pattern] of cases) {
    test(`${name}: line ${line}`, () => {
      assert.throws(() => parseSdp(text), sdpError(line, pattern), name);
    });
  }

  test('the §5.7 check points at the m= line that lacks an address', () => {
    const text = crlf(
      'v=0',
      'o=- 1 1 IN IP4 192.0.2.1',
      's=-',
      't=0 0',
      'm=audio 4000 RTP/AVP 0',
      'c=IN IP4 192.0.2.1',
      'm=video 0 RTP/AVP 31',
      'm=audio 4002 RTP/AVP 0',
    );
    assert.throws(() => parseSdp(text), sdpError(8, /m= section has no c= line/), 'third stream');
  });

  test('limits: size, media count, attributes per section', () => {
    assert.throws(
      () => parseSdp(`${CALL}a=x:${'y'.repeat(70000)}\r\n`),
      sdpError(0, /larger than 65535 bytes/),
      'size',
    );
    assert.throws(
      () => parseSdp(Buffer.from(CALL), { maxLength: 50 }),
      sdpError(0, /more than 50/),
      'Buffer size',
    );
    // Four bytes of UTF-8 per character: the limit counts bytes, not characters.
    assert.throws(
      () => parseSdp(CALL.replace('s=-', `s=${'😀'.repeat(20)}`), { maxLength: CALL.length + 60 }),
      sdpError(0, /larger than/),
      'bytes counted',
    );
    const three = `${CALL}m=audio 0 RTP/AVP 0\r\nm=audio 0 RTP/AVP 0\r\n`;
    assert.equal(parseSdp(three, { maxMedia: 3 }).media.length, 3, 'at the limit');
    assert.throws(() => parseSdp(three, { maxMedia: 2 }), sdpError(14, /more than 2 m= sections/), 'media');
    assert.equal(parseSdp(CALL, { maxAttributes: 6 }).media[0]!.attributes.length, 6, 'at the limit');
    assert.throws(
      () => parseSdp(CALL, { maxAttributes: 5 }),
      sdpError(12, /more than 5 a= lines in the m= section of line 6/),
      'media attributes',
    );
    const session = CALL.replace('t=0 0\r\n', 't=0 0\r\na=one\r\na=two\r\n');
    assert.throws(
      () => parseSdp(session, { maxAttributes: 1 }),
      sdpError(7, /more than 1 a= lines at session level/),
      'session attributes',
    );
    assert.throws(() => parseSdp(CALL, { maxMedia: 0 }), RangeError, 'a limit must be positive');
  });

  test('a non-string, non-Buffer input is an SdpError', () => {
    assert.throws(
      () => parseSdp(42 as unknown as string),
      sdpError(0, /neither a string nor a Buffer/),
      'number',
    );
  });

  test('random bytes never raise anything but SdpError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        try {
          parseSdp(Buffer.from(bytes));
        } catch (err) {
          assert.ok(err instanceof SdpError, `unexpected ${String(err)}`);
        }
      }),
      { numRuns: 2000 },
    );
    for (let i = 0; i < 500; i++) {
      const bytes = randomBytes(1 + (i % 300));
      try {
        parseSdp(bytes);
      } catch (err) {
        assert.ok(err instanceof SdpError, `unexpected ${String(err)} for ${bytes.toString('hex')}`);
      }
    }
  });

  test('damaged descriptions never raise anything but SdpError, and what parses serializes back', () => {
    const alphabet = [...'=/: \r\n0123456789abcmotvsIP4N6\0-.'];
    fc.assert(
      fc.property(
        fc.constantFrom(CALL, FULL),
        fc.array(fc.tuple(fc.nat(), fc.nat(), fc.constantFrom(...alphabet)), { minLength: 1, maxLength: 6 }),
        (seed, edits) => {
          let text = seed;
          for (const [at, kind, ch] of edits) {
            const i = at % (text.length + 1);
            if (kind % 3 === 0) text = text.slice(0, i) + ch + text.slice(i + 1);
            else if (kind % 3 === 1) text = text.slice(0, i) + ch + text.slice(i);
            else text = text.slice(0, i) + text.slice(i + 1);
          }
          let sd: SessionDescription;
          try {
            sd = parseSdp(text);
          } catch (err) {
            assert.ok(err instanceof SdpError, `unexpected ${String(err)} for ${JSON.stringify(text)}`);
            return;
          }
          // What the writer changes on purpose: no k= (RFC 8866 §5.12), an empty s= becomes ' ' (§5.3).
          const expected: SessionDescription = { ...sd, media: sd.media.map((m) => ({ ...m })) };
          delete expected.key;
          for (const m of expected.media) delete m.key;
          if (expected.sessionName === '') expected.sessionName = ' ';
          assert.deepEqual(parseSdp(serializeSdp(sd)), expected, `round trip of ${JSON.stringify(text)}`);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('serializeSdp', () => {
  test('writes a canonical description back byte for byte', () => {
    assert.equal(serializeSdp(parseSdp(CALL)), CALL, 'call');
    assert.equal(serializeSdp(parseSdp(FULL)), FULL, 'every line type');
  });

  test('normalizes LF to CRLF and keeps the content', () => {
    const out = serializeSdp(parseSdp(CALL.replaceAll('\r\n', '\n')));
    assert.equal(out, CALL, 'CRLF line ends');
  });

  test('writes RFC 8866 §5 order whatever the order of construction', () => {
    const sd = parseSdp(FULL);
    const text = serializeSdp(sd);
    const types = text
      .trimEnd()
      .split('\r\n')
      .map((l) => l[0]);
    assert.deepEqual(
      types,
      [
        ...['v', 'o', 's', 'i', 'u', 'e', 'e', 'p', 'c', 'b', 't', 'r', 'r', 't', 'z', 'a', 'a'],
        ...['m', 'i', 'b', 'a', 'm', 'm', 'c', 'c', 'a'],
      ],
      'line types in order',
    );
  });

  test('does not write k= (RFC 8866 §5.12), fills a missing t= and an empty s=', () => {
    const sd = parseSdp(CALL.replace('t=0 0\r\n', 't=0 0\r\nk=prompt\r\n'));
    sd.sessionName = '';
    sd.timing = [];
    const text = serializeSdp(sd);
    assert.ok(!text.includes('k='), 'no k= line');
    assert.ok(text.includes('\r\ns= \r\n'), 's= with one space');
    assert.ok(text.includes('\r\nt=0 0\r\n'), 't=0 0');
    assert.doesNotThrow(() => parseSdp(text), 'output parses');
  });

  test('refuses values that would break the line structure', () => {
    const sd = parseSdp(CALL);
    sd.media[0]!.attributes.push({ name: 'x', value: 'a\r\nm=video 1 RTP/AVP 0' });
    assert.throws(
      () => serializeSdp(sd),
      sdpError(0, /cannot write a= value .* CR, LF or NUL/),
      'CRLF injection',
    );
  });
});

describe('direction, rtpMap, fmtp, mediaConnection', () => {
  const doc = (session: string[], ...media: string[][]) =>
    parseSdp(
      crlf(
        'v=0',
        'o=- 1 1 IN IP4 192.0.2.1',
        's=-',
        'c=IN IP4 192.0.2.1',
        't=0 0',
        ...session,
        ...media.flat(),
      ),
    );

  test('direction: media level wins, then session level, then sendrecv', () => {
    const sd = doc(
      ['a=recvonly'],
      ['m=audio 4000 RTP/AVP 0', 'a=sendonly'],
      ['m=audio 4002 RTP/AVP 0'],
      ['m=audio 4004 RTP/AVP 0', 'a=inactive'],
    );
    assert.equal(direction(sd, sd.media[0]!), 'sendonly', 'media level');
    assert.equal(direction(sd, sd.media[1]!), 'recvonly', 'session level');
    assert.equal(direction(sd, sd.media[2]!), 'inactive', 'inactive');
    const plain = doc([], ['m=audio 4000 RTP/AVP 0', 'a=sendonly:x']);
    assert.equal(
      direction(plain, plain.media[0]!),
      'sendrecv',
      'default; a value attribute is not a direction',
    );
  });

  test('rtpMap: static payload types without rtpmap, rtpmap for dynamic ones, m= order', () => {
    const sd = doc(
      [],
      ['m=audio 4000 RTP/AVP 18 97 0 3 4 8 9 98 13', 'a=rtpmap:97 opus/48000/2', 'a=rtpmap:97 x/1'],
    );
    const map = rtpMap(sd.media[0]!);
    assert.deepEqual(
      [...map.keys()],
      ['18', '97', '0', '3', '4', '8', '9'],
      'formats with an encoding, in m= order; 98 and 13 have none',
    );
    assert.deepEqual(map.get('0'), { encoding: 'PCMU', clockRate: 8000 }, 'PCMU');
    assert.deepEqual(map.get('3'), { encoding: 'GSM', clockRate: 8000 }, 'GSM');
    assert.deepEqual(map.get('4'), { encoding: 'G723', clockRate: 8000 }, 'G723');
    assert.deepEqual(map.get('8'), { encoding: 'PCMA', clockRate: 8000 }, 'PCMA');
    assert.deepEqual(
      map.get('9'),
      { encoding: 'G722', clockRate: 8000 },
      'G722 (clock rate 8000 by RFC 3551)',
    );
    assert.deepEqual(map.get('18'), { encoding: 'G729', clockRate: 8000 }, 'G729');
    assert.deepEqual(
      map.get('97'),
      { encoding: 'opus', clockRate: 48000, channels: 2 },
      'first rtpmap counts',
    );
  });

  test('rtpMap: an rtpmap overrides the static meaning; malformed rtpmap lines are ignored', () => {
    const sd = doc([], ['m=audio 4000 RTP/AVP 0 96', 'a=rtpmap:0 L16/44100', 'a=rtpmap:96 broken']);
    const map = rtpMap(sd.media[0]!);
    assert.deepEqual(map.get('0'), { encoding: 'L16', clockRate: 44100 }, 'explicit mapping');
    assert.equal(map.has('96'), false, 'malformed rtpmap');
    const udp = doc([], ['m=audio 4000 udp 0']);
    assert.equal(rtpMap(udp.media[0]!).size, 0, 'no static payload types outside RTP');
  });

  test('fmtp: the parameters of one format', () => {
    const sd = doc(
      [],
      [
        'm=audio 4000 RTP/AVP 96 101 0',
        'a=fmtp:96 minptime=10;useinbandfec=1',
        'a=fmtp:101 0-16',
        'a=fmtp:1010 x',
      ],
    );
    const m = sd.media[0]!;
    assert.equal(fmtp(m, '96'), 'minptime=10;useinbandfec=1', 'opus parameters');
    assert.equal(fmtp(m, '101'), '0-16', 'events; 1010 is another format');
    assert.equal(fmtp(m, '0'), undefined, 'none');
  });

  test('mediaConnection: media c= else session c=', () => {
    const sd = doc([], ['m=audio 4000 RTP/AVP 0', 'c=IN IP4 203.0.113.5'], ['m=audio 4002 RTP/AVP 0']);
    assert.equal(mediaConnection(sd, sd.media[0]!)?.address, '203.0.113.5', 'media level');
    assert.equal(mediaConnection(sd, sd.media[1]!)?.address, '192.0.2.1', 'session level');
  });
});
