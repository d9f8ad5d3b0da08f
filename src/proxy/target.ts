import type { Uri } from '../message/uri.js';
import type { Target } from '../transport/transport-layer.js';

/** One destination of a proxied request (an element of the target set, RFC 3261 §16.5). */
export interface ProxyTarget {
  /** The Request-URI of the branch. */
  readonly uri: Uri;
  /**
   * Route values put in front of the request's own (RFC 3261 §16.6 item 7):
   * the Path of a registration (RFC 3327 §5.3), an outbound proxy.
   */
  readonly route?: readonly string[];
  /** Where to send, instead of resolving the Route or Request-URI: a registered flow (RFC 5626 §5.3). */
  readonly destination?: Target;
  /** q-value 0..1: higher q is tried first, equal q in parallel (§16.6, §20.10). Default 1. */
  readonly q?: number;
}

/**
 * Orders a target set into the groups a proxy forks to in turn: highest q
 * first, targets of equal q together (RFC 3261 §16.6 and §20.10 leave the
 * policy to the proxy; this is the common one). `parallel: false` makes
 * each target a group of its own.
 */
export function forkGroups(targets: readonly ProxyTarget[], parallel = true): ProxyTarget[][] {
  const sorted = [...targets].sort((a, b) => (b.q ?? 1) - (a.q ?? 1));
  if (!parallel) return sorted.map((t) => [t]);
  const groups: ProxyTarget[][] = [];
  let last: number | undefined;
  for (const t of sorted) {
    const q = t.q ?? 1;
    if (last === q) (groups[groups.length - 1] as ProxyTarget[]).push(t);
    else groups.push([t]);
    last = q;
  }
  return groups;
}
