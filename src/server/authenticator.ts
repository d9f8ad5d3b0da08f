import { type DigestAlgorithm, DigestServer } from '../auth/digest.js';
import type { AuthHeader } from '../message/auth-header.js';
import type { SipRequest } from '../message/message.js';
import { own } from '../message/text.js';
import type { Source } from '../transport/transport-layer.js';
import { FailureGuard, type GuardOptions } from './guard.js';
import type { UserStore } from './store/types.js';

export interface AuthenticatorOptions {
  users: UserStore;
  /** Offered most preferred first (default SHA-256 then MD5, RFC 8760 §2.4). */
  algorithms?: DigestAlgorithm[];
  qop?: Array<'auth' | 'auth-int'>;
  nonceTtlMs?: number;
  /** HMAC key for nonces (several processes sharing it accept each other's nonces). */
  secret?: Buffer;
  guard?: GuardOptions;
  now?: () => number;
}

export type AuthOutcome =
  | { readonly kind: 'ok'; readonly username: string }
  | {
      readonly kind: 'challenge';
      readonly status: 401 | 407;
      readonly header: 'WWW-Authenticate' | 'Proxy-Authenticate';
      readonly challenges: AuthHeader[];
      /** Hold the answer back this long (guessing protection), ms. */
      readonly delayMs: number;
    }
  | { readonly kind: 'forbidden'; readonly reason: string; readonly delayMs: number };

/**
 * Digest authentication for the server (RFC 3261 §22, RFC 7616, RFC 8760):
 * 401 for requests to the server itself (REGISTER), 407 for requests it
 * proxies. Users are looked up by HA1 only. Basic credentials are never
 * taken. A wrong password and an unknown user get the same answer, and
 * repeated failures from one address or for one user are slowed, then
 * refused for a while.
 */
export class Authenticator {
  private readonly users: UserStore;
  private readonly options: AuthenticatorOptions;
  private readonly realms: Map<string, DigestServer>;
  private readonly guard: FailureGuard;
  private readonly secret: Buffer | undefined;

  constructor(options: AuthenticatorOptions) {
    this.users = options.users;
    this.options = options;
    this.realms = new Map();
    this.guard = new FailureGuard({ now: options.now, ...options.guard });
    this.secret = options.secret;
  }

  private server(realm: string): DigestServer {
    let s = this.realms.get(realm);
    if (s === undefined) {
      s = new DigestServer({
        realm: own(realm),
        secret: this.secret,
        algorithms: this.options.algorithms ?? ['SHA-256', 'MD5'],
        qop: this.options.qop ?? ['auth'],
        nonceTtlMs: this.options.nonceTtlMs,
        now: this.options.now,
      });
      // A bounded number of realms: the server's own domains plus what requests name.
      if (this.realms.size < 1024) this.realms.set(s.realm, s);
    }
    return s;
  }

  /** Authenticates `request` for `realm`; `proxy` selects 407/Proxy-Authorization over 401/Authorization. */
  async check(request: SipRequest, source: Source, realm: string, proxy: boolean): Promise<AuthOutcome> {
    const ipKey = `ip:${source.address}`;
    if (this.guard.locked(ipKey))
      return { kind: 'forbidden', reason: 'Forbidden', delayMs: this.guard.delay(ipKey) };
    const server = this.server(realm);
    const headerName = proxy ? 'Proxy-Authorization' : 'Authorization';
    const values: AuthHeader[] = [];
    for (const f of request.fields(headerName)) {
      try {
        values.push(request.parseField(f) as AuthHeader);
      } catch {
        // Credentials that do not parse are as good as none.
      }
    }
    const credentials = server.credentialsFor(values);
    const challenge = (stale: boolean): AuthOutcome => ({
      kind: 'challenge',
      status: proxy ? 407 : 401,
      header: proxy ? 'Proxy-Authenticate' : 'WWW-Authenticate',
      challenges: server.challenge({ stale }),
      delayMs: this.guard.delay(ipKey),
    });
    if (credentials === undefined) return challenge(false);
    const username = credentials.get('username') ?? '';
    const userKey = `user:${username}@${realm}`;
    if (this.guard.locked(userKey))
      return { kind: 'forbidden', reason: 'Forbidden', delayMs: this.guard.delay(userKey) };
    const user =
      username.length > 0 && username.length <= 256 ? await this.users.get(username, realm) : undefined;
    const result = server.verify(
      credentials,
      { method: request.method, uri: request.uriRaw, body: request.body },
      () => (user === undefined ? undefined : { ha1: user.ha1 }),
    );
    if (result.ok) {
      this.guard.succeed(ipKey);
      this.guard.succeed(userKey);
      return { kind: 'ok', username: result.username };
    }
    switch (result.reason) {
      case 'stale':
        // RFC 7616 §3.3: the password was right, only the nonce is old.
        return challenge(true);
      case 'bad-nonce':
        // A nonce from before a restart or from another server: a fresh challenge.
        return challenge(false);
      default: {
        // Unknown user, wrong password, replay, wrong realm or uri: one answer for all.
        this.guard.fail(ipKey);
        this.guard.fail(userKey);
        const delayMs = Math.max(this.guard.delay(ipKey), this.guard.delay(userKey));
        if (result.reason === 'replay') return { ...(challenge(false) as object), delayMs } as AuthOutcome;
        return { kind: 'forbidden', reason: 'Forbidden', delayMs };
      }
    }
  }
}
