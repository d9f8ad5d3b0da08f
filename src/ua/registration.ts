import { EventEmitter } from 'node:events';
import { newCallId } from '../message/ids.js';
import type { SipResponse } from '../message/message.js';
import type { ContactValue, NameAddr } from '../message/name-addr.js';
import { parseUri, type SipUri } from '../message/uri.js';
import { uriEquals } from '../message/uri-compare.js';
import { timerDelay } from '../transaction/clock.js';
import type { TransportName } from '../transport/address.js';
import type { Target } from '../transport/transport-layer.js';
import { emitSafely } from './events.js';
import { RequestFailedError, type UserAgent } from './user-agent.js';

export interface RegistrationOptions {
  /** The registrar's URI (the REGISTER Request-URI); default the domain of the agent's address of record (§10.2). */
  registrar?: string;
  /** Where to send (`transport:host:port`); default: RFC 3263 on the registrar URI. */
  target?: string | Target;
  /** Seconds asked for (default 3600). */
  expires?: number;
  /** RFC 5626 instance id, e.g. "urn:uuid:..." (sent as +sip.instance). */
  instanceId?: string;
  /** RFC 5626 reg-id (needs instanceId). */
  regId?: number;
}

export type RegistrationState = 'idle' | 'registering' | 'registered' | 'failed' | 'stopped';

export interface RegistrationEvents {
  /** The registrar accepted the binding for `expires` seconds. */
  registered: [expires: number, response: SipResponse];
  /** A REGISTER failed; refreshing goes on after a pause unless stopped. */
  failed: [error: RequestFailedError];
  /** The binding was removed (stop()). */
  unregistered: [];
}

/**
 * Keeps one contact of a user agent registered (RFC 3261 §10.2): REGISTER
 * with one Call-ID and a growing CSeq, refreshed before it expires, 423
 * answered with the registrar's Min-Expires, removed with Expires 0 on stop.
 */
export class Registration extends EventEmitter<RegistrationEvents> {
  readonly ua: UserAgent;
  readonly registrar: SipUri;
  /** Seconds the registrar granted in its last 2xx. */
  granted: number | undefined;
  private readonly options: RegistrationOptions;
  private readonly callId: string;
  private cseq: number;
  private wanted: number;
  private stateValue: RegistrationState;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastContact: NameAddr | undefined;
  private running: Promise<SipResponse> | undefined;
  /** True while the registrar holds a binding this registration made (its last 2xx granted time). */
  private bound: boolean;

  /** @internal */
  constructor(ua: UserAgent, options: RegistrationOptions) {
    super();
    this.ua = ua;
    this.options = options;
    const registrar = parseUri(
      options.registrar ?? `${ua.uri.scheme}:${ua.uri.host}${ua.uri.port ? `:${ua.uri.port}` : ''}`,
    );
    if (registrar.kind !== 'sip')
      throw new RangeError(`the registrar must be a SIP URI, got ${registrar.toString()}`);
    this.registrar = registrar as SipUri;
    this.callId = newCallId();
    this.cseq = 0;
    this.wanted = options.expires ?? 3600;
    this.stateValue = 'idle';
    this.granted = undefined;
    this.timer = undefined;
    this.lastContact = undefined;
    this.running = undefined;
    this.bound = false;
  }

  get state(): RegistrationState {
    return this.stateValue;
  }

  /** Settles with the outcome of the first REGISTER (2xx, or RequestFailedError). */
  get registered(): Promise<SipResponse> {
    return this.running ?? this.start();
  }

  /** Registers now (and keeps refreshing). */
  start(): Promise<SipResponse> {
    this.running = this.register(this.wanted);
    this.running.catch(() => {});
    return this.running;
  }

  /**
   * Removes the binding (Expires 0) and stops refreshing. A REGISTER still
   * out is waited for first: what it made is removed too.
   */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.stateValue === 'stopped') return;
    this.stateValue = 'stopped';
    if (this.running !== undefined) await this.running.catch(() => undefined);
    if (!this.bound) return;
    try {
      await this.send(0);
      this.bound = false;
    } finally {
      emitSafely(this, 'unregistered');
    }
  }

  private contact(transport: TransportName): NameAddr {
    let c = this.ua.contactFor(transport);
    if (this.options.instanceId !== undefined)
      c = c.withParam('+sip.instance', `"<${this.options.instanceId}>"`);
    if (this.options.regId !== undefined && this.options.instanceId !== undefined)
      c = c.withParam('reg-id', this.options.regId);
    this.lastContact = c;
    return c;
  }

  private async send(expires: number): Promise<SipResponse> {
    this.cseq += 1;
    const req = this.ua.newRequest('REGISTER', this.registrar, { callId: this.callId, cseq: this.cseq });
    // §10.2: To and From are the address of record.
    req.setHeader('To', `<${this.ua.uri.toString()}>`);
    req.setHeader('Expires', expires);
    if (this.options.instanceId !== undefined) req.appendHeader('Supported', 'outbound, path');
    const { response } = await this.ua.send(req, {
      target: this.options.target,
      contact: (t) => this.contact(t),
      nextCSeq: () => ++this.cseq,
    });
    return response;
  }

  private async register(expires: number): Promise<SipResponse> {
    if (this.stateValue === 'stopped') throw new RequestFailedError(0, 'stopped');
    this.stateValue = 'registering';
    let response: SipResponse;
    try {
      response = await this.send(expires);
      // §10.2.8: 423 Interval Too Brief: ask again for at least Min-Expires.
      if (response.status === 423) {
        const min = Number(response.get('Min-Expires'));
        if (Number.isInteger(min) && min > expires) {
          this.wanted = min;
          response = await this.send(min);
        }
      }
    } catch (e) {
      return this.failure(e instanceof RequestFailedError ? e : new RequestFailedError(500, String(e)));
    }
    const ok = response.status >= 200 && response.status < 300;
    const granted = ok ? (this.grantedExpiry(response) ?? this.wanted) : 0;
    if (ok) this.bound = granted > 0;
    // stop() came while this REGISTER was out: it removes the binding, nothing is scheduled.
    if (this.state === 'stopped') return response;
    if (!ok) {
      return this.failure(new RequestFailedError(response.status, response.reason, response));
    }
    this.granted = granted;
    this.stateValue = 'registered';
    this.schedule(refreshDelay(granted));
    emitSafely(this, 'registered', granted, response);
    return response;
  }

  private failure(err: RequestFailedError): never {
    if (this.stateValue === 'stopped') throw err;
    this.stateValue = 'failed';
    emitSafely(this, 'failed', err);
    // Try again after a pause (a registrar restart, a lost network).
    this.schedule(Math.min(60, Math.max(5, (this.granted ?? 60) / 2)) * 1000);
    throw err;
  }

  private schedule(ms: number): void {
    if (this.stateValue === 'stopped') return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    // A registrar may grant up to 2^32-1 seconds; the refresh then comes after the longest delay a timer keeps.
    this.timer = setTimeout(() => {
      this.running = this.register(this.wanted);
      this.running.catch(() => {});
    }, timerDelay(ms));
    this.timer.unref();
  }

  /** The expiry the registrar gave our contact: its expires parameter, else the Expires header (§10.2.4). */
  private grantedExpiry(res: SipResponse): number | undefined {
    const mine = this.lastContact?.uri;
    let contacts: ContactValue[] = [];
    try {
      contacts = res.contact;
    } catch {
      contacts = [];
    }
    for (const c of contacts) {
      if (c.wildcard || mine === undefined) continue;
      if (uriEquals(c.uri, mine) && c.expires !== undefined) return c.expires;
    }
    try {
      return res.expires;
    } catch {
      return undefined;
    }
  }
}

/** Refresh a little before the binding runs out: 85% of the time, at least 5 s early when it can. */
function refreshDelay(granted: number): number {
  const early = Math.min(Math.max(granted * 0.15, 5), granted / 2);
  return Math.max(1, granted - early) * 1000;
}
