import { unescapeUri } from '../message/escape.js';
import type { SipRequest } from '../message/message.js';
import { type ContactValue, type NameAddr, parseNameAddr } from '../message/name-addr.js';
import { isSips, type SipUri, type Uri } from '../message/uri.js';
import type { Source } from '../transport/transport-layer.js';
import type { Binding, BindingChange, LocationStore } from './store/types.js';

export interface RegistrarOptions {
  /** Shortest registration accepted, s (RFC 3261 §10.3 item 7: 423 below it). Default 60. */
  minExpires?: number;
  /** Longest registration granted, s; longer requests are cut down to it. Default 86400. */
  maxExpires?: number;
  /** Granted when the REGISTER asks for nothing, s (§10.2.1.1). Default 3600. */
  defaultExpires?: number;
  /** Most contacts one AOR may hold (the oldest beyond it are refused with 403). Default 32. */
  maxContacts?: number;
  now?: () => number;
}

/** The registrar's answer to a REGISTER: a status and the header fields to put on it. */
export interface RegistrarResult {
  readonly status: number;
  readonly reason: string;
  readonly headers: Array<[string, string | number]>;
  /** The bindings now current (for the 200), after the change. */
  readonly bindings: Binding[];
}

/** The canonical address of record for a To URI: sip:user@host, lower-case host, no parameters (§10.3 item 5). */
export function addressOfRecord(uri: SipUri): string {
  const user = uri.user === undefined ? '' : `${unescapeUri(uri.user)}@`;
  return `sip:${user}${uri.host.toLowerCase()}${uri.port !== undefined ? `:${uri.port}` : ''}`;
}

/**
 * A key under which two Contact URIs are the same binding when they are
 * equal by RFC 3261 §19.1.4: scheme and host without case, user and
 * password exactly (after unescaping), the port as written, and the
 * parameters that must match when present (user, ttl, method, maddr,
 * transport); other parameters do not take part.
 */
export function contactKey(uri: Uri): string {
  if (uri.kind !== 'sip') return uri.toString().toLowerCase();
  const u = uri as SipUri;
  const parts = [
    u.scheme.toLowerCase(),
    u.user === undefined ? '' : unescapeUri(u.user),
    u.password === undefined ? '' : unescapeUri(u.password),
    u.host.toLowerCase(),
    u.port === undefined ? '' : String(u.port),
  ];
  for (const p of ['user', 'ttl', 'method', 'maddr', 'transport']) {
    const v = u.params.get(p);
    if (v !== undefined) parts.push(`${p}=${(v ?? '').toLowerCase()}`);
  }
  return parts.join('|');
}

/**
 * The registrar of RFC 3261 §10.3 after authentication: Contact processing
 * with `*`, expiry from the contact parameter or the Expires header,
 * Min-Expires (423) and a ceiling, Call-ID/CSeq ordering, q-values, Path
 * (RFC 3327) and RFC 5626 instance/reg-id bindings with the flow they came
 * on. Requests for one AOR are handled one at a time.
 */
export class Registrar {
  readonly store: LocationStore;
  readonly minExpires: number;
  readonly maxExpires: number;
  readonly defaultExpires: number;
  readonly maxContacts: number;
  private readonly now: () => number;
  /** The tail of the work queued for each AOR. */
  private readonly queues: Map<string, Promise<unknown>>;

  constructor(store: LocationStore, options: RegistrarOptions = {}) {
    this.store = store;
    this.minExpires = options.minExpires ?? 60;
    this.maxExpires = options.maxExpires ?? 86400;
    this.defaultExpires = options.defaultExpires ?? 3600;
    this.maxContacts = options.maxContacts ?? 32;
    this.now = options.now ?? Date.now;
    this.queues = new Map();
  }

  /** Handles a REGISTER whose AOR is `aor` (already authenticated and authorized). */
  register(request: SipRequest, aor: string, source: Source): Promise<RegistrarResult> {
    // One REGISTER at a time per AOR, so the Call-ID/CSeq checks see the latest bindings.
    const prev = this.queues.get(aor) ?? Promise.resolve();
    const run = prev.then(
      () => this.process(request, aor, source),
      () => this.process(request, aor, source),
    );
    const tail = run.catch(() => {});
    this.queues.set(aor, tail);
    void tail.then(() => {
      if (this.queues.get(aor) === tail) this.queues.delete(aor);
    });
    return run;
  }

  private async process(request: SipRequest, aor: string, source: Source): Promise<RegistrarResult> {
    const now = this.now();
    // Everything read from the request before the store is touched.
    const callId = request.callId ?? '';
    const cseq = request.cseq?.seq ?? 0;
    const contacts = request.contact;
    const headerExpires = request.expires;
    const path = request.getAll('Path');
    const userAgent = request.get('User-Agent');
    const sips = sipsMismatch(request, contacts, path);
    if (sips !== undefined)
      return { status: 400, reason: `Bad Request (${sips})`, headers: [], bindings: [] };
    const { bindings, result } = await this.store.update(aor, now, (existing) =>
      this.decide(existing, { aor, now, callId, cseq, contacts, headerExpires, path, userAgent, source }),
    );
    if (result.status !== 200) return { ...result, bindings };
    return this.ok(bindings, now, request);
  }

  /** §10.3 items 6 and 7 on the bindings as they are: the change to make, or the refusal. */
  private decide(
    existing: Binding[],
    r: {
      aor: string;
      now: number;
      callId: string;
      cseq: number;
      contacts: ContactValue[];
      headerExpires: number | undefined;
      path: string[];
      userAgent: string | undefined;
      source: Source;
    },
  ): { change?: BindingChange; result: Omit<RegistrarResult, 'bindings'> } {
    const OK = { status: 200, reason: 'OK', headers: [] };
    // A query: no Contact, the current bindings come back (§10.3 item 6).
    if (r.contacts.length === 0) return { result: OK };
    // Contact: * with Expires: 0 removes everything, subject to the same ordering rule (§10.3 item 6).
    if (r.contacts[0]?.wildcard) {
      for (const b of existing)
        if (b.callId === r.callId && r.cseq <= b.cseq) return { result: this.outOfOrder() };
      return { change: { upsert: [], remove: [], removeAll: true }, result: OK };
    }
    const byKey = new Map(existing.map((b) => [b.key, b]));
    const upsert: Binding[] = [];
    const remove: string[] = [];
    for (const c of r.contacts as NameAddr[]) {
      // §10.3 item 7: the contact's expires parameter, else the Expires header, else the default.
      let expires = c.expires ?? r.headerExpires ?? this.defaultExpires;
      if (!Number.isFinite(expires) || expires < 0) expires = this.defaultExpires;
      if (expires !== 0 && expires < this.minExpires) {
        return {
          result: { status: 423, reason: 'Interval Too Brief', headers: [['Min-Expires', this.minExpires]] },
        };
      }
      if (expires > this.maxExpires) expires = this.maxExpires;
      const instanceId = instanceOf(c);
      const regIdText = c.params.get('reg-id');
      const regId =
        typeof regIdText === 'string' && /^\d{1,10}$/.test(regIdText) ? Number(regIdText) : undefined;
      // RFC 5626 §6: with an instance and a reg-id, the pair names the binding (a new flow replaces the old).
      const key =
        instanceId !== undefined && regId !== undefined ? `${instanceId}|${regId}` : contactKey(c.uri);
      const old = byKey.get(key);
      // §10.3 item 7: same Call-ID and a CSeq not higher: the whole request fails.
      if (old !== undefined && old.callId === r.callId && r.cseq <= old.cseq)
        return { result: this.outOfOrder() };
      if (expires === 0) {
        if (old !== undefined) remove.push(key);
        continue;
      }
      const s = r.source;
      upsert.push({
        aor: r.aor,
        contact: c.uri.toString(),
        key,
        callId: r.callId,
        cseq: r.cseq,
        expiresAt: r.now + expires * 1000,
        q: c.q,
        instanceId,
        regId,
        path: r.path,
        flow: {
          transport: s.transport,
          address: s.address,
          port: s.port,
          localAddress: s.localAddress,
          localPort: s.localPort,
          connectionId: s.connection?.id,
        },
        userAgent: r.userAgent,
        updatedAt: r.now,
      });
    }
    const kept = existing.filter(
      (b) => !remove.includes(b.key) && !upsert.some((u) => u.key === b.key),
    ).length;
    if (kept + upsert.length > this.maxContacts) {
      return {
        result: {
          status: 403,
          reason: `Forbidden (at most ${this.maxContacts} contacts per address of record)`,
          headers: [],
        },
      };
    }
    return { change: { upsert, remove }, result: OK };
  }

  private outOfOrder(): RegistrarResult {
    return {
      status: 500,
      reason: 'Server Internal Error (CSeq out of order)',
      headers: [['Retry-After', 1]],
      bindings: [],
    };
  }

  /** §10.3 item 8: 200 with every current binding and its remaining time, and Date; Path echoed (RFC 3327 §5.3). */
  private ok(bindings: Binding[], now: number, request: SipRequest): RegistrarResult {
    const headers: Array<[string, string | number]> = [];
    for (const b of bindings) {
      const left = Math.max(0, Math.round((b.expiresAt - now) / 1000));
      let text = `<${b.contact}>;expires=${left}`;
      if (b.q !== undefined) text += `;q=${b.q}`;
      if (b.instanceId !== undefined) text += `;+sip.instance="<${b.instanceId}>"`;
      if (b.regId !== undefined) text += `;reg-id=${b.regId}`;
      headers.push(['Contact', text]);
    }
    for (const p of request.getAll('Path')) headers.push(['Path', p]);
    // RFC 5626 §6: a registrar that used reg-id says so with Require: outbound.
    if (
      bindings.some((b) => b.regId !== undefined) &&
      request.contact.some((c) => !c.wildcard && c.params.has('reg-id'))
    )
      headers.push(['Require', 'outbound']);
    headers.push(['Date', httpDate(now)]);
    return { status: 200, reason: 'OK', headers, bindings };
  }
}

/** The last Date text made, and the second it names: a busy registrar writes the same one many times. */
let dateSecond = Number.NaN;
let dateText = '';

/** RFC 1123 date of a time in ms (RFC 3261 §20.17), at one-second resolution. */
function httpDate(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== dateSecond) {
    dateText = new Date(second * 1000).toUTCString();
    dateSecond = second;
  }
  return dateText;
}

/** The +sip.instance of a contact without quotes and angle brackets (RFC 5626 §4.1). */
function instanceOf(c: ContactValue): string | undefined {
  if (c.wildcard) return undefined;
  const v = c.params.get('+sip.instance');
  if (typeof v !== 'string') return undefined;
  const s = v.replace(/^"|"$/g, '').replace(/^<|>$/g, '');
  return s.length > 0 && s.length <= 256 ? s : undefined;
}

/**
 * RFC 5630 §5.2: a SIPS Contact is bound only when the Request-URI, every
 * Contact and every Path URI are SIPS too (a secure resource must not be
 * bound to an insecure one). Returns what is wrong, or undefined.
 */
function sipsMismatch(request: SipRequest, contacts: ContactValue[], path: string[]): string | undefined {
  if (!contacts.some((c) => !c.wildcard && isSips(c.uri))) return undefined;
  if (!isSips(request.uri)) return 'a SIPS Contact needs a SIPS Request-URI';
  if (contacts.some((c) => !c.wildcard && !isSips(c.uri))) return 'SIPS and SIP Contacts in one REGISTER';
  for (const p of path) {
    let uri: Uri;
    try {
      uri = parseNameAddr(p).uri;
    } catch {
      return 'a Path value that does not parse';
    }
    if (!isSips(uri)) return 'a SIPS Contact needs SIPS Path URIs';
  }
  return undefined;
}
