import type { SipRequest } from '../message/message.js';
import type { NameAddr } from '../message/name-addr.js';
import { rawValue } from '../message/response.js';
import type { SipUri } from '../message/uri.js';

/** How route processing recognises this proxy. */
export type IsOurUri = (uri: SipUri) => boolean;

/**
 * A URI this proxy wrote into a Record-Route: one of its addresses, no user
 * part, and `lr` (RFC 3261 §16.6 item 4). Enough to recognise it when a
 * strict router puts it back in the Request-URI (§16.4: no state needed).
 */
export function isOurRecordRoute(uri: SipUri, isOurs: IsOurUri): boolean {
  return uri.userRaw === undefined && uri.lr && isOurs(uri);
}

/** What route preprocessing did, for logs and tests. */
export interface RoutePreprocessing {
  /** The previous hop was a strict router: the Request-URI came back from the last Route value. */
  strictRouted: boolean;
  /** How many Route values naming this proxy were taken off the top. */
  popped: number;
}

/**
 * RFC 3261 §16.4 on a request about to be proxied (changes it in place):
 * undoes a strict router's rewrite, strips a `maddr` naming this proxy, and
 * removes the top Route values that name this proxy (more than one with
 * double Record-Route, RFC 5658 §3.2).
 */
export function preprocessRoute(req: SipRequest, isOurs: IsOurUri): RoutePreprocessing {
  const out: RoutePreprocessing = { strictRouted: false, popped: 0 };
  const ruri = req.uri;
  if (ruri.kind === 'sip' && isOurRecordRoute(ruri, isOurs)) {
    const routes = req.route;
    const last = routes[routes.length - 1];
    if (last !== undefined) {
      // "replace the Request-URI in the request with the last value from the
      // Route header field, and remove that value from the Route header field".
      req.uri = (last.uri as SipUri).kind === 'sip' ? (last.uri as SipUri).withoutHeaders() : last.uri;
      removeLastRoute(req, routes);
      out.strictRouted = true;
    }
  }
  const now = req.uri;
  if (now.kind === 'sip' && now.maddr !== undefined) {
    const m = now.with({ host: now.maddr, port: now.port });
    if (isOurs(m)) {
      // "strip the maddr and any non-default port or transport parameter".
      req.uri = now.withoutParam('maddr').withoutParam('transport').with({ port: undefined });
    }
  }
  for (;;) {
    const top = req.route[0];
    if (top === undefined || top.uri.kind !== 'sip' || !isOurs(top.uri as SipUri)) break;
    req.removeFirstValue('Route');
    out.popped++;
  }
  return out;
}

/**
 * Puts Route values in front of the request's own (RFC 3261 §16.6 item 7:
 * a Path, an upstream proxy); the request's values go on untouched.
 */
export function pushRoutes(req: SipRequest, routes: readonly string[]): void {
  if (routes.length === 0) return;
  const own = req.getAll('Route');
  req.removeHeader('Route');
  for (const r of routes) req.appendHeader('Route', r);
  for (const r of own) req.appendHeader('Route', rawValue(r));
}

function removeLastRoute(req: SipRequest, routes: NameAddr[]): void {
  const keep = routes.slice(0, -1);
  req.removeHeader('Route');
  if (keep.length > 0) req.setHeader('Route', keep);
}
