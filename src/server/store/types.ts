/**
 * The location service and user database behind `sipwire serve`. Stores
 * are asynchronous so a shared store (for several server processes) can
 * stand in for the embedded SQLite one without the registrar changing.
 */

/** Where a binding's REGISTER came from (RFC 5626 flow): how to reach the UA back. */
export interface Flow {
  readonly transport: string;
  readonly address: string;
  readonly port: number;
  /** The local address and port the REGISTER arrived on. */
  readonly localAddress?: string;
  readonly localPort?: number;
  /** Id of the connection it arrived on (stream transports), valid in this process only. */
  readonly connectionId?: number;
}

/** One Contact bound to an address of record (RFC 3261 §10.3). */
export interface Binding {
  /** Canonical address of record, `sip:user@domain` (lower-case host, no parameters). */
  readonly aor: string;
  /** The Contact URI as registered (text). */
  readonly contact: string;
  /**
   * Key that identifies the binding within its AOR: the RFC 5626 instance id
   * and reg-id when present (`<instance>|<reg-id>`), else the Contact URI in
   * a form that compares per RFC 3261 §19.1.4.
   */
  readonly key: string;
  readonly callId: string;
  readonly cseq: number;
  /** Absolute expiry, ms since the epoch. */
  readonly expiresAt: number;
  /** q-value 0..1 (RFC 3261 §20.10), when given. */
  readonly q?: number;
  /** +sip.instance (RFC 5626), without the angle brackets and quotes. */
  readonly instanceId?: string;
  readonly regId?: number;
  /** Path header values from the REGISTER, in order (RFC 3327). */
  readonly path: readonly string[];
  readonly flow?: Flow;
  readonly userAgent?: string;
  /** When this binding was last written, ms since the epoch. */
  readonly updatedAt: number;
}

/** A change to the bindings of one AOR, applied atomically. */
export interface BindingChange {
  /** Bindings to insert or replace (matched on `key`). */
  readonly upsert: readonly Binding[];
  /** Keys of bindings to remove. */
  readonly remove: readonly string[];
  /** Remove every binding of the AOR first (Contact: * with Expires: 0). */
  readonly removeAll?: boolean;
}

export interface LocationStore {
  /** Group commits made and the writes they held, for a store that batches its writes. */
  readonly stats?: { readonly batches: number; readonly writes: number };
  /** The unexpired bindings of an AOR at `now`, highest q first. */
  lookup(aor: string, now: number): Promise<Binding[]>;
  /**
   * Applies one change to an AOR and resolves with the AOR's unexpired
   * bindings afterwards. When it resolves the change is durable for a
   * durable store: a crash of the process right after loses nothing.
   */
  apply(aor: string, change: BindingChange, now: number): Promise<Binding[]>;
  /**
   * Reads the AOR's unexpired bindings and applies the change `decide` makes
   * of them, as one step: nothing else changes the AOR in between. `decide`
   * runs synchronously and returns no change to leave the AOR as it is; if
   * it throws, nothing changes and the promise rejects. A store may call it
   * more than once (retrying a write), so it must have no side effects.
   * Resolves with the bindings afterwards and `decide`'s result, once durable.
   */
  update<T>(
    aor: string,
    now: number,
    decide: (current: Binding[]) => { change?: BindingChange; result: T },
  ): Promise<{ bindings: Binding[]; result: T }>;
  /** Deletes expired bindings; resolves with how many went. */
  expire(now: number): Promise<number>;
  /** Every unexpired binding (for `sipwire registrations`), ordered by AOR then key. */
  list(now: number): Promise<Binding[]>;
  /** Number of stored bindings (expired ones included until swept). */
  count(): Promise<number>;
  close(): Promise<void>;
}

/** Digest algorithms whose HA1 a user record can hold. */
export type HashAlgorithm = 'MD5' | 'SHA-256' | 'SHA-512-256';

/** A user of a SIP domain: never the password, only HA1 = H(user:realm:password) per algorithm. */
export interface User {
  readonly username: string;
  /** The domain, which is also the digest realm. */
  readonly domain: string;
  readonly ha1: Readonly<Partial<Record<HashAlgorithm, string>>>;
  readonly createdAt: number;
}

export interface UserStore {
  get(username: string, domain: string): Promise<User | undefined>;
  /** Adds or replaces a user. */
  put(user: User): Promise<void>;
  /** Resolves false when there was no such user. */
  remove(username: string, domain: string): Promise<boolean>;
  list(domain?: string): Promise<User[]>;
  close(): Promise<void>;
}
