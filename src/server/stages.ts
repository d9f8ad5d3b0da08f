import { bareHost } from '../message/host.js';
import { isSips, parseUri, type SipUri } from '../message/uri.js';
import { validateRegisterAfterProxy } from '../message/validate.js';
import { loopTagger } from '../proxy/loop.js';
import type { ProxyTarget } from '../proxy/target.js';
import { DEFAULT_PORTS, ipFamily } from '../transport/address.js';
import type { NamedStage } from './pipeline.js';
import type { RouteContext } from './route-context.js';
import { consumeCredentials, type SipServer } from './server.js';
import type { Binding } from './store/types.js';

/** Methods the server answers itself when a request names the server (no user part). */
export const SERVER_METHODS = ['REGISTER', 'OPTIONS'];

/**
 * The default request path of `sipwire serve`, in order:
 *   cancel     CANCEL matched to its INVITE (RFC 3261 §16.10)
 *   sanity     OPTIONS at Max-Forwards 0 (§16.3 item 3)
 *   route      Route preprocessing (§16.4), loop detection (§16.3 item 4, RFC 5393);
 *              in-dialog requests go on along their route
 *   local      requests for the server itself: OPTIONS answered, REGISTER on to the registrar
 *   registrar  REGISTER (§10.3)
 *   auth       digest authentication of callers of our domains (407), no open relaying
 *   location   requests for our domains: the registered contacts (§16.5)
 *   forward    proxy to the target set (§16.6), or redirect it (3xx)
 * Stages that never wait are plain functions returning next()'s promise (or
 * nothing when they answer): an async wrapper would add a promise per stage.
 */
export function defaultStages(server: SipServer): NamedStage[] {
  return [
    { name: 'cancel', run: cancelStage },
    { name: 'sanity', run: sanityStage },
    { name: 'route', run: routeStage },
    { name: 'local', run: localStage },
    { name: 'registrar', run: (ctx, next) => registrarStage(server, ctx, next) },
    { name: 'auth', run: authStage },
    { name: 'location', run: locationStage },
    { name: 'forward', run: forwardStage },
  ];
}

function cancelStage(ctx: RouteContext, next: () => Promise<void>): Promise<void> | undefined {
  if (ctx.method !== 'CANCEL') return next();
  if (ctx.incoming !== undefined && ctx.server.proxy.cancel(ctx.incoming)) {
    ctx.end();
    return;
  }
  if (ctx.incoming === undefined) {
    // Stateless mode: the CANCEL follows its INVITE's path (§16.11).
    return next();
  }
  // §16.10 would forward it statelessly; with no INVITE known here there is nothing downstream to cancel.
  ctx.reply(481, 'Call/Transaction Does Not Exist');
}

function sanityStage(ctx: RouteContext, next: () => Promise<void>): Promise<void> | undefined {
  const req = ctx.request;
  // §16.3 item 3: OPTIONS with Max-Forwards 0 is answered here (the stack refused other methods with 483).
  if (req.method === 'OPTIONS' && req.maxForwards === 0) {
    answerOptions(ctx);
    return;
  }
  return next();
}

function routeStage(ctx: RouteContext, next: () => Promise<void>): Promise<void> | undefined {
  const proxy = ctx.server.proxy;
  ctx.destination = proxy.preprocess(ctx.request, ctx.source);
  // §16.3 item 4 (RFC 5393), on the request without our own Route values (an ACK is never answered).
  if (ctx.method !== 'ACK') {
    ctx.loopTag = loopTagger(ctx.request);
    if (proxy.checkLoop(ctx.request, ctx.loopTag)) {
      ctx.reply(482, 'Loop Detected');
      return;
    }
  }
  if (!ctx.inDialog) {
    if (ctx.method === 'ACK')
      ctx.end(); // an ACK outside any dialog: nothing to do (§17.2.3 handled the rest)
    else return next();
    return;
  }
  // In a dialog: along its route (§16.12); the location service is not consulted again.
  // Credentials a UA repeats for our realms go no further than us (RFC 3261 §22.3).
  if (ctx.request.has('Proxy-Authorization'))
    consumeCredentials(ctx.request, (realm) => ctx.server.isServedDomain(realm));
  const uri = ctx.sipUri;
  if (
    ctx.request.route.length > 0 ||
    uri === undefined ||
    !ctx.server.isOurUri(uri) ||
    uri.userRaw !== undefined
  ) {
    ctx.forward(undefined, { recordRoute: false });
    return;
  }
  if (ctx.method === 'ACK') ctx.end();
  else ctx.reply(481, 'Call/Transaction Does Not Exist');
}

function localStage(ctx: RouteContext, next: () => Promise<void>): Promise<void> | undefined {
  const uri = ctx.sipUri;
  const forUs =
    ctx.request.route.length === 0 &&
    uri !== undefined &&
    uri.userRaw === undefined &&
    ctx.server.isOurUri(uri);
  if (!forUs || ctx.method === 'REGISTER') return next();
  if (ctx.method === 'OPTIONS') answerOptions(ctx);
  else if (ctx.method === 'ACK') ctx.end();
  else ctx.reply(405, 'Method Not Allowed', [['Allow', SERVER_METHODS.join(', ')]]);
}

function answerOptions(ctx: RouteContext): void {
  ctx.reply(200, 'OK', [
    ['Allow', SERVER_METHODS.join(', ')],
    ['Accept', 'application/sdp'],
    ['Supported', ctx.server.supported.join(', ')],
  ]);
}

function registrarStage(
  server: SipServer,
  ctx: RouteContext,
  next: () => Promise<void>,
): Promise<void> | undefined {
  if (ctx.method !== 'REGISTER') return next();
  // A REGISTER routed on through us to another registrar is proxied like any request.
  if (ctx.request.route.length > 0) return next();
  const uri = ctx.sipUri;
  if (uri === undefined || !server.isOurUri(uri)) {
    // §10.3 item 1: bindings only for the domains served here.
    ctx.reply(404, 'Not Found (domain not served here)');
    return;
  }
  // The registrar's own checks of the request (§10.3 items 2, 5 and the Require of §8.2.2.3),
  // on top of the proxy's checks the stack made when it arrived.
  const verdict = validateRegisterAfterProxy(ctx.request, { supported: server.supported });
  if (verdict.action === 'reject') {
    ctx.reply(verdict.status, verdict.reason, verdict.headers);
    return;
  }
  return server.register(ctx);
}

async function authStage(ctx: RouteContext, next: () => Promise<void>): Promise<void> {
  const server = ctx.server;
  if (server.open || ctx.method === 'ACK' || ctx.method === 'CANCEL' || ctx.inDialog) return next();
  const from = ctx.request.from?.uri;
  const fromOurs = from !== undefined && from.kind === 'sip' && server.isServedDomain((from as SipUri).host);
  const uri = ctx.sipUri;
  const toOurs = uri !== undefined && ctx.request.route.length === 0 && server.isOurUri(uri);
  if (!fromOurs) {
    // Callers from elsewhere may reach our users; they may not use this server as a relay.
    if (toOurs) return next();
    ctx.reply(403, 'Forbidden (relaying denied)');
    return;
  }
  const realm = (from as SipUri).host.toLowerCase();
  const ok = await server.authenticate(ctx, realm, true);
  if (!ok) return;
  // A caller speaks only for themselves: the From user is the one authenticated.
  const user = (from as SipUri).user ?? '';
  if (ctx.user !== `${user}@${realm}`) {
    ctx.reply(403, `Forbidden (${ctx.user} may not call as ${user}@${realm})`);
    return;
  }
  return next();
}

async function locationStage(ctx: RouteContext, next: () => Promise<void>): Promise<void> {
  const uri = ctx.sipUri;
  if (
    ctx.targets.length > 0 ||
    ctx.request.route.length > 0 ||
    uri === undefined ||
    uri.userRaw === undefined
  )
    return next();
  const server = ctx.server;
  if (!server.isOurUri(uri)) return next();
  const aor = server.aorOf(uri);
  const bindings = await server.location.lookup(aor, Date.now());
  if (bindings.length === 0) {
    const user = uri.user ?? '';
    const known = await server.users.get(user, uri.host.toLowerCase());
    // A user of ours not registered now is "temporarily unavailable"; anyone else is not found.
    if (known !== undefined || server.open) ctx.reply(480, 'Temporarily Unavailable');
    else ctx.reply(404, 'Not Found');
    return;
  }
  const targets = sipsTargets(ctx, uri, bindings);
  if (targets === undefined) return;
  ctx.targets = targets;
  return next();
}

/**
 * RFC 5630 §5.3: a SIPS Request-URI goes only to SIPS contacts; a SIP one
 * reaches a SIPS contact as the same URI with the sip scheme. Either way a
 * SIPS contact is reached over TLS (RFC 3261 §26.2.2): on the TLS flow it
 * registered on, through its Path, or by a new TLS connection. A redirect
 * server returns every contact as registered (§5.4). Answers 480 (with the
 * Warning the RFC names) and returns undefined when no binding may be used.
 */
function sipsTargets(ctx: RouteContext, uri: SipUri, bindings: Binding[]): ProxyTarget[] | undefined {
  const server = ctx.server;
  // A redirect server may hand out SIP and SIPS contacts alike, as registered: the caller chooses (§5.4).
  if (redirecting(ctx)) return bindings.map((b) => server.targetOf(b));
  const sips = uri.scheme === 'sips';
  const out: ProxyTarget[] = [];
  let notSecure = 0;
  let failed = 0;
  // RFC 5626 §7: one target per instance at a time; its other flows (reg-ids) stand in when
  // the preferred one has failed. Bindings come in order of preference.
  const instances = new Set<string>();
  for (const b of bindings) {
    // RFC 5626 §5.3: a flow that no longer exists takes no request (it would fail with 430).
    if (server.flowFailed(b)) {
      failed++;
      continue;
    }
    if (b.instanceId !== undefined && instances.has(b.instanceId)) continue;
    const t = server.targetOf(b);
    const contactSips = isSips(t.uri);
    if (sips && !contactSips) {
      notSecure++;
      continue;
    }
    let target = t;
    if (contactSips) {
      const destination = tlsDestination(t, sips);
      if (destination === null) continue;
      target = { ...t, uri: sips ? t.uri : (t.uri as SipUri).with({ scheme: 'sip' }), destination };
    }
    out.push(target);
    if (b.instanceId !== undefined) instances.add(b.instanceId);
  }
  if (out.length > 0) return out;
  if (failed === bindings.length) {
    // A 430 is for proxies only (RFC 5626 §11.5): the caller learns the user cannot be reached now.
    ctx.reply(480, 'Temporarily Unavailable (the connection the user registered on is closed)');
    return undefined;
  }
  const agent = uri.host;
  if (notSecure > 0)
    ctx.reply(480, 'Temporarily Unavailable', [['Warning', `380 ${agent} "SIPS Not Allowed"`]]);
  else if (!sips) ctx.reply(480, 'Temporarily Unavailable', [['Warning', `381 ${agent} "SIPS Required"`]]);
  else ctx.reply(480, 'Temporarily Unavailable (no TLS path to the contact)');
  return undefined;
}

/**
 * Where a SIPS contact is sent so that the hop is TLS: its registered flow
 * when that is TLS (or WSS), its Path (SIPS URIs, RFC 5630 §5.2), the
 * RFC 3263 resolution of the SIPS URI itself (`undefined`), or, when the
 * URI goes out as SIP, a TLS connection to its address; null when none.
 */
function tlsDestination(t: ProxyTarget, keepsSips: boolean): ProxyTarget['destination'] | null {
  const d = t.destination;
  if (d !== undefined) return d.transport === 'tls' || d.transport === 'wss' ? d : null;
  if (t.route !== undefined || keepsSips) return undefined;
  const u = t.uri as SipUri;
  const host = bareHost(u.host);
  if (ipFamily(host) === 0) return null;
  return { transport: 'tls', address: host, port: u.port ?? DEFAULT_PORTS.tls };
}

/** True when this request is answered with a redirect (a stage asked for it, or the `redirect` option). */
function redirecting(ctx: RouteContext): boolean {
  return ctx.redirectMode || ctx.server.redirects(ctx);
}

async function forwardStage(ctx: RouteContext): Promise<void> {
  if (redirecting(ctx)) {
    if (ctx.targets.length === 0) ctx.targets = [{ uri: ctx.request.uri }];
    ctx.redirect();
    return;
  }
  // Requests for other domains go through the upstream proxy when one is set (a pushed Route, §16.6 item 7).
  const upstream = ctx.server.upstream;
  const uri = ctx.sipUri;
  if (
    upstream !== undefined &&
    ctx.targets.length === 0 &&
    ctx.request.route.length === 0 &&
    uri !== undefined &&
    !ctx.server.isOurUri(uri)
  ) {
    ctx.forward([{ uri, route: [upstream] }]);
    return;
  }
  ctx.forward();
}

/** The target a binding gives (RFC 3327 §5.3 Path as Route; RFC 5626 §5.3 the flow it came on). */
export function bindingTarget(b: Binding, flowTarget: ProxyTarget['destination']): ProxyTarget {
  return {
    uri: parseContact(b.contact),
    route: b.path.length > 0 ? b.path : undefined,
    destination: b.path.length > 0 ? undefined : flowTarget,
    q: b.q,
  };
}

function parseContact(text: string): ProxyTarget['uri'] {
  return parseUri(text);
}
