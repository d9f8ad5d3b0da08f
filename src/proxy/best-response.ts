import type { SipResponse } from '../message/message.js';

/** 4xx responses that tell the caller how to resubmit (RFC 3261 §16.7 item 6). */
const INFORMATIVE_4XX = [401, 407, 415, 420, 484];

/**
 * Picks the response to send upstream from the final responses a response
 * context collected (RFC 3261 §16.7 item 6): a 6xx if any, else one of the
 * lowest class, preferring within 4xx the ones that tell the caller how to
 * resubmit. Returns the index of the chosen response, or -1 for none.
 */
export function chooseBest(statuses: readonly number[]): number {
  let best = -1;
  let bestStatus = 0;
  for (let i = 0; i < statuses.length; i++) {
    const s = statuses[i] as number;
    if (best < 0 || better(s, bestStatus)) {
      best = i;
      bestStatus = s;
    }
  }
  return best;
}

function better(s: number, than: number): boolean {
  const sc = Math.floor(s / 100);
  const tc = Math.floor(than / 100);
  if (sc === 6 || tc === 6) return sc === 6 && tc !== 6;
  if (sc !== tc) return sc < tc;
  if (sc === 4) return rank4xx(s) < rank4xx(than);
  return false;
}

function rank4xx(s: number): number {
  const i = INFORMATIVE_4XX.indexOf(s);
  // Among the informative ones, keep the RFC's order; 408 (a branch timed out) is the least telling.
  return i >= 0 ? i : s === 408 ? 100 : 50;
}

/**
 * Prepares the chosen response for forwarding (§16.7 items 6 and 7): a 503
 * becomes 500 (the caller should not take it as this proxy being
 * overloaded), and a 401/407 gets every challenge of the other 401/407
 * responses added unchanged, so the caller can answer all branches at once.
 */
export function finishBest(chosen: SipResponse, others: readonly SipResponse[]): SipResponse {
  if (chosen.status === 503) {
    chosen.status = 500;
    chosen.reason = 'Server Internal Error';
    return chosen;
  }
  if (chosen.status === 401 || chosen.status === 407) {
    for (const r of others) {
      if (r === chosen || (r.status !== 401 && r.status !== 407)) continue;
      for (const name of ['WWW-Authenticate', 'Proxy-Authenticate']) {
        for (const v of r.getAll(name)) chosen.appendHeader(name, v);
      }
    }
  }
  return chosen;
}
