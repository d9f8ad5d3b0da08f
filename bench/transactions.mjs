// Transaction-layer benchmarks:
//  - non-INVITE transactions per second over loopback UDP, client and server
//    each in its own process, sipwire against the `sip` npm package (the
//    only npm peer with a transaction layer that runs on Node);
//  - heap bytes per live server transaction with 100,000 live at once, and
//    what one running timer costs of that.

import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const node = fileURLToPath(new URL('./tx-node.mjs', import.meta.url));
const heapScript = fileURLToPath(new URL('./tx-heap.mjs', import.meta.url));

/** Starts a server process and resolves with its port and a stop function. */
function startServer(impl) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [node, 'server', impl], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /ready (\d+)/.exec(out);
      if (m) resolve({ port: Number(m[1]), stop: () => child.kill('SIGTERM') });
    });
    child.on('exit', (code) => reject(new Error(`${impl} server exited (${code}) before it was ready`)));
  });
}

async function throughput(impl, count, window) {
  const server = await startServer(impl);
  try {
    const out = execFileSync(
      process.execPath,
      [node, 'client', impl, String(server.port), String(count), String(window)],
      {
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    return JSON.parse(out).tps;
  } finally {
    server.stop();
  }
}

export async function runTransactionBench({ rounds = 3, count = 20_000, window = 50, live = 100_000 } = {}) {
  console.log('');
  console.log(
    `Non-INVITE transactions over loopback UDP (OPTIONS -> 200, ${window} in flight, client and server in separate processes)`,
  );
  const impls = ['sipwire', 'sip'];
  const best = new Map(impls.map((n) => [n, 0]));
  // Alternate the implementations round by round so a slow moment of the machine hits both.
  for (let r = 0; r < rounds; r++) {
    for (const impl of impls) {
      const tps = await throughput(impl, count, window);
      if (tps > best.get(impl)) best.set(impl, tps);
    }
  }
  const ours = best.get('sipwire');
  for (const impl of impls) {
    const tps = best.get(impl);
    const ratio = impl === 'sipwire' ? '' : `  sipwire is ${(ours / tps).toFixed(2)}x`;
    console.log(
      `  ${impl.padEnd(8)} ${Math.round(tps).toString().padStart(7)} transactions/s (best of ${rounds})${ratio}`,
    );
  }

  const heap = JSON.parse(
    execFileSync(process.execPath, ['--expose-gc', heapScript, String(live)], {
      encoding: 'utf8',
      timeout: 300_000,
    }),
  );
  console.log('');
  console.log(
    `Heap per live server transaction (${heap.count.toLocaleString('en-US')} live at once, answered, timers running)`,
  );
  console.log(`  non-INVITE (Completed, Timer J)      ${Math.round(heap.nonInvite.perTransaction)} B`);
  console.log(`  INVITE answered 486 (Completed, G+H) ${Math.round(heap.invite.perTransaction)} B`);
  console.log(`    of which the parsed request         ${Math.round(heap.request)} B`);
  console.log(`    one running timer (setTimeout)      ${Math.round(heap.timer)} B`);
  return { tps: Object.fromEntries(best), heap };
}
