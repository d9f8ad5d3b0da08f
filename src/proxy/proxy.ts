import { isIP } from 'node:net';
import { newTag } from '../message/ids.js';
import type { SipRequest, SipResponse } from '../message/message.js';
import { NameAddr } from '../message/name-addr.js';
import { createResponse } from '../message/response.js';
import { isSips, SipUri, type Uri } from '../message/uri.js';
import type { IncomingRequest, OutgoingRequest, SipStack } from '../stack/sip-stack.js';
import { type TransportName, viaTransport } from '../transport/address.js';
import type { Source, Target } from '../transport/transport-layer.js';
import { chooseBest, finishBest } from './best-response.js';
import { fnv1a, hasLooped, loopTagger } from './loop.js';
import { type IsOurUri, preprocessRoute, pushRoutes } from './route.js';
import { forkGroups, type ProxyTarget } from './target.js';

export interface ProxyOptions {
  /** Recognises this proxy's own URIs (addresses it listens on, domains it is). */
  isOurUri: IsOurUri;
  /** Timer C (RFC 3261 §16.6 item 11), ms; "MUST be greater than 3 minutes". Default 181 s. */
  timerCMs?: number;
  /** Largest Max-Breadth accepted (RFC 5393 §5.3.3); also the value added when absent. Default 60. */
  maxBreadth?: number;
  /** Most 3xx Contacts followed in one response context. Default 8. */
  maxRedirects?: number;
}

/** How one request is proxied. */
export interface ForwardOptions {
  /** Add Record-Route (§16.6 item 4). Default: true for INVITE, SUBSCRIBE, REFER and NOTIFY outside a dialog. */
  recordRoute?: boolean;
  /** Ring equal-q targets at once (default); false: one after another. */
  parallel?: boolean;
  /** Give each group of targets this long to answer before the next group is tried (sequential forking), ms. */
  groupTimeoutMs?: number;
  /** Recurse on 3xx responses: their Contacts join the target set (§16.5). Default false. */
  followRedirects?: boolean;
  /** Called with each response a branch receives (after this proxy's Via is off), before it is acted on. */
  onResponse?: (response: SipResponse, branch: Branch) => void;
}

/** Methods that make dialogs, whose path this proxy stays on when it record-routes. */
const DIALOG_METHODS = new Set(['INVITE', 'SUBSCRIBE', 'REFER', 'NOTIFY']);

/**
 * The parameter a Record-Route of ours carries to name the flow of its side
 * (RFC 5626 §5.3): a connection id, or `u<port>-<address>` for a UDP peer
 * behind NAT (its Contact names an address its packets do not come from).
 */
const FLOW_PARAM = 'sw-flow';

/** A UDP flow as written in FLOW_PARAM. */
function udpFlow(address: string, port: number): string {
  return `u${port}-${address}`;
}

function parseUdpFlow(v: string): { address: string; port: number } | undefined {
  if (!v.startsWith('u')) return undefined;
  const dash = v.indexOf('-');
  const port = Number(v.slice(1, dash));
  const address = v.slice(dash + 1);
  if (dash < 0 || !Number.isInteger(port) || port <= 0 || port > 65535 || isIP(address) === 0)
    return undefined;
  return { address, port };
}

/**
 * The UDP flow of a caller whose Contact does not name where its request
 * came from (behind NAT). Only for a request straight from its UA (its own
 * Via under ours): one that passed another proxy came from that proxy, not
 * from the Contact. `req` is the copy going out, with this proxy's Via on top.
 */
function natFlow(req: SipRequest, source: Source): string | undefined {
  if (source.transport !== 'udp' || req.via.length !== 2) return undefined;
  try {
    const c = req.contact[0];
    if (c === undefined || c.wildcard || c.uri.kind !== 'sip') return undefined;
    const u = c.uri as SipUri;
    const host = u.host.startsWith('[') ? u.host.slice(1, -1) : u.host;
    if (host === source.address && (u.port ?? 5060) === source.port) return undefined;
  } catch {
    // A Contact a proxy need not read, and cannot: the request goes on without a flow.
    return undefined;
  }
  return udpFlow(source.address, source.port);
}

/** The UDP flow of a callee reached on the address it registered from rather than its Contact. */
function registeredUdpFlow(req: SipRequest, out: Target, target: ProxyTarget): string | undefined {
  const d = target.destination;
  if (d === undefined || d.transport !== 'udp' || out.transport !== 'udp') return undefined;
  const u = req.uri;
  if (u.kind === 'sip') {
    const host = u.host.startsWith('[') ? u.host.slice(1, -1) : u.host;
    if (host === out.address && (u.port ?? 5060) === out.port) return undefined;
  }
  return udpFlow(out.address, out.port);
}

/** One forwarded copy of a request (a client transaction) inside a response context. */
export class Branch {
  readonly target: ProxyTarget;
  /** The client transaction's outcome, once the request is on its way. */
  out: OutgoingRequest | undefined;
  /** The final response (ours synthesised for a timeout or transport failure), until the context is done with it. */
  final: SipResponse | undefined;
  /** The final status, 0 while the branch is pending. */
  status: number;
  /** A provisional response has arrived (a CANCEL may be sent, §9.1). */
  provisional: boolean;
  /** CANCEL wanted before any provisional response came. */
  cancelPending: boolean;
  cancelled: boolean;
  /** @internal */
  timerC: ReturnType<typeof setTimeout> | undefined;

  constructor(target: ProxyTarget) {
    this.target = target;
    this.out = undefined;
    this.final = undefined;
    this.status = 0;
    this.provisional = false;
    this.cancelPending = false;
    this.cancelled = false;
    this.timerC = undefined;
  }
}

/**
 * A response context (RFC 3261 §16): the server transaction of a request
 * being proxied statefully, its branches, and the best response so far.
 */
export class ResponseContext {
  readonly incoming: IncomingRequest;
  readonly branches: Branch[];
  /** The final response sent upstream, once one has. */
  answered: SipResponse | undefined;
  /** A CANCEL arrived (§16.10): no new branches, pending ones cancelled. */
  cancelled: boolean;
  private readonly proxy: ProxyCore;
  /** The request being proxied; let go once the context is done (it may linger for 2xx retransmissions). */
  private request: SipRequest | undefined;
  private readonly invite: boolean;
  private readonly options: ForwardOptions;
  private readonly groups: ProxyTarget[][];
  private readonly seen: Set<string>;
  private readonly tag: string;
  private readonly loop: () => string;
  /** More than one target so far: branches carry the loop tag (RFC 5393 §4.1). */
  private forking: boolean;
  private pending: number;
  private groupTimer: ReturnType<typeof setTimeout> | undefined;
  private breadth: number;
  private redirects: number;
  /** Made on first use of `done`. */
  private donePromise: Promise<void> | undefined;
  private settleDone: (() => void) | undefined;

  /** @internal */
  constructor(
    proxy: ProxyCore,
    incoming: IncomingRequest,
    request: SipRequest,
    options: ForwardOptions,
    loop: () => string,
  ) {
    this.proxy = proxy;
    this.incoming = incoming;
    this.request = request;
    this.invite = request.method === 'INVITE';
    this.options = options;
    this.branches = [];
    this.groups = [];
    this.seen = new Set();
    this.answered = undefined;
    this.cancelled = false;
    this.pending = 0;
    this.groupTimer = undefined;
    this.tag = newTag();
    this.loop = loop;
    this.forking = false;
    this.breadth = proxy.incomingBreadth(request);
    this.redirects = 0;
    this.donePromise = undefined;
    this.settleDone = undefined;
  }

  /** Resolves when the context has sent its final response upstream. */
  get done(): Promise<void> {
    if (this.donePromise === undefined) {
      // The request is let go once the context is done.
      this.donePromise =
        this.request === undefined
          ? Promise.resolve()
          : new Promise((r) => {
              this.settleDone = r;
            });
    }
    return this.donePromise;
  }

  /** @internal Starts forking to the target set. */
  start(targets: readonly ProxyTarget[]): void {
    if (targets.length > 1) this.forking = true;
    for (const t of targets) this.seen.add(t.uri.toString());
    this.groups.push(...forkGroups(targets, this.options.parallel ?? true));
    this.nextGroup();
  }

  /** Adds targets while the context runs (§16.6: "the target set can grow"); they form a new group. */
  addTargets(targets: readonly ProxyTarget[]): void {
    const fresh = targets.filter((t) => !this.seen.has(t.uri.toString()));
    for (const t of fresh) this.seen.add(t.uri.toString());
    if (fresh.length === 0) return;
    this.forking = true;
    this.groups.push(...forkGroups(fresh, this.options.parallel ?? true));
    if (this.pending === 0 && this.answered === undefined) this.nextGroup();
  }

  /** RFC 3261 §16.10: cancels every pending branch; a 487 or the best response follows. */
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.groups.length = 0;
    this.clearGroupTimer();
    for (const b of this.branches) this.cancelBranch(b);
    if (this.pending === 0) this.finish();
  }

  private nextGroup(): void {
    this.clearGroupTimer();
    while (this.groups.length > 0 && this.answered === undefined && !this.cancelled) {
      let group = this.groups.shift() as ProxyTarget[];
      // RFC 5393 §5.3.3: never more parallel branches than the Incoming Max-Breadth allows.
      if (group.length > this.breadth) {
        this.groups.unshift(group.slice(this.breadth));
        group = group.slice(0, this.breadth);
      }
      const share = Math.max(1, Math.floor(this.breadth / group.length));
      let started = 0;
      for (const t of group) if (this.fork(t, share)) started++;
      if (started > 0) {
        if (this.options.groupTimeoutMs !== undefined && this.groups.length > 0) {
          const current = this.branches.slice(-started);
          this.groupTimer = setTimeout(() => {
            this.groupTimer = undefined;
            // The group had its time: cancel it; its 487s let the next group start.
            for (const b of current) this.cancelBranch(b);
          }, this.options.groupTimeoutMs);
          this.groupTimer.unref?.();
        }
        return;
      }
    }
    if (this.pending === 0) this.finish();
  }

  /** §16.6: one copy of the request to one target. */
  private fork(target: ProxyTarget, breadth: number): boolean {
    const branch = new Branch(target);
    this.branches.push(branch);
    if (this.request === undefined) return false;
    const copy = this.proxy.prepareCopy(this.request, target, breadth);
    this.pending++;
    this.proxy
      .send(copy, target, this.incoming.source, this.options, this.forking ? this.loop() : undefined)
      .then((out) => {
        branch.out = out;
        if (branch.cancelPending && branch.provisional) this.cancelBranch(branch);
        out.onResponse((r) => this.response(branch, r));
        out.onError((e) => this.failed(branch, e));
        if (this.invite) this.startTimerC(branch);
      })
      .catch((e: unknown) => this.failed(branch, e));
    return true;
  }

  private startTimerC(b: Branch): void {
    if (b.timerC !== undefined) clearTimeout(b.timerC);
    b.timerC = setTimeout(() => {
      b.timerC = undefined;
      if (b.status !== 0) return;
      // §16.8: with a provisional response, CANCEL the branch; without one, treat it as a 408.
      if (b.provisional) this.cancelBranch(b);
      else this.settleBranch(b, this.synthetic(408, 'Request Timeout'));
    }, this.proxy.timerCMs);
    b.timerC.unref?.();
  }

  private cancelBranch(b: Branch): void {
    if (b.status !== 0 || b.cancelled || !this.invite) return;
    if (!b.provisional || b.out === undefined) {
      // §9.1: a CANCEL waits for a provisional response.
      b.cancelPending = true;
      return;
    }
    b.cancelled = true;
    b.out.cancel().catch(() => {});
  }

  /** §16.7: a response on one branch. */
  private response(b: Branch, r: SipResponse): void {
    // Item 3: this proxy's Via comes off.
    r.removeFirstValue('Via');
    this.options.onResponse?.(r, b);
    const s = r.status;
    if (s < 200) {
      // A 100 is a provisional response too: a CANCEL may now go (§9.1). Without that, a
      // branch that answered only 100 could never be cancelled, and its transaction, in
      // Proceeding with no timer running, would stay for ever.
      b.provisional = true;
      if (b.cancelPending || (this.cancelled && !b.cancelled)) {
        b.cancelPending = false;
        this.cancelBranch(b);
      }
      // §16.7 item 2: only provisional responses other than 100 reset Timer C.
      if (s === 100) return;
      if (this.invite) this.startTimerC(b);
      // Item 5: provisional responses other than 100 go upstream at once (not once the caller cancelled).
      if (this.answered === undefined && !this.cancelled) this.upstream(r);
      return;
    }
    if (s < 300) {
      // Item 5: every 2xx to an INVITE goes upstream (forks, retransmissions); the first ends the context.
      if (b.status === 0) this.settleBranch(b, r, false);
      if (this.answered === undefined || (this.answered.status < 300 && this.invite)) {
        this.answered ??= r;
        this.upstream(r);
      }
      // Item 10: the other branches are cancelled.
      this.groups.length = 0;
      for (const other of this.branches) if (other !== b) this.cancelBranch(other);
      if (this.pending === 0) this.settle();
      return;
    }
    if (b.status !== 0) return;
    if (s >= 300 && s < 400 && this.options.followRedirects && !this.cancelled) {
      const more = this.redirectTargets(r, b.target.uri);
      if (more.length > 0) {
        this.settleBranch(b, r, false);
        this.addTargets(more);
        if (this.pending === 0) this.nextGroup();
        return;
      }
    }
    if (s >= 600) {
      // Item 10: a 6xx ends the search.
      this.groups.length = 0;
      for (const other of this.branches) if (other !== b) this.cancelBranch(other);
    }
    this.settleBranch(b, r);
  }

  private redirectTargets(r: SipResponse, sent: Uri): ProxyTarget[] {
    const out: ProxyTarget[] = [];
    // RFC 5630 §5.3: no recursing from a SIPS Request-URI to a SIP Contact, nor the other way.
    const sips = isSips(sent);
    for (const c of r.contact) {
      if (c.wildcard || this.redirects >= this.proxy.maxRedirects) continue;
      const uri = c.uri;
      if (uri.kind !== 'sip' || isSips(uri) !== sips) continue;
      this.redirects++;
      out.push({ uri: (uri as SipUri).withoutHeaders(), q: c.q });
    }
    return out;
  }

  private failed(b: Branch, e: unknown): void {
    if (b.status !== 0) return;
    const name = (e as Error)?.name ?? '';
    // A timeout is a 408; a transport failure counts as a 503 (§16.7, RFC 3261 §8.1.3.1).
    const res =
      name === 'TransactionTimeoutError'
        ? this.synthetic(408, 'Request Timeout')
        : this.synthetic(503, 'Service Unavailable');
    this.settleBranch(b, res);
  }

  private synthetic(status: number, reason: string): SipResponse {
    return createResponse(this.incoming.request, status, reason, { toTag: this.tag });
  }

  private settleBranch(b: Branch, r: SipResponse, proceed = true): void {
    if (b.status !== 0) return;
    b.final = r;
    b.status = r.status;
    if (b.timerC !== undefined) {
      clearTimeout(b.timerC);
      b.timerC = undefined;
    }
    this.pending--;
    if (!proceed) return;
    if (this.pending > 0) return;
    if (this.answered !== undefined) {
      this.settle();
      return;
    }
    this.nextGroup();
  }

  /**
   * The context is done: the final response is upstream and every branch
   * has its own. What only the choice needed is let go; an INVITE's
   * transactions linger (RFC 6026 Timer L and M) holding this context.
   */
  private settle(): void {
    if (this.pending > 0 || this.request === undefined) return;
    this.request = undefined;
    this.seen.clear();
    // What lingers with the transactions (32 s for an INVITE) is cut to what matching needs.
    this.incoming.request.slim();
    // A 2xx to an INVITE is never sent again from here (each retransmission comes from downstream)
    // and nothing keeps it; any other final response may be, by the server transaction: it stays
    // whole, asleep.
    if (!this.invite || this.answered === undefined || this.answered.status >= 300) this.answered?.sleep();
    for (const b of this.branches) {
      b.final = undefined;
      const out = b.out;
      if (out !== undefined) {
        out.request.slim();
        // The branch's transaction may linger (Timer M, K): it no longer holds this context, and
        // a 2xx it still delivers goes upstream statelessly, as every 2xx must (item 5).
        out.release(this.proxy.lateResponse);
      }
    }
    this.proxy.contextEnded(this);
    this.settleDone?.();
  }

  /** §16.7 item 6: all branches final, no targets left: the best response goes upstream. */
  private finish(): void {
    this.clearGroupTimer();
    if (this.answered !== undefined) {
      this.settle();
      return;
    }
    const finals = this.branches.map((b) => b.final).filter((r): r is SipResponse => r !== undefined);
    const at = chooseBest(finals.map((r) => r.status));
    let best: SipResponse;
    if (this.cancelled && (at < 0 || (finals[at] as SipResponse).status < 600)) {
      best = this.synthetic(487, 'Request Terminated');
    } else if (at < 0) {
      best = this.synthetic(this.branches.length === 0 ? 480 : 408, 'No Response');
    } else {
      best = finishBest(finals[at] as SipResponse, finals);
    }
    this.answered = best;
    this.upstream(best);
    this.settle();
  }

  private upstream(r: SipResponse): void {
    try {
      this.incoming.respond(r);
    } catch {
      // The server transaction is gone (a 2xx after Timer L): sent on statelessly (RFC 6026 §8.4).
      this.proxy.stack.forwardResponse(r).catch(() => {});
    }
  }

  private clearGroupTimer(): void {
    if (this.groupTimer !== undefined) {
      clearTimeout(this.groupTimer);
      this.groupTimer = undefined;
    }
  }
}

/**
 * A proxy core (RFC 3261 §16) on a SipStack: stateful forwarding with
 * response contexts, forking, CANCEL, loop detection, Record-Route, and
 * stateless forwarding (§16.11) of ACKs for 2xx, late responses and, in
 * stateless mode, everything.
 */
export class ProxyCore {
  readonly stack: SipStack;
  readonly isOurUri: IsOurUri;
  readonly timerCMs: number;
  readonly maxBreadth: number;
  readonly maxRedirects: number;
  /** Live response contexts of INVITEs, for CANCEL. */
  private readonly contexts: WeakMap<IncomingRequest, ResponseContext>;
  /** Counters for the operator. */
  readonly stats: { forwarded: number; statelessForwarded: number; loops: number; lateResponses: number };

  constructor(stack: SipStack, options: ProxyOptions) {
    this.stack = stack;
    this.isOurUri = options.isOurUri;
    this.timerCMs = options.timerCMs ?? 181_000;
    this.maxBreadth = options.maxBreadth ?? 60;
    this.maxRedirects = options.maxRedirects ?? 8;
    this.contexts = new WeakMap();
    this.stats = { forwarded: 0, statelessForwarded: 0, loops: 0, lateResponses: 0 };
  }

  /**
   * The loop check of §16.3 item 4 / RFC 5393 §4.2.2 on a request whose
   * own Route values are off (preprocess()); `tag` is its loopTagger().
   */
  checkLoop(req: SipRequest, tag: () => string = loopTagger(req)): boolean {
    const looped = hasLooped(
      req,
      (v) => this.stack.isOurVia(v),
      tag,
      (raw) => this.stack.mentionsOurSentBy(raw),
    );
    if (looped) this.stats.loops++;
    return looped;
  }

  /**
   * §16.4 on a received request (in place). Returns the connection an
   * in-dialog request should leave on, when one of the Route values of ours
   * taken off names a flow other than the one it arrived on (RFC 5626 §5.3).
   */
  preprocess(req: SipRequest, source: Source): Target | undefined {
    const before = req.route;
    const { popped } = preprocessRoute(req, this.isOurUri);
    for (let i = 0; i < popped; i++) {
      const uri = (before[i] as NameAddr).uri as SipUri;
      const flow = uri.params.get(FLOW_PARAM);
      if (typeof flow !== 'string') continue;
      const udp = parseUdpFlow(flow);
      if (udp !== undefined) {
        // The side behind NAT, unless this request came from there.
        if (source.transport === 'udp' && source.address === udp.address && source.port === udp.port)
          continue;
        return { transport: 'udp', address: udp.address, port: udp.port };
      }
      const id = Number(flow);
      if (source.connection?.id === id) continue;
      const c = this.stack.transports.connectionById(id);
      if (c?.open)
        return { transport: c.transport, address: c.remoteAddress, port: c.remotePort, connection: c };
    }
    return undefined;
  }

  /**
   * Proxies a request statefully to a target set (§16.6, §16.7): forks in
   * groups by q, forwards provisional and 2xx responses at once, the best
   * final response when every branch is done. The request must have been
   * through checkLoop() (for its tag) and preprocess().
   */
  forward(
    incoming: IncomingRequest,
    targets: readonly ProxyTarget[],
    options: ForwardOptions = {},
    tag: () => string = loopTagger(incoming.request),
  ): ResponseContext {
    const ctx = new ResponseContext(this, incoming, incoming.request, options, tag);
    if (incoming.request.method === 'INVITE') this.contexts.set(incoming, ctx);
    this.stats.forwarded++;
    ctx.start(targets);
    return ctx;
  }

  /** The response context of an INVITE still being proxied. */
  contextOf(invite: IncomingRequest): ResponseContext | undefined {
    return this.contexts.get(invite);
  }

  /**
   * @internal A response on a branch whose context is done (a 2xx
   * retransmitted, or from a fork, while the INVITE client transaction
   * lingers): a 2xx goes on statelessly (RFC 6026 §7.2), others stop here.
   */
  readonly lateResponse = (r: SipResponse): void => {
    if (r.status >= 200 && r.status < 300) this.forwardLateResponse(r).catch(() => {});
  };

  /** @internal A context sent its final response: a CANCEL no longer finds it. */
  contextEnded(ctx: ResponseContext): void {
    if (this.contexts.get(ctx.incoming) === ctx) this.contexts.delete(ctx.incoming);
  }

  /**
   * §16.10: a CANCEL for an INVITE being proxied is answered 200 here and
   * the INVITE's pending branches are cancelled. Returns false (and answers
   * nothing) when no such INVITE is known: the caller forwards it statelessly
   * or answers 481.
   */
  cancel(cancel: IncomingRequest): boolean {
    const invite = cancel.cancelled;
    if (invite === undefined) return false;
    cancel.respond(200, 'OK');
    const ctx = this.contexts.get(invite);
    if (ctx !== undefined) ctx.cancel();
    else if (invite.state === 'proceeding') invite.respond(487, 'Request Terminated', { toTag: newTag() });
    return true;
  }

  /** @internal Max-Breadth of a request as this proxy accepts it (RFC 5393 §5.3.3). */
  incomingBreadth(req: SipRequest): number {
    const v = Number(req.get('Max-Breadth'));
    return Number.isInteger(v) && v > 0 ? Math.min(v, this.maxBreadth) : this.maxBreadth;
  }

  /** @internal §16.6 items 1-7 for one target. */
  prepareCopy(req: SipRequest, target: ProxyTarget, breadth: number): SipRequest {
    const copy = req.clone();
    // Item 2: the target's URI, without what a Request-URI may not carry.
    const uri = target.uri;
    if (uri !== req.uri) copy.uri = uri.kind === 'sip' ? (uri as SipUri).withoutHeaders() : uri;
    // Item 3.
    copy.decrementMaxForwards(70);
    // RFC 5393 §5.3.3: every proxied request carries one Max-Breadth.
    if (copy.has('Max-Breadth') || breadth !== this.maxBreadth) copy.setHeader('Max-Breadth', breadth);
    // Item 7: pushed Route values (Path, an outbound proxy) go in front.
    if (target.route !== undefined) pushRoutes(copy, target.route);
    if (strictRoutePostprocess(copy)) strictlyRouted.add(copy);
    return copy;
  }

  /** @internal Items 4 and 8-10: Record-Route for the chosen transport, Via, and off it goes. */
  send(
    copy: SipRequest,
    target: ProxyTarget,
    source: Source,
    options: ForwardOptions,
    loop: string | undefined,
  ): Promise<OutgoingRequest> {
    const rr = options.recordRoute ?? (DIALOG_METHODS.has(copy.method) && copy.to?.tag === undefined);
    return this.stack.request(copy, {
      target: target.destination,
      loopTag: loop,
      byRequestUri: strictlyRouted.has(copy),
      prepare: rr ? (r, t) => this.recordRoute(r, source, t, target) : undefined,
    });
  }

  /**
   * §16.6 item 4 with RFC 5658 double Record-Route: one value for the side
   * the request came in on and, when the way out differs (transport, or a
   * flow to keep), one for the side it goes out on.
   */
  private recordRoute(req: SipRequest, source: Source, out: Target, target: ProxyTarget): void {
    const inFlow = source.connection?.id ?? natFlow(req, source);
    const outFlow = out.connection?.id ?? registeredUdpFlow(req, out, target);
    const inbound = this.ownUri(source.transport, inFlow);
    const outbound = this.ownUri(out.transport, outFlow);
    if (inbound === undefined || outbound === undefined) return;
    const differ = source.transport !== out.transport || inFlow !== undefined || outFlow !== undefined;
    // Prepended: the one facing the next hop ends on top.
    req.prependHeader('Record-Route', new NameAddr(inbound));
    if (differ && outbound.toString() !== inbound.toString())
      req.prependHeader('Record-Route', new NameAddr(outbound));
  }

  private ownUri(transport: TransportName, flow: number | string | undefined): SipUri | undefined {
    const sentBy = this.stack.sentBy(transport);
    if (sentBy === undefined) return undefined;
    const colon = sentBy.lastIndexOf(':');
    const params: Record<string, string | null> = {};
    if (transport !== 'udp') params.transport = viaTransport(transport).toLowerCase();
    params.lr = null;
    if (flow !== undefined) params[FLOW_PARAM] = String(flow);
    return new SipUri({ host: sentBy.slice(0, colon), port: Number(sentBy.slice(colon + 1)), params });
  }

  /**
   * Forwards a request without keeping state (§16.11): the ACK for a 2xx,
   * or any request in stateless mode, once preprocess() has run on it. The
   * branch is a hash of the received top Via and the Request-URI, so a
   * retransmission (and a CANCEL, which has its INVITE's Via) goes out with
   * the same branch (§16.11).
   */
  async forwardStateless(req: SipRequest, source: Source, destination?: Target): Promise<void> {
    req.decrementMaxForwards(70);
    const strict = strictRoutePostprocess(req);
    const top = req.topVia;
    const key = `${top?.branch ?? ''}|${top?.host ?? ''}|${top?.port ?? ''}|${req.uri.toString()}`;
    // A stateless proxy never forks: the branch needs no loop tag (RFC 5393 §4.1).
    const branch = `z9hG4bKsl${fnv1a(key)}${fnv1a(`${key}|${source.transport}`)}`;
    this.stats.statelessForwarded++;
    await this.stack.forwardStateless(req, branch, destination, strict);
  }

  /**
   * A response no client transaction claimed (a stateless proxy's, or a 2xx
   * after the INVITE client transaction ended): this proxy's Via comes off
   * and it goes on to the next (§16.11, RFC 6026 §7.2).
   */
  async forwardLateResponse(res: SipResponse): Promise<void> {
    const top = res.topVia;
    if (top === undefined || !this.stack.isOurVia(top)) return;
    res.removeFirstValue('Via');
    if (res.topVia === undefined) return;
    this.stats.lateResponses++;
    await this.stack.forwardResponse(res);
  }
}

/**
 * §16.6 item 6: when the next hop is a strict router (its Route has no
 * `lr`), the Request-URI goes to the end of the Route and the router's URI
 * becomes the Request-URI (RFC 2543 routing).
 */
function strictRoutePostprocess(req: SipRequest): boolean {
  const routes = req.route;
  const top = routes[0];
  if (top === undefined || top.uri.kind !== 'sip' || (top.uri as SipUri).lr) return false;
  const rest = routes.slice(1);
  req.removeHeader('Route');
  for (const r of rest) req.appendHeader('Route', r);
  req.appendHeader('Route', new NameAddr(req.uri));
  req.uri = (top.uri as SipUri).withoutHeaders();
  return true;
}

/** Copies whose next hop is a strict router: sent to their Request-URI. */
const strictlyRouted = new WeakSet<SipRequest>();
