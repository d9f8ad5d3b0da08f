/**
 * The order in which received messages are handled.
 *
 * While the stack keeps up, each message is handled as soon as it is read.
 * When many arrive in one turn of the event loop (a burst, or a backlog
 * building up in the socket), the rest of that turn's messages are queued
 * and handled at the end of the turn in two classes: first the messages
 * that finish work already under way (responses, and the requests that
 * only exist inside a dialog: ACK, BYE, PRACK, UPDATE, INFO, NOTIFY), then
 * the others (new INVITEs, REGISTERs, CANCELs...) within a time budget per
 * turn, so reading the socket keeps pace with the traffic. Queued messages
 * are handled back to back: what one starts asynchronously (a lookup in a
 * store) goes on after the batch, so an INVITE's CANCEL in the same batch
 * finds it not yet forwarded and ends it with 487 (RFC 3261 §9.2), as it
 * would had the CANCEL come a moment sooner.
 *
 * Over UDP a message left waiting for more than T1 (500 ms) is sent again
 * by its peer (RFC 3261 §17.1.1.2, §13.3.1.4): a 200 OK not acknowledged in
 * time comes back, and with it another ACK. Handled in arrival order, a
 * backlog of new calls delays the ACKs and BYEs of the calls in progress
 * past that point, and the retransmissions add load to a server already
 * behind. Handled first, the calls in progress finish on time; new
 * requests wait, or, past `maxQueued`, are left unread the way a full
 * socket buffer drops datagrams, for their sender to retransmit.
 */

export interface IntakeOptions {
  /** Messages handled at once in one turn before the rest are queued (default 16). */
  burst?: number;
  /** Time per turn for queued messages of the second class, in ms (default 2); at least one is handled. */
  budgetMs?: number;
  /** Most messages queued; beyond, a message is dropped and counted (default 8192). */
  maxQueued?: number;
  /**
   * Most bytes of messages queued (default 32 MiB); beyond, a message is
   * dropped and counted the same way. A message may take 64 KiB, so the
   * count alone would allow half a gigabyte.
   */
  maxQueuedBytes?: number;
}

/** Where the intake hands messages, and how it tells time and turns. */
export interface IntakeHost<S> {
  handle(data: Buffer, source: S): void;
  /** A message put in the queue. */
  deferred(): void;
  /** A message dropped because the queue was full. */
  shed(data: Buffer, source: S): void;
  /** Milliseconds, monotonic. */
  now(): number;
  /** Runs `fn` at the end of this turn of the event loop (after the socket reads). */
  later(fn: () => void): void;
}

/** A FIFO queue of (data, source) pairs with O(1) take. */
class Fifo<S> {
  private data: Buffer[] = [];
  private sources: S[] = [];
  private head = 0;

  get length(): number {
    return this.data.length - this.head;
  }

  push(d: Buffer, s: S): void {
    this.data.push(d);
    this.sources.push(s);
  }

  /** Hands the oldest item to `fn`. */
  take(fn: (d: Buffer, s: S) => void): void {
    const i = this.head++;
    const d = this.data[i] as Buffer;
    const s = this.sources[i] as S;
    // Let go of the references at once; compact when half the array is spent.
    (this.data as Array<Buffer | undefined>)[i] = undefined;
    (this.sources as Array<S | undefined>)[i] = undefined;
    if (this.head === this.data.length) {
      this.data.length = 0;
      this.sources.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.data.length) {
      this.data = this.data.slice(this.head);
      this.sources = this.sources.slice(this.head);
      this.head = 0;
    }
    fn(d, s);
  }
}

const SP = 0x20;

/** True for a response or a request method that only exists inside a dialog. */
export function finishesWork(data: Buffer): boolean {
  let i = 0;
  // RFC 3261 §7.5: line breaks before the start line are ignored.
  while (i < data.length && (data[i] === 0x0d || data[i] === 0x0a)) i++;
  const c = data[i];
  // "SIP/2.0 ..." (a response), ACK, BYE, PRACK, UPDATE, INFO, NOTIFY; methods are case-sensitive (§7.1).
  switch (c) {
    case 0x53: // S
      return data[i + 1] === 0x49 && data[i + 2] === 0x50 && data[i + 3] === 0x2f;
    case 0x41: // A
      return data[i + 1] === 0x43 && data[i + 2] === 0x4b && data[i + 3] === SP;
    case 0x42: // B
      return data[i + 1] === 0x59 && data[i + 2] === 0x45 && data[i + 3] === SP;
    case 0x50: // P
      return word(data, i, 'PRACK ');
    case 0x55: // U
      return word(data, i, 'UPDATE ');
    case 0x49: // I
      return word(data, i, 'INFO ');
    case 0x4e: // N
      return word(data, i, 'NOTIFY ');
    default:
      return false;
  }
}

function word(data: Buffer, at: number, w: string): boolean {
  if (data.length - at < w.length) return false;
  for (let k = 0; k < w.length; k++) if (data[at + k] !== w.charCodeAt(k)) return false;
  return true;
}

export class Intake<S> {
  private readonly host: IntakeHost<S>;
  private readonly burst: number;
  private readonly budgetMs: number;
  private readonly maxQueued: number;
  private readonly maxQueuedBytes: number;
  /** Bytes of the messages waiting. */
  private queuedBytes = 0;
  private readonly first = new Fifo<S>();
  private readonly second = new Fifo<S>();
  /** Messages read in this turn. */
  private reads = 0;
  private turnEnding = false;
  private readonly endTurn: () => void;
  private readonly handle: (d: Buffer, s: S) => void;

  constructor(host: IntakeHost<S>, options: IntakeOptions = {}) {
    this.host = host;
    this.burst = options.burst ?? 16;
    this.budgetMs = options.budgetMs ?? 2;
    this.maxQueued = options.maxQueued ?? 8192;
    this.maxQueuedBytes = options.maxQueuedBytes ?? 32 * 1048576;
    for (const [k, v] of [
      ['burst', this.burst],
      ['maxQueued', this.maxQueued],
      ['maxQueuedBytes', this.maxQueuedBytes],
    ] as const) {
      if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`intake ${k} must be a whole number >= 1`);
    }
    if (!(this.budgetMs >= 0)) throw new RangeError('intake budgetMs must be >= 0');
    this.endTurn = () => this.drain();
    this.handle = (d, s) => {
      this.queuedBytes -= d.length;
      host.handle(d, s);
    };
  }

  /** Messages waiting. */
  get queued(): number {
    return this.first.length + this.second.length;
  }

  /** Takes one received message. */
  push(data: Buffer, source: S): void {
    // The count is reset at the end of a turn with two messages or more: a
    // turn with one (the common case under light load) schedules nothing, and
    // at worst leaves a count of one for a later turn.
    const reads = ++this.reads;
    if (reads >= 2 && !this.turnEnding) {
      this.turnEnding = true;
      this.host.later(this.endTurn);
    }
    if (reads <= this.burst && this.queued === 0) {
      this.host.handle(data, source);
      return;
    }
    if (this.queued >= this.maxQueued || this.queuedBytes + data.length > this.maxQueuedBytes) {
      this.host.shed(data, source);
      return;
    }
    this.queuedBytes += data.length;
    this.host.deferred();
    if (finishesWork(data)) this.first.push(data, source);
    else this.second.push(data, source);
  }

  private drain(): void {
    this.turnEnding = false;
    this.reads = 0;
    const first = this.first;
    const second = this.second;
    while (first.length > 0) first.take(this.handle);
    if (second.length > 0) {
      const until = this.host.now() + this.budgetMs;
      do second.take(this.handle);
      while (second.length > 0 && this.host.now() < until);
    }
    if (this.queued > 0 && !this.turnEnding) {
      this.turnEnding = true;
      this.host.later(this.endTurn);
    }
  }
}
