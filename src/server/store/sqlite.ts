/**
 * The embedded stores of `sipwire serve`: one SQLite file (better-sqlite3)
 * holding the location service and the user database.
 *
 * Durability: a REGISTER is answered 200 only once its binding is on disk.
 * Throughput: the apply() calls of one event-loop turn (or of a short
 * window) share one transaction, so one fsync covers them all.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { own } from '../../message/text.js';
import {
  afterChange,
  checkChange,
  checkNow,
  checkUser,
  closedError,
  copyBinding,
  copyFlow,
  HASH_ALGORITHMS,
} from './common.js';
import type { Binding, BindingChange, HashAlgorithm, LocationStore, User, UserStore } from './types.js';

export type SqliteDatabase = Database.Database;

export interface OpenDatabaseOptions {
  /**
   * How long a statement waits for a lock held by another connection before
   * failing with SQLITE_BUSY, ms (default 5000). better-sqlite3 is
   * synchronous: the event loop is blocked while it waits.
   */
  readonly busyTimeoutMs?: number;
}

/** The schema version this code writes, kept in `PRAGMA user_version`. */
export const SCHEMA_VERSION = 2;

/** MIGRATIONS[v] takes a database from schema version v to v + 1. */
const MIGRATIONS: readonly string[] = [
  // STRICT tables (SQLite >= 3.37) refuse a value of the wrong type instead of storing it as is.
  `CREATE TABLE bindings (
     aor         TEXT    NOT NULL,
     "key"       TEXT    NOT NULL,
     contact     TEXT    NOT NULL,
     call_id     TEXT    NOT NULL,
     cseq        INTEGER NOT NULL,
     expires_at  INTEGER NOT NULL,
     q           REAL,
     instance_id TEXT,
     reg_id      INTEGER,
     path        TEXT    NOT NULL DEFAULT '[]',
     flow        TEXT,
     user_agent  TEXT,
     updated_at  INTEGER NOT NULL,
     PRIMARY KEY (aor, "key")
   ) STRICT;
   CREATE INDEX bindings_expires_at ON bindings (expires_at);
   CREATE TABLE users (
     username       TEXT    NOT NULL,
     domain         TEXT    NOT NULL,
     ha1_md5        TEXT,
     ha1_sha256     TEXT,
     ha1_sha512_256 TEXT,
     created_at     INTEGER NOT NULL,
     PRIMARY KEY (username, domain)
   ) STRICT;
   CREATE INDEX users_domain ON users (domain, username);`,
  // 1 -> 2: server-wide settings, such as the key that signs digest nonces.
  `CREATE TABLE settings (
     name  TEXT NOT NULL PRIMARY KEY,
     value BLOB NOT NULL
   ) STRICT;`,
];

/**
 * The value of a server setting, made by `create` and stored the first time
 * it is asked for (in one transaction, so two processes agree on it).
 */
export function setting(db: SqliteDatabase, name: string, create: () => Buffer): Buffer {
  return db
    .transaction(() => {
      const row = db.prepare('SELECT value FROM settings WHERE name = ?').get(name) as
        | { value: Buffer }
        | undefined;
      if (row !== undefined) return row.value;
      const value = create();
      db.prepare('INSERT INTO settings (name, value) VALUES (?, ?)').run(name, value);
      return value;
    })
    .immediate();
}

/**
 * Opens (creating it and its directory if need be) the database file at
 * `path`, configures the connection and brings the schema up to
 * SCHEMA_VERSION. Throws if the file has a newer schema than this code knows.
 */
export function openDatabase(path: string, options: OpenDatabaseOptions = {}): SqliteDatabase {
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new TypeError(`busyTimeoutMs must be a whole number >= 0, got ${busyTimeoutMs}`);
  }
  if (path !== '' && path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  // `timeout` is better-sqlite3's name for PRAGMA busy_timeout.
  const db = new Database(path, { timeout: busyTimeoutMs });
  try {
    // WAL: readers do not block the writer nor it them, and a commit is one
    // sequential append to the -wal file (https://sqlite.org/wal.html).
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal' && !db.memory)
      throw new Error(`${path}: cannot use WAL journal mode (got ${String(mode)})`);
    // In WAL mode, synchronous=NORMAL syncs the WAL only at checkpoints, so
    // a commit survives a crash of the process but "might roll back following
    // a power loss or system crash"; FULL syncs the WAL at every commit
    // (https://sqlite.org/pragma.html#pragma_synchronous). A 200 OK to a
    // REGISTER must mean the binding is on disk, hence FULL; group commit
    // pays for the fsync once per batch.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db, path);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

function migrate(db: SqliteDatabase, path: string): void {
  // IMMEDIATE takes the write lock first: two processes opening a new file
  // at once migrate one after the other, the second finding it done.
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new Error(
        `${path}: schema version ${version} is newer than this sipwire supports (${SCHEMA_VERSION})`,
      );
    }
    if (version === SCHEMA_VERSION) return;
    for (let v = version; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]!);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

// ---------------------------------------------------------------------------
// Location store

export interface SqliteLocationStoreOptions {
  /**
   * The least time between the starts of two commits, ms (default 0). A
   * write queued when no commit started within the interval is committed
   * with the rest of the current event-loop turn's writes (from a
   * setImmediate callback), with no added delay; one queued sooner waits
   * for the interval to end, and every write queued meanwhile shares its
   * commit. Under load this bounds the syncs per second, each covering more
   * writes; each write's promise still settles only once it is on disk.
   */
  readonly commitIntervalMs?: number;
  /** A batch this large is committed at once, without waiting (default 1000). */
  readonly maxBatch?: number;
  /** Whether close() also closes the database (default false). */
  readonly closeDatabase?: boolean;
}

interface BindingRow {
  aor: string;
  key: string;
  contact: string;
  call_id: string;
  cseq: number;
  expires_at: number;
  q: number | null;
  instance_id: string | null;
  reg_id: number | null;
  path: string;
  flow: string | null;
  user_agent: string | null;
  updated_at: number;
}

type BindingParams = [
  aor: string,
  key: string,
  contact: string,
  callId: string,
  cseq: number,
  expiresAt: number,
  q: number | null,
  instanceId: string | null,
  regId: number | null,
  path: string,
  flow: string | null,
  userAgent: string | null,
  updatedAt: number,
];

const BINDING_COLUMNS =
  'aor, "key", contact, call_id, cseq, expires_at, q, instance_id, reg_id, path, flow, user_agent, updated_at';

/** Highest q first (no q ranks as 1.0), then most recently written, then key: as byPreference(). */
const PREFERENCE_ORDER = 'coalesce(q, 1.0) DESC, updated_at DESC, "key"';

function toParams(b: Binding): BindingParams {
  return [
    b.aor,
    b.key,
    b.contact,
    b.callId,
    b.cseq,
    b.expiresAt,
    b.q ?? null,
    b.instanceId ?? null,
    b.regId ?? null,
    JSON.stringify(b.path),
    b.flow === undefined ? null : JSON.stringify(copyFlow(b.flow)),
    b.userAgent ?? null,
    b.updatedAt,
  ];
}

function fromRow(r: BindingRow): Binding {
  const b: { -readonly [K in keyof Binding]: Binding[K] } = {
    aor: r.aor,
    contact: r.contact,
    key: r.key,
    callId: r.call_id,
    cseq: r.cseq,
    expiresAt: r.expires_at,
    path: JSON.parse(r.path) as string[],
    updatedAt: r.updated_at,
  };
  if (r.q !== null) b.q = r.q;
  if (r.instance_id !== null) b.instanceId = r.instance_id;
  if (r.reg_id !== null) b.regId = r.reg_id;
  if (r.flow !== null) b.flow = JSON.parse(r.flow);
  if (r.user_agent !== null) b.userAgent = r.user_agent;
  return b;
}

/** One write waiting for the next group commit. */
interface Job {
  run(): unknown;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * The location service on SQLite.
 *
 * Writes (apply, expire) are queued and committed in groups: every write
 * queued before the group is flushed runs in one IMMEDIATE transaction,
 * each inside its own savepoint so that one failing write does not undo the
 * others, and each promise settles only after COMMIT returned, i.e. after
 * the WAL was synced. Reads (lookup, list, count) wait for the writes queued
 * before them to be committed, then read the database: a read sees every
 * write whose call came before it, and never data that could still roll back.
 */
export class SqliteLocationStore implements LocationStore {
  private readonly db: SqliteDatabase;
  private readonly commitIntervalMs: number;
  /** When the last commit started (performance.now()), or -Infinity. */
  private lastCommitAt = Number.NEGATIVE_INFINITY;
  private readonly maxBatch: number;
  private readonly closeDatabase: boolean;
  private readonly stmt: {
    upsert: Database.Statement<BindingParams>;
    remove: Database.Statement<[string, string]>;
    removeAll: Database.Statement<[string]>;
    lookup: Database.Statement<[string, number], BindingRow>;
    list: Database.Statement<[number], BindingRow>;
    expire: Database.Statement<[number]>;
    count: Database.Statement<[], number>;
  };
  private readonly commitIsolated: (jobs: readonly Job[]) => Outcome[];
  private readonly commitAll: (jobs: readonly Job[]) => Outcome[];
  /** Set when a job (not BEGIN or COMMIT) threw during commitAll. */
  private jobFailed = false;
  private queue: Job[] = [];
  /** Settles when the writes queued now have been committed (or failed). */
  private batchDone: Promise<void> | undefined;
  private settleBatch: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private closing: Promise<void> | undefined;
  private batches = 0;
  private writes = 0;

  constructor(db: SqliteDatabase, options: SqliteLocationStoreOptions = {}) {
    this.db = db;
    this.commitIntervalMs = options.commitIntervalMs ?? 0;
    this.maxBatch = options.maxBatch ?? 1000;
    this.closeDatabase = options.closeDatabase ?? false;
    if (!(this.commitIntervalMs >= 0)) throw new TypeError('commitIntervalMs must be >= 0');
    if (!(Number.isSafeInteger(this.maxBatch) && this.maxBatch >= 1)) {
      throw new TypeError('maxBatch must be a whole number >= 1');
    }
    this.stmt = {
      upsert: db.prepare(
        `INSERT INTO bindings (${BINDING_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (aor, "key") DO UPDATE SET
           contact = excluded.contact, call_id = excluded.call_id, cseq = excluded.cseq,
           expires_at = excluded.expires_at, q = excluded.q, instance_id = excluded.instance_id,
           reg_id = excluded.reg_id, path = excluded.path, flow = excluded.flow,
           user_agent = excluded.user_agent, updated_at = excluded.updated_at`,
      ),
      remove: db.prepare('DELETE FROM bindings WHERE aor = ? AND "key" = ?'),
      removeAll: db.prepare('DELETE FROM bindings WHERE aor = ?'),
      lookup: db.prepare(
        `SELECT ${BINDING_COLUMNS} FROM bindings WHERE aor = ? AND expires_at > ? ORDER BY ${PREFERENCE_ORDER}`,
      ),
      list: db.prepare(`SELECT ${BINDING_COLUMNS} FROM bindings WHERE expires_at > ? ORDER BY aor, "key"`),
      expire: db.prepare('DELETE FROM bindings WHERE expires_at <= ?'),
      count: db.prepare<[], number>('SELECT count(*) FROM bindings').pluck(),
    };
    // Called inside the batch transaction, a better-sqlite3 transaction
    // function runs as SAVEPOINT ... RELEASE and rolls back to its savepoint
    // when it throws.
    const savepoint = db.transaction((job: Job) => job.run());
    // Each job in its own savepoint, so that one failing job does not undo the others.
    this.commitIsolated = db.transaction((jobs: readonly Job[]) => {
      const outcomes: Outcome[] = [];
      for (const job of jobs) {
        try {
          outcomes.push({ ok: true, value: savepoint(job) });
        } catch (error) {
          // After some errors (SQLITE_FULL, SQLITE_IOERR, SQLITE_BUSY,
          // SQLITE_NOMEM) SQLite may have rolled back the whole transaction
          // (https://sqlite.org/lang_transaction.html): then the batch failed.
          if (!db.inTransaction) throw error;
          outcomes.push({ ok: false, error });
        }
      }
      return outcomes;
    }).immediate;
    // Every job straight in the transaction: two statements fewer per job than
    // with savepoints. A job that throws rolls the whole batch back (see commitBatch()).
    this.commitAll = db.transaction((jobs: readonly Job[]) => {
      const outcomes: Outcome[] = [];
      for (const job of jobs) {
        try {
          outcomes.push({ ok: true, value: job.run() });
        } catch (error) {
          this.jobFailed = true;
          throw error;
        }
      }
      return outcomes;
    }).immediate;
  }

  async lookup(aor: string, now: number): Promise<Binding[]> {
    this.checkOpen();
    checkNow(now);
    await this.batchDone;
    return this.stmt.lookup.all(aor, now).map(fromRow);
  }

  apply(aor: string, change: BindingChange, now: number): Promise<Binding[]> {
    try {
      this.checkOpen();
      checkNow(now);
      checkChange(aor, change);
    } catch (error) {
      return Promise.reject(error);
    }
    // Taken now: the caller may reuse its objects before the batch runs.
    const write = this.writer(aor, change);
    const { stmt } = this;
    return this.enqueue(() => {
      write();
      return stmt.lookup.all(aor, now).map(fromRow);
    });
  }

  update<T>(
    aor: string,
    now: number,
    decide: (current: Binding[]) => { change?: BindingChange; result: T },
  ): Promise<{ bindings: Binding[]; result: T }> {
    try {
      this.checkOpen();
      checkNow(now);
    } catch (error) {
      return Promise.reject(error);
    }
    const { stmt } = this;
    // Read, decide and write inside one savepoint of the batch transaction.
    return this.enqueue(() => {
      const current = stmt.lookup.all(aor, now).map(fromRow);
      const { change, result } = decide(current);
      if (change === undefined) return { bindings: current, result };
      checkChange(aor, change);
      this.writer(aor, change)();
      return { bindings: afterChange(current, change, now), result };
    });
  }

  /** The statements for one change, with its values copied now. */
  private writer(aor: string, change: BindingChange): () => void {
    const removeAll = change.removeAll === true;
    const remove = [...change.remove];
    const upsert = change.upsert.map((b) => toParams(copyBinding(b)));
    const { stmt } = this;
    return () => {
      if (removeAll) stmt.removeAll.run(aor);
      for (const key of remove) stmt.remove.run(aor, key);
      for (const params of upsert) stmt.upsert.run(...params);
    };
  }

  expire(now: number): Promise<number> {
    try {
      this.checkOpen();
      checkNow(now);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.enqueue(() => this.stmt.expire.run(now).changes);
  }

  async list(now: number): Promise<Binding[]> {
    this.checkOpen();
    checkNow(now);
    await this.batchDone;
    return this.stmt.list.all(now).map(fromRow);
  }

  async count(): Promise<number> {
    this.checkOpen();
    await this.batchDone;
    return this.stmt.count.get()!;
  }

  /** How many group commits were made, and how many writes (apply and expire calls) they held. */
  get stats(): { readonly batches: number; readonly writes: number } {
    return { batches: this.batches, writes: this.writes };
  }

  /** Commits the queued writes, lets the reads waiting for them finish, then (if so configured) closes the database. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.flush();
      // Reads waiting for that batch resume in microtasks; let them run first.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.closeDatabase && this.db.open) this.db.close();
    })();
    return this.closing;
  }

  /**
   * Runs a batch in one transaction: all its jobs together, and if one of
   * them throws (rolling the whole transaction back), the batch again with
   * each job in its own savepoint, so that only the failing job fails.
   * A job alone is not retried (its rollback is the whole transaction's),
   * nor is a failure of the transaction itself (BEGIN, COMMIT).
   */
  private commitBatch(jobs: readonly Job[]): Outcome[] {
    this.jobFailed = false;
    try {
      return this.commitAll(jobs);
    } catch (error) {
      if (!this.jobFailed || jobs.length === 1) throw error;
      return this.commitIsolated(jobs);
    }
  }

  /** Writes every queued job now, in one transaction. */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    const jobs = this.queue;
    const settleBatch = this.settleBatch;
    this.queue = [];
    this.batchDone = undefined;
    this.settleBatch = undefined;
    if (jobs.length === 0) return;
    if (this.commitIntervalMs > 0) this.lastCommitAt = performance.now();
    let outcomes: Outcome[];
    try {
      outcomes = this.commitBatch(jobs);
    } catch (error) {
      for (const job of jobs) job.reject(error);
      settleBatch?.();
      return;
    }
    this.batches++;
    this.writes += jobs.length;
    for (let i = 0; i < jobs.length; i++) {
      const outcome = outcomes[i]!;
      if (outcome.ok) jobs[i]!.resolve(outcome.value);
      else jobs[i]!.reject(outcome.error);
    }
    settleBatch?.();
  }

  private enqueue<T>(run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, resolve: resolve as (value: unknown) => void, reject });
      if (this.queue.length === 1) {
        this.batchDone = new Promise<void>((settle) => {
          this.settleBatch = settle;
        });
        // Not unref'd: a process must not exit with a write accepted and never committed.
        const wait =
          this.commitIntervalMs > 0 ? this.lastCommitAt + this.commitIntervalMs - performance.now() : 0;
        if (wait > 0) this.timer = setTimeout(() => this.flush(), wait);
        else this.immediate = setImmediate(() => this.flush());
      }
      if (this.queue.length >= this.maxBatch) this.flush();
    });
  }

  private checkOpen(): void {
    if (this.closing) throw closedError('the location store');
  }
}

// ---------------------------------------------------------------------------
// User store

export interface SqliteUserStoreOptions {
  /** Whether close() also closes the database (default false). */
  readonly closeDatabase?: boolean;
}

interface UserRow {
  username: string;
  domain: string;
  ha1_md5: string | null;
  ha1_sha256: string | null;
  ha1_sha512_256: string | null;
  created_at: number;
}

const HA1_COLUMN: Readonly<Record<HashAlgorithm, 'ha1_md5' | 'ha1_sha256' | 'ha1_sha512_256'>> = {
  MD5: 'ha1_md5',
  'SHA-256': 'ha1_sha256',
  'SHA-512-256': 'ha1_sha512_256',
};

function userFromRow(r: UserRow): User {
  const ha1: Partial<Record<HashAlgorithm, string>> = {};
  for (const algorithm of HASH_ALGORITHMS) {
    const value = r[HA1_COLUMN[algorithm]];
    if (value !== null) ha1[algorithm] = value;
  }
  return { username: r.username, domain: r.domain, ha1, createdAt: r.created_at };
}

const USER_COLUMNS = 'username, domain, ha1_md5, ha1_sha256, ha1_sha512_256, created_at';

/**
 * The user database on SQLite. Users change seldom (an administrator's
 * command), so each write is its own transaction, durable when it resolves.
 */
export class SqliteUserStore implements UserStore {
  private readonly db: SqliteDatabase;
  private readonly closeDatabase: boolean;
  private readonly stmt: {
    get: Database.Statement<[string, string], UserRow>;
    put: Database.Statement<[string, string, string | null, string | null, string | null, number]>;
    remove: Database.Statement<[string, string]>;
    listAll: Database.Statement<[], UserRow>;
    listDomain: Database.Statement<[string], UserRow>;
    dataVersion: Database.Statement<[], number>;
  };
  private closed = false;
  /**
   * Users read so far (null: no such user). Another connection's commit
   * (the `sipwire user` command) changes PRAGMA data_version, which empties
   * it; this connection's own writes update it directly.
   */
  private readonly cache = new Map<string, User | null>();
  private seenVersion = -1;

  constructor(db: SqliteDatabase, options: SqliteUserStoreOptions = {}) {
    this.db = db;
    this.closeDatabase = options.closeDatabase ?? false;
    this.stmt = {
      get: db.prepare(`SELECT ${USER_COLUMNS} FROM users WHERE username = ? AND domain = ?`),
      put: db.prepare(
        `INSERT INTO users (${USER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (username, domain) DO UPDATE SET
           ha1_md5 = excluded.ha1_md5, ha1_sha256 = excluded.ha1_sha256,
           ha1_sha512_256 = excluded.ha1_sha512_256, created_at = excluded.created_at`,
      ),
      remove: db.prepare('DELETE FROM users WHERE username = ? AND domain = ?'),
      listAll: db.prepare(`SELECT ${USER_COLUMNS} FROM users ORDER BY domain, username`),
      listDomain: db.prepare(`SELECT ${USER_COLUMNS} FROM users WHERE domain = ? ORDER BY username`),
      // https://sqlite.org/pragma.html#pragma_data_version: changes when another connection commits.
      dataVersion: db.prepare<[], number>('PRAGMA data_version').pluck(),
    };
  }

  async get(username: string, domain: string): Promise<User | undefined> {
    this.checkOpen();
    const version = this.stmt.dataVersion.get() as number;
    if (version !== this.seenVersion) {
      this.cache.clear();
      this.seenVersion = version;
    }
    const key = `${username}\n${domain}`;
    const known = this.cache.get(key);
    if (known !== undefined) return known ?? undefined;
    const row = this.stmt.get.get(username, domain);
    const user = row && userFromRow(row);
    if (this.cache.size >= 100_000) this.cache.clear();
    // The name comes from a request: the cache keeps its own copy, not a view into the request.
    this.cache.set(own(key), user ?? null);
    return user;
  }

  async put(user: User): Promise<void> {
    this.checkOpen();
    checkUser(user);
    this.stmt.put.run(
      user.username,
      user.domain,
      user.ha1.MD5 ?? null,
      user.ha1['SHA-256'] ?? null,
      user.ha1['SHA-512-256'] ?? null,
      user.createdAt,
    );
    this.cache.delete(`${user.username}\n${user.domain}`);
  }

  async remove(username: string, domain: string): Promise<boolean> {
    this.checkOpen();
    this.cache.delete(`${username}\n${domain}`);
    return this.stmt.remove.run(username, domain).changes > 0;
  }

  async list(domain?: string): Promise<User[]> {
    this.checkOpen();
    const rows = domain === undefined ? this.stmt.listAll.all() : this.stmt.listDomain.all(domain);
    return rows.map(userFromRow);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.closeDatabase && this.db.open) this.db.close();
  }

  private checkOpen(): void {
    if (this.closed) throw closedError('the user store');
  }
}

// ---------------------------------------------------------------------------

/** Both stores on one database file, closed together. */
export interface SqliteStores {
  readonly database: SqliteDatabase;
  readonly locations: SqliteLocationStore;
  readonly users: SqliteUserStore;
  /** Commits pending writes, closes both stores and the database. */
  close(): Promise<void>;
}

export function openSqliteStores(
  path: string,
  options: OpenDatabaseOptions & Omit<SqliteLocationStoreOptions, 'closeDatabase'> = {},
): SqliteStores {
  const database = openDatabase(path, options);
  const locations = new SqliteLocationStore(database, options);
  const users = new SqliteUserStore(database);
  let closing: Promise<void> | undefined;
  return {
    database,
    locations,
    users,
    close() {
      closing ??= (async () => {
        try {
          await Promise.all([locations.close(), users.close()]);
        } finally {
          if (database.open) database.close();
        }
      })();
      return closing;
    },
  };
}
