import { own } from '../message/text.js';

/**
 * Makes guessing passwords expensive: failures are counted per key (a source
 * address, a user) over a sliding window; past a threshold each new
 * challenge is delayed, doubling with each failure, and past a second one
 * the key is refused outright for a while.
 */
export interface GuardOptions {
  /** Failures in the window before challenges are delayed (default 5). */
  delayAfter?: number;
  /** Failures in the window before the key is refused (default 20). */
  lockAfter?: number;
  /** The window, ms (default 60 s). */
  windowMs?: number;
  /** How long a refused key stays refused, ms (default 5 minutes). */
  lockMs?: number;
  /** Longest delay, ms (default 5 s). */
  maxDelayMs?: number;
  /** Most keys tracked; the least recently failed go first (default 100,000). */
  maxKeys?: number;
  now?: () => number;
}

interface Entry {
  failures: number[];
  lockedUntil: number;
}

export class FailureGuard {
  private readonly delayAfter: number;
  private readonly lockAfter: number;
  private readonly windowMs: number;
  private readonly lockMs: number;
  private readonly maxDelayMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;
  private readonly entries: Map<string, Entry>;

  constructor(options: GuardOptions = {}) {
    this.delayAfter = options.delayAfter ?? 5;
    this.lockAfter = options.lockAfter ?? 20;
    this.windowMs = options.windowMs ?? 60_000;
    this.lockMs = options.lockMs ?? 300_000;
    this.maxDelayMs = options.maxDelayMs ?? 5000;
    this.maxKeys = options.maxKeys ?? 100_000;
    this.now = options.now ?? Date.now;
    this.entries = new Map();
  }

  private recent(key: string): Entry | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    const since = this.now() - this.windowMs;
    while (e.failures.length > 0 && (e.failures[0] as number) < since) e.failures.shift();
    if (e.failures.length === 0 && e.lockedUntil <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  /** True while the key is refused. */
  locked(key: string): boolean {
    const e = this.recent(key);
    return e !== undefined && e.lockedUntil > this.now();
  }

  /** How long to hold back the next answer for this key, ms. */
  delay(key: string): number {
    const n = this.recent(key)?.failures.length ?? 0;
    if (n < this.delayAfter) return 0;
    return Math.min(this.maxDelayMs, 250 * 2 ** (n - this.delayAfter));
  }

  /** Notes a failure. */
  fail(key: string): void {
    let e = this.recent(key);
    if (e === undefined) {
      if (this.entries.size >= this.maxKeys) {
        const oldest = this.entries.keys().next().value;
        if (oldest !== undefined) this.entries.delete(oldest);
      }
      e = { failures: [], lockedUntil: 0 };
    } else {
      // Keep the map in least-recently-failed order.
      this.entries.delete(key);
    }
    e.failures.push(this.now());
    if (e.failures.length > this.lockAfter * 2) e.failures.splice(0, e.failures.length - this.lockAfter * 2);
    if (e.failures.length >= this.lockAfter) e.lockedUntil = this.now() + this.lockMs;
    // The key is cut from a request: kept as its own copy, not as a view into the request.
    this.entries.set(own(key), e);
  }

  /** A success forgets the key's failures (not a running lock). */
  succeed(key: string): void {
    const e = this.entries.get(key);
    if (e !== undefined && e.lockedUntil <= this.now()) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
