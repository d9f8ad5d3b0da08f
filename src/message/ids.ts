import { randomBytes } from 'node:crypto';
import { MAGIC_COOKIE } from './via.js';

// Random bytes are drawn in blocks and handed out in pieces (one system call per block).
const POOL_SIZE = 4096;
let pool = randomBytes(POOL_SIZE);
let offset = 0;

const ALPHABET = Buffer.from('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', 'latin1');
/** Characters are mapped in place in a scratch buffer, then read as one string. */
const scratch = Buffer.allocUnsafe(64);

/** `n` random characters from [a-zA-Z0-9] (about 5.95 bits each). */
export function randomToken(n: number): string {
  if (n > 64) return randomToken(64) + randomToken(n - 64);
  if (offset + n > POOL_SIZE) {
    pool = randomBytes(POOL_SIZE);
    offset = 0;
  }
  for (let i = 0; i < n; i++) scratch[i] = ALPHABET[(pool[offset + i] as number) % 62] as number;
  offset += n;
  return scratch.toString('latin1', 0, n);
}

/** A Via branch unique in space and time, with the RFC 3261 magic cookie (§8.1.1.7). */
export function newBranch(): string {
  return `${MAGIC_COOKIE}${randomToken(22)}`;
}

/** A From/To tag (§19.3: at least 32 bits of randomness). */
export function newTag(): string {
  return randomToken(12);
}

/** A Call-ID (§8.1.1.4), optionally @host. */
export function newCallId(host?: string): string {
  const id = randomToken(24);
  return host === undefined ? id : `${id}@${host}`;
}
