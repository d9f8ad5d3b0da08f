import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

/** Heap in use after full collections. */
function heapNow(): number {
  collect();
  collect();
  return process.memoryUsage().heapUsed;
}

/**
 * Heap bytes that stay in use after `work` has run and everything it left
 * unreachable has been collected: what the tables it filled keep.
 */
export async function retainedBytes(work: () => unknown): Promise<number> {
  const before = heapNow();
  await work();
  return heapNow() - before;
}

/**
 * `text` as a piece cut from a much larger text (`padding` characters
 * before it), the way a header value is a piece of a received message.
 * The engine keeps such a piece as a view into the whole text.
 */
export function cutFromLargeText(text: string, padding = 60_000): string {
  const whole = `${'X'.repeat(padding)}${text}`;
  return whole.slice(padding);
}
