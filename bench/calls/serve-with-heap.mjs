// `sipwire serve` with its heap readable from outside, for the call
// benchmark's heap per active call:
//
//   node --expose-gc bench/calls/serve-with-heap.mjs HEAP_FILE serve [serve options...]
//
// runs the same entry point as dist/cli/bin.js; on SIGUSR2 it collects
// garbage (twice: what one collection frees may let a second free more) and
// writes {"seq":N,"heapUsed":...,"rss":...} to HEAP_FILE, N counting the
// signals answered, replacing the file in one rename so that a reader never
// sees half of it. Needs `npm run build`.

import { renameSync, writeFileSync } from 'node:fs';

const [heapFile, ...argv] = process.argv.slice(2);
if (heapFile === undefined || argv.length === 0) {
  console.error('usage: node --expose-gc serve-with-heap.mjs HEAP_FILE serve [options...]');
  process.exit(2);
}
if (typeof globalThis.gc !== 'function') {
  console.error('serve-with-heap.mjs: start node with --expose-gc');
  process.exit(2);
}

const { main } = await import(new URL('../../dist/cli/main.js', import.meta.url).href);

let seq = 0;
process.on('SIGUSR2', () => {
  globalThis.gc();
  globalThis.gc();
  const m = process.memoryUsage();
  seq++;
  const tmp = `${heapFile}.tmp`;
  writeFileSync(tmp, JSON.stringify({ seq, heapUsed: m.heapUsed, heapTotal: m.heapTotal, rss: m.rss }));
  renameSync(tmp, heapFile);
});

const code = await main(argv);
process.exitCode = code;
// As bin.js: sockets and timers of a finished command must not keep the process alive.
setTimeout(() => process.exit(code), 100).unref();
