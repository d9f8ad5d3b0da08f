// The sipwire command as the interop tests run it: from the sources (through
// tsx), in the repository, either to its end or as a tracked child process.
import { join } from 'node:path';
import { type Child, start } from './children.js';
import { run } from './net.js';

/** The repository root. */
export const ROOT = new URL('../..', import.meta.url).pathname;
/** The command's entry point in the sources. */
export const BIN = join(ROOT, 'src', 'cli', 'bin.ts');

/** Runs `sipwire ARGS...` to its end (at most 30 s). */
export function sipwireCommand(args: string[]): Promise<{ code: number | null; output: string }> {
  return run(process.execPath, ['--import', 'tsx', BIN, ...args], { cwd: ROOT, timeoutMs: 30_000 });
}

/** Starts `sipwire ARGS...` as a child process of the tests (see children.ts). */
export function startSipwire(args: string[]): Child {
  return start(process.execPath, ['--import', 'tsx', BIN, ...args], ROOT);
}

/** Starts `sipwire serve` on `listen` for `domain` on the database `db`, logging warnings and worse, with `extra` flags. */
export function startServe(listen: string[], domain: string, db: string, extra: string[] = []): Child {
  return startSipwire([
    'serve',
    ...listen.flatMap((l) => ['--listen', l]),
    '--domain',
    domain,
    '--db',
    db,
    '--log-level',
    'warn',
    ...extra,
  ]);
}
