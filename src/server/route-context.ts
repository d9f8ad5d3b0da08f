import { newTag } from '../message/ids.js';
import type { HeaderValue, SipRequest } from '../message/message.js';
import { NameAddr } from '../message/name-addr.js';
import { createResponse } from '../message/response.js';
import { parseUri, type SipUri, type Uri } from '../message/uri.js';
import type { ForwardOptions, ResponseContext } from '../proxy/proxy.js';
import { pushRoutes } from '../proxy/route.js';
import type { ProxyTarget } from '../proxy/target.js';
import type { IncomingRequest } from '../stack/sip-stack.js';
import type { Source, Target } from '../transport/transport-layer.js';
import type { Logger } from './log.js';
import type { SipServer } from './server.js';

/** A target given as a URI text, a URI, or in full (its URI as text or parsed). */
export type TargetLike = string | Uri | (Omit<ProxyTarget, 'uri'> & { readonly uri: string | Uri });

/**
 * One request on its way through the pipeline: what it is, where it came
 * from, and what stages may do with it. Answering (reply, forward,
 * redirect) ends the pipeline.
 */
export class RouteContext {
  readonly request: SipRequest;
  readonly source: Source;
  readonly server: SipServer;
  readonly log: Logger;
  /** The server transaction (undefined in stateless mode). */
  readonly incoming: IncomingRequest | undefined;
  /** The user the request was authenticated as (`user@domain`), once a stage has. */
  user: string | undefined;
  /** The target set chosen so far (the location stage fills it; routes may change it). */
  targets: ProxyTarget[];
  /** Options the forward stage proxies with (routes may change them). */
  forwardOptions: ForwardOptions;
  /** Answer with 302 and the targets rather than proxying (redirect mode). */
  redirectMode: boolean;
  /** The loop tag of the request (RFC 5393), computed when first asked for. */
  loopTag: () => string;
  /** Where an in-dialog request must go out (a flow named by our Record-Route). */
  destination: Target | undefined;
  /** The stage running now (for logs). */
  stage: string;
  /** The response context once forwarded statefully. */
  proxied: ResponseContext | undefined;
  private done: boolean;

  /** @internal */
  constructor(server: SipServer, request: SipRequest, source: Source, incoming: IncomingRequest | undefined) {
    this.server = server;
    this.request = request;
    this.source = source;
    this.incoming = incoming;
    this.log = server.log;
    this.user = undefined;
    this.targets = [];
    this.forwardOptions = {};
    this.redirectMode = false;
    this.loopTag = () => '';
    this.destination = undefined;
    this.stage = '';
    this.proxied = undefined;
    this.done = false;
  }

  get method(): string {
    return this.request.method;
  }

  /** The Request-URI. */
  get uri(): Uri {
    return this.request.uri;
  }

  /** The Request-URI when it is a sip:/sips: URI. */
  get sipUri(): SipUri | undefined {
    const u = this.request.uri;
    return u.kind === 'sip' ? u : undefined;
  }

  /** True for a request inside a dialog (its To has a tag). */
  get inDialog(): boolean {
    return this.request.to?.tag !== undefined;
  }

  /** True once a stage answered, forwarded or redirected. */
  get answered(): boolean {
    return this.done;
  }

  /** A header's first value, as text. */
  header(name: string): string | undefined {
    return this.request.get(name);
  }

  /** Ends the pipeline without an answer (a stage that answered by other means, an ACK absorbed). */
  end(): void {
    this.done = true;
  }

  /** Answers the request (no answer to an ACK) and ends the pipeline. */
  reply(status: number, reason?: string, headers?: ReadonlyArray<readonly [string, HeaderValue]>): void {
    this.done = true;
    if (this.request.method === 'ACK') return;
    const toTag = status > 100 ? newTag() : undefined;
    if (this.incoming === undefined) {
      // Stateless mode: the answer goes back by the Via, no transaction to keep it (§16.11).
      const res = createResponse(this.request, status, reason, { headers, toTag });
      this.server.stack.forwardResponse(res).catch(() => {});
      return;
    }
    if (this.incoming.state !== 'trying' && this.incoming.state !== 'proceeding') return;
    this.incoming.respond(status, reason, { headers, toTag });
  }

  /** Rewrites the Request-URI (e.g. a number to a gateway's URI). */
  setUri(uri: string | Uri): void {
    this.request.uri = typeof uri === 'string' ? parseUri(uri) : uri;
  }

  /**
   * Proxies the request (statefully, or statelessly in stateless mode) to
   * the targets given, else to the target set, else to the Request-URI.
   */
  forward(targets?: readonly TargetLike[], options?: ForwardOptions): void {
    const set = targets === undefined ? this.targets : targets.map(toTarget);
    const list: ProxyTarget[] =
      set.length > 0 ? set : [{ uri: this.request.uri, destination: this.destination }];
    this.done = true;
    // Answered meanwhile (a CANCEL came while a stage was waiting): nothing is sent on (§16.10).
    if (
      this.incoming !== undefined &&
      this.incoming.state !== 'trying' &&
      this.incoming.state !== 'proceeding'
    )
      return;
    const opts = { ...this.forwardOptions, ...options };
    if (this.incoming === undefined) {
      const t = list[0] as ProxyTarget;
      if (t.uri !== this.request.uri) this.request.uri = t.uri;
      if (t.route !== undefined) pushRoutes(this.request, t.route);
      void this.server.proxy
        .forwardStateless(this.request, this.source, t.destination)
        .catch((e: unknown) => {
          this.log.warn({ err: e, uri: String(this.request.uri) }, 'stateless forward failed');
        });
      return;
    }
    this.proxied = this.server.proxy.forward(this.incoming, list, opts, this.loopTag);
  }

  /** Answers 3xx (302 by default) with the targets (or the target set) as Contacts (RFC 3261 §21.3). */
  redirect(targets?: readonly TargetLike[], status = 302): void {
    const set = targets === undefined ? this.targets : targets.map(toTarget);
    if (set.length === 0) {
      this.reply(404, 'Not Found');
      return;
    }
    const contacts = set.map((t) => {
      const c = new NameAddr(t.uri);
      return t.q !== undefined ? new NameAddr(t.uri, undefined, { q: formatQ(t.q) }) : c;
    });
    this.reply(
      status,
      undefined,
      contacts.map((c) => ['Contact', c] as const),
    );
  }
}

function toTarget(t: TargetLike): ProxyTarget {
  if (typeof t === 'string') return { uri: parseUri(t) };
  if ('kind' in t) return { uri: t };
  return typeof t.uri === 'string' ? { ...t, uri: parseUri(t.uri) } : (t as ProxyTarget);
}

function formatQ(q: number): string {
  return q >= 1 ? '1' : q <= 0 ? '0' : q.toFixed(3).replace(/0+$/, '').replace(/\.$/, '');
}
