// Memory per stored binding with 100,000 bindings: heap (and resident set,
// which includes SQLite's page cache) of the SQLite location store the
// server runs on, and the heap of the in-memory store for comparison.
// Run alone: node --expose-gc bench/bindings.mjs [count]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryLocationStore } from '../dist/server/store/memory.js';
import { openDatabase, SqliteLocationStore } from '../dist/server/store/sqlite.js';

const gc = globalThis.gc ?? (() => {});

function binding(i, now) {
  return {
    aor: `sip:user${i}@bench.test`,
    contact: `sip:user${i}@198.51.100.${i % 250}:${5060 + (i % 1000)};transport=udp`,
    key: `sip|user${i}||198.51.100.${i % 250}|${5060 + (i % 1000)}|transport=udp`,
    callId: `bench-${i}-a84b4c76e66710@198.51.100.7`,
    cseq: 2,
    expiresAt: now + 3_600_000,
    path: [],
    flow: {
      transport: 'udp',
      address: `198.51.100.${i % 250}`,
      port: 5060 + (i % 1000),
      localAddress: '127.0.0.1',
      localPort: 5060,
    },
    userAgent: 'bench-phone/1.0',
    updatedAt: now,
  };
}

async function fill(store, count) {
  const now = Date.now();
  const batch = 1000;
  for (let i = 0; i < count; i += batch) {
    const jobs = [];
    for (let j = i; j < Math.min(count, i + batch); j++) {
      const b = binding(j, now);
      jobs.push(store.apply(b.aor, { upsert: [b], remove: [] }, now));
    }
    await Promise.all(jobs);
  }
}

async function countListed(store) {
  return (await store.list(Date.now())).length;
}

function mem() {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
}

export async function measureBindings(count = 100_000) {
  const dir = mkdtempSync(join(tmpdir(), 'sipwire-bindings-'));
  try {
    const db = openDatabase(join(dir, 'b.db'));
    const sqlite = new SqliteLocationStore(db, { closeDatabase: true });
    const s0 = mem();
    await fill(sqlite, count);
    // One listing touches every row (SQLite's page cache fills as a running server's would).
    const listed = await countListed(sqlite);
    await new Promise((r) => setTimeout(r, 200));
    const s1 = mem();
    await sqlite.close();
    const memory = new MemoryLocationStore();
    const m0 = mem();
    await fill(memory, count);
    await new Promise((r) => setTimeout(r, 200));
    const m1 = mem();
    const kept = await memory.count();
    return {
      count,
      listed,
      kept,
      sqliteHeapPerBinding: (s1.heap - s0.heap) / count,
      sqliteRssPerBinding: (s1.rss - s0.rss) / count,
      memoryHeapPerBinding: (m1.heap - m0.heap) / count,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await measureBindings(Number(process.argv[2] ?? 100_000));
  console.log(JSON.stringify(r));
}
