// What the bounded tables keep per entry. A string cut from a received
// message is a view into the whole message text (up to 64 KiB); a table
// that keeps such a string as a key or value keeps the whole message, so
// its bound on entries would not bound its memory. Each test fills a table
// with pieces of large texts and checks that it keeps far less than the
// texts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  DigestClient,
  DigestServer,
  parseAuthHeader,
  parseMessage,
  type SipRequest,
} from '../../src/index.js';

const own = (s: string) => `${s} `.slice(0, -1);

import { SipResolver } from '../../src/resolver/resolver.js';
import { Authenticator } from '../../src/server/authenticator.js';
import { MemoryLocationStore } from '../../src/server/store/memory.js';
import { openDatabase, SqliteUserStore } from '../../src/server/store/sqlite.js';
import type { Source } from '../../src/transport/transport-layer.js';
import { cutFromLargeText, retainedBytes } from '../support/heap.js';

const N = 200;
/** Far below N messages of 24 KB or texts of 60 KB, far above what N small entries take. */
const LIMIT = 1_500_000;
const T0 = 1_700_000_000_000;
const SECRET = Buffer.from('0123456789abcdef0123456789abcdef');

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function source(i: number): Source {
  return {
    transport: 'udp',
    address: `10.0.${i >> 8}.${i & 255}`,
    port: 5060,
    localAddress: '127.0.0.1',
    localPort: 5060,
    connection: undefined,
  };
}

/** A REGISTER with a 24 KB header section (padding headers), with the given Authorization value if any. */
function bigRegister(i: number, authorization?: string): SipRequest {
  const text = [
    'REGISTER sip:example.test SIP/2.0',
    `Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-retained-${i}`,
    'Max-Forwards: 70',
    `From: <sip:guess${i}@example.test>;tag=t${i}`,
    `To: <sip:guess${i}@example.test>`,
    `Call-ID: retained-${i}@10.0.0.1`,
    'CSeq: 1 REGISTER',
    `Contact: <sip:guess${i}@10.0.0.1:5060>`,
    ...[1, 2, 3].map((k) => `X-Padding-${k}: ${'p'.repeat(8000)}`),
    ...(authorization === undefined ? [] : [`Authorization: ${authorization}`]),
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  return parseMessage(Buffer.from(text, 'latin1')) as SipRequest;
}

describe('tables keep their own copies of what peers send', () => {
  test('a piece of a large text keeps the whole text; own() keeps only the piece', async () => {
    const pieces: string[] = [];
    const asCut = await retainedBytes(() => {
      for (let i = 0; i < N; i++) pieces.push(cutFromLargeText(`piece-number-${i}`));
    });
    assert.ok(asCut > 4_000_000, `the engine keeps each whole text behind a piece (${asCut} bytes)`);
    const owned: string[] = [];
    const asOwned = await retainedBytes(() => {
      for (let i = 0; i < N; i++) owned.push(own(cutFromLargeText(`piece-number-${i}`)));
    });
    assert.ok(asOwned < LIMIT, `own copies keep ${asOwned} bytes`);
    assert.equal(owned[7], 'piece-number-7');
    assert.equal(own('short'), 'short');
    assert.equal(own(''), '');
    assert.equal(pieces.length + owned.length, 2 * N);
  });

  test('failed logins: the guard and the user cache keep names, not requests', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sipwire-retained-'));
    dirs.push(dir);
    const db = openDatabase(join(dir, 'u.db'));
    const users = new SqliteUserStore(db);
    const auth = new Authenticator({
      users,
      algorithms: ['MD5'],
      secret: SECRET,
      guard: { delayAfter: 1e6, lockAfter: 1e6 },
    });
    const first = await auth.check(bigRegister(0), source(0), 'example.test', false);
    assert.equal(first.kind, 'challenge');
    const nonce = first.kind === 'challenge' ? (first.challenges[0]?.get('nonce') as string) : '';
    let forbidden = 0;
    const retained = await retainedBytes(async () => {
      for (let i = 0; i < N; i++) {
        const credentials =
          `Digest username="guess-${i}-of-many", realm="example.test", nonce="${nonce}", ` +
          `uri="sip:example.test", response="${'0'.repeat(32)}", algorithm=MD5, qop=auth, ` +
          `nc=00000001, cnonce="c${i}"`;
        const outcome = await auth.check(bigRegister(i, credentials), source(i), 'example.test', false);
        if (outcome.kind === 'forbidden') forbidden++;
      }
    });
    assert.equal(forbidden, N, 'every guess is refused');
    assert.ok(retained < LIMIT, `${N} failed guesses keep ${retained} bytes`);
    await users.close();
    db.close();
  });

  test('realms named by requests: the authenticator keeps the realm, not the request', async () => {
    const auth = new Authenticator({ users: new NobodyUserStore(), algorithms: ['MD5'], secret: SECRET });
    const request = bigRegister(0);
    const retained = await retainedBytes(async () => {
      for (let i = 0; i < N; i++) {
        const outcome = await auth.check(
          request,
          source(i),
          cutFromLargeText(`realm-${i}.example.test`),
          true,
        );
        assert.equal(outcome.kind, 'challenge');
      }
    });
    assert.ok(retained < LIMIT, `${N} realms keep ${retained} bytes`);
  });

  test('nonce counts: the digest server keeps the nonce, not the credentials it came in', async () => {
    const s = new DigestServer({ realm: 'example.test', secret: SECRET, algorithms: ['MD5'], now: () => T0 });
    const client = new DigestClient({ username: 'alice', password: 'secret' });
    const request = { method: 'REGISTER', uri: 'sip:example.test' };
    let ok = 0;
    const retained = await retainedBytes(() => {
      for (let i = 0; i < N; i++) {
        const challenge = parseAuthHeader(
          s.challenge()[0]?.toString() as string,
          'WWW-Authenticate',
          'challenge',
        );
        const answer = client.authorize(challenge, request).toString();
        const credentials = parseAuthHeader(cutFromLargeText(answer), 'Authorization', 'credentials');
        const r = s.verify(credentials, request, () => ({ password: 'secret' }));
        if (r.ok) ok++;
      }
    });
    assert.equal(ok, N, 'every answer is accepted');
    assert.ok(retained < LIMIT, `${N} tracked nonces keep ${retained} bytes`);
  });

  test('header names given to a message are remembered without the text they were cut from', async () => {
    const retained = await retainedBytes(() => {
      for (let i = 0; i < N; i++) {
        const m = parseMessage(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 0\r\n\r\n'));
        m.appendHeader(cutFromLargeText(`X-Retained-Name-${i}`), 'value');
        assert.equal(m.get(`x-retained-name-${i}`), 'value');
      }
    });
    assert.ok(retained < LIMIT, `${N} names remembered keep ${retained} bytes`);
  });

  test('a client answering many realms keeps at most 256 of them, each as its own copy', async () => {
    const client = new DigestClient({ username: 'alice', password: 'secret' });
    const request = { method: 'REGISTER', uri: 'sip:example.test' };
    const realm = (i: number) => `realm-${i}.example.test`;
    const retained = await retainedBytes(() => {
      for (let i = 0; i < 300; i++) {
        const s = new DigestServer({ realm: realm(i), secret: SECRET, algorithms: ['MD5'], now: () => T0 });
        const text = cutFromLargeText(s.challenge()[0]?.toString() as string);
        client.authorize(parseAuthHeader(text, 'WWW-Authenticate', 'challenge'), request);
      }
    });
    assert.ok(retained < 3 * LIMIT, `300 challenges answered keep ${retained} bytes`);
    assert.equal(client.preemptive(realm(0), request), undefined, 'the oldest realm is forgotten');
    assert.notEqual(client.preemptive(realm(299), request), undefined, 'the latest is kept');
  });

  test('the resolver remembers failed names without the requests they came from', async () => {
    const resolver = new SipResolver({ systemLookup: async () => [] });
    const retained = await retainedBytes(async () => {
      for (let i = 0; i < N; i++) {
        assert.deepEqual(await resolver.hostAddresses(cutFromLargeText(`unknown-${i}.example.test`)), []);
      }
    });
    assert.equal(resolver.stats.asked, N);
    assert.ok(retained < LIMIT, `${N} remembered failures keep ${retained} bytes`);
  });

  test('the memory location store keeps bindings, not the REGISTERs they came in', async () => {
    const store = new MemoryLocationStore();
    const retained = await retainedBytes(async () => {
      for (let i = 0; i < N; i++) {
        const aor = cutFromLargeText(`sip:user${i}@example.test`);
        const contact = cutFromLargeText(`sip:user${i}@192.0.2.10:5060;transport=udp`);
        await store.apply(
          aor,
          {
            upsert: [
              {
                aor,
                key: contact,
                contact,
                callId: cutFromLargeText(`call-id-number-${i}@192.0.2.10`),
                cseq: 1,
                expiresAt: T0 + 3_600_000,
                path: [cutFromLargeText('<sip:edge.example.test;lr>')],
                instanceId: cutFromLargeText(
                  `urn:uuid:00000000-0000-1000-8000-${String(i).padStart(12, '0')}`,
                ),
                userAgent: cutFromLargeText('Softphone 2.0 (retained test)'),
                updatedAt: T0,
              },
            ],
            remove: [],
          },
          T0,
        );
      }
    });
    assert.equal((await store.lookup('sip:user7@example.test', T0)).length, 1);
    assert.ok(retained < LIMIT, `${N} bindings keep ${retained} bytes`);
  });
});

/** A user store that knows nobody. */
class NobodyUserStore {
  async get(): Promise<undefined> {
    return undefined;
  }
  async put(): Promise<void> {}
  async remove(): Promise<boolean> {
    return false;
  }
  async list(): Promise<never[]> {
    return [];
  }
  async close(): Promise<void> {}
}
