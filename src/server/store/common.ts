/**
 * What the memory and SQLite stores share so that they behave the same:
 * input checks, ordering and copying of records.
 */
import type { Binding, BindingChange, Flow, HashAlgorithm, User } from './types.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The digest algorithms a user record holds an HA1 for, with the length of its hex digest. */
export const HA1_HEX_LENGTH: Readonly<Record<HashAlgorithm, number>> = {
  MD5: 32,
  'SHA-256': 64,
  'SHA-512-256': 64,
};

export const HASH_ALGORITHMS = Object.keys(HA1_HEX_LENGTH) as readonly HashAlgorithm[];

/**
 * Compares two strings by code point, which is the order of their UTF-8
 * bytes: SQLite's default BINARY collation compares with memcmp() on the
 * UTF-8 text, and the memory store must sort the same way. UTF-16 code unit
 * order differs only where a surrogate meets a unit in U+E000..U+FFFF.
 */
export function compareText(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

/**
 * The order of an AOR's bindings: highest q first, a binding without q
 * ranking as q=1.0 (RFC 3261 §20.10 gives q the range 0..1 and leaves the
 * default open); then the most recently written first; then by key.
 */
export function byPreference(a: Binding, b: Binding): number {
  const qa = a.q ?? 1;
  const qb = b.q ?? 1;
  if (qa !== qb) return qb - qa;
  if (a.updatedAt !== b.updatedAt) return b.updatedAt - a.updatedAt;
  return compareText(a.key, b.key);
}

/**
 * An AOR's bindings after `change`, from its current ones (those not expired
 * at `now`): what a lookup would return once the change is written, without
 * reading them back.
 */
export function afterChange(current: readonly Binding[], change: BindingChange, now: number): Binding[] {
  const next = new Map<string, Binding>();
  if (change.removeAll !== true) for (const b of current) next.set(b.key, b);
  for (const key of change.remove) next.delete(key);
  for (const b of change.upsert) next.set(b.key, copyBinding(b));
  const out: Binding[] = [];
  for (const b of next.values()) if (b.expiresAt > now) out.push(b);
  return out.sort(byPreference);
}

/** The order of `list()`: by AOR, then key. */
export function byAorThenKey(a: Binding, b: Binding): number {
  return compareText(a.aor, b.aor) || compareText(a.key, b.key);
}

const isText = (v: unknown): v is string => typeof v === 'string';
const isWholeNumber = (v: unknown): v is number => Number.isSafeInteger(v);

function fail(what: string): never {
  throw new TypeError(what);
}

function checkTime(v: unknown, what: string): void {
  if (!isWholeNumber(v)) fail(`${what} must be a whole number of ms, got ${String(v)}`);
}

function checkFlow(f: Flow, where: string): void {
  if (typeof f !== 'object' || f === null) fail(`${where}: flow must be an object`);
  if (!isText(f.transport) || f.transport === '') fail(`${where}: flow.transport must be a non-empty string`);
  if (!isText(f.address) || f.address === '') fail(`${where}: flow.address must be a non-empty string`);
  if (!isWholeNumber(f.port) || f.port < 0 || f.port > 65535) fail(`${where}: flow.port must be 0..65535`);
  if (f.localAddress !== undefined && !isText(f.localAddress)) {
    fail(`${where}: flow.localAddress must be a string`);
  }
  if (f.localPort !== undefined && (!isWholeNumber(f.localPort) || f.localPort < 0 || f.localPort > 65535)) {
    fail(`${where}: flow.localPort must be 0..65535`);
  }
  if (f.connectionId !== undefined && !isWholeNumber(f.connectionId)) {
    fail(`${where}: flow.connectionId must be a whole number`);
  }
}

/** Checks one binding of a change to `aor`; throws a TypeError naming the field. */
export function checkBinding(aor: string, b: Binding): void {
  if (typeof b !== 'object' || b === null) fail('a binding must be an object');
  const where = `binding ${JSON.stringify(b.key)} of ${aor}`;
  if (b.aor !== aor) fail(`${where}: its aor ${JSON.stringify(b.aor)} is not the AOR being changed`);
  if (!isText(b.key) || b.key === '') fail(`binding of ${aor}: key must be a non-empty string`);
  if (!isText(b.contact) || b.contact === '') fail(`${where}: contact must be a non-empty string`);
  if (!isText(b.callId)) fail(`${where}: callId must be a string`);
  // RFC 3261 §8.1.1.5: the CSeq number MUST be expressible as a 32-bit unsigned integer.
  if (!isWholeNumber(b.cseq) || b.cseq < 0 || b.cseq >= 2 ** 32) fail(`${where}: cseq must be 0..2^32-1`);
  checkTime(b.expiresAt, `${where}: expiresAt`);
  checkTime(b.updatedAt, `${where}: updatedAt`);
  // RFC 3261 §20.10: qvalue is 0..1.
  if (b.q !== undefined && !(typeof b.q === 'number' && b.q >= 0 && b.q <= 1)) {
    fail(`${where}: q must be a number 0..1`);
  }
  if (b.instanceId !== undefined && !isText(b.instanceId)) fail(`${where}: instanceId must be a string`);
  if (b.regId !== undefined && !isWholeNumber(b.regId)) fail(`${where}: regId must be a whole number`);
  if (!Array.isArray(b.path) || !b.path.every(isText)) fail(`${where}: path must be an array of strings`);
  if (b.flow !== undefined) checkFlow(b.flow, where);
  if (b.userAgent !== undefined && !isText(b.userAgent)) fail(`${where}: userAgent must be a string`);
}

/** Checks a whole change before any of it is applied, so a bad one changes nothing. */
export function checkChange(aor: string, change: BindingChange): void {
  if (!isText(aor) || aor === '') fail('the AOR must be a non-empty string');
  if (typeof change !== 'object' || change === null) fail('a change must be an object');
  if (!Array.isArray(change.upsert)) fail('change.upsert must be an array');
  if (!Array.isArray(change.remove) || !change.remove.every(isText)) {
    fail('change.remove must be an array of keys');
  }
  for (const b of change.upsert) checkBinding(aor, b);
}

/** Checks the `now` given to a store method. */
export function checkNow(now: number): void {
  if (typeof now !== 'number' || !Number.isFinite(now))
    fail(`now must be a finite number, got ${String(now)}`);
}

/** A copy of a flow with only the known fields that are set (what JSON round-trips to). */
export function copyFlow(f: Flow): Flow {
  const out: Mutable<Flow> = { transport: f.transport, address: f.address, port: f.port };
  if (f.localAddress !== undefined) out.localAddress = f.localAddress;
  if (f.localPort !== undefined) out.localPort = f.localPort;
  if (f.connectionId !== undefined) out.connectionId = f.connectionId;
  return out;
}

/** A copy of a binding with no `undefined` members: the shape both stores return. */
export function copyBinding(b: Binding): Binding {
  const out: Mutable<Binding> = {
    aor: b.aor,
    contact: b.contact,
    key: b.key,
    callId: b.callId,
    cseq: b.cseq,
    expiresAt: b.expiresAt,
    path: [...b.path],
    updatedAt: b.updatedAt,
  };
  if (b.q !== undefined) out.q = b.q;
  if (b.instanceId !== undefined) out.instanceId = b.instanceId;
  if (b.regId !== undefined) out.regId = b.regId;
  if (b.flow !== undefined) out.flow = copyFlow(b.flow);
  if (b.userAgent !== undefined) out.userAgent = b.userAgent;
  return out;
}

/** Checks a user record; throws a TypeError naming the field. */
export function checkUser(u: User): void {
  if (typeof u !== 'object' || u === null) fail('a user must be an object');
  if (!isText(u.username) || u.username === '') fail('username must be a non-empty string');
  if (!isText(u.domain) || u.domain === '') fail('domain must be a non-empty string');
  checkTime(u.createdAt, `user ${u.username}@${u.domain}: createdAt`);
  if (typeof u.ha1 !== 'object' || u.ha1 === null)
    fail(`user ${u.username}@${u.domain}: ha1 must be an object`);
  for (const [algorithm, value] of Object.entries(u.ha1)) {
    if (value === undefined) continue;
    const length = HA1_HEX_LENGTH[algorithm as HashAlgorithm];
    if (length === undefined)
      fail(`user ${u.username}@${u.domain}: no HA1 is kept for algorithm ${algorithm}`);
    if (!isText(value) || value.length !== length || !/^[0-9a-fA-F]+$/.test(value)) {
      fail(`user ${u.username}@${u.domain}: the ${algorithm} HA1 must be ${length} hex digits`);
    }
  }
}

/** A copy of a user record with only the HA1 values that are set. */
export function copyUser(u: User): User {
  const ha1: Partial<Record<HashAlgorithm, string>> = {};
  for (const algorithm of HASH_ALGORITHMS) {
    const value = u.ha1[algorithm];
    if (value !== undefined) ha1[algorithm] = value;
  }
  return { username: u.username, domain: u.domain, ha1, createdAt: u.createdAt };
}

/** Orders users by domain, then username. */
export function byDomainThenUsername(a: User, b: User): number {
  return compareText(a.domain, b.domain) || compareText(a.username, b.username);
}

/** The error a closed store rejects with. */
export function closedError(what: string): Error {
  return new Error(`${what} is closed`);
}
