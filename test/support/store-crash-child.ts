/**
 * Child process of the store durability test:
 *   node --import tsx test/support/store-crash-child.ts DBPATH KEY
 * applies one binding with key KEY to sip:crash@example.com, prints
 * "committed" once apply() resolved, then keeps writing other bindings until
 * the parent kills it, so the kill lands while later transactions are under way.
 */

import type { Binding } from '../../src/server/store/index.js';
import { openDatabase, SqliteLocationStore } from '../../src/server/store/index.js';

const [path, key = 'crash'] = process.argv.slice(2);
if (!path) {
  process.stderr.write('usage: store-crash-child.ts DBPATH [KEY]\n');
  process.exit(2);
}

const now = Date.now();
const binding = (aor: string, k: string): Binding => ({
  aor,
  key: k,
  contact: `sip:${k}@192.0.2.1:5060`,
  callId: `call-${k}`,
  cseq: 1,
  expiresAt: now + 3_600_000,
  path: ['<sip:edge.example.com;lr>'],
  updatedAt: now,
});

// A commit interval makes a store that resolved before committing fail this
// test for sure: the binding is queued just after a commit, so it waits for
// the interval to end, and a kill would land inside it.
const store = new SqliteLocationStore(openDatabase(path), { commitIntervalMs: 25 });
const first = binding('sip:filler@example.com', `${key}-first`);
await store.apply(first.aor, { upsert: [first], remove: [] }, now);
await store.apply(
  'sip:crash@example.com',
  { upsert: [binding('sip:crash@example.com', key)], remove: [] },
  now,
);
process.stdout.write('committed\n');
for (let i = 0; ; i++) {
  const filler = binding('sip:filler@example.com', `${key}-filler-${i % 50}`);
  await store.apply(filler.aor, { upsert: [filler], remove: [] }, now);
}
