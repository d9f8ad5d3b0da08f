import type { LocationStore } from './types.js';

export interface SweeperOptions {
  /** Called with the number of bindings a sweep deleted, when it deleted any. */
  readonly onExpired?: (count: number) => void;
  /** Called when a sweep fails; the sweeper keeps running. Errors are dropped without it. */
  readonly onError?: (error: unknown) => void;
}

/**
 * Deletes expired bindings from `store` every `intervalMs`, with the time
 * read from `now`. Lookups never return expired bindings anyway; sweeping
 * keeps the table small. The timer does not keep the process alive, and a
 * sweep is skipped while the previous one is still running. Returns a
 * function that stops the sweeper.
 */
export function startSweeper(
  store: Pick<LocationStore, 'expire'>,
  intervalMs: number,
  now: () => number = Date.now,
  options: SweeperOptions = {},
): () => void {
  if (!(Number.isFinite(intervalMs) && intervalMs > 0)) {
    throw new TypeError(`intervalMs must be a number > 0, got ${intervalMs}`);
  }
  let running = false;
  let stopped = false;
  const timer = setInterval(() => {
    if (running || stopped) return;
    running = true;
    let sweep: Promise<number>;
    try {
      sweep = store.expire(now());
    } catch (error) {
      sweep = Promise.reject(error);
    }
    sweep.then(
      (count) => {
        running = false;
        if (count > 0 && !stopped) options.onExpired?.(count);
      },
      (error: unknown) => {
        running = false;
        if (!stopped) options.onError?.(error);
      },
    );
  }, intervalMs);
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
