// The reference floors of the registration benchmark (see floor-server.mjs):
// what Node's UDP socket API costs per registration with no SIP processing,
// without and with a durable SQLite write per binding.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServerGroup } from './procs.mjs';

const SCRIPT = fileURLToPath(new URL('./floor-server.mjs', import.meta.url));

/** Starts the floor server in `dir`; `durable` adds the SQLite write before each 200. */
export async function startFloor({ dir, port, durable, readyTimeoutMs = 10000 }) {
  mkdirSync(dir, { recursive: true });
  const args = [SCRIPT, String(port)];
  if (durable) args.push('--durable', join(dir, 'floor.sqlite'));
  const server = await startServerGroup(process.execPath, args, {
    dir,
    port,
    logFile: join(dir, 'floor.log'),
    name: 'floor server',
    readyTimeoutMs,
  });
  return {
    ...server,
    name: durable ? 'node floor + durable write' : 'node floor',
    describe: 'reference: fixed 401 and 200, nothing parsed or verified',
  };
}
