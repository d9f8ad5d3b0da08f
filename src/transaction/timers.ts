/**
 * Timer values of RFC 3261 §17 (Table 4 of Appendix A), RFC 6026 (Timers L
 * and M) and RFC 4320 (the non-INVITE 100), from T1, T2 and T4, which each
 * stack may set (they are not global).
 */
export interface TimerSettings {
  /** RTT estimate, ms (RFC 3261 default 500). */
  readonly t1: number;
  /** Maximum retransmit interval for non-INVITE requests and INVITE responses, ms (default 4000). */
  readonly t2: number;
  /** Maximum duration a message remains in the network, ms (default 5000). */
  readonly t4: number;
}

export const DEFAULT_TIMERS: TimerSettings = Object.freeze({ t1: 500, t2: 4000, t4: 5000 });

export function resolveTimers(partial?: Partial<TimerSettings>): TimerSettings {
  const t = { ...DEFAULT_TIMERS, ...partial };
  for (const [k, v] of Object.entries(t)) {
    if (!Number.isFinite(v) || v <= 0)
      throw new RangeError(`timer ${k} must be a positive number of ms, got ${v}`);
  }
  if (t.t2 < t.t1) throw new RangeError(`T2 (${t.t2} ms) must not be below T1 (${t.t1} ms)`);
  return Object.freeze(t);
}

/** 64*T1: Timers B, F, H, J (unreliable), L and M. */
export function sixtyFourT1(t: TimerSettings): number {
  return 64 * t.t1;
}

/** Timer D: at least 32 s over unreliable transports, 0 over reliable ones (§17.1.1.2). */
export function timerD(t: TimerSettings, reliable: boolean): number {
  return reliable ? 0 : Math.max(32000, 64 * t.t1);
}

/** Timers I and K: T4 over unreliable transports, 0 over reliable ones. */
export function timerIK(t: TimerSettings, reliable: boolean): number {
  return reliable ? 0 : t.t4;
}

/** Timer J: 64*T1 over unreliable transports, 0 over reliable ones. */
export function timerJ(t: TimerSettings, reliable: boolean): number {
  return reliable ? 0 : 64 * t.t1;
}

/** RFC 3261 §17.2.1: an INVITE server transaction sends 100 if the TU has not answered in 200 ms. */
export const INVITE_TRYING_MS = 200;

/**
 * How long a non-INVITE server transaction waits for its user's final
 * response. The client gives up at Timer F (64*T1, §17.1.2.2), and a proxy
 * that forwarded the request answers 408 when its own Timer F fires; T4
 * later, no answer can reach anyone, so the transaction ends.
 */
export function nonInviteAnswerMs(t: TimerSettings): number {
  return 64 * t.t1 + t.t4;
}

/**
 * RFC 4320 §4.1: a non-INVITE request gets a 100 once the client's Timer E
 * would have reached T2 (T1 + 2T1 + 4T1 ... while below T2), unless
 * answered by then.
 */
export function nonInviteTryingMs(t: TimerSettings): number {
  let total = 0;
  for (let e = t.t1; e < t.t2; e *= 2) total += e;
  return total;
}
