// Location store throughput: apply() per second on the SQLite store with
// synchronous=FULL (every resolved apply() is on disk), one call at a time
// and with many in flight (group commit), next to the memory store.
//
//   npm run build && node bench/store.mjs
// Environment:
//   STORE_BENCH_SEQUENTIAL  2000    apply() calls awaited one by one
//   STORE_BENCH_COUNT       20000   apply() calls with STORE_BENCH_CONCURRENCY in flight
//   STORE_BENCH_CONCURRENCY 200
//   STORE_BENCH_DIR         parent of the temporary directory (default: the OS's)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryLocationStore, openSqliteStores } from '../dist/server/store/index.js';

const SEQUENTIAL = Number(process.env.STORE_BENCH_SEQUENTIAL ?? 2000);
const COUNT = Number(process.env.STORE_BENCH_COUNT ?? 20_000);
const CONCURRENCY = Number(process.env.STORE_BENCH_CONCURRENCY ?? 200);
const USERS = 1000;

/** A REGISTER refresh of user `i % USERS`: one binding with a Path and a flow. */
function change(i, now) {
  const user = i % USERS;
  const aor = `sip:user${user}@bench.example.com`;
  const binding = {
    aor,
    key: `sip:user${user}@192.0.2.${user % 250}:${5060 + (user % 1000)}`,
    contact: `<sip:user${user}@192.0.2.${user % 250}:${5060 + (user % 1000)};transport=udp>`,
    callId: `${user}-bench@192.0.2.1`,
    cseq: i + 1,
    expiresAt: now + 3_600_000,
    path: ['<sip:edge.bench.example.com;lr>'],
    flow: { transport: 'UDP', address: `192.0.2.${user % 250}`, port: 5060 + (user % 1000) },
    userAgent: 'bench/1.0',
    updatedAt: now,
  };
  return [aor, { upsert: [binding], remove: [] }];
}

async function sequential(store, n) {
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const now = Date.now();
    await store.apply(...change(i, now), now);
  }
  return n / ((performance.now() - start) / 1000);
}

/** `concurrency` workers, each issuing its next apply() when the previous one resolved. */
async function concurrent(store, n, concurrency) {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const now = Date.now();
      await store.apply(...change(i, now), now);
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return n / ((performance.now() - start) / 1000);
}

const fmt = (x) => Math.round(x).toLocaleString('en-US').padStart(10);

const dir = mkdtempSync(join(process.env.STORE_BENCH_DIR ?? tmpdir(), 'sipwire-store-bench-'));
try {
  console.log(`location store apply() — Node ${process.version}, database in ${dir}`);
  const seqStores = openSqliteStores(join(dir, 'sequential.db'));
  const seq = await sequential(seqStores.locations, SEQUENTIAL);
  const seqStats = seqStores.locations.stats;
  await seqStores.close();
  console.log(
    `SQLite FULL, sequential:           ${fmt(seq)} ops/s  (${seqStats.writes} writes in ${seqStats.batches} commits)`,
  );

  const conStores = openSqliteStores(join(dir, 'concurrent.db'));
  const con = await concurrent(conStores.locations, COUNT, CONCURRENCY);
  const conStats = conStores.locations.stats;
  await conStores.close();
  console.log(
    `SQLite FULL, ${String(CONCURRENCY).padEnd(3)} concurrent:       ${fmt(con)} ops/s  (${conStats.writes} writes in ${conStats.batches} commits, ${(conStats.writes / conStats.batches).toFixed(1)} per commit)`,
  );

  const mem = await concurrent(new MemoryLocationStore(), COUNT, CONCURRENCY);
  console.log(`memory,      ${String(CONCURRENCY).padEnd(3)} concurrent:       ${fmt(mem)} ops/s`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
