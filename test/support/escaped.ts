/**
 * Errors meant to reach the process (thrown from a microtask, uncaught)
 * are caught here instead of by the test runner while `body` runs; the
 * runner's own listeners are put back afterwards.
 */
export async function withEscapedErrors<T>(body: (escaped: unknown[]) => Promise<T>): Promise<T> {
  const runners = process.listeners('uncaughtException');
  process.removeAllListeners('uncaughtException');
  const escaped: unknown[] = [];
  process.on('uncaughtException', (e) => escaped.push(e));
  try {
    return await body(escaped);
  } finally {
    process.removeAllListeners('uncaughtException');
    for (const l of runners) process.on('uncaughtException', l);
  }
}
