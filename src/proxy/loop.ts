import { H } from '../message/header-names.js';
import type { SipRequest } from '../message/message.js';
import type { Via } from '../message/via.js';

/**
 * Loop detection (RFC 3261 §16.3 item 4 as RFC 5393 §4.2 replaces it).
 *
 * Each branch this proxy forks carries a Via branch of two parts,
 * `<unique>.<loop tag>` (a request sent to one target only needs the first,
 * RFC 5393 §4.1: Max-Forwards protects it). The loop tag is a hash of
 * everything the routing logic reads to choose targets: the Request-URI and
 * Route values once this proxy's own Route values are off (§16.4), plus the Call-ID, the CSeq number and the tags (so two
 * transactions to one destination do not collide, RFC 5393 §4.2.4), and
 * Proxy-Require / Proxy-Authorization (RFC 3261 §16.6 item 8). It does not
 * vary with the method, so a CANCEL or a non-2xx ACK hashes like its INVITE.
 */
export function loopTag(req: SipRequest): string {
  return loopTagger(req)();
}

/**
 * Takes the routing inputs of a request now (its Request-URI and Route
 * values, which later processing may change) and returns a function that
 * hashes them, with the fields that do not change, on first call: a request
 * that is never forked never pays for the hash.
 */
export function loopTagger(req: SipRequest): () => string {
  const uri = req.uri.toString();
  const routes = req.has('Route') ? req.getAll('Route') : [];
  let tag: string | undefined;
  return () => {
    if (tag !== undefined) return tag;
    let text = uri;
    for (const v of routes) text += `\u0001${v}`;
    text += `\u0002${req.callId ?? ''}\u0002${req.cseq?.seq ?? ''}`;
    text += `\u0002${req.from?.tag ?? ''}\u0002${req.to?.tag ?? ''}`;
    for (const v of req.getAll('Proxy-Require')) text += `\u0003${v}`;
    for (const v of req.getAll('Proxy-Authorization')) text += `\u0004${v}`;
    tag = fnv1a(text);
    return tag;
  };
}

/**
 * True when the request has passed through this proxy before with the same
 * routing inputs: a loop, answered 482. A Via of ours with a different tag
 * is a spiral (the request was retargeted in between) and goes on.
 */
export function hasLooped(
  req: SipRequest,
  isOurs: (v: Via) => boolean,
  tag: () => string,
  mentionsUs: (rawVia: string) => boolean = () => true,
): boolean {
  // Most requests carry no Via of ours with a second part: found from each
  // field's raw text (all its values at once), without parsing or splitting.
  let candidate = false;
  for (const f of req.headers) {
    if (f.idc !== H.VIA) continue;
    const raw = f.value;
    if (raw.includes('.', raw.indexOf('branch=')) && mentionsUs(raw)) {
      candidate = true;
      break;
    }
  }
  if (!candidate) return false;
  const vias = req.via;
  // The top Via is the previous hop's, never ours on a request just received
  // from a peer; a spiral back to us shows our Via further down.
  let own: string | undefined;
  for (let i = 0; i < vias.length; i++) {
    const v = vias[i] as Via;
    if (!isOurs(v)) continue;
    const branch = v.branch ?? '';
    const dot = branch.lastIndexOf('.');
    if (dot < 0) continue;
    own ??= tag();
    if (branch.slice(dot + 1) === own) return true;
  }
  return false;
}

/** 32-bit FNV-1a of a string's UTF-16 code units, as 8 hex digits (RFC 5393 §4.2.4: 32 bits suffice). */
export function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}
