import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, afterEach, beforeEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  type Binding,
  type LocationStore,
  MemoryLocationStore,
  MemoryUserStore,
  openDatabase,
  openSqliteStores,
  SCHEMA_VERSION,
  SqliteLocationStore,
  SqliteUserStore,
  startSweeper,
  type User,
  type UserStore,
} from '../../src/server/store/index.js';

const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;
const ALICE = 'sip:alice@atlanta.com';
const BOB = 'sip:bob@biloxi.com';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sipwire-store-'));
  tempDirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** A binding of `aor` with only the required fields, `over` on top. */
function binding(aor: string, key: string, over: Partial<Binding> = {}): Binding {
  return {
    aor,
    key,
    contact: `sip:${key}@192.0.2.10:5060`,
    callId: `call-${key}`,
    cseq: 1,
    expiresAt: T0 + HOUR,
    path: [],
    updatedAt: T0,
    ...over,
  };
}

const upsert = (...bindings: Binding[]) => ({ upsert: bindings, remove: [] });
const keys = (bindings: readonly Binding[]) => bindings.map((b) => b.key);

const ha1 = {
  MD5: '939e7578ed9e3c518a452acee763bce9',
  'SHA-256': '7a9b3c1c1b9b2c3b1a0e9a5d4f2c1b0a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b',
  'SHA-512-256': 'AB12CD34EF56AB12CD34EF56AB12CD34EF56AB12CD34EF56AB12CD34EF56AB12',
} as const;

interface Fixture {
  readonly locations: LocationStore;
  readonly users: UserStore;
  close(): Promise<void>;
}

const KINDS: { name: string; open(): Fixture }[] = [
  {
    name: 'memory',
    open() {
      const locations = new MemoryLocationStore();
      const users = new MemoryUserStore();
      return {
        locations,
        users,
        close: async () => {
          await locations.close();
          await users.close();
        },
      };
    },
  },
  {
    name: 'SQLite',
    open() {
      return openSqliteStores(join(tempDir(), 'sipwire.db'));
    },
  },
];

for (const kind of KINDS) {
  describe(`${kind.name} stores`, () => {
    let f: Fixture;
    beforeEach(() => {
      f = kind.open();
    });
    afterEach(async () => {
      await f.close();
    });

    test('apply() inserts bindings and replaces one with the same key', async () => {
      const first = await f.locations.apply(ALICE, upsert(binding(ALICE, 'a'), binding(ALICE, 'b')), T0);
      assert.deepEqual(keys(first).sort(), ['a', 'b'], 'both bindings are returned after the insert');
      const refreshed = binding(ALICE, 'a', {
        contact: 'sip:alice@198.51.100.7:5070',
        cseq: 2,
        expiresAt: T0 + 2 * HOUR,
        updatedAt: T0 + 1000,
      });
      const second = await f.locations.apply(ALICE, upsert(refreshed), T0 + 1000);
      assert.equal(second.length, 2, 'replacing by key adds no binding');
      assert.deepEqual(
        second.find((b) => b.key === 'a'),
        refreshed,
        'the binding with key a is the new one',
      );
      assert.equal(await f.locations.count(), 2, 'two rows are stored');
      assert.deepEqual(await f.locations.lookup(ALICE, T0 + 1000), second, 'lookup() agrees with apply()');
    });

    test('apply() resolves with the bindings of that AOR only', async () => {
      await f.locations.apply(BOB, upsert(binding(BOB, 'b1')), T0);
      const result = await f.locations.apply(ALICE, upsert(binding(ALICE, 'a1')), T0);
      assert.deepEqual(keys(result), ['a1'], "Bob's binding is not in Alice's result");
      const none = await f.locations.apply('sip:carol@chicago.com', { upsert: [], remove: [] }, T0);
      assert.deepEqual(none, [], 'an empty change to an unknown AOR gives no bindings');
      assert.deepEqual(
        await f.locations.lookup('sip:nobody@example.com', T0),
        [],
        'unknown AOR: no bindings',
      );
    });

    test('apply() removes bindings by key; an unknown key is no error', async () => {
      await f.locations.apply(
        ALICE,
        upsert(binding(ALICE, 'a'), binding(ALICE, 'b'), binding(ALICE, 'c')),
        T0,
      );
      const result = await f.locations.apply(ALICE, { upsert: [], remove: ['b', 'nope'] }, T0);
      assert.deepEqual(keys(result).sort(), ['a', 'c'], 'only b went');
      const swap = await f.locations.apply(ALICE, { upsert: [binding(ALICE, 'd')], remove: ['a'] }, T0);
      assert.deepEqual(keys(swap).sort(), ['c', 'd'], 'a removal and an insert in one change');
      assert.equal(await f.locations.count(), 2, 'removed rows are gone, not just hidden');
    });

    test('removeAll removes every binding of the AOR and nothing else', async () => {
      await f.locations.apply(ALICE, upsert(binding(ALICE, 'a'), binding(ALICE, 'b')), T0);
      await f.locations.apply(BOB, upsert(binding(BOB, 'b')), T0);
      const result = await f.locations.apply(ALICE, { upsert: [], remove: [], removeAll: true }, T0);
      assert.deepEqual(result, [], "Alice's bindings are all gone");
      assert.deepEqual(keys(await f.locations.lookup(BOB, T0)), ['b'], "Bob's binding stays");
      const again = await f.locations.apply(
        ALICE,
        { upsert: [binding(ALICE, 'z')], remove: [], removeAll: true },
        T0,
      );
      assert.deepEqual(keys(again), ['z'], 'removeAll goes first, then the upserts of the same change');
    });

    test('expired bindings are never returned', async () => {
      await f.locations.apply(
        ALICE,
        upsert(
          binding(ALICE, 'short', { expiresAt: T0 + 1000 }),
          binding(ALICE, 'long', { expiresAt: T0 + HOUR }),
          binding(ALICE, 'past', { expiresAt: T0 - 1 }),
        ),
        T0,
      );
      assert.deepEqual(keys(await f.locations.lookup(ALICE, T0)).sort(), ['long', 'short'], 'at T0');
      assert.deepEqual(
        keys(await f.locations.lookup(ALICE, T0 + 1000)),
        ['long'],
        'a binding is expired at its expiresAt',
      );
      assert.deepEqual(
        keys(await f.locations.list(T0 + 999)).sort(),
        ['long', 'short'],
        'list() just before',
      );
      assert.deepEqual(keys(await f.locations.list(T0 + 1000)), ['long'], 'list() at the expiry');
      const after = await f.locations.apply(ALICE, upsert(binding(ALICE, 'x')), T0 + 5000);
      assert.deepEqual(keys(after).sort(), ['long', 'x'], 'apply() leaves out expired bindings too');
      assert.deepEqual(await f.locations.lookup(ALICE, T0 + HOUR), [], 'all expired an hour later');
    });

    test('expire() deletes expired rows and counts them', async () => {
      await f.locations.apply(
        ALICE,
        upsert(binding(ALICE, 'a', { expiresAt: T0 + 10 }), binding(ALICE, 'b', { expiresAt: T0 + 20 })),
        T0,
      );
      await f.locations.apply(BOB, upsert(binding(BOB, 'c', { expiresAt: T0 + 30 })), T0);
      assert.equal(await f.locations.count(), 3, 'count() before any expiry');
      assert.equal(await f.locations.expire(T0), 0, 'nothing expired at T0');
      assert.equal(await f.locations.count(), 3, 'expired rows count until swept');
      assert.equal(await f.locations.expire(T0 + 20), 2, 'expiresAt <= now goes');
      assert.equal(await f.locations.count(), 1, 'one left');
      assert.equal(await f.locations.expire(T0 + 20), 0, 'a second sweep finds nothing');
      assert.equal(await f.locations.expire(T0 + 1000), 1, 'the last one');
      assert.equal(await f.locations.count(), 0, 'empty');
    });

    test('list() orders by AOR then key, in code point order', async () => {
      await f.locations.apply(BOB, upsert(binding(BOB, 'k2'), binding(BOB, 'k1')), T0);
      await f.locations.apply(
        ALICE,
        upsert(binding(ALICE, 'z'), binding(ALICE, 'a'), binding(ALICE, 'M')),
        T0,
      );
      // U+FFFD sorts before U+1F600 by code point (and UTF-8 bytes), after it by UTF-16 units.
      const carol = 'sip:carol@chicago.com';
      await f.locations.apply(carol, upsert(binding(carol, '\u{1F600}'), binding(carol, '\uFFFD')), T0);
      const all = await f.locations.list(T0);
      assert.deepEqual(
        all.map((b) => `${b.aor} ${b.key}`),
        [
          `${ALICE} M`,
          `${ALICE} a`,
          `${ALICE} z`,
          `${BOB} k1`,
          `${BOB} k2`,
          `${carol} \uFFFD`,
          `${carol} \u{1F600}`,
        ],
        'list() order',
      );
    });

    test('lookup() puts the highest q first; no q counts as 1.0; then the most recent', async () => {
      const result = await f.locations.apply(
        ALICE,
        upsert(
          binding(ALICE, 'low', { q: 0.1 }),
          binding(ALICE, 'mid', { q: 0.5 }),
          binding(ALICE, 'none-old', { updatedAt: T0 - 5000 }),
          binding(ALICE, 'one', { q: 1, updatedAt: T0 - 1000 }),
          binding(ALICE, 'zero', { q: 0 }),
          binding(ALICE, 'mid-b', { q: 0.5 }),
        ),
        T0,
      );
      const expected = ['one', 'none-old', 'mid', 'mid-b', 'low', 'zero'];
      assert.deepEqual(keys(result), expected, 'apply() result in preference order');
      assert.deepEqual(keys(await f.locations.lookup(ALICE, T0)), expected, 'lookup() in preference order');
    });

    test('every field round-trips, path and flow included; unset fields stay unset', async () => {
      const full: Binding = {
        aor: ALICE,
        key: 'urn:uuid:00000000-0000-1000-8000-000a95a0e128|1',
        contact:
          '<sip:alice@192.0.2.4:5061;transport=tls;ob>;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000a95a0e128>"',
        callId: 'a84b4c76e66710@pc33.atlanta.com',
        cseq: 2 ** 32 - 1,
        expiresAt: T0 + HOUR,
        q: 0.7,
        instanceId: 'urn:uuid:00000000-0000-1000-8000-000a95a0e128',
        regId: 1,
        path: ['<sip:edge1.atlanta.com;lr;ob>', '<sip:edge2.atlanta.com;lr>'],
        flow: {
          transport: 'TLS',
          address: '2001:db8::4',
          port: 50123,
          localAddress: '2001:db8::1',
          localPort: 5061,
          connectionId: 42,
        },
        userAgent: 'sipwire/0.1 "quoted" \u00e9',
        updatedAt: T0,
      };
      const bare = binding(ALICE, 'bare', { flow: { transport: 'UDP', address: '192.0.2.9', port: 5060 } });
      await f.locations.apply(ALICE, upsert(full, bare), T0);
      const found = await f.locations.lookup(ALICE, T0);
      assert.deepEqual(
        found.find((b) => b.key === full.key),
        full,
        'all fields of the full binding come back',
      );
      const back = found.find((b) => b.key === 'bare')!;
      assert.deepEqual(back, bare, 'the bare binding comes back as given');
      assert.deepEqual(Object.keys(back).sort(), Object.keys(bare).sort(), 'no member was added');
      assert.deepEqual(
        Object.keys(back.flow!).sort(),
        ['address', 'port', 'transport'],
        'no flow member added',
      );
      (back.path as string[]).push('<sip:mutated>');
      assert.deepEqual(
        (await f.locations.lookup(ALICE, T0)).find((b) => b.key === 'bare')!.path,
        [],
        'a copy',
      );
    });

    test('a bad change is rejected whole and changes nothing', async () => {
      await f.locations.apply(ALICE, upsert(binding(ALICE, 'keep')), T0);
      const bad = [
        { upsert: [binding(ALICE, 'new'), binding(BOB, 'wrong-aor')], remove: ['keep'] },
        { upsert: [binding(ALICE, 'new'), binding(ALICE, 'q', { q: 1.5 })], remove: ['keep'] },
        { upsert: [binding(ALICE, 'new', { cseq: 1.5 })], remove: ['keep'] },
        { upsert: [binding(ALICE, 'new', { cseq: 2 ** 32 })], remove: ['keep'] },
        { upsert: [binding(ALICE, '')], remove: ['keep'], removeAll: true },
        { upsert: [binding(ALICE, 'new', { expiresAt: Number.NaN })], remove: [] },
      ];
      for (const [i, change] of bad.entries()) {
        await assert.rejects(f.locations.apply(ALICE, change, T0), TypeError, `bad change ${i} is refused`);
      }
      assert.deepEqual(
        keys(await f.locations.lookup(ALICE, T0)),
        ['keep'],
        'nothing of the bad changes stuck',
      );
      assert.equal(await f.locations.count(), 1, 'one row');
    });

    test('a read issued after apply() sees it, even before apply() resolved', async () => {
      const write = f.locations.apply(ALICE, upsert(binding(ALICE, 'early')), T0);
      const read = f.locations.lookup(ALICE, T0);
      const count = f.locations.count();
      assert.deepEqual(keys(await read), ['early'], 'lookup() sees the write');
      assert.equal(await count, 1, 'count() sees the write');
      await write;
    });

    test('the sweeper deletes expired bindings until stopped', async () => {
      await f.locations.apply(
        ALICE,
        upsert(binding(ALICE, 'a', { expiresAt: T0 + 10 }), binding(ALICE, 'b', { expiresAt: T0 + HOUR })),
        T0,
      );
      let clock = T0 + 10;
      const swept: number[] = [];
      const stop = startSweeper(f.locations, 5, () => clock, { onExpired: (n) => swept.push(n) });
      try {
        const deadline = Date.now() + 5000;
        while (swept.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
        assert.deepEqual(swept, [1], 'one sweep deleted one binding');
        assert.equal(await f.locations.count(), 1, 'the unexpired binding stays');
      } finally {
        stop();
      }
      clock = T0 + 2 * HOUR;
      await new Promise((r) => setTimeout(r, 30));
      assert.equal(await f.locations.count(), 1, 'no sweep after stop()');
      assert.throws(() => startSweeper(f.locations, 0), TypeError, 'an interval must be > 0');
    });

    test('users: put, get, replace, remove and list, with an HA1 per algorithm', async () => {
      const alice: User = { username: 'alice', domain: 'atlanta.com', ha1: { ...ha1 }, createdAt: T0 };
      const bob: User = { username: 'bob', domain: 'biloxi.com', ha1: { MD5: ha1.MD5 }, createdAt: T0 + 1 };
      const carol: User = { username: 'carol', domain: 'atlanta.com', ha1: {}, createdAt: T0 + 2 };
      await f.users.put(carol);
      await f.users.put(bob);
      await f.users.put(alice);
      assert.deepEqual(await f.users.get('alice', 'atlanta.com'), alice, 'all three HA1 values come back');
      assert.deepEqual(await f.users.get('bob', 'biloxi.com'), bob, 'only the MD5 HA1');
      assert.deepEqual(
        (await f.users.get('bob', 'biloxi.com'))!.ha1,
        { MD5: ha1.MD5 },
        'no other HA1 member',
      );
      assert.equal(await f.users.get('alice', 'biloxi.com'), undefined, 'the domain is part of the key');
      assert.equal(await f.users.get('Alice', 'atlanta.com'), undefined, 'user names compare exactly');
      assert.deepEqual(await f.users.list(), [alice, carol, bob], 'list() by domain then username');
      assert.deepEqual(await f.users.list('atlanta.com'), [alice, carol], 'list() of one domain');
      assert.deepEqual(await f.users.list('example.org'), [], 'list() of an empty domain');

      const alice2: User = { ...alice, ha1: { 'SHA-256': ha1['SHA-256'] }, createdAt: T0 + 9 };
      await f.users.put(alice2);
      assert.deepEqual(await f.users.get('alice', 'atlanta.com'), alice2, 'put() replaces the whole record');
      assert.equal((await f.users.list()).length, 3, 'replacing adds no user');

      assert.equal(await f.users.remove('carol', 'atlanta.com'), true, 'removing a user resolves true');
      assert.equal(await f.users.remove('carol', 'atlanta.com'), false, 'removing her again resolves false');
      assert.equal(await f.users.get('carol', 'atlanta.com'), undefined, 'carol is gone');
      assert.deepEqual(await f.users.list(), [alice2, bob], 'two users left');
    });

    test('users: a malformed HA1 or record is refused', async () => {
      const base: User = { username: 'dave', domain: 'example.com', ha1: {}, createdAt: T0 };
      const bad: User[] = [
        { ...base, ha1: { MD5: 'abc' } },
        { ...base, ha1: { 'SHA-256': ha1.MD5 } },
        { ...base, ha1: { MD5: 'g'.repeat(32) } },
        { ...base, ha1: { 'MD5-sess': ha1.MD5 } as User['ha1'] },
        { ...base, username: '' },
        { ...base, createdAt: Number.NaN },
      ];
      for (const [i, user] of bad.entries()) {
        await assert.rejects(f.users.put(user), TypeError, `bad user ${i} is refused`);
      }
      assert.deepEqual(await f.users.list(), [], 'nothing was stored');
    });

    test('a closed store refuses calls', async () => {
      await f.close();
      await assert.rejects(f.locations.lookup(ALICE, T0), /closed/, 'lookup() after close()');
      await assert.rejects(f.locations.apply(ALICE, upsert(binding(ALICE, 'a')), T0), /closed/, 'apply()');
      await assert.rejects(f.users.get('alice', 'atlanta.com'), /closed/, 'users.get() after close()');
      await f.close();
    });
  });
}

describe('SQLite specifics', () => {
  test('openDatabase() sets WAL, synchronous=FULL, foreign keys, a busy timeout and the schema version', () => {
    const path = join(tempDir(), 'nested', 'dir', 'sipwire.db');
    const db = openDatabase(path, { busyTimeoutMs: 1234 });
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal', 'WAL journal');
      assert.equal(db.pragma('synchronous', { simple: true }), 2, 'synchronous = FULL (2)');
      assert.equal(db.pragma('foreign_keys', { simple: true }), 1, 'foreign keys on');
      assert.equal(db.pragma('busy_timeout', { simple: true }), 1234, 'busy timeout as given');
      assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION, 'schema version');
      const tables = db
        .prepare<[], string>("SELECT name FROM sqlite_schema WHERE type IN ('table', 'index') ORDER BY name")
        .pluck()
        .all();
      assert.deepEqual(
        tables.filter((t) => !t.startsWith('sqlite_')),
        ['bindings', 'bindings_expires_at', 'settings', 'users', 'users_domain'],
        'tables and indexes',
      );
    } finally {
      db.close();
    }
    const again = openDatabase(path);
    assert.equal(
      again.pragma('user_version', { simple: true }),
      SCHEMA_VERSION,
      'reopening keeps the version',
    );
    again.close();
  });

  test('a database with a newer schema is refused', () => {
    const path = join(tempDir(), 'future.db');
    const db = openDatabase(path);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    assert.throws(() => openDatabase(path), /newer than this sipwire supports/, 'newer schema refused');
  });

  test('bindings and users are still there after the file is reopened', async () => {
    const path = join(tempDir(), 'sipwire.db');
    const full = binding(ALICE, 'a', {
      q: 0.5,
      regId: 2,
      instanceId: 'urn:uuid:1',
      path: ['<sip:p1;lr>'],
      flow: { transport: 'TCP', address: '192.0.2.1', port: 40000, connectionId: 7 },
    });
    const alice: User = { username: 'alice', domain: 'atlanta.com', ha1: { ...ha1 }, createdAt: T0 };
    const first = openSqliteStores(path);
    await first.locations.apply(ALICE, upsert(full, binding(ALICE, 'b', { expiresAt: T0 + 1 })), T0);
    await first.users.put(alice);
    await first.close();

    const db = openDatabase(path);
    const locations = new SqliteLocationStore(db);
    const users = new SqliteUserStore(db, { closeDatabase: true });
    const b = binding(ALICE, 'b', { expiresAt: T0 + 1 });
    assert.deepEqual(await locations.lookup(ALICE, T0), [b, full], 'both, b (no q: 1.0) before a (q=0.5)');
    assert.equal(await locations.count(), 2, 'two rows');
    assert.deepEqual(await users.get('alice', 'atlanta.com'), alice, 'the user with HA1s');
    await locations.close();
    assert.equal(db.open, true, 'the location store leaves a database it does not own open');
    await users.close();
    assert.equal(db.open, false, 'closeDatabase: true closes it');
  });

  test('group commit: 500 concurrent apply() calls resolve, are stored, in one transaction', async () => {
    const stores = openSqliteStores(join(tempDir(), 'sipwire.db'));
    try {
      const calls = Array.from({ length: 500 }, (_, i) => {
        const aor = `sip:user${i % 100}@example.com`;
        return stores.locations.apply(aor, upsert(binding(aor, `k${i}`)), T0);
      });
      const results = await Promise.all(calls);
      assert.equal(results.length, 500, 'all resolved');
      assert.ok(
        results.every((r, i) => r.some((b) => b.key === `k${i}`)),
        "each result holds the call's own binding",
      );
      assert.equal(await stores.locations.count(), 500, '500 rows');
      assert.equal((await stores.locations.list(T0)).length, 500, 'list() has them all');
      assert.deepEqual(stores.locations.stats, { batches: 1, writes: 500 }, 'one transaction for the 500');
      const n = stores.database.prepare<[], number>('SELECT count(*) FROM bindings').pluck().get();
      assert.equal(n, 500, 'the rows are committed (visible to a plain query)');

      for (let i = 0; i < 3; i++) await stores.locations.apply(ALICE, upsert(binding(ALICE, `s${i}`)), T0);
      assert.deepEqual(stores.locations.stats, { batches: 4, writes: 503 }, 'awaited one by one: one each');
    } finally {
      await stores.close();
    }
  });

  test('group commit: maxBatch splits a burst; a window gathers writes across turns', async () => {
    const dir = tempDir();
    const split = openSqliteStores(join(dir, 'split.db'), { maxBatch: 100 });
    try {
      await Promise.all(
        Array.from({ length: 250 }, (_, i) => {
          const aor = `sip:user${i}@example.com`;
          return split.locations.apply(aor, upsert(binding(aor, 'k')), T0);
        }),
      );
      assert.deepEqual(split.locations.stats, { batches: 3, writes: 250 }, '100 + 100 + 50');
      assert.equal(await split.locations.count(), 250, 'all stored');
    } finally {
      await split.close();
    }
    const spaced = openSqliteStores(join(dir, 'interval.db'), { commitIntervalMs: 50 });
    const turn = () => new Promise((r) => setImmediate(r));
    try {
      const s = spaced.locations;
      assert.deepEqual(keys(await s.apply(ALICE, upsert(binding(ALICE, 'a')), T0)), ['a'], 'first write');
      assert.deepEqual(s.stats, { batches: 1, writes: 1 }, 'with no commit before it, committed at once');
      // Queued within 50 ms of that commit: they wait for the interval to end, and share one commit.
      const b = s.apply(ALICE, upsert(binding(ALICE, 'b')), T0);
      await turn();
      await turn();
      assert.deepEqual(s.stats, { batches: 1, writes: 1 }, 'not committed in the next turns');
      await new Promise((r) => setTimeout(r, 5));
      const c = s.apply(ALICE, upsert(binding(ALICE, 'c')), T0);
      const [rb, rc] = await Promise.all([b, c]);
      assert.deepEqual(keys(rb).sort(), ['a', 'b'], 'the second call sees its own write');
      assert.deepEqual(keys(rc).sort(), ['a', 'b', 'c'], 'the third sees all');
      assert.deepEqual(s.stats, { batches: 2, writes: 3 }, 'one commit for the two');
      // Once the interval has passed with no commit, a write goes at once again.
      await new Promise((r) => setTimeout(r, 60));
      const d = s.apply(ALICE, upsert(binding(ALICE, 'd')), T0);
      await turn();
      assert.deepEqual(s.stats, { batches: 3, writes: 4 }, 'committed in the next turn');
      await d;
    } finally {
      await spaced.close();
    }
  });

  test('group commit: a batch runs each write once, and all again one by one when one fails', async () => {
    const stores = openSqliteStores(join(tempDir(), 'sipwire.db'));
    try {
      stores.database.exec(`
        CREATE TRIGGER poison BEFORE INSERT ON bindings WHEN NEW."key" = 'poison'
          BEGIN SELECT RAISE(ABORT, 'poisoned binding'); END;`);
      const calls = { alice: 0, bob: 0 };
      const decide = (who: 'alice' | 'bob', aor: string, key: string) => (current: Binding[]) => {
        calls[who]++;
        return { change: upsert(binding(aor, key)), result: current.length };
      };
      await Promise.all([
        stores.locations.update(ALICE, T0, decide('alice', ALICE, 'a1')),
        stores.locations.update(BOB, T0, decide('bob', BOB, 'b1')),
      ]);
      assert.deepEqual(calls, { alice: 1, bob: 1 }, 'a batch that commits decides each write once');
      const [fine, poisoned] = await Promise.allSettled([
        stores.locations.update(ALICE, T0, decide('alice', ALICE, 'a2')),
        stores.locations.update(BOB, T0, decide('bob', BOB, 'poison')),
      ]);
      assert.equal(fine.status, 'fulfilled', 'the other write of the batch commits');
      assert.equal(poisoned.status, 'rejected', 'the failing write rejects');
      assert.deepEqual(calls, { alice: 3, bob: 3 }, 'the batch rolled back and ran again, write by write');
      assert.deepEqual(keys(await stores.locations.lookup(ALICE, T0)).sort(), ['a1', 'a2'], 'alice: both');
      assert.deepEqual(
        keys(await stores.locations.lookup(BOB, T0)),
        ['b1'],
        'bob: the failing write left nothing',
      );
      assert.deepEqual(stores.locations.stats, { batches: 2, writes: 4 }, 'two commits');
    } finally {
      await stores.close();
    }
  });

  test('group commit: a write failing in the database fails alone; a rolled-back batch fails whole', async () => {
    const stores = openSqliteStores(join(tempDir(), 'sipwire.db'));
    try {
      // RAISE(ABORT) undoes the statement (the store then rolls back to the
      // write's savepoint); RAISE(ROLLBACK) ends the whole transaction.
      stores.database.exec(`
        CREATE TRIGGER poison BEFORE INSERT ON bindings WHEN NEW."key" = 'poison'
          BEGIN SELECT RAISE(ABORT, 'poisoned binding'); END;
        CREATE TRIGGER doom BEFORE INSERT ON bindings WHEN NEW."key" = 'doom'
          BEGIN SELECT RAISE(ROLLBACK, 'doomed batch'); END;`);
      await stores.locations.apply(BOB, upsert(binding(BOB, 'old')), T0);
      const [a, poisoned, c] = await Promise.allSettled([
        stores.locations.apply(ALICE, upsert(binding(ALICE, 'a')), T0),
        stores.locations.apply(
          BOB,
          { upsert: [binding(BOB, 'fresh'), binding(BOB, 'poison')], remove: [], removeAll: true },
          T0,
        ),
        stores.locations.apply(ALICE, upsert(binding(ALICE, 'c')), T0),
      ]);
      assert.equal(a.status, 'fulfilled', 'the write before the failing one is committed');
      assert.equal(c.status, 'fulfilled', 'the write after it too');
      assert.equal(poisoned.status, 'rejected', 'the failing write rejects');
      assert.match(
        String((poisoned as PromiseRejectedResult).reason),
        /poisoned binding/,
        'with the SQLite error',
      );
      assert.deepEqual(
        keys(await stores.locations.lookup(BOB, T0)),
        ['old'],
        'none of the failing write stuck',
      );
      assert.deepEqual(keys(await stores.locations.lookup(ALICE, T0)).sort(), ['a', 'c'], 'the others did');
      // Alone in its batch, a failing write is rolled back just the same.
      const alone = await stores.locations
        .apply(
          BOB,
          { upsert: [binding(BOB, 'fresh'), binding(BOB, 'poison')], remove: [], removeAll: true },
          T0,
        )
        .then(
          () => 'resolved',
          (e: unknown) => String(e),
        );
      assert.match(alone, /poisoned binding/, 'a failing write alone in its batch rejects');
      assert.deepEqual(keys(await stores.locations.lookup(BOB, T0)), ['old'], 'and none of it stuck');

      const doomed = await Promise.allSettled([
        stores.locations.apply(ALICE, upsert(binding(ALICE, 'd')), T0),
        stores.locations.apply(ALICE, upsert(binding(ALICE, 'doom')), T0),
      ]);
      assert.deepEqual(
        doomed.map((r) => r.status),
        ['rejected', 'rejected'],
        'when SQLite rolls back the transaction every write of the batch rejects',
      );
      assert.deepEqual(
        keys(await stores.locations.lookup(ALICE, T0)).sort(),
        ['a', 'c'],
        'nothing of it stuck',
      );
      const after = await stores.locations.apply(ALICE, upsert(binding(ALICE, 'e')), T0);
      assert.deepEqual(keys(after).sort(), ['a', 'c', 'e'], 'the store works on afterwards');
    } finally {
      await stores.close();
    }
  });

  test('close() commits the queued writes first', async () => {
    const path = join(tempDir(), 'sipwire.db');
    const stores = openSqliteStores(path, { commitIntervalMs: 60_000 });
    await stores.locations.apply(ALICE, upsert(binding(ALICE, 'early')), T0);
    // Within a minute of that commit: this one waits for the interval.
    const pending = stores.locations.apply(ALICE, upsert(binding(ALICE, 'late')), T0);
    const read = stores.locations.lookup(ALICE, T0);
    await stores.close();
    assert.deepEqual(keys(await pending).sort(), ['early', 'late'], 'the queued apply() resolved');
    assert.deepEqual(keys(await read).sort(), ['early', 'late'], 'the read waiting for it completed');
    const db = openDatabase(path);
    const n = db.prepare<[], number>('SELECT count(*) FROM bindings').pluck().get();
    db.close();
    assert.equal(n, 2, 'the writes are in the file');
  });

  test('durability: a binding whose apply() resolved survives SIGKILL right after (5 times)', async () => {
    const path = join(tempDir(), 'crash.db');
    const child = join(ROOT, 'test', 'support', 'store-crash-child.ts');
    for (let round = 0; round < 5; round++) {
      const key = `crash-${round}`;
      const proc = spawn(process.execPath, ['--import', 'tsx', child, path, key], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      proc.stderr.on('data', (d: Buffer) => {
        stderr += d;
      });
      const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
        proc.on('exit', (code, signal) => resolve(signal ?? code)),
      );
      const committed = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 30_000);
        const lines = createInterface({ input: proc.stdout });
        lines.on('line', (line) => {
          if (line !== 'committed') return;
          proc.kill('SIGKILL');
          clearTimeout(timer);
          resolve(true);
        });
        proc.on('exit', () => {
          clearTimeout(timer);
          resolve(false);
        });
      });
      if (!committed) proc.kill('SIGKILL');
      const how = await exited;
      assert.ok(committed, `round ${round}: the child printed "committed" (stderr: ${stderr})`);
      assert.equal(how, 'SIGKILL', `round ${round}: the child was killed`);

      const db = openDatabase(path);
      try {
        assert.equal(db.pragma('integrity_check', { simple: true }), 'ok', `round ${round}: file intact`);
        const store = new SqliteLocationStore(db);
        const found = keys(await store.lookup('sip:crash@example.com', Date.now()));
        const expected = Array.from({ length: round + 1 }, (_, i) => `crash-${i}`);
        assert.deepEqual(found.sort(), expected, `round ${round}: every committed binding is there`);
        await store.close();
      } finally {
        db.close();
      }
    }
  });
});
