/**
 * In-memory stores: the same behaviour as the SQLite ones, nothing
 * durable. For tests and for a server that keeps no state across restarts.
 */

import { own } from '../../message/text.js';
import {
  byAorThenKey,
  byDomainThenUsername,
  byPreference,
  checkChange,
  checkNow,
  checkUser,
  closedError,
  copyBinding,
  copyUser,
} from './common.js';
import type { Binding, BindingChange, LocationStore, User, UserStore } from './types.js';

/**
 * The copy a memory store keeps: its strings are its own, where the ones
 * handed in are usually pieces of the REGISTER, each holding all its text.
 */
function keptBinding(b: Binding): Binding {
  const c = copyBinding(b);
  return {
    ...c,
    aor: own(c.aor),
    contact: own(c.contact),
    key: own(c.key),
    callId: own(c.callId),
    path: c.path.map(own),
    ...(c.instanceId === undefined ? {} : { instanceId: own(c.instanceId) }),
    ...(c.userAgent === undefined ? {} : { userAgent: own(c.userAgent) }),
  };
}

export class MemoryLocationStore implements LocationStore {
  /** AOR → key → binding. Stored bindings are private copies. */
  private readonly aors = new Map<string, Map<string, Binding>>();
  private closed = false;

  async lookup(aor: string, now: number): Promise<Binding[]> {
    this.checkOpen();
    checkNow(now);
    return this.current(aor, now);
  }

  async update<T>(
    aor: string,
    now: number,
    decide: (current: Binding[]) => { change?: BindingChange; result: T },
  ): Promise<{ bindings: Binding[]; result: T }> {
    this.checkOpen();
    checkNow(now);
    const current = this.current(aor, now);
    const { change, result } = decide(current);
    if (change === undefined) return { bindings: current, result };
    return { bindings: this.change(aor, change, now), result };
  }

  async apply(aor: string, change: BindingChange, now: number): Promise<Binding[]> {
    this.checkOpen();
    checkNow(now);
    return this.change(aor, change, now);
  }

  private change(aor: string, change: BindingChange, now: number): Binding[] {
    // Everything is checked and the new set built aside before it replaces the old one: all or nothing.
    checkChange(aor, change);
    const next = new Map(change.removeAll ? [] : this.aors.get(aor));
    for (const key of change.remove) next.delete(key);
    for (const b of change.upsert) {
      const kept = keptBinding(b);
      next.set(kept.key, kept);
    }
    if (next.size > 0) this.aors.set(own(aor), next);
    else this.aors.delete(aor);
    return this.current(aor, now);
  }

  async expire(now: number): Promise<number> {
    this.checkOpen();
    checkNow(now);
    let count = 0;
    for (const [aor, bindings] of this.aors) {
      for (const [key, b] of bindings) {
        if (b.expiresAt <= now) {
          bindings.delete(key);
          count++;
        }
      }
      if (bindings.size === 0) this.aors.delete(aor);
    }
    return count;
  }

  async list(now: number): Promise<Binding[]> {
    this.checkOpen();
    checkNow(now);
    const out: Binding[] = [];
    for (const bindings of this.aors.values()) {
      for (const b of bindings.values()) if (b.expiresAt > now) out.push(copyBinding(b));
    }
    return out.sort(byAorThenKey);
  }

  async count(): Promise<number> {
    this.checkOpen();
    let n = 0;
    for (const bindings of this.aors.values()) n += bindings.size;
    return n;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private current(aor: string, now: number): Binding[] {
    const out: Binding[] = [];
    for (const b of this.aors.get(aor)?.values() ?? []) if (b.expiresAt > now) out.push(copyBinding(b));
    return out.sort(byPreference);
  }

  private checkOpen(): void {
    if (this.closed) throw closedError('the location store');
  }
}

export class MemoryUserStore implements UserStore {
  /** domain → username → user. */
  private readonly domains = new Map<string, Map<string, User>>();
  private closed = false;

  async get(username: string, domain: string): Promise<User | undefined> {
    this.checkOpen();
    const u = this.domains.get(domain)?.get(username);
    return u && copyUser(u);
  }

  async put(user: User): Promise<void> {
    this.checkOpen();
    checkUser(user);
    let users = this.domains.get(user.domain);
    if (!users) {
      users = new Map();
      this.domains.set(user.domain, users);
    }
    users.set(user.username, copyUser(user));
  }

  async remove(username: string, domain: string): Promise<boolean> {
    this.checkOpen();
    const users = this.domains.get(domain);
    if (!users?.delete(username)) return false;
    if (users.size === 0) this.domains.delete(domain);
    return true;
  }

  async list(domain?: string): Promise<User[]> {
    this.checkOpen();
    const out: User[] = [];
    for (const [d, users] of this.domains) {
      if (domain !== undefined && d !== domain) continue;
      for (const u of users.values()) out.push(copyUser(u));
    }
    return out.sort(byDomainThenUsername);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private checkOpen(): void {
    if (this.closed) throw closedError('the user store');
  }
}
