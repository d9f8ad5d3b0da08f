/**
 * The requests still in the routing pipeline, oldest first, so that a stuck
 * one can be found and answered.
 *
 * A doubly linked list of small entries rather than a Map keyed by request:
 * taking an entry out clears every reference to it at once. Each request
 * passes through here, and most leave within a millisecond. With a Map in
 * its place, finished requests survived young-generation collections and
 * were moved to the old generation: under load where collections come every
 * few milliseconds (registrations driven in one process as fast as they go),
 * 5 KB more promoted per registration and about 40% more time in
 * young-generation collections.
 */
export interface InflightEntry<T> {
  readonly item: T;
  /** When it came in (performance.now()). */
  readonly since: number;
  prev: InflightEntry<T> | undefined;
  next: InflightEntry<T> | undefined;
  /** False once removed. */
  listed: boolean;
}

export class InflightList<T> {
  private head: InflightEntry<T> | undefined = undefined;
  private tail: InflightEntry<T> | undefined = undefined;
  private count = 0;

  /** How many are in flight. */
  get size(): number {
    return this.count;
  }

  /** Adds an item that came in now; the entry is what remove() takes. */
  add(item: T, now: number): InflightEntry<T> {
    const entry: InflightEntry<T> = { item, since: now, prev: this.tail, next: undefined, listed: true };
    if (this.tail === undefined) this.head = entry;
    else this.tail.next = entry;
    this.tail = entry;
    this.count++;
    return entry;
  }

  /** Takes an entry out (again: nothing). */
  remove(entry: InflightEntry<T>): void {
    if (!entry.listed) return;
    entry.listed = false;
    const { prev, next } = entry;
    if (prev === undefined) this.head = next;
    else prev.next = next;
    if (next === undefined) this.tail = prev;
    else next.prev = prev;
    entry.prev = undefined;
    entry.next = undefined;
    this.count--;
  }

  /**
   * Takes out and returns the entries that came in `limitMs` or more before
   * `now`, oldest first. Entries are in the order they came in, and `now`
   * never goes back, so the walk stops at the first younger one.
   */
  takeOlderThan(limitMs: number, now: number): InflightEntry<T>[] {
    const old: InflightEntry<T>[] = [];
    while (this.head !== undefined && now - this.head.since >= limitMs) {
      const entry = this.head;
      this.remove(entry);
      old.push(entry);
    }
    return old;
  }
}
