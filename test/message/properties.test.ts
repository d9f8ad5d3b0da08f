import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  inspect,
  NameAddr,
  Params,
  parseMessage,
  type SipMessage,
  SipParseError,
  SipRequest,
  SipUri,
  Via,
} from '../../src/index.js';
import { parseNameAddr, scanNameAddr } from '../../src/message/name-addr.js';
import { Scanner } from '../../src/message/scanner.js';
import { scanUri, scanUriFull, type Uri } from '../../src/message/uri.js';

const crlf = (...lines: string[]) => lines.join('\r\n');
const SEED_MESSAGE = crlf(
  'INVITE sip:bob@biloxi.example.com SIP/2.0',
  'Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport',
  'Max-Forwards: 70',
  'Route: <sip:p1.example.com;lr>',
  'To: Bob <sip:bob@biloxi.example.com>',
  'From: "Alice" <sip:alice@atlanta.example.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
  'CSeq: 314159 INVITE',
  'Contact: <sip:alice@pc33.atlanta.example.com>;expires=60',
  'Content-Type: application/sdp',
  'Content-Length: 10',
  '',
  'v=0\r\ns=-\r\n',
);

/** Reads every typed value; only SipParseError may escape. */
function readAll(m: SipMessage): void {
  const getters = [
    () => m.topVia?.branch,
    () => m.via.map((v) => v.params.toString()),
    () => m.from?.uri.toString(),
    () => m.to?.tag,
    () => m.callId,
    () => m.cseq,
    () => m.maxForwards,
    () => m.contact.map((c) => (c.wildcard ? '*' : c.uri.toString())),
    () => m.route.map((r) => r.uri),
    () => m.contentType,
    () => m.headers.map((f) => f.text),
    () => (m.isRequest ? (m as SipRequest).uri.toString() : ''),
    () => m.toBuffer(),
  ];
  for (const g of getters) {
    try {
      g();
    } catch (e) {
      if (!(e instanceof SipParseError)) throw e;
    }
  }
}

describe('parsing never fails in any other way than SipParseError', () => {
  test('arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        try {
          readAll(parseMessage(Buffer.from(bytes)));
        } catch (e) {
          if (!(e instanceof SipParseError)) throw e;
        }
        inspect(Buffer.from(bytes));
      }),
      { numRuns: 3000 },
    );
  });

  test('arbitrary text after a plausible start line', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), fc.string({ maxLength: 40 }), (tail, body) => {
        const data = `INVITE sip:a@b.com SIP/2.0\r\n${tail}\r\n\r\n${body}`;
        try {
          readAll(parseMessage(data));
        } catch (e) {
          if (!(e instanceof SipParseError)) throw e;
        }
        inspect(data, { role: 'proxy' });
      }),
      { numRuns: 3000 },
    );
  });

  test('a valid message with random bytes changed, inserted or removed', () => {
    const seed = Buffer.from(SEED_MESSAGE, 'latin1');
    const edit = fc.record({
      at: fc.nat({ max: seed.length }),
      kind: fc.constantFrom('set', 'insert', 'delete'),
      byte: fc.constantFrom(0, 9, 10, 13, 32, 34, 44, 58, 59, 60, 61, 62, 64, 92, 127, 200, 255),
    });
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 6 }), (edits) => {
        let b = Buffer.from(seed);
        for (const e of edits) {
          const at = Math.min(e.at, b.length);
          if (e.kind === 'set' && at < b.length) b[at] = e.byte;
          else if (e.kind === 'insert')
            b = Buffer.concat([b.subarray(0, at), Buffer.from([e.byte]), b.subarray(at)]);
          else b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
        }
        try {
          readAll(parseMessage(b));
        } catch (e) {
          if (!(e instanceof SipParseError)) throw e;
        }
        for (const role of ['endpoint', 'proxy', 'registrar'] as const) inspect(b, { role });
      }),
      { numRuns: 4000 },
    );
  });

  test('a message that parses writes the same bytes after sleeping, and has their fields awake again', () => {
    const seed = Buffer.from(SEED_MESSAGE, 'latin1');
    const edit = fc.record({
      at: fc.nat({ max: seed.length }),
      byte: fc.constantFrom(9, 10, 13, 32, 44, 58, 59, 60, 62, 65, 200),
    });
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
        let b = Buffer.from(seed);
        for (const e of edits)
          b = Buffer.concat([b.subarray(0, e.at), Buffer.from([e.byte]), b.subarray(e.at)]);
        let m: SipMessage;
        try {
          m = parseMessage(b);
        } catch (e) {
          if (e instanceof SipParseError) return;
          throw e;
        }
        const before = m.toBuffer();
        m.sleep();
        assert.deepEqual(m.toBuffer(), before);
        // Awake again, it has the fields of the bytes it writes.
        assert.equal(m.headers.length, parseMessage(before).headers.length);
      }),
      { numRuns: 2000 },
    );
  });
});

const token = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9.!%*_+`'~-]{0,11}$/);
const host = fc.oneof(
  fc
    .tuple(fc.nat({ max: 255 }), fc.nat({ max: 255 }), fc.nat({ max: 255 }), fc.nat({ max: 255 }))
    .map((p) => p.join('.')),
  fc.stringMatching(/^[a-z][a-z0-9-]{0,8}(\.[a-z][a-z0-9-]{0,8}){1,3}$/).filter((h) => !/-\.|-$/.test(h)),
);
const user = fc.string({ minLength: 1, maxLength: 12 });

describe('parse(serialize(m)) keeps the meaning', () => {
  test('requests built with the API', () => {
    fc.assert(
      fc.property(
        fc.record({
          method: fc.constantFrom('INVITE', 'OPTIONS', 'REGISTER', 'MESSAGE', 'BYE'),
          user,
          host,
          port: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
          display: fc.option(fc.string({ maxLength: 16 }), { nil: undefined }),
          fromTag: token,
          callId: token,
          seq: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
          branch: token,
          viaHost: host,
          mf: fc.integer({ min: 1, max: 255 }),
          subject: fc.string({ maxLength: 30 }).map((s) => s.replace(/[\r\n]/g, ' ').trim()),
          body: fc.uint8Array({ maxLength: 64 }),
        }),
        (r) => {
          const target = new SipUri({
            user: r.user,
            host: r.host,
            port: r.port,
            params: { transport: 'tcp' },
          });
          const req = new SipRequest({
            method: r.method,
            uri: target,
            headers: [
              [
                'Via',
                new Via('UDP', r.viaHost, 5060, Params.from({ branch: `z9hG4bK${r.branch}`, rport: null })),
              ],
              ['Max-Forwards', r.mf],
              ['To', new NameAddr(target)],
              [
                'From',
                new NameAddr(new SipUri({ user: 'alice', host: 'atlanta.example.com' }), r.display, {
                  tag: r.fromTag,
                }),
              ],
              ['Call-ID', r.callId],
              ['CSeq', `${r.seq} ${r.method}`],
              ['Subject', r.subject],
              ['Content-Type', 'application/octet-stream'],
            ],
            body: Buffer.from(r.body),
          });
          const back = parseMessage(req.toBuffer()) as SipRequest;
          assert.equal(back.method, r.method);
          const u = back.uri;
          assert.ok(u.kind === 'sip', 'sip URI');
          assert.equal(u.user, r.user);
          assert.equal(u.host, r.host);
          assert.equal(u.port, r.port);
          assert.equal(u.transport, 'tcp');
          assert.equal(back.topVia?.branch, `z9hG4bK${r.branch}`);
          assert.equal(back.topVia?.host, r.viaHost);
          assert.equal(back.maxForwards, r.mf);
          assert.equal(back.from?.tag, r.fromTag);
          assert.equal(back.from?.displayName, r.display);
          assert.equal(back.callId, r.callId);
          assert.equal(back.cseq?.seq, r.seq);
          assert.equal(back.get('Subject'), r.subject);
          assert.deepEqual([...back.body], [...r.body]);
          const v = inspect(req.toBuffer(), { role: 'proxy' }).verdict;
          assert.equal(v.action, 'accept', JSON.stringify(v));
        },
      ),
      { numRuns: 1500 },
    );
  });
});

describe('proxy edits keep untouched bytes', () => {
  const oddValue = fc
    .array(fc.constantFrom('a', 'Z', ' ', '\t', ';', ',', '=', '"', '<', '>', '@', ':', '9', '%', 'é'), {
      minLength: 1,
      maxLength: 20,
    })
    .map((a) => a.join('').trim())
    .filter((v) => v.length > 0);
  test('adding Via and Record-Route, decrementing Max-Forwards, popping Route, rewriting the Request-URI', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(token, oddValue), { maxLength: 6 }), fc.boolean(), (extra, rewrite) => {
        const lines = SEED_MESSAGE.split('\r\n');
        const headerEnd = lines.indexOf('');
        const extraLines = extra.map(([n, v]) => `X-${n}: ${v}`);
        const all = [...lines.slice(0, headerEnd), ...extraLines, ...lines.slice(headerEnd)];
        const text = all.join('\r\n');
        const m = parseMessage(Buffer.from(text, 'utf8')) as SipRequest;
        m.prependHeader('Via', 'SIP/2.0/UDP proxy.example.com;branch=z9hG4bKproxy1');
        m.prependHeader('Record-Route', '<sip:proxy.example.com;lr>');
        m.decrementMaxForwards();
        m.removeFirstValue('Route');
        if (rewrite) m.uri = 'sip:bob@192.0.2.4:5062';
        const out = m.toBuffer().toString('utf8');
        const outLines = new Set(out.split('\r\n'));
        const touched = new Set(['Max-Forwards: 70', 'Route: <sip:p1.example.com;lr>', lines[0]]);
        for (const line of [...lines.slice(1, headerEnd), ...extraLines]) {
          if (touched.has(line)) continue;
          assert.ok(outLines.has(line), `line lost or changed: ${JSON.stringify(line)}`);
        }
        assert.ok(out.endsWith('\r\n\r\nv=0\r\ns=-\r\n'), 'body kept');
        const back = parseMessage(Buffer.from(out, 'utf8')) as SipRequest;
        assert.equal(back.maxForwards, 69);
        assert.equal(back.via.length, 2);
        assert.equal(back.route.length, 0);
        assert.equal(back.uri.toString(), rewrite ? 'sip:bob@192.0.2.4:5062' : 'sip:bob@biloxi.example.com');
      }),
      { numRuns: 1000 },
    );
  });
});

describe('fast paths agree with the full scanners', () => {
  // Each value is read twice: by the parser's entry point (which tries a fast
  // path first) and by the full scanner alone. Both must accept the same
  // values and read the same parts.
  const SEEDS = [
    '"Carol \\"C\\" Ames" <sip:carol@example.net>;tag=7c1d90b2',
    'Bob  Smith<sip:bob@biloxi.example.com;transport=tcp>;tag=a;x="q;v"',
    'sip:alice@atlanta.example.com;tag=88sja8x',
    '<sips:[2001:db8::9]:5061>;expires=60;+sip.instance="<urn:uuid:1>";reg-id=1',
  ];
  type Edit = { at: number; kind: 'set' | 'insert' | 'delete'; ch: string };
  const applyEdits = (seed: string, edits: Edit[]): string => {
    let v = seed;
    for (const e of edits) {
      const at = Math.min(e.at, v.length);
      if (e.kind === 'set') v = v.slice(0, at) + e.ch + v.slice(at + 1);
      else if (e.kind === 'insert') v = v.slice(0, at) + e.ch + v.slice(at);
      else v = v.slice(0, at) + v.slice(at + 1);
    }
    return v;
  };
  const describeOne = (v: string): string => {
    try {
      const n = parseNameAddr(v);
      return JSON.stringify([n.displayRaw, n.uriRaw, n.angle, n.params.raw(), n.toString(), n.tag]);
    } catch (e) {
      if (e instanceof SipParseError) return 'error';
      throw e;
    }
  };
  const describeFull = (v: string): string => {
    try {
      const sc = new Scanner(v, 'name-addr', 0, v.length, 0);
      const n = scanNameAddr(sc);
      sc.skipWs();
      if (!sc.atEnd()) return 'error';
      return JSON.stringify([n.displayRaw, n.uriRaw, n.angle, n.params.raw(), n.toString(), n.tag]);
    } catch (e) {
      if (e instanceof SipParseError) return 'error';
      throw e;
    }
  };

  test('name-addr values with random bytes changed, inserted or removed', () => {
    const edit = fc.record({
      at: fc.nat({ max: 80 }),
      kind: fc.constantFrom('set', 'insert', 'delete'),
      ch: fc.constantFrom(
        ' ',
        '\t',
        '"',
        '\\',
        '<',
        '>',
        ';',
        '=',
        ',',
        ':',
        '@',
        '?',
        'a',
        '\r',
        '\x7f',
        '\xe9',
      ),
    });
    fc.assert(
      fc.property(fc.constantFrom(...SEEDS), fc.array(edit, { maxLength: 4 }), (seed, edits) => {
        const v = applyEdits(seed, edits);
        assert.equal(describeOne(v), describeFull(v), JSON.stringify(v));
      }),
      { numRuns: 5000 },
    );
  });

  const uriParts = (read: () => Uri): string => {
    try {
      const u = read();
      if (u.kind !== 'sip') return JSON.stringify([u.kind, u.toString()]);
      return JSON.stringify([
        u.scheme,
        u.userRaw,
        u.passwordRaw,
        u.host,
        u.port,
        u.params.raw(),
        u.headers.raw(),
        u.toString(),
      ]);
    } catch (e) {
      if (e instanceof SipParseError) return 'error';
      throw e;
    }
  };

  test('SIP URIs with random bytes changed, inserted or removed', () => {
    const seeds = [
      'sip:carol@198.51.100.17:5060;transport=udp',
      'sips:alice:secret@atlanta.example.com;maddr=[2001:db8::1];lr',
      'sip:[2001:db8::9]:5061;x=a:b',
      'SIP:user;phone=1@host.example.:65535;ttl=9',
      'sip:10.0.0.255;a=%41',
    ];
    const edit = fc.record({
      at: fc.nat({ max: 70 }),
      kind: fc.constantFrom('set', 'insert', 'delete'),
      ch: fc.constantFrom(':', '@', ';', '=', '[', ']', '.', '?', '&', '%', '9', '0', 'a', '-', ' ', '\xe9'),
    });
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.array(edit, { maxLength: 4 }), (seed, edits) => {
        const v = applyEdits(seed, edits);
        assert.equal(
          uriParts(() => scanUri(v)),
          uriParts(() => scanUriFull(v, 0, v.length, 0, 'URI')),
          JSON.stringify(v),
        );
      }),
      { numRuns: 5000 },
    );
  });
});
