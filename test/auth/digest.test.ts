import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  AuthHeader,
  canonicalAlgorithm,
  chooseChallenge,
  type DigestAlgorithm,
  DigestClient,
  DigestError,
  DigestServer,
  type DigestServerOptions,
  digestResponse,
  ha1,
  isSupportedAlgorithm,
  parseAuthHeader,
  parseMessage,
  SipRequest,
  SipResponse,
  type UserLookup,
  type VerifyResult,
} from '../../src/index.js';
import { quote, unquote } from '../../src/message/scanner.js';

const REALM = 'biloxi.com';
const URI = 'sip:bob@biloxi.com';
const SECRET = Buffer.from('0123456789abcdef0123456789abcdef');
const T0 = 1_700_000_000_000;

const ALGORITHMS: DigestAlgorithm[] = [
  'MD5',
  'MD5-sess',
  'SHA-256',
  'SHA-256-sess',
  'SHA-512-256',
  'SHA-512-256-sess',
];

const users: UserLookup = (username) => (username === 'bob' ? { password: 'zanzibar' } : undefined);

const challengeOf = (text: string) => parseAuthHeader(text, 'WWW-Authenticate', 'challenge');
const credentialsOf = (text: string) => parseAuthHeader(text, 'Authorization', 'credentials');

/** A server with a fixed secret and a clock the test moves. */
function server(options: Partial<DigestServerOptions> = {}) {
  const clock = { now: T0 };
  const s = new DigestServer({ realm: REALM, secret: SECRET, now: () => clock.now, ...options });
  return { s, clock };
}

/** Challenge, answer and verify, with both headers written out and parsed back as on the wire. */
function roundTrip(
  s: DigestServer,
  client: DigestClient,
  request: { method: string; uri: string; body?: Buffer } = { method: 'REGISTER', uri: URI },
  lookup: UserLookup = users,
) {
  const chosen = chooseChallenge(s.challenge().map((c) => challengeOf(c.toString())));
  assert.ok(chosen, 'a challenge is chosen');
  const credentials = credentialsOf(client.authorize(chosen, request).toString());
  return { credentials, result: s.verify(credentials, request, lookup) };
}

const reasonOf = (r: VerifyResult) => (r.ok ? 'ok' : r.reason);

/** Credentials with one parameter replaced (or removed when `value` is undefined). */
function withParam(h: AuthHeader, name: string, value: string | undefined): AuthHeader {
  const list: string[] = [];
  let found = false;
  for (const n of h.names()) {
    if (n.toLowerCase() === name.toLowerCase()) {
      found = true;
      if (value !== undefined) list.push(n, value);
    } else list.push(n, h.getRaw(n)!);
  }
  if (!found && value !== undefined) list.push(name, value);
  return new AuthHeader(h.scheme, list);
}

/** A seeded generator (mulberry32): rnd(n) is an integer in [0, n). */
function random(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

function md5(s: string): string {
  return createHash('md5').update(s).digest('hex');
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

describe('digest values (RFC test vectors)', () => {
  test('RFC 2617 §3.5: the worked example', () => {
    const response = digestResponse({
      algorithm: 'MD5',
      ha1: ha1('MD5', 'Mufasa', 'testrealm@host.com', 'Circle Of Life'),
      nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
      nc: '00000001',
      cnonce: '0a4f113b',
      qop: 'auth',
      method: 'GET',
      uri: '/dir/index.html',
    });
    assert.equal(response, '6629fae49393a05397450978507c4ef1', 'the response of RFC 2617 §3.5');
  });

  test('RFC 2617 §3.5: the client answers the example challenge with the example credentials', () => {
    const challenge = challengeOf(
      'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
    );
    const client = new DigestClient(
      { username: 'Mufasa', password: 'Circle Of Life' },
      { cnonce: () => '0a4f113b' },
    );
    const h = client.authorize(challenge, { method: 'GET', uri: '/dir/index.html' });
    assert.equal(h.get('response'), '6629fae49393a05397450978507c4ef1', 'response');
    assert.equal(h.get('qop'), 'auth', 'auth is chosen when offered');
    assert.equal(h.get('nc'), '00000001', 'first nonce count');
    assert.equal(h.get('opaque'), '5ccc069c403ebaf9f0171e9517f40e41', 'opaque echoed');
    assert.equal(h.get('algorithm'), undefined, 'no algorithm when the challenge had none');
    assert.equal(
      h.toString(),
      'Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", ' +
        'uri="/dir/index.html", response="6629fae49393a05397450978507c4ef1", cnonce="0a4f113b", ' +
        'opaque="5ccc069c403ebaf9f0171e9517f40e41", qop=auth, nc=00000001',
      'the whole value, quoted as RFC 3261 §25.1 says',
    );
    assert.doesNotThrow(() => credentialsOf(h.toString()), 'the value parses as credentials');
  });

  const rfc7616 = {
    realm: 'http-auth@example.org',
    nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
    cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
    opaque: 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS',
  };

  for (const [algorithm, expected] of [
    ['MD5', '8ca523f5e9506fed4657c9700eebdbec'],
    ['SHA-256', '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1'],
  ] as const) {
    test(`RFC 7616 §3.9.1: ${algorithm}`, () => {
      const response = digestResponse({
        algorithm,
        ha1: ha1(algorithm, 'Mufasa', rfc7616.realm, 'Circle of Life'),
        nonce: rfc7616.nonce,
        nc: '00000001',
        cnonce: rfc7616.cnonce,
        qop: 'auth',
        method: 'GET',
        uri: '/dir/index.html',
      });
      assert.equal(response, expected, `the ${algorithm} response of RFC 7616 §3.9.1`);
    });
  }

  test('RFC 7616 §3.9.1: the client picks SHA-256 from the two challenges and gives the example response', () => {
    const challenges = ['SHA-256', 'MD5'].map((a) =>
      challengeOf(
        `Digest realm="${rfc7616.realm}", qop="auth, auth-int", algorithm=${a}, nonce="${rfc7616.nonce}", opaque="${rfc7616.opaque}"`,
      ),
    );
    const chosen = chooseChallenge([...challenges].reverse());
    assert.equal(chosen?.algorithm, 'SHA-256', 'SHA-256 is preferred over MD5 whatever the order');
    const client = new DigestClient(
      { username: 'Mufasa', password: 'Circle of Life' },
      { cnonce: () => rfc7616.cnonce },
    );
    const h = client.authorize(chosen!, { method: 'GET', uri: '/dir/index.html' });
    assert.equal(
      h.get('response'),
      '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1',
      'the SHA-256 response of RFC 7616 §3.9.1',
    );
    assert.equal(h.getRaw('algorithm'), 'SHA-256', 'algorithm echoed, unquoted');
    assert.equal(h.getRaw('opaque'), `"${rfc7616.opaque}"`, 'opaque echoed, quoted');
  });

  test('RFC 3261 §22.4 item 7, RFC 8760 §2.6 item 7: auth-int without a body hashes the empty string', () => {
    const base = {
      nonce: 'n',
      nc: '00000001',
      cnonce: 'c',
      qop: 'auth-int' as const,
      method: 'INVITE',
      uri: URI,
    };
    const h1md5 = ha1('MD5', 'bob', REALM, 'zanzibar');
    assert.equal(
      digestResponse({ ...base, algorithm: 'MD5', ha1: h1md5 }),
      md5(`${h1md5}:n:00000001:c:auth-int:${md5(`INVITE:${URI}:d41d8cd98f00b204e9800998ecf8427e`)}`),
      'MD5("") = d41d8cd98f00b204e9800998ecf8427e is used for H(entity-body)',
    );
    const h1sha = ha1('SHA-256', 'bob', REALM, 'zanzibar');
    assert.equal(
      digestResponse({ ...base, algorithm: 'SHA-256', ha1: h1sha }),
      sha256(
        `${h1sha}:n:00000001:c:auth-int:${sha256(`INVITE:${URI}:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855`)}`,
      ),
      'SHA-256("") is used for H(entity-body)',
    );
    assert.equal(
      digestResponse({ ...base, algorithm: 'SHA-256', ha1: h1sha, body: Buffer.alloc(0) }),
      digestResponse({ ...base, algorithm: 'SHA-256', ha1: h1sha }),
      'an empty body and no body give the same response',
    );
  });

  test('RFC 2617 §3.2.2.1: without qop the RFC 2069 form KD(HA1, nonce:HA2)', () => {
    const h1 = ha1('MD5', 'bob', REALM, 'zanzibar');
    assert.equal(
      digestResponse({ algorithm: 'MD5', ha1: h1, nonce: 'abc', method: 'REGISTER', uri: URI }),
      md5(`${h1}:abc:${md5(`REGISTER:${URI}`)}`),
      'RFC 2069 response',
    );
  });

  test('RFC 7616 §3.4.2: "-sess" hashes the base HA1 with nonce and cnonce; HA1 case does not matter', () => {
    const h1 = ha1('MD5-sess', 'bob', REALM, 'zanzibar');
    assert.equal(h1, ha1('MD5', 'bob', REALM, 'zanzibar'), 'ha1 gives the base value for -sess');
    const p = { nonce: 'n', nc: '00000001', cnonce: 'c', qop: 'auth' as const, method: 'REGISTER', uri: URI };
    const expected = md5(`${md5(`${h1}:n:c`)}:n:00000001:c:auth:${md5(`REGISTER:${URI}`)}`);
    assert.equal(digestResponse({ ...p, algorithm: 'MD5-sess', ha1: h1 }), expected, 'MD5-sess response');
    assert.equal(
      digestResponse({ ...p, algorithm: 'MD5-sess', ha1: h1.toUpperCase() }),
      expected,
      'an upper-case HA1 gives the same response',
    );
    assert.throws(
      () => digestResponse({ algorithm: 'SHA-256-sess', ha1: h1, nonce: 'n', method: 'REGISTER', uri: URI }),
      DigestError,
      '-sess without a cnonce is refused',
    );
  });

  test('hash lengths per algorithm and case-insensitive algorithm names', () => {
    assert.equal(ha1('MD5', 'a', 'b', 'c').length, 32, 'MD5: 32 hex digits');
    assert.equal(ha1('SHA-256', 'a', 'b', 'c').length, 64, 'SHA-256: 64 hex digits');
    assert.equal(ha1('SHA-512-256', 'a', 'b', 'c').length, 64, 'SHA-512-256: 64 hex digits');
    assert.notEqual(ha1('SHA-512-256', 'a', 'b', 'c'), ha1('SHA-256', 'a', 'b', 'c'), 'different functions');
    assert.ok(isSupportedAlgorithm('sha-512-256-SESS'), 'case-insensitive');
    assert.ok(!isSupportedAlgorithm('SHA-1'), 'SHA-1 is not supported');
    assert.ok(!isSupportedAlgorithm('MD5-'), 'no near misses');
    assert.equal(canonicalAlgorithm('md5-SESS'), 'MD5-sess', 'canonical spelling');
    assert.equal(canonicalAlgorithm('AKAv1-MD5'), undefined, 'unknown algorithm');
  });

  test('DigestError is an Error named DigestError', () => {
    const e = new DigestError('x');
    assert.ok(e instanceof Error, 'an Error');
    assert.equal(e.name, 'DigestError', 'name');
  });
});

describe('auth-param values', () => {
  test('names are found in any case, values read as text once quotes and escapes are gone', () => {
    const h = credentialsOf(
      'Digest USERNAME="a\\\\b\\"c", Realm="r", nonce="n", uri="sip:r", response="0123456789abcdef0123456789abcdef", nc=00000001',
    );
    assert.equal(h.get('username'), 'a\\b"c');
    assert.equal(h.get('UserName'), 'a\\b"c', 'the same text on a second read, by another spelling');
    assert.equal(h.getRaw('username'), '"a\\\\b\\"c"');
    assert.equal(h.get('realm'), 'r');
    assert.equal(h.get('nc'), '00000001');
    assert.equal(h.get('cnonce'), undefined);
    assert.deepEqual(h.names(), ['USERNAME', 'Realm', 'nonce', 'uri', 'response', 'nc']);
  });

  test('a parameter given twice, in any case, is refused', () => {
    assert.throws(
      () => credentialsOf('Digest username="a", realm="r", REALM="s", nonce="n", uri="u", response="00"'),
      /parameter 'REALM' appears twice/,
    );
  });

  test('quote and unquote are inverses for any text, with quotes and backslashes escaped', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', '"', '\\', ' ', 'z') }), (text) => {
        const q = quote(text);
        assert.equal(q.length, text.length + 2 + (text.match(/["\\]/g)?.length ?? 0));
        assert.equal(unquote(q), text);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('client and server round trips', () => {
  const modes = [
    { name: 'no qop', qop: [] as Array<'auth' | 'auth-int'>, body: undefined },
    { name: 'auth', qop: ['auth'] as Array<'auth' | 'auth-int'>, body: undefined },
    { name: 'auth-int without a body', qop: ['auth-int'] as Array<'auth' | 'auth-int'>, body: undefined },
    {
      name: 'auth-int with a body',
      qop: ['auth-int'] as Array<'auth' | 'auth-int'>,
      body: Buffer.from('v=0\r\no=bob 1 1 IN IP4 192.0.2.1\r\n'),
    },
  ];
  for (const algorithm of ALGORITHMS) {
    for (const mode of modes) {
      if (algorithm.endsWith('-sess') && mode.qop.length === 0) {
        test(`${algorithm} x ${mode.name}: refused on both sides (RFC 3261 §22.4 item 8)`, () => {
          assert.throws(
            () => new DigestServer({ realm: REALM, algorithms: [algorithm], qop: [] }),
            DigestError,
            'a server cannot offer -sess without qop',
          );
          const c = new DigestClient({ username: 'bob', password: 'zanzibar' });
          const challenge = challengeOf(`Digest realm="${REALM}", nonce="abc", algorithm=${algorithm}`);
          assert.throws(
            () => c.authorize(challenge, { method: 'REGISTER', uri: URI }),
            (e: unknown) => e instanceof DigestError && /without qop/.test(e.message),
            'a client cannot answer -sess without qop',
          );
          assert.equal(chooseChallenge([challenge]), undefined, 'such a challenge is not chosen');
        });
        continue;
      }
      test(`${algorithm} x ${mode.name}`, () => {
        const { s } = server({ algorithms: [algorithm], qop: mode.qop });
        const [ch] = s.challenge();
        assert.equal(ch?.getRaw('algorithm'), algorithm, 'challenge names the algorithm, unquoted');
        const client = new DigestClient({ username: 'bob', password: 'zanzibar' });
        const request = { method: 'INVITE', uri: URI, body: mode.body };
        const { credentials, result } = roundTrip(s, client, request);
        assert.deepEqual(result, { ok: true, username: 'bob' }, 'credentials accepted');
        assert.equal(credentials.get('qop'), mode.qop[0], 'qop as offered');
        assert.equal(credentials.has('nc'), mode.qop.length > 0, 'nc only with qop');
        assert.equal(credentials.has('cnonce'), mode.qop.length > 0, 'cnonce only with qop');
        assert.equal(
          credentials.get('response')?.length,
          algorithm.startsWith('MD5') ? 32 : 64,
          'response length for the algorithm',
        );
        const other = { ...request, body: Buffer.from('v=0\r\no=mallory\r\n') };
        const tampered = s.verify(credentials, other, users);
        if (mode.qop[0] === 'auth-int')
          assert.equal(reasonOf(tampered), 'bad-response', 'auth-int covers the body');
        else assert.notEqual(reasonOf(tampered), 'bad-response', 'auth does not cover the body');
        assert.equal(
          reasonOf(s.verify(credentials, { ...request, method: 'BYE' }, users)),
          'bad-response',
          'another method does not verify (the response is checked before the nonce count)',
        );
      });
    }
  }

  test('a SIP exchange: 401 with two challenges, REGISTER with credentials, both through the parser', () => {
    const { s } = server();
    const r401 = new SipResponse({ status: 401 });
    for (const c of s.challenge()) r401.appendHeader('WWW-Authenticate', c);
    const challenges = parseMessage(r401.toString())
      .getAll('WWW-Authenticate')
      .map((v) => challengeOf(v));
    assert.equal(challenges.length, 2, 'two challenges');
    assert.equal(challenges[0]?.algorithm, 'SHA-256', 'SHA-256 first (RFC 8760 §2.3)');
    assert.equal(challenges[1]?.algorithm, 'MD5', 'MD5 second');
    const client = new DigestClient({ username: 'bob', password: 'zanzibar' });
    const register = new SipRequest({ method: 'REGISTER', uri: 'sip:biloxi.com' });
    register.appendHeader(
      'Authorization',
      client.authorize(chooseChallenge(challenges)!, { method: 'REGISTER', uri: 'sip:biloxi.com' }),
    );
    const received = parseMessage(register.toString());
    assert.ok(received instanceof SipRequest, 'a request');
    const credentials = received.parsed('Authorization');
    assert.ok(credentials instanceof AuthHeader, 'Authorization parses to an AuthHeader');
    const result = s.verify(
      credentials,
      { method: received.method, uri: 'sip:biloxi.com', body: received.body },
      users,
    );
    assert.deepEqual(result, { ok: true, username: 'bob' }, 'accepted');
  });

  test('non-ASCII username, realm and password travel as UTF-8', () => {
    const realm = 'réseau.example';
    const s = new DigestServer({ realm, secret: SECRET });
    const client = new DigestClient({ username: 'Jäsøn "J" Doe', password: 'pässwörd\\' });
    const lookup: UserLookup = (u, r) =>
      u === 'Jäsøn "J" Doe' && r === realm ? { password: 'pässwörd\\' } : undefined;
    const { credentials, result } = roundTrip(s, client, { method: 'REGISTER', uri: URI }, lookup);
    assert.deepEqual(result, { ok: true, username: 'Jäsøn "J" Doe' }, 'accepted');
    assert.equal(credentials.get('realm'), realm, 'realm read back as text');
  });
});

describe('server verification failures', () => {
  const client = () => new DigestClient({ username: 'bob', password: 'zanzibar' });
  const request = { method: 'REGISTER', uri: URI };

  test('wrong password: bad-response', () => {
    const { s } = server();
    const c = new DigestClient({ username: 'bob', password: 'zanzibar!' });
    assert.equal(reasonOf(roundTrip(s, c).result), 'bad-response', 'wrong password');
  });

  test('unknown user', () => {
    const { s } = server();
    const c = new DigestClient({ username: 'mallory', password: 'zanzibar' });
    assert.equal(reasonOf(roundTrip(s, c).result), 'unknown-user', 'unknown user');
  });

  test('nonce from another secret, tampered or invented: bad-nonce', () => {
    const { s } = server();
    const other = new DigestServer({ realm: REALM, secret: Buffer.from('another secret, another server!!') });
    const [ch] = other.challenge();
    const credentials = client().authorize(ch!, request);
    assert.equal(reasonOf(s.verify(credentials, request, users)), 'bad-nonce', 'another secret');
    assert.equal(reasonOf(other.verify(credentials, request, users)), 'ok', 'the issuing server accepts it');

    const [mine] = s.challenge();
    const nonce = mine!.get('nonce')!;
    const flipped = nonce.slice(0, 20) + (nonce[20] === 'A' ? 'B' : 'A') + nonce.slice(21);
    for (const bad of [
      flipped,
      `${nonce}A`,
      nonce.slice(0, -1),
      'dcd98b7102dd2f0e8b11d0f600bfb0c093',
      '',
      '!!!',
    ]) {
      const forged = new AuthHeader('Digest', [
        'realm',
        `"${REALM}"`,
        'nonce',
        `"${bad}"`,
        'algorithm',
        'SHA-256',
        'qop',
        'auth',
      ]);
      const h = client().authorize(forged, request);
      assert.equal(reasonOf(s.verify(h, request, users)), 'bad-nonce', `nonce ${JSON.stringify(bad)}`);
    }
  });

  test('a second server with the same secret accepts the nonce (stateless nonces)', () => {
    const { s } = server();
    const twin = new DigestServer({ realm: REALM, secret: SECRET, now: () => T0 + 1000 });
    const h = client().authorize(s.challenge()[0]!, request);
    assert.deepEqual(twin.verify(h, request, users), { ok: true, username: 'bob' }, 'accepted by the twin');
  });

  test('nonces of one second share a signed batch, each distinct and accepted once', () => {
    const { s, clock } = server();
    const nonceOf = () => s.challenge()[0]!.get('nonce')!;
    const a = nonceOf();
    const b = nonceOf();
    clock.now += 999;
    const c = nonceOf();
    clock.now += 1;
    const d = nonceOf();
    for (const n of [a, b, c, d]) assert.match(n, /^[A-Za-z0-9_-]{75}$/, 'base64url of 56 bytes');
    assert.equal(new Set([a, b, c, d]).size, 4, 'every nonce differs');
    assert.equal(b.slice(0, 28), a.slice(0, 28), 'same batch within the second');
    assert.equal(c.slice(32), a.slice(32), 'same signature within the second');
    assert.notEqual(d.slice(0, 28), a.slice(0, 28), 'a new batch after a second');
    for (const n of [a, b, c, d]) {
      const h = client().authorize(
        challengeOf(`Digest realm="${REALM}", nonce="${n}", qop="auth", algorithm=SHA-256`),
        request,
      );
      assert.equal(reasonOf(s.verify(h, request, users)), 'ok', `nonce ${n} accepted`);
      assert.equal(reasonOf(s.verify(h, request, users)), 'replay', `nonce ${n} not accepted twice`);
    }
  });

  test('a nonce whose batch is no longer remembered is checked by its signature', () => {
    const { s, clock } = server({ nonceTtlMs: 10_000_000 });
    const first = s.challenge()[0]!;
    // 1100 later batches push the first out of the remembered ones.
    for (let i = 0; i < 1100; i++) {
      clock.now += 1000;
      s.challenge();
    }
    const nonce = first.get('nonce')!;
    const tampered = nonce.slice(0, 40) + (nonce[40] === 'A' ? 'B' : 'A') + nonce.slice(41);
    const answer = (n: string) =>
      client().authorize(
        challengeOf(`Digest realm="${REALM}", nonce="${n}", qop="auth", algorithm=SHA-256`),
        request,
      );
    assert.equal(reasonOf(s.verify(answer(tampered), request, users)), 'bad-nonce', 'signature altered');
    assert.equal(reasonOf(s.verify(answer(nonce), request, users)), 'ok', 'the genuine nonce is accepted');
  });

  test('expired nonce: stale, then a stale=true challenge is answered and accepted', () => {
    const { s, clock } = server({ nonceTtlMs: 60_000 });
    const c = client();
    const first = c.authorize(s.challenge()[0]!, request);
    clock.now += 59_000;
    assert.equal(reasonOf(s.verify(first, request, users)), 'ok', 'fresh within the ttl');
    clock.now += 2_000;
    const again = c.preemptive(REALM, request)!;
    assert.equal(reasonOf(s.verify(again, request, users)), 'stale', 'expired after the ttl');
    const wrong = new DigestClient({ username: 'bob', password: 'nope' }).authorize(
      challengeOf(`Digest realm="${REALM}", nonce="${first.get('nonce')}", qop="auth", algorithm=SHA-256`),
      request,
    );
    assert.equal(
      reasonOf(s.verify(wrong, request, users)),
      'bad-response',
      'stale only for a right password',
    );
    const challenges = s.challenge({ stale: true });
    assert.ok(
      challenges.every((h) => h.getRaw('stale') === 'true'),
      'every challenge carries stale=true, unquoted',
    );
    assert.ok(
      s.challenge().every((h) => !h.has('stale')),
      'no stale parameter unless asked',
    );
    const retry = c.authorize(challengeOf(challenges[0]!.toString()), request);
    assert.equal(reasonOf(s.verify(retry, request, users)), 'ok', 'the retry with the new nonce is accepted');
  });

  test('replayed nc: replay; growing nc accepted; a lower nc is a replay', () => {
    const { s } = server();
    const c = client();
    const ch = s.challenge()[0]!;
    const one = c.authorize(ch, request);
    assert.equal(reasonOf(s.verify(one, request, users)), 'ok', 'nc 1 accepted');
    assert.equal(reasonOf(s.verify(one, request, users)), 'replay', 'nc 1 again is a replay');
    const two = c.authorize(ch, request);
    const three = c.authorize(ch, request);
    assert.equal(three.get('nc'), '00000003', 'client counts per nonce');
    assert.equal(reasonOf(s.verify(three, request, users)), 'ok', 'nc 3 accepted');
    assert.equal(reasonOf(s.verify(two, request, users)), 'replay', 'nc 2 after 3 is a replay');
    const wrong = withParam(c.authorize(ch, request), 'response', `"${'0'.repeat(64)}"`);
    assert.equal(reasonOf(s.verify(wrong, request, users)), 'bad-response', 'bad response');
    const four = c.authorize(ch, request);
    assert.equal(four.get('nc'), '00000005', 'the client moved on');
    assert.equal(reasonOf(s.verify(four, request, users)), 'ok', 'failed attempts do not consume counts');
  });

  test('without qop a nonce can be reused (no count to track)', () => {
    const { s } = server({ qop: [] });
    const c = client();
    const h = c.authorize(s.challenge()[0]!, request);
    assert.equal(reasonOf(s.verify(h, request, users)), 'ok', 'first use');
    assert.equal(reasonOf(s.verify(h, request, users)), 'ok', 'second use within the ttl');
  });

  test('tracking is bounded: a forgotten nonce is answered stale, not accepted again', () => {
    const { s, clock } = server({ maxTracked: 2 });
    const c = client();
    const answers = [0, 1, 2].map(() => {
      clock.now += 1;
      return c.authorize(s.challenge()[0]!, request);
    });
    for (const h of answers)
      assert.equal(reasonOf(s.verify(h, request, users)), 'ok', 'each nonce accepted once');
    assert.equal(
      reasonOf(s.verify(answers[0]!, request, users)),
      'stale',
      'the evicted nonce is not replayable',
    );
    assert.equal(
      reasonOf(s.verify(answers[2]!, request, users)),
      'replay',
      'a tracked nonce is still tracked',
    );
    clock.now += 1;
    const fresh = c.authorize(s.challenge()[0]!, request);
    assert.equal(reasonOf(s.verify(fresh, request, users)), 'ok', 'a newer nonce is accepted');
  });

  test('wrong realm', () => {
    const { s } = server();
    const other = new DigestServer({ realm: 'atlanta.com', secret: SECRET, now: () => T0 });
    const h = client().authorize(other.challenge()[0]!, request);
    assert.equal(reasonOf(s.verify(h, request, users)), 'wrong-realm', 'realm differs');
  });

  test('wrong uri', () => {
    const { s } = server();
    const h = client().authorize(s.challenge()[0]!, request);
    assert.equal(
      reasonOf(s.verify(h, { method: 'REGISTER', uri: 'sip:alice@biloxi.com' }, users)),
      'wrong-uri',
      'uri differs from the Request-URI',
    );
  });

  test('algorithm not offered: unsupported-algorithm', () => {
    const { s } = server({ algorithms: ['SHA-256'] });
    const md5only = new DigestServer({ realm: REALM, secret: SECRET, algorithms: ['MD5'], now: () => T0 });
    const h = client().authorize(md5only.challenge()[0]!, request);
    assert.equal(reasonOf(s.verify(h, request, users)), 'unsupported-algorithm', 'MD5 not offered');
    const unknown = withParam(h, 'algorithm', 'SHA-1');
    assert.equal(reasonOf(s.verify(unknown, request, users)), 'unsupported-algorithm', 'unknown algorithm');
  });

  test('qop missing or not offered: malformed', () => {
    const { s } = server();
    const h = client().authorize(s.challenge()[0]!, request);
    assert.equal(reasonOf(s.verify(withParam(h, 'qop', undefined), request, users)), 'malformed', 'no qop');
    assert.equal(
      reasonOf(s.verify(withParam(h, 'qop', 'auth-int'), request, users)),
      'malformed',
      'not offered',
    );
    assert.equal(reasonOf(s.verify(withParam(h, 'nc', '00000000'), request, users)), 'malformed', 'nc 0');
    assert.equal(reasonOf(s.verify(withParam(h, 'nc', '1'), request, users)), 'malformed', 'nc not 8 digits');
    assert.equal(
      reasonOf(s.verify(withParam(h, 'cnonce', undefined), request, users)),
      'malformed',
      'no cnonce',
    );
  });

  test('HA1 stored instead of a password', () => {
    const { s } = server({ algorithms: ['SHA-512-256-sess', 'SHA-256', 'MD5'] });
    const stored: UserLookup = (u, r) =>
      u === 'bob'
        ? {
            ha1: {
              'SHA-512-256': ha1('SHA-512-256', 'bob', r, 'zanzibar'),
              'SHA-256': ha1('SHA-256', 'bob', r, 'zanzibar').toUpperCase(),
            },
          }
        : undefined;
    const c = client();
    const [sess, sha, md] = s.challenge();
    assert.equal(reasonOf(s.verify(c.authorize(sess!, request), request, stored)), 'ok', 'SHA-512-256-sess');
    assert.equal(
      reasonOf(s.verify(c.authorize(sha!, request), request, stored)),
      'ok',
      'SHA-256, upper-case HA1',
    );
    assert.equal(
      reasonOf(s.verify(c.authorize(md!, request), request, stored)),
      'unsupported-algorithm',
      'no MD5 HA1 and no password',
    );
    const wrongHa1: UserLookup = () => ({ ha1: { 'SHA-256': ha1('SHA-256', 'bob', REALM, 'other') } });
    assert.equal(
      reasonOf(s.verify(c.authorize(sha!, request), request, wrongHa1)),
      'bad-response',
      'HA1 of another password',
    );
  });

  test('malformed credentials: missing response, Basic, garbage values', () => {
    const { s } = server();
    const good = client().authorize(s.challenge()[0]!, request);
    for (const name of ['username', 'realm', 'nonce', 'uri', 'response']) {
      assert.equal(
        reasonOf(s.verify(withParam(good, name, undefined), request, users)),
        'malformed',
        `no ${name}`,
      );
    }
    const basic = parseAuthHeader('Basic Ym9iOnphbnppYmFy', 'Authorization', 'credentials');
    assert.equal(reasonOf(s.verify(basic, request, users)), 'malformed', 'Basic is never accepted');
    const digestToken = new AuthHeader('Digest', [], 'abc');
    assert.equal(reasonOf(s.verify(digestToken, request, users)), 'malformed', 'Digest with a token68');
    for (const response of ['"xyz"', '"12"', `"${'g'.repeat(64)}"`, 'deadbeef', '""', '"']) {
      assert.equal(
        reasonOf(s.verify(withParam(good, 'response', response), request, users)),
        'malformed',
        `response ${response}`,
      );
    }
  });

  test('a few hundred random parameter combinations: ok:false, never a throw', () => {
    const { s } = server({ algorithms: ['SHA-256', 'MD5', 'SHA-512-256-sess'], qop: ['auth', 'auth-int'] });
    const good = client().authorize(s.challenge()[0]!, request);
    // Used once, so any copy left intact below is a replay.
    assert.equal(reasonOf(s.verify(good, request, users)), 'ok', 'the base credentials verify once');
    const rnd = random(0x5eed);
    const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)]!;
    const names = [
      'username',
      'realm',
      'nonce',
      'uri',
      'response',
      'algorithm',
      'cnonce',
      'nc',
      'qop',
      'opaque',
    ];
    const values = [
      '',
      '""',
      '"',
      '"\\',
      'x',
      '"bob"',
      `"${REALM}"`,
      `"${URI}"`,
      '00000001',
      'ffffffff',
      'auth',
      'auth-int',
      'AUTH',
      'MD5',
      'md5-sess',
      'SHA-256',
      'SHA-512-256-sess',
      'SHA-1',
      `"${'a'.repeat(32)}"`,
      `"${'0'.repeat(64)}"`,
      `"${good.get('nonce')}"`,
      '"\u00ff\u00fe"',
      '"\r\n"',
      '"é"',
      '\u0000',
      'x'.repeat(5000),
    ];
    const reasons = new Set<string>();
    for (let i = 0; i < 400; i++) {
      const list: string[] = [];
      if (i % 2 === 0) {
        // Entirely random parameters.
        const count = rnd(12);
        for (let j = 0; j < count; j++) list.push(rnd(8) === 0 ? `p${rnd(5)}` : pick(names), pick(values));
      } else {
        // Good credentials with a few parameters dropped, replaced or added.
        for (const n of good.names()) {
          const r = rnd(16);
          if (r === 0) continue;
          list.push(n, r === 1 ? pick(values) : good.getRaw(n)!);
        }
        for (let j = rnd(3); j > 0; j--) list.push(pick(names), pick(values));
      }
      const h = new AuthHeader(pick(['Digest', 'digest', 'DIGEST', 'Digest', 'Basic', 'Bearer']), list);
      const lookup: UserLookup = rnd(2) === 0 ? users : () => ({});
      let result: VerifyResult | undefined;
      assert.doesNotThrow(
        () => {
          result = s.verify(h, { method: pick(['REGISTER', 'INVITE', '']), uri: pick([URI, '']) }, lookup);
        },
        `combination ${h.toString().slice(0, 200)}`,
      );
      assert.equal(result?.ok, false, `refused: ${h.toString().slice(0, 200)}`);
      if (result && !result.ok) reasons.add(result.reason);
    }
    assert.ok(reasons.size >= 6, `several reasons seen: ${[...reasons].join(', ')}`);
  });

  test('changing any hashed parameter of good credentials makes them fail', () => {
    const { s } = server({ qop: ['auth', 'auth-int'] });
    const c = client();
    const ch = s.challenge()[0]!;
    const rnd = random(42);
    const hashed = ['username', 'realm', 'nonce', 'uri', 'response', 'cnonce', 'nc', 'qop', 'algorithm'];
    const alphabet = '0123456789abcdef"\\ ,=xyz';
    let changed = 0;
    for (let i = 0; i < 200; i++) {
      const good = c.authorize(ch, request);
      const name = hashed[rnd(hashed.length)]!;
      const old = good.get(name)!;
      let text = '';
      for (let k = rnd(70); k > 0; k--) text += alphabet[rnd(alphabet.length)];
      if (rnd(2) === 0) text = old.slice(0, -1) + text.slice(0, 1);
      if (text.toLowerCase() === old.toLowerCase()) continue;
      const raw = rnd(3) === 0 ? text : `"${text.replace(/["\\]/g, '\\$&')}"`;
      const result = s.verify(withParam(good, name, raw), request, users);
      assert.equal(result.ok, false, `${name}=${raw} must not verify`);
      changed++;
      // The untouched credentials still verify: failures do not consume counts.
      assert.equal(reasonOf(s.verify(good, request, users)), 'ok', 'the original verifies');
    }
    assert.ok(changed > 150, 'most iterations changed something');
  });
});

describe('client', () => {
  const request = { method: 'REGISTER', uri: URI };
  const bob = () => new DigestClient({ username: 'bob', password: 'zanzibar' }, { cnonce: () => 'c0ffee' });

  test('qop: auth when offered, auth-int when alone, none without qop, error when nothing known', () => {
    const c = bob();
    let n = 0;
    const ask = (qop: string) => c.authorize(challengeOf(`Digest realm="r", nonce="n${n++}"${qop}`), request);
    assert.equal(ask(', qop="auth-int,auth"').get('qop'), 'auth', 'auth preferred');
    assert.equal(ask(', qop="auth-int"').get('qop'), 'auth-int', 'auth-int alone');
    assert.equal(ask(', qop="auth-int, x-new"').get('qop'), 'auth-int', 'unknown options ignored');
    const none = ask('');
    assert.deepEqual(
      none.names(),
      ['username', 'realm', 'nonce', 'uri', 'response'],
      'RFC 2069 form: no qop, nc, cnonce or algorithm',
    );
    assert.throws(
      () => ask(', qop="x-new"'),
      (e: unknown) => e instanceof DigestError && /qop/.test(e.message),
      'no known qop',
    );
  });

  test('quoting follows RFC 3261 §25.1 and the algorithm is echoed as written', () => {
    const c = bob();
    const h = c.authorize(
      challengeOf('Digest realm="r", nonce=tok, algorithm=sha-256, qop=auth, opaque="", domain="sip:r"'),
      request,
    );
    for (const n of ['username', 'realm', 'nonce', 'uri', 'response', 'cnonce', 'opaque']) {
      assert.ok(h.getRaw(n)?.startsWith('"'), `${n} quoted`);
    }
    for (const n of ['algorithm', 'qop', 'nc']) assert.ok(!h.getRaw(n)?.startsWith('"'), `${n} not quoted`);
    assert.equal(h.getRaw('algorithm'), 'sha-256', 'algorithm as the challenge wrote it');
    assert.equal(h.getRaw('opaque'), '""', 'empty opaque echoed');
    assert.equal(h.get('nonce'), 'tok', 'a token nonce is echoed');
    assert.ok(!h.has('domain'), 'domain is not echoed');
  });

  test('non-Digest, unknown algorithm, missing nonce, other realm: DigestError', () => {
    const c = new DigestClient({ username: 'bob', password: 'zanzibar', realm: 'biloxi.com' });
    const cases = [
      new AuthHeader('Basic', ['realm', '"biloxi.com"']),
      challengeOf('Digest realm="biloxi.com", nonce="n", algorithm=AKAv1-MD5'),
      new AuthHeader('Digest', ['realm', '"biloxi.com"']),
      challengeOf('Digest realm="atlanta.com", nonce="n"'),
    ];
    for (const ch of cases) {
      assert.throws(() => c.authorize(ch, request), DigestError, `refused: ${ch.toString()}`);
    }
    assert.doesNotThrow(
      () => c.authorize(challengeOf('Digest realm="biloxi.com", nonce="n"'), request),
      'its own realm',
    );
  });

  test('control characters cannot be written into the header', () => {
    const c = new DigestClient({ username: 'bob\r\nVia: x', password: 'p' });
    assert.throws(
      () => c.authorize(challengeOf('Digest realm="r", nonce="n"'), request),
      (e: unknown) => e instanceof DigestError && /username/.test(e.message),
      'CRLF in the username',
    );
  });

  test('nonce count per nonce', () => {
    const c = bob();
    const a = challengeOf('Digest realm="r", nonce="a", qop="auth"');
    const b = challengeOf('Digest realm="r", nonce="b", qop="auth"');
    assert.equal(c.authorize(a, request).get('nc'), '00000001', 'a: 1');
    assert.equal(c.authorize(a, request).get('nc'), '00000002', 'a: 2');
    assert.equal(c.authorize(b, request).get('nc'), '00000001', 'b: 1');
    assert.equal(c.authorize(a, request).get('nc'), '00000003', 'a: 3');
  });

  test('preemptive credentials carry incrementing nc and are accepted', () => {
    const { s } = server();
    const c = new DigestClient({ username: 'bob', password: 'zanzibar' });
    assert.equal(c.preemptive(REALM, request), undefined, 'nothing before a challenge');
    const first = c.authorize(challengeOf(s.challenge()[0]!.toString()), request);
    assert.equal(reasonOf(s.verify(first, request, users)), 'ok', 'answer accepted');
    for (const nc of ['00000002', '00000003', '00000004']) {
      const h = c.preemptive(REALM, request)!;
      assert.equal(h.get('nc'), nc, `nc ${nc}`);
      assert.equal(h.get('nonce'), first.get('nonce'), 'same nonce');
      assert.equal(
        reasonOf(s.verify(credentialsOf(h.toString()), request, users)),
        'ok',
        `nc ${nc} accepted`,
      );
    }
    assert.equal(c.preemptive('atlanta.com', request), undefined, 'nothing for another realm');
  });

  test('"-sess": the session cnonce is kept for the nonce', () => {
    const { s } = server({ algorithms: ['SHA-256-sess'] });
    let n = 0;
    const c = new DigestClient({ username: 'bob', password: 'zanzibar' }, { cnonce: () => `cn${n++}` });
    const first = c.authorize(s.challenge()[0]!, request);
    const second = c.preemptive(REALM, request)!;
    assert.equal(second.get('cnonce'), first.get('cnonce'), 'same cnonce for the session');
    assert.equal(reasonOf(s.verify(first, request, users)), 'ok', 'first accepted');
    assert.equal(reasonOf(s.verify(second, request, users)), 'ok', 'second accepted');
    const plain = new DigestClient({ username: 'bob', password: 'zanzibar' }, { cnonce: () => `cn${n++}` });
    const ch = challengeOf('Digest realm="r", nonce="x", qop="auth"');
    assert.notEqual(
      plain.authorize(ch, request).get('cnonce'),
      plain.authorize(ch, request).get('cnonce'),
      'a fresh cnonce per request otherwise',
    );
  });
});

describe('chooseChallenge', () => {
  const d = (params: string) => challengeOf(`Digest realm="biloxi.com", nonce="n", ${params}`);

  test('SHA-256 over MD5; unknown algorithms and non-Digest schemes skipped', () => {
    const challenges = [
      new AuthHeader('Basic', ['realm', '"biloxi.com"']),
      parseAuthHeader('Bearer realm="biloxi.com", scope="x"', 'WWW-Authenticate', 'challenge'),
      d('algorithm=AKAv1-MD5, qop="auth"'),
      d('algorithm=MD5, qop="auth"'),
      d('algorithm=SHA-256, qop="auth"'),
      d('algorithm=SHA-1, qop="auth"'),
    ];
    assert.equal(chooseChallenge(challenges), challenges[4], 'the SHA-256 challenge');
    assert.equal(
      chooseChallenge(challenges.slice(0, 4)),
      challenges[3],
      'MD5 when it is the only usable one',
    );
    assert.equal(chooseChallenge(challenges.slice(0, 3)), undefined, 'none usable');
    assert.equal(chooseChallenge([]), undefined, 'no challenges');
  });

  test('SHA-512-256 first; "-sess" equal to its base, so the topmost wins', () => {
    const sess = d('algorithm=SHA-256-sess, qop="auth"');
    const plain = d('algorithm=SHA-256, qop="auth"');
    const best = d('algorithm=SHA-512-256, qop="auth"');
    assert.equal(chooseChallenge([plain, best, sess]), best, 'SHA-512-256 preferred');
    assert.equal(chooseChallenge([sess, plain]), sess, 'topmost of equals');
    assert.equal(chooseChallenge([plain, sess]), plain, 'topmost of equals, other order');
    const noAlgorithm = d('qop="auth"');
    assert.equal(chooseChallenge([noAlgorithm, d('algorithm=MD5')]), noAlgorithm, 'no algorithm means MD5');
  });

  test('realm filter', () => {
    const atlanta = challengeOf('Digest realm="atlanta.com", nonce="n", algorithm=SHA-256');
    const biloxi = challengeOf('Digest realm="biloxi.com", nonce="n", algorithm=MD5');
    assert.equal(chooseChallenge([atlanta, biloxi]), atlanta, 'strongest overall');
    assert.equal(chooseChallenge([atlanta, biloxi], 'biloxi.com'), biloxi, 'restricted to a realm');
    assert.equal(chooseChallenge([atlanta], 'biloxi.com'), undefined, 'nothing for the realm');
  });
});

describe('server', () => {
  test('challenges: one per algorithm, in order, with realm, nonce, qop', () => {
    const { s } = server({
      algorithms: ['SHA-512-256', 'SHA-256', 'MD5', 'SHA-256'],
      qop: ['auth', 'auth-int'],
    });
    const cs = s.challenge();
    assert.deepEqual(
      cs.map((c) => c.getRaw('algorithm')),
      ['SHA-512-256', 'SHA-256', 'MD5'],
      'each algorithm once, in the configured order',
    );
    for (const c of cs) {
      assert.equal(c.getRaw('realm'), `"${REALM}"`, 'realm quoted');
      assert.equal(c.getRaw('qop'), '"auth,auth-int"', 'qop-options quoted');
      assert.doesNotThrow(() => challengeOf(c.toString()), 'parses as a challenge');
    }
    const next = s.challenge();
    assert.notEqual(next[0]?.get('nonce'), cs[0]?.get('nonce'), 'a fresh nonce per call');
    assert.deepEqual(
      new DigestServer({ realm: REALM }).challenge().map((c) => c.algorithm),
      ['SHA-256', 'MD5'],
      'default algorithms',
    );
  });

  test('bad options throw DigestError', () => {
    const bad: DigestServerOptions[] = [
      { realm: REALM, algorithms: [] },
      { realm: REALM, algorithms: ['SHA-1' as DigestAlgorithm] },
      { realm: REALM, qop: ['auth-conf' as 'auth'] },
      { realm: 'a\r\nb' },
      { realm: REALM, maxTracked: 0 },
      { realm: REALM, nonceTtlMs: 0 },
    ];
    for (const o of bad) assert.throws(() => new DigestServer(o), DigestError, JSON.stringify(o));
  });

  test('credentialsFor picks the value for this realm', () => {
    const { s } = server({ algorithms: ['SHA-256'] });
    const other = credentialsOf(
      `Digest username="bob", realm="atlanta.com", nonce="n", uri="${URI}", response="${'0'.repeat(32)}"`,
    );
    const md5 = credentialsOf(
      `Digest username="bob", realm="${REALM}", nonce="n", uri="${URI}", response="${'0'.repeat(32)}"`,
    );
    const sha = credentialsOf(
      `Digest username="bob", realm="${REALM}", nonce="n", uri="${URI}", algorithm=SHA-256, response="${'0'.repeat(64)}"`,
    );
    const basic = parseAuthHeader('Basic Ym9iOnphbnppYmFy', 'Authorization', 'credentials');
    assert.equal(s.credentialsFor([basic, other, md5, sha]), sha, 'the realm, with an offered algorithm');
    assert.equal(s.credentialsFor([other, md5]), md5, 'the realm, even with another algorithm');
    assert.equal(s.credentialsFor([basic, other]), undefined, 'none for the realm');
  });
});
