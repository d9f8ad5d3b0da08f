import * as crypto from 'node:crypto';
import { createHash, createHmac, randomBytes, randomFillSync, randomInt, timingSafeEqual } from 'node:crypto';
import { AuthHeader } from '../message/auth-header.js';
import { quote } from '../message/scanner.js';
import { own, textToBytes } from '../message/text.js';

/**
 * SIP Digest authentication (RFC 3261 §22, RFC 8760, RFC 7616, RFC 2617):
 * the hash functions, a client that answers challenges, and a server that
 * issues challenges and verifies credentials.
 */

/** The algorithms of RFC 8760 §2.7 (ABNF) supported here. */
export type DigestAlgorithm =
  | 'MD5'
  | 'MD5-sess'
  | 'SHA-256'
  | 'SHA-256-sess'
  | 'SHA-512-256'
  | 'SHA-512-256-sess';

/** The algorithms without the session variant: the ones an HA1 is stored for. */
type BaseAlgorithm = 'MD5' | 'SHA-256' | 'SHA-512-256';

/** A quality of protection this module implements. */
type Qop = 'auth' | 'auth-int';

/** Raised for a challenge that cannot be answered, bad arguments and bad configuration. */
export class DigestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DigestError';
  }
}

const CANONICAL: ReadonlyMap<string, DigestAlgorithm> = new Map(
  (['MD5', 'MD5-sess', 'SHA-256', 'SHA-256-sess', 'SHA-512-256', 'SHA-512-256-sess'] as const).map((a) => [
    a.toUpperCase(),
    a,
  ]),
);

/** node:crypto names of the hash functions (RFC 7616 §3.3: H(data) = <algorithm>(data)). */
const HASH_NAME: Record<BaseAlgorithm, string> = {
  MD5: 'md5',
  'SHA-256': 'sha256',
  'SHA-512-256': 'sha512-256',
};

/** Hex digits of a digest (RFC 7616 §3.2, RFC 8760 §2.2). */
const HEX_LENGTH: Record<BaseAlgorithm, number> = { MD5: 32, 'SHA-256': 64, 'SHA-512-256': 64 };

/** Client preference among algorithms; the session variants rank with their base. */
const RANK: Record<BaseAlgorithm, number> = { MD5: 1, 'SHA-256': 2, 'SHA-512-256': 3 };

/** True for an algorithm this module implements; the comparison ignores case. */
export function isSupportedAlgorithm(a: string): a is DigestAlgorithm {
  return CANONICAL.has(a.toUpperCase());
}

/** The canonical spelling of a supported algorithm (any case accepted); undefined for others. */
export function canonicalAlgorithm(a: string): DigestAlgorithm | undefined {
  return CANONICAL.get(a.toUpperCase());
}

function algorithmOf(a: string): DigestAlgorithm {
  const c = canonicalAlgorithm(a);
  if (c === undefined) throw new DigestError(`unsupported digest algorithm '${a}'`);
  return c;
}

function baseOf(a: DigestAlgorithm): BaseAlgorithm {
  return (a.endsWith('-sess') ? a.slice(0, -5) : a) as BaseAlgorithm;
}

function isSession(a: DigestAlgorithm): boolean {
  return a.endsWith('-sess');
}

/** node:crypto's one-shot hash (Node >= 20.12): one call instead of a Hash object, update and digest. */
const oneShot = (crypto as { hash?: (algorithm: string, data: string | Buffer, encoding: 'hex') => string })
  .hash;

/** H(data) as lowercase hex; strings are hashed as UTF-8. */
function hash(a: BaseAlgorithm, data: string | Buffer): string {
  if (oneShot !== undefined) return oneShot(HASH_NAME[a], data, 'hex');
  return createHash(HASH_NAME[a]).update(data).digest('hex');
}

/**
 * H(username ":" realm ":" password) in hex (RFC 7616 §3.4.2). A registrar
 * can store this instead of the password. For a "-sess" algorithm this is
 * the base value; `digestResponse` adds the nonce and cnonce per request.
 */
export function ha1(algorithm: DigestAlgorithm, username: string, realm: string, password: string): string {
  return hash(baseOf(algorithmOf(algorithm)), `${username}:${realm}:${password}`);
}

/** The inputs of a response digest. `ha1` is the value `ha1()` returns. */
export interface DigestResponseParams {
  algorithm: DigestAlgorithm;
  ha1: string;
  nonce: string;
  cnonce?: string;
  /** The nonce count as sent: 8 hex digits. */
  nc?: string;
  qop?: Qop;
  method: string;
  uri: string;
  body?: Buffer;
}

/**
 * The request-digest (RFC 2617 §3.2.2.1, RFC 7616 §3.4.1-§3.4.3) in hex.
 * Without `qop` this is the RFC 2069 form KD(HA1, nonce ":" HA2).
 */
export function digestResponse(p: DigestResponseParams): string {
  const algorithm = algorithmOf(p.algorithm);
  const base = baseOf(algorithm);
  let h1 = p.ha1.toLowerCase();
  if (isSession(algorithm)) {
    // RFC 7616 §3.4.2: A1 = H(user:realm:pass) ":" nonce ":" cnonce for "-sess".
    // RFC 3261 §22.4 item 8: the session variants depend on the cnonce, hence on qop.
    if (p.cnonce === undefined) throw new DigestError(`${algorithm} needs a cnonce`);
    h1 = hash(base, `${h1}:${p.nonce}:${p.cnonce}`);
  }
  // RFC 7616 §3.4.3: A2 = Method ":" request-uri [":" H(entity-body)] for auth-int.
  // RFC 8760 §2.6 item 7: an empty body hashes as the empty string.
  const h2 =
    p.qop === 'auth-int'
      ? hash(base, `${p.method}:${p.uri}:${hash(base, p.body ?? '')}`)
      : ha2(base, `${p.method}:${p.uri}`);
  if (p.qop === undefined) return hash(base, `${h1}:${p.nonce}:${h2}`);
  if (p.nc === undefined || p.cnonce === undefined) throw new DigestError(`qop=${p.qop} needs nc and cnonce`);
  // RFC 7616 §3.4.1: KD(H(A1), nonce ":" nc ":" cnonce ":" qop ":" H(A2)).
  return hash(base, `${h1}:${p.nonce}:${p.nc}:${p.cnonce}:${p.qop}:${h2}`);
}

/**
 * H(A2) without a body (qop auth, or none), remembered: a registrar hashes
 * the same "REGISTER:sip:domain" for every registration. At most
 * HA2_REMEMBERED per algorithm; a full table starts again empty.
 */
const HA2_REMEMBERED = 1024;
const ha2Known: Record<BaseAlgorithm, Map<string, string>> = {
  MD5: new Map(),
  'SHA-256': new Map(),
  'SHA-512-256': new Map(),
};

function ha2(base: BaseAlgorithm, a2: string): string {
  const known = ha2Known[base];
  let h = known.get(a2);
  if (h === undefined) {
    h = hash(base, a2);
    if (known.size >= HA2_REMEMBERED) known.clear();
    known.set(a2, h);
  }
  return h;
}

/** True when `text` can go inside a quoted-string on one header line (RFC 3261 §25.1 qdtext). */
function quotable(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return false;
  }
  return true;
}

/** Text as a quoted-string in the byte-string form header values use. */
function quoted(name: string, text: string): string {
  if (!quotable(text)) throw new DigestError(`${name} contains a control character`);
  return quote(textToBytes(text));
}

/**
 * Comparison of two strings of one length (hex digests) in a time that
 * does not depend on where they differ: every character is looked at, the
 * differences folded together.
 */
function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

// ---------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------

/** What a user agent knows to answer challenges. */
export interface DigestCredentials {
  username: string;
  password: string;
  /** When set, only challenges for this realm are answered. */
  realm?: string;
}

export interface DigestRequest {
  method: string;
  /** The Request-URI as text. */
  uri: string;
  body?: Buffer;
}

/** The parts of a challenge the client uses. */
interface Challenge {
  realm: string;
  nonce: string;
  opaque: string | undefined;
  /** The algorithm parameter as written; undefined when absent. */
  algorithmText: string | undefined;
  algorithm: DigestAlgorithm;
  qop: Qop | undefined;
}

/** Reads a challenge; a string says why it cannot be answered. */
function readChallenge(h: AuthHeader): Challenge | string {
  // RFC 8760 §2.6: Basic is neither requested nor accepted in SIP.
  if (!h.isDigest) return `scheme ${h.scheme} is not Digest`;
  const realm = h.get('realm');
  const nonce = h.get('nonce');
  if (realm === undefined) return 'the challenge has no realm';
  if (nonce === undefined) return 'the challenge has no nonce';
  const algorithmText = h.get('algorithm');
  // RFC 7616 §3.3: no algorithm means MD5; an algorithm not understood means the challenge is ignored.
  const algorithm = canonicalAlgorithm(algorithmText ?? 'MD5');
  if (algorithm === undefined) return `unsupported algorithm '${algorithmText}'`;
  let qop: Qop | undefined;
  const offered = h.get('qop');
  const options = offered === undefined ? [] : offered.split(',').map((o) => o.trim().toLowerCase());
  if (options.some((o) => o !== '')) {
    // RFC 7616 §3.3: unrecognised qop options are ignored; prefer auth, use auth-int when it is the only one.
    if (options.includes('auth')) qop = 'auth';
    else if (options.includes('auth-int')) qop = 'auth-int';
    else return `no supported qop in '${offered}'`;
  }
  // RFC 3261 §22.4 item 8: "-sess" needs a cnonce, and a cnonce is only sent with qop.
  if (qop === undefined && isSession(algorithm)) return `${algorithm} without qop cannot be answered`;
  return { realm, nonce, opaque: h.get('opaque'), algorithmText, algorithm, qop };
}

/**
 * The challenge to answer among WWW-Authenticate or Proxy-Authenticate
 * values: the Digest challenge with the strongest supported algorithm
 * (SHA-512-256, then SHA-256, then MD5; "-sess" ranks with its base), the
 * topmost among equals. Challenges that cannot be answered are skipped
 * (RFC 8760 §2.4: the client MUST ignore any challenge it does not
 * understand; preferring the strongest is the local policy §2.4 allows).
 * With `realm`, only challenges for that realm are considered.
 */
export function chooseChallenge(challenges: AuthHeader[], realm?: string): AuthHeader | undefined {
  let best: AuthHeader | undefined;
  let bestRank = 0;
  for (const h of challenges) {
    const c = readChallenge(h);
    if (typeof c === 'string') continue;
    if (realm !== undefined && c.realm !== realm) continue;
    const rank = RANK[baseOf(c.algorithm)];
    if (rank > bestRank) {
      best = h;
      bestRank = rank;
    }
  }
  return best;
}

/** Nonces whose count the client keeps; the least recently used is forgotten first. */
const CLIENT_NONCES = 256;

/** Answers 401/407 challenges for any request (RFC 3261 §22.2, §22.3). */
export class DigestClient {
  private readonly credentials: DigestCredentials;
  private readonly newCnonce: () => string;
  /** Per realm and nonce: the last nonce count sent and, for "-sess", the cnonce of the session. */
  private readonly counts = new Map<string, { nc: number; cnonce: string | undefined }>();
  /** The last challenge answered per realm, for credentials sent up front. */
  private readonly byRealm = new Map<string, Challenge>();

  constructor(credentials: DigestCredentials, options: { cnonce?: () => string } = {}) {
    this.credentials = { ...credentials };
    this.newCnonce = options.cnonce ?? (() => randomBytes(16).toString('hex'));
  }

  /**
   * Credentials (for Authorization or Proxy-Authorization) answering
   * `challenge` (from WWW-Authenticate or Proxy-Authenticate). Throws a
   * DigestError when the challenge cannot be answered.
   */
  authorize(challenge: AuthHeader, request: DigestRequest): AuthHeader {
    const c = readChallenge(challenge);
    if (typeof c === 'string') throw new DigestError(`cannot answer the challenge: ${c}`);
    const want = this.credentials.realm;
    if (want !== undefined && c.realm !== want) {
      throw new DigestError(`the challenge is for realm '${c.realm}', the credentials for '${want}'`);
    }
    const answer = this.answer(c, request);
    // RFC 7616 §3.6: the client remembers nonce, count and opaque of the session to send
    // credentials up front later; RFC 3261 §22.1: the realm alone is the protection domain.
    // Kept as its own copy (the strings of `c` are pieces of the whole response), and for
    // at most as many realms as nonces are counted.
    const kept: Challenge = {
      ...c,
      realm: own(c.realm),
      nonce: own(c.nonce),
      opaque: c.opaque === undefined ? undefined : own(c.opaque),
      algorithmText: c.algorithmText === undefined ? undefined : own(c.algorithmText),
    };
    this.byRealm.delete(kept.realm);
    this.byRealm.set(kept.realm, kept);
    if (this.byRealm.size > CLIENT_NONCES) this.byRealm.delete(this.byRealm.keys().next().value as string);
    return answer;
  }

  /**
   * Credentials sent up front for `realm` (e.g. a REGISTER refresh), from
   * the last challenge answered for it with the next nonce count;
   * undefined when no challenge for the realm has been answered.
   */
  preemptive(realm: string, request: DigestRequest): AuthHeader | undefined {
    const c = this.byRealm.get(realm);
    return c === undefined ? undefined : this.answer(c, request);
  }

  private answer(c: Challenge, request: DigestRequest): AuthHeader {
    const { username, password } = this.credentials;
    let nc: string | undefined;
    let cnonce: string | undefined;
    if (c.qop !== undefined) {
      const key = `${c.realm}\n${c.nonce}`;
      const state = this.counts.get(key) ?? { nc: 0, cnonce: undefined };
      this.counts.delete(key);
      if (state.nc >= 0xffffffff)
        throw new DigestError('the nonce count is exhausted; a new challenge is needed');
      state.nc++;
      // RFC 2617 §3.2.2.2: the "-sess" session key uses the first cnonce sent with the nonce.
      if (!isSession(c.algorithm)) cnonce = this.newCnonce();
      else {
        if (state.cnonce === undefined) state.cnonce = this.newCnonce();
        cnonce = state.cnonce;
      }
      this.counts.set(own(key), state);
      if (this.counts.size > CLIENT_NONCES) this.counts.delete(this.counts.keys().next().value as string);
      // RFC 7616 §3.4: nc is the count of requests sent with this nonce, 8 hex digits.
      nc = state.nc.toString(16).padStart(8, '0');
    }
    const response = digestResponse({
      algorithm: c.algorithm,
      ha1: ha1(c.algorithm, username, c.realm, password),
      nonce: c.nonce,
      cnonce,
      nc,
      qop: c.qop,
      method: request.method,
      uri: request.uri,
      body: request.body,
    });
    // RFC 3261 §25.1, RFC 7616 §3.4: username, realm, nonce, uri, response, cnonce and
    // opaque are quoted-strings; algorithm, qop and nc are not.
    const list = [
      'username',
      quoted('username', username),
      'realm',
      quoted('realm', c.realm),
      'nonce',
      quoted('nonce', c.nonce),
      'uri',
      quoted('uri', request.uri),
      'response',
      quote(response),
    ];
    // RFC 7616 §3.4: opaque and algorithm are those of the challenge.
    if (c.algorithmText !== undefined) list.push('algorithm', c.algorithmText);
    if (cnonce !== undefined) list.push('cnonce', quoted('cnonce', cnonce));
    if (c.opaque !== undefined) list.push('opaque', quoted('opaque', c.opaque));
    // RFC 3261 §22.4 item 8: a challenge with qop is answered with qop.
    if (c.qop !== undefined && nc !== undefined) list.push('qop', c.qop, 'nc', nc);
    return new AuthHeader('Digest', list);
  }
}

// ---------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------

export interface DigestServerOptions {
  realm: string;
  /** HMAC key for nonces; random when absent. Processes sharing it accept each other's nonces. */
  secret?: Buffer;
  /** Algorithms offered, most preferred first; default ['SHA-256', 'MD5']. */
  algorithms?: DigestAlgorithm[];
  /** Qualities of protection offered; default ['auth']. An empty list gives RFC 2069 challenges. */
  qop?: Qop[];
  /** How long a nonce is fresh, in ms; default 300000. */
  nonceTtlMs?: number;
  /** The clock in ms; default Date.now. */
  now?: () => number;
  /** Nonces whose nonce count is tracked against replay; default 10000. */
  maxTracked?: number;
}

/** Finds a user of the realm: the password, or HA1 values (`ha1()`) per base algorithm. */
export type UserLookup = (
  username: string,
  realm: string,
) => { password?: string; ha1?: Partial<Record<BaseAlgorithm, string>> } | undefined;

export type VerifyResult =
  | { ok: true; username: string }
  | {
      ok: false;
      reason:
        | 'malformed'
        | 'wrong-realm'
        | 'unsupported-algorithm'
        | 'bad-nonce'
        | 'stale'
        | 'replay'
        | 'unknown-user'
        | 'wrong-uri'
        | 'bad-response';
    };

type FailReason = Extract<VerifyResult, { ok: false }>['reason'];

const fail = (reason: FailReason): VerifyResult => ({ ok: false, reason });

/*
 * Nonces are made in batches. A batch is 8 bytes of time (ms) and 13 random
 * bytes, signed once with HMAC-SHA-256; a nonce is the batch, a 3-byte
 * sequence number unique within it, and the batch's signature: 56 bytes, 75
 * characters of base64url. A new batch starts every second (so a nonce's time
 * is at most that much older than its issue) or when its numbers run out.
 * Issuing a nonce thus costs no cryptography, and checking one costs an HMAC
 * only for a batch not seen lately (one of another process with the same
 * secret, or one forgotten).
 */
const NONCE_TIME = 8;
const NONCE_RANDOM = 13;
/** Time and random bytes: 21 bytes, 28 characters. */
const NONCE_BATCH = NONCE_TIME + NONCE_RANDOM;
const NONCE_SEQ = 3;
const NONCE_MAC = 32;
const NONCE_BYTES = NONCE_BATCH + NONCE_SEQ + NONCE_MAC;
/** base64url: 4 characters per 3 bytes, the last partial group unpadded. */
const NONCE_CHARS = Math.ceil((NONCE_BYTES * 4) / 3);
const BATCH_CHARS = (NONCE_BATCH / 3) * 4;
const SEQ_CHARS = (NONCE_SEQ / 3) * 4;
const NONCE_TEXT = /^[A-Za-z0-9_-]+$/;
const BATCH_MS = 1000;
/** A batch's numbers start at a random point below half of 2^24 and run for half of it: they never wrap. */
const SEQ_HALF = 1 << 23;
/** Batches whose signature is known good, remembered (most recent last). */
const KNOWN_BATCHES = 1024;

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64URL_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64URL_VALUE[B64URL.charCodeAt(i)] = i;

/** A 24-bit number as 4 characters of base64url. */
function seqText(n: number): string {
  return (
    (B64URL[(n >>> 18) & 63] as string) +
    (B64URL[(n >>> 12) & 63] as string) +
    (B64URL[(n >>> 6) & 63] as string) +
    (B64URL[n & 63] as string)
  );
}

/** The 24-bit number in 4 characters of base64url at `at` (checked by NONCE_TEXT before). */
function seqAt(s: string, at: number): number {
  let n = 0;
  for (let i = at; i < at + SEQ_CHARS; i++) n = (n << 6) | (B64URL_VALUE[s.charCodeAt(i)] as number);
  return n;
}

/** The batch a nonce is being issued from. */
interface NonceBatch {
  readonly time: number;
  /** The batch (time and random bytes) as text: the nonce's first 28 characters. */
  readonly head: string;
  /** The signature as text: the nonce's last 43 characters. */
  readonly tail: string;
  seq: number;
  readonly end: number;
}

/** When and in what order a nonce was issued: its batch's time, then its sequence number. */
interface Issue {
  readonly time: number;
  readonly seq: number;
}

/** Challenges requests and verifies credentials, for a registrar or proxy (RFC 3261 §22.1, §22.4). */
export class DigestServer {
  readonly realm: string;
  private readonly secret: Buffer;
  private readonly algorithms: readonly DigestAlgorithm[];
  private readonly qop: readonly Qop[];
  private readonly ttl: number;
  private readonly now: () => number;
  private readonly maxTracked: number;
  /** Highest nonce count seen per nonce, least recently used first. */
  private readonly tracked = new Map<string, { nc: number; issued: Issue }>();
  /** The latest issue among nonces no longer tracked. */
  private evicted: Issue = { time: Number.NEGATIVE_INFINITY, seq: 0 };
  private batch: NonceBatch | undefined;
  /** Batches with a good signature (head + tail) and their time, oldest first. */
  private readonly knownBatches = new Map<string, number>();

  constructor(options: DigestServerOptions) {
    if (!quotable(options.realm)) throw new DigestError('the realm contains a control character');
    this.realm = options.realm;
    this.secret = options.secret ?? randomBytes(32);
    const algorithms = (options.algorithms ?? ['SHA-256', 'MD5']).map(algorithmOf);
    // RFC 8760 §2.3: challenges with the same realm each use a different algorithm.
    this.algorithms = [...new Set(algorithms)];
    if (this.algorithms.length === 0) throw new DigestError('at least one algorithm is needed');
    const qop = options.qop ?? ['auth'];
    for (const q of qop)
      if (q !== 'auth' && q !== 'auth-int') throw new DigestError(`unsupported qop '${q}'`);
    this.qop = [...new Set(qop)];
    // RFC 3261 §22.4 item 8: "-sess" depends on the cnonce, which is only sent with qop.
    if (this.qop.length === 0 && this.algorithms.some(isSession)) {
      throw new DigestError('the "-sess" algorithms need qop');
    }
    this.ttl = options.nonceTtlMs ?? 300_000;
    if (!(this.ttl > 0)) throw new DigestError('nonceTtlMs must be positive');
    this.now = options.now ?? Date.now;
    this.maxTracked = options.maxTracked ?? 10_000;
    if (!Number.isInteger(this.maxTracked) || this.maxTracked < 1) {
      throw new DigestError('maxTracked must be a positive integer');
    }
  }

  /**
   * Challenges for a 401 (WWW-Authenticate) or 407 (Proxy-Authenticate):
   * one per algorithm, most preferred first (RFC 8760 §2.3), sharing one
   * fresh nonce. `stale` marks a re-challenge after a stale nonce.
   */
  challenge(options: { stale?: boolean } = {}): AuthHeader[] {
    const nonce = this.newNonce();
    return this.algorithms.map((algorithm) => {
      const list = ['realm', quote(textToBytes(this.realm)), 'nonce', quote(nonce)];
      // RFC 3261 §25.1: qop-options is a quoted list; RFC 8760 §2.6 item 8: a UAS always sends qop.
      if (this.qop.length > 0) list.push('qop', quote(this.qop.join(',')));
      // RFC 7616 §3.3: algorithm and stale are never quoted.
      list.push('algorithm', algorithm);
      if (options.stale) list.push('stale', 'true');
      return new AuthHeader('Digest', list);
    });
  }

  /**
   * Among the Authorization or Proxy-Authorization values of a request,
   * the Digest credentials for this realm (RFC 3261 §22.3: a value is only
   * consumed by the server whose realm it names). When several name the
   * realm, the first with an algorithm this server offers is preferred.
   */
  credentialsFor(values: AuthHeader[]): AuthHeader | undefined {
    let first: AuthHeader | undefined;
    for (const v of values) {
      if (!v.isDigest || v.get('realm') !== this.realm) continue;
      const a = canonicalAlgorithm(v.get('algorithm') ?? 'MD5');
      if (a !== undefined && this.algorithms.includes(a)) return v;
      first ??= v;
    }
    return first;
  }

  /**
   * Checks credentials for a request. The result says why they fail; on
   * 'stale' the caller re-challenges with `challenge({ stale: true })`
   * (RFC 7616 §3.3). Never throws for any content of the credentials;
   * an error thrown by `lookup` reaches the caller.
   */
  verify(credentials: AuthHeader, request: DigestRequest, lookup: UserLookup): VerifyResult {
    // RFC 3261 §22.4: SIP servers MUST NOT accept Basic.
    if (!credentials.isDigest || credentials.token68 !== undefined) return fail('malformed');
    const username = credentials.get('username');
    const realm = credentials.get('realm');
    const nonce = credentials.get('nonce');
    const uri = credentials.get('uri');
    const responseText = credentials.get('response');
    if (
      username === undefined ||
      realm === undefined ||
      nonce === undefined ||
      uri === undefined ||
      responseText === undefined
    ) {
      return fail('malformed');
    }
    if (realm !== this.realm) return fail('wrong-realm');
    // RFC 2617 §3.2.1: no algorithm means MD5.
    const algorithm = canonicalAlgorithm(credentials.get('algorithm') ?? 'MD5');
    if (algorithm === undefined || !this.algorithms.includes(algorithm)) return fail('unsupported-algorithm');
    const base = baseOf(algorithm);

    // RFC 7616 §3.4: qop is one of the offered options. RFC 3261 §22.4 item 8: a client
    // answering a challenge with qop sends qop, so credentials without it are only taken
    // when this server sends RFC 2069 challenges (no qop).
    const qopText = credentials.get('qop');
    let qop: Qop | undefined;
    let nc: string | undefined;
    let count = 0;
    let cnonce: string | undefined;
    if (qopText === undefined) {
      if (this.qop.length > 0) return fail('malformed');
    } else {
      const q = qopText.toLowerCase();
      if ((q !== 'auth' && q !== 'auth-int') || !this.qop.includes(q)) return fail('malformed');
      qop = q;
      // RFC 7616 §3.4: nc is exactly 8 hex digits, and cnonce accompanies qop.
      nc = credentials.get('nc');
      cnonce = credentials.get('cnonce');
      if (nc === undefined || !/^[0-9a-fA-F]{8}$/.test(nc) || cnonce === undefined || cnonce === '') {
        return fail('malformed');
      }
      count = Number.parseInt(nc, 16);
      if (count < 1) return fail('malformed');
    }
    // RFC 8760 §2.7: the response has as many hex digits as the algorithm gives.
    const response = responseText.toLowerCase();
    if (response.length !== HEX_LENGTH[base] || !/^[0-9a-f]+$/.test(response)) return fail('malformed');

    // RFC 7616 §3.4.6: the uri parameter names the resource of the Request-Line.
    if (uri !== request.uri) return fail('wrong-uri');
    const issued = this.checkNonce(nonce);
    if (issued === undefined) return fail('bad-nonce');

    const user = lookup(username, this.realm);
    if (user === undefined) return fail('unknown-user');
    // RFC 7616 §3.6: H(A1) is enough to verify; the password is not needed.
    const stored = user.ha1?.[base];
    let h1: string;
    if (typeof stored === 'string' && stored.length === HEX_LENGTH[base] && /^[0-9a-fA-F]+$/.test(stored)) {
      h1 = stored.toLowerCase();
    } else if (typeof user.password === 'string') {
      h1 = ha1(base, username, this.realm, user.password);
    } else {
      return fail('unsupported-algorithm');
    }
    const expected = digestResponse({
      algorithm,
      ha1: h1,
      nonce,
      cnonce,
      nc,
      qop,
      method: request.method,
      uri,
      body: request.body,
    });
    if (!sameText(expected, response)) return fail('bad-response');

    // RFC 7616 §3.3: stale means the nonce is no longer valid while the credentials are
    // right, so it is only reported for a correct response.
    const age = this.now() - issued.time;
    if (age > this.ttl || age < -this.ttl) return fail('stale');
    // RFC 7616 §3.4: the same nc seen twice for a nonce is a replay.
    if (qop !== undefined) {
      const r = this.count(nonce, issued, count);
      if (r !== undefined) return fail(r);
    }
    return { ok: true, username };
  }

  /** A nonce of the current batch (a new batch when it is a second old or used up). */
  private newNonce(): string {
    const now = Math.max(0, Math.floor(this.now()));
    let b = this.batch;
    if (b === undefined || b.seq >= b.end || now - b.time >= BATCH_MS || now < b.time) {
      const bytes = Buffer.alloc(NONCE_BATCH);
      bytes.writeBigUInt64BE(BigInt(now), 0);
      randomFillSync(bytes, NONCE_TIME, NONCE_RANDOM);
      const start = randomInt(SEQ_HALF);
      b = {
        time: now,
        head: bytes.toString('base64url'),
        tail: this.mac(bytes).toString('base64url'),
        seq: start,
        end: start + SEQ_HALF,
      };
      this.batch = b;
      this.knowBatch(b.head + b.tail, now);
    }
    const seq = b.seq++;
    return b.head + seqText(seq) + b.tail;
  }

  /** HMAC-SHA-256 of a batch (time and random bytes). */
  private mac(batch: Buffer): Buffer {
    return createHmac('sha256', this.secret).update(batch).digest();
  }

  private knowBatch(key: string, time: number): void {
    this.knownBatches.set(own(key), time);
    if (this.knownBatches.size > KNOWN_BATCHES)
      this.knownBatches.delete(this.knownBatches.keys().next().value as string);
  }

  /** When a nonce made with this secret was issued; undefined for any other text. */
  private checkNonce(nonce: string): Issue | undefined {
    if (nonce.length !== NONCE_CHARS || !NONCE_TEXT.test(nonce)) return undefined;
    const key = nonce.slice(0, BATCH_CHARS) + nonce.slice(BATCH_CHARS + SEQ_CHARS);
    let time = this.knownBatches.get(key);
    if (time === undefined) {
      const b = Buffer.from(nonce, 'base64url');
      // Only the canonical encoding is accepted, so one nonce has one spelling for replay tracking.
      if (b.length !== NONCE_BYTES || b.toString('base64url') !== nonce) return undefined;
      const signature = b.subarray(NONCE_BATCH + NONCE_SEQ);
      if (!timingSafeEqual(this.mac(b.subarray(0, NONCE_BATCH)), signature)) return undefined;
      time = Number(b.readBigUInt64BE(0));
      this.knowBatch(key, time);
    }
    return { time, seq: seqAt(nonce, BATCH_CHARS) };
  }

  /**
   * Records nonce count `nc` for a nonce; the reason to refuse it, if any.
   * Once a nonce has been forgotten its counts are unknown, so nonces
   * issued no later than any forgotten one are answered 'stale', which
   * makes the client take a fresh nonce.
   */
  private count(nonce: string, issued: Issue, nc: number): 'replay' | 'stale' | undefined {
    const seen = this.tracked.get(nonce);
    if (seen !== undefined) {
      if (nc <= seen.nc) return 'replay';
      this.tracked.delete(nonce);
    } else if (!isLater(issued, this.evicted)) {
      return 'stale';
    }
    this.tracked.set(own(nonce), { nc, issued });
    while (this.tracked.size > this.maxTracked) {
      const [oldest, entry] = this.tracked.entries().next().value as [string, { nc: number; issued: Issue }];
      this.tracked.delete(oldest);
      if (isLater(entry.issued, this.evicted)) this.evicted = entry.issued;
    }
    return undefined;
  }
}

/** True when nonce `a` was issued after nonce `b`. */
function isLater(a: Issue, b: Issue): boolean {
  return a.time > b.time || (a.time === b.time && a.seq > b.seq);
}
