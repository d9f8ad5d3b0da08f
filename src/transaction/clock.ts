/**
 * Time as the transaction layer sees it. Every timer of RFC 3261 §17 goes
 * through a Clock, so tests can run 32-second timers instantly with a
 * FakeClock and a stack can be given any clock it likes.
 */
export interface Clock {
  /** Milliseconds on a monotonic scale. */
  now(): number;
  /** Calls `fn(arg)` after `ms` milliseconds; returns a handle for `clear`. */
  set<T>(ms: number, fn: (arg: T) => void, arg?: T): unknown;
  /** Cancels a timer; clearing a fired or cleared timer does nothing. */
  clear(handle: unknown): void;
}

/**
 * The longest delay setTimeout keeps (2^31-1 ms, about 24.8 days). Node
 * fires a longer one after 1 ms instead: a delay that comes from a peer (an
 * expiry of 2^32-1 seconds) must be cut to this, not wrap into a loop.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/** A delay setTimeout can keep: at most MAX_TIMER_MS, and not negative. */
export function timerDelay(ms: number): number {
  // NaN counts as 0.
  return Math.min(MAX_TIMER_MS, Math.max(0, ms || 0));
}

/** The process clock: performance.now() and setTimeout. */
export const systemClock: Clock = {
  now: () => performance.now(),
  set: (ms, fn, arg) => setTimeout(fn as (a: unknown) => void, timerDelay(ms), arg),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

interface FakeTimer {
  readonly at: number;
  readonly seq: number;
  readonly fn: (arg: unknown) => void;
  readonly arg: unknown;
  cancelled: boolean;
}

/**
 * A clock that moves only when told to. Timers due at the same time fire in
 * the order they were set. Exported for users' tests as well as ours.
 */
export class FakeClock implements Clock {
  private time: number;
  private seq: number;
  private timers: FakeTimer[];

  constructor(start = 0) {
    this.time = start;
    this.seq = 0;
    this.timers = [];
  }

  now(): number {
    return this.time;
  }

  set<T>(ms: number, fn: (arg: T) => void, arg?: T): unknown {
    const t: FakeTimer = {
      at: this.time + Math.max(0, ms),
      seq: this.seq++,
      fn: fn as (arg: unknown) => void,
      arg,
      cancelled: false,
    };
    this.timers.push(t);
    return t;
  }

  clear(handle: unknown): void {
    if (handle !== null && typeof handle === 'object') (handle as FakeTimer).cancelled = true;
  }

  /** Timers set and not yet fired or cleared. */
  get pending(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way, in order. */
  tick(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let next: FakeTimer | undefined;
      for (const t of this.timers) {
        if (t.cancelled || t.at > end) continue;
        if (next === undefined || t.at < next.at || (t.at === next.at && t.seq < next.seq)) next = t;
      }
      if (next === undefined) break;
      this.time = next.at;
      next.cancelled = true;
      this.timers = this.timers.filter((t) => !t.cancelled);
      next.fn(next.arg);
    }
    this.time = end;
  }

  /** Fires timers until none is left (at most `limit` of them). */
  runAll(limit = 10000): void {
    for (let i = 0; i < limit; i++) {
      const live = this.timers.filter((t) => !t.cancelled);
      if (live.length === 0) return;
      const next = live.reduce((a, b) => (b.at < a.at || (b.at === a.at && b.seq < a.seq) ? b : a));
      this.tick(next.at - this.time);
    }
    throw new Error(`FakeClock.runAll: more than ${limit} timers`);
  }
}
