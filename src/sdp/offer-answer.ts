/**
 * The offer/answer model of RFC 3264 for one audio stream over RTP/AVP:
 * building offers and answers, reading the outcome, and the per-dialog
 * offer/answer state.
 */

import { randomBytes } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { SdpNegotiationError } from '../errors.js';
import {
  type Attribute,
  type Direction,
  direction,
  fmtp,
  isMulticast,
  type MediaDescription,
  mediaConnection,
  type RtpMapEntry,
  rtpMap,
  type SessionDescription,
  serializeSdp,
  staticPayloadType,
} from './sdp.js';

/** A codec as the application names it: `{ name: 'PCMU', clockRate: 8000 }`, `{ name: 'opus', clockRate: 48000, channels: 2 }`. */
export interface Codec {
  /** Encoding name; compared without regard to case (RFC 4855 §3). */
  name: string;
  clockRate: number;
  /** Audio channels; absent means 1 (RFC 8866 §6.6). */
  channels?: number;
  payloadType?: number;
  fmtp?: string;
}

/** What the local side can do: where it receives, and which codecs in order of preference. */
export interface LocalMedia {
  address: string;
  port: number;
  codecs: Codec[];
  /** Wanted direction; default sendrecv. */
  direction?: Direction;
  /** o= username; default '-'. */
  username?: string;
  /** o= session id, a numeric string; default a random one. */
  sessionId?: string;
}

/** The outcome of an offer/answer exchange for the first accepted audio stream. */
export interface Negotiated {
  /** The codec to send with, carrying the payload type the peer listed for it. */
  codec: Codec;
  remoteAddress: string;
  remotePort: number;
  /** Our direction for the stream. */
  direction: Direction;
}

const PROTO = 'RTP/AVP';
const FIRST_DYNAMIC_PT = 96;
const LAST_PT = 127;

/** Formats that travel beside a voice codec and cannot carry a call alone (RFC 4733 events, RFC 3389 comfort noise). */
const AUXILIARY = new Set(['telephone-event', 'cn']);

function isAuxiliary(name: string): boolean {
  return AUXILIARY.has(name.toLowerCase());
}

function sameCodec(a: { name: string; clockRate: number; channels?: number }, b: RtpMapEntry): boolean {
  return (
    a.name.toLowerCase() === b.encoding.toLowerCase() &&
    a.clockRate === b.clockRate &&
    (a.channels ?? 1) === (b.channels ?? 1)
  );
}

function randomSessionId(): string {
  // RFC 3264 §5: the id and version must fit a signed 64-bit integer; 62 bits leaves room.
  return (randomBytes(8).readBigUInt64BE() >> 2n).toString();
}

function checkLocal(local: LocalMedia): void {
  if (!Number.isInteger(local.port) || local.port < 0 || local.port > 65535)
    throw new RangeError(`local port ${local.port} is not between 0 and 65535`);
  if (local.sessionId !== undefined && !/^[0-9]+$/.test(local.sessionId))
    throw new RangeError(`session id '${local.sessionId}' is not a number`);
  if (/\s/.test(local.address) || local.address === '')
    throw new RangeError(`'${local.address}' is not an address`);
}

function baseDescription(local: LocalMedia): SessionDescription {
  const addrType = isIPv6(local.address) ? 'IP6' : 'IP4';
  return {
    version: 0,
    origin: {
      username: local.username ?? '-',
      sessionId: local.sessionId ?? randomSessionId(),
      sessionVersion: 1n,
      netType: 'IN',
      addrType,
      address: local.address,
    },
    // RFC 3264 §5: for unicast sessions s= is a single space or a dash.
    sessionName: '-',
    emails: [],
    phones: [],
    connection: { netType: 'IN', addrType, address: local.address },
    bandwidths: [],
    // RFC 3264 §5: t=0 0 for sessions set up and torn down by SIP.
    timing: [{ start: 0n, stop: 0n, repeats: [] }],
    attributes: [],
    media: [],
  };
}

function rtpmapAttribute(pt: number | string, name: string, clockRate: number, channels?: number): Attribute {
  return {
    name: 'rtpmap',
    value: `${pt} ${name}/${clockRate}${channels === undefined ? '' : `/${channels}`}`,
  };
}

/**
 * An initial offer (RFC 3264 §5): one audio stream over RTP/AVP with the
 * local codecs in order. Static codecs get their RFC 3551 payload type,
 * others the next free one from 96 unless `payloadType` is set; every
 * format gets an a=rtpmap, and an a=fmtp when it has parameters.
 */
export function createOffer(local: LocalMedia): SessionDescription {
  checkLocal(local);
  if (local.codecs.length === 0) throw new RangeError('an offer needs at least one codec');
  const used = new Set<number>();
  for (const c of local.codecs) {
    if (c.payloadType === undefined) continue;
    if (!Number.isInteger(c.payloadType) || c.payloadType < 0 || c.payloadType > LAST_PT)
      throw new RangeError(`payload type ${c.payloadType} of ${c.name} is not between 0 and ${LAST_PT}`);
    if (used.has(c.payloadType)) throw new RangeError(`payload type ${c.payloadType} is given twice`);
    used.add(c.payloadType);
  }
  let next = FIRST_DYNAMIC_PT;
  const pts = local.codecs.map((c) => {
    if (c.payloadType !== undefined) return c.payloadType;
    const fixed = staticPayloadType(c.name, c.clockRate, c.channels);
    if (fixed !== undefined && !used.has(fixed)) {
      used.add(fixed);
      return fixed;
    }
    while (used.has(next)) next++;
    if (next > LAST_PT) throw new RangeError(`no dynamic payload type left for ${c.name}`);
    used.add(next);
    return next;
  });
  const attributes: Attribute[] = local.codecs.map((c, i) =>
    rtpmapAttribute(pts[i]!, c.name, c.clockRate, c.channels),
  );
  local.codecs.forEach((c, i) => {
    if (c.fmtp !== undefined) attributes.push({ name: 'fmtp', value: `${pts[i]} ${c.fmtp}` });
  });
  // RFC 3264 §5.1: the direction is marked on the stream; sendrecv is written out too.
  attributes.push({ name: local.direction ?? 'sendrecv' });
  const sd = baseDescription(local);
  sd.media.push({
    type: 'audio',
    port: local.port,
    proto: PROTO,
    formats: pts.map(String),
    connections: [],
    bandwidths: [],
    attributes,
  });
  return sd;
}

/** RFC 3264 §6.1: what we may do is what we want, limited by what the offer allows the other way. */
function answerDirection(offered: Direction, wanted: Direction): Direction {
  const peerSends = offered === 'sendrecv' || offered === 'sendonly';
  const peerReceives = offered === 'sendrecv' || offered === 'recvonly';
  const weSend = (wanted === 'sendrecv' || wanted === 'sendonly') && peerReceives;
  const weReceive = (wanted === 'sendrecv' || wanted === 'recvonly') && peerSends;
  if (weSend && weReceive) return 'sendrecv';
  if (weSend) return 'sendonly';
  if (weReceive) return 'recvonly';
  return 'inactive';
}

function rejected(m: MediaDescription): MediaDescription {
  // RFC 3264 §6: a rejected stream has port 0; its formats are ignored but one must be present.
  return {
    type: m.type,
    port: 0,
    proto: m.proto,
    formats: m.formats.length > 0 ? [...m.formats] : ['0'],
    connections: [],
    bandwidths: [],
    attributes: [],
  };
}

/**
 * An answer to an offer (RFC 3264 §6). Every offered m= line gets one in the
 * same order. The first unicast RTP/AVP audio stream with a voice codec in
 * common is accepted on the local address and port: the common codecs keep
 * the offer's payload type numbers and order (§6.1); telephone-event stays
 * when both sides list it. Every other stream (other media, other transport,
 * multicast, nothing in common, a second audio stream, or offered with port
 * 0) gets port 0. Throws SdpNegotiationError when streams were offered and
 * none can be accepted: the caller answers 488.
 */
export function createAnswer(offer: SessionDescription, local: LocalMedia): SessionDescription {
  checkLocal(local);
  const sd = baseDescription(local);
  // RFC 3264 §6: the t= line of the answer equals the offer's.
  sd.timing = offer.timing.map((t) => ({ start: t.start, stop: t.stop, repeats: [...t.repeats] }));
  let accepted = false;
  let live = 0;
  const reasons: string[] = [];
  offer.media.forEach((m, index) => {
    const label = `stream ${index + 1} (${m.type} ${m.proto})`;
    // RFC 3264 §8.2: a stream offered with port 0 is answered with port 0.
    if (m.port === 0) {
      sd.media.push(rejected(m));
      return;
    }
    live++;
    const conn = mediaConnection(offer, m);
    let why: string | undefined;
    if (m.type !== 'audio') why = 'not audio';
    else if (m.proto !== PROTO) why = `transport ${m.proto} is not ${PROTO}`;
    // RFC 3264 §6.2: a multicast stream is answered with the offer's own address; only unicast is taken.
    else if (conn !== undefined && isMulticast(conn)) why = 'multicast';
    else if (accepted) why = 'only one audio stream is taken';
    if (why !== undefined) {
      reasons.push(`${label}: ${why}`);
      sd.media.push(rejected(m));
      return;
    }
    const offered = rtpMap(m);
    const formats: string[] = [];
    const attributes: Attribute[] = [];
    const fmtps: Attribute[] = [];
    let voice = false;
    // RFC 3264 §6.1: keep the offer's payload type numbers and its order.
    for (const [pt, entry] of offered) {
      const mine = local.codecs.find((c) => sameCodec(c, entry));
      if (mine === undefined) continue;
      formats.push(pt);
      if (!isAuxiliary(entry.encoding)) voice = true;
      attributes.push(rtpmapAttribute(pt, entry.encoding, entry.clockRate, entry.channels));
      // RFC 3264 §6.1: some fmtp parameters define the format and must come back unchanged, others
      // may differ per side: ours are sent when we have any, else the offer's are echoed.
      const params = mine.fmtp ?? fmtp(m, pt);
      if (params !== undefined && params !== '') fmtps.push({ name: 'fmtp', value: `${pt} ${params}` });
    }
    if (!voice) {
      // RFC 3264 §6.1: no media format in common: the stream is rejected with port 0.
      reasons.push(`${label}: no codec in common`);
      sd.media.push(rejected(m));
      return;
    }
    accepted = true;
    attributes.push(...fmtps);
    attributes.push({ name: answerDirection(direction(offer, m), local.direction ?? 'sendrecv') });
    sd.media.push({
      type: m.type,
      port: local.port,
      proto: m.proto,
      formats,
      connections: [],
      bandwidths: [],
      attributes,
    });
  });
  // RFC 3264 §6: with no formats in common for all streams the whole offer is rejected.
  if (live > 0 && !accepted)
    throw new SdpNegotiationError(`no offered stream can be accepted: ${reasons.join('; ')}`);
  return sd;
}

/**
 * The first audio stream that both descriptions accept (port not 0), and the
 * codec to send on it: the first voice codec in the remote list that the
 * local one lists too. With `remote` the answer that is the answer's first
 * (RFC 3264 §7); with `remote` the offer it is the offer's most preferred
 * one that the answer lists (§6.1). The payload type is the remote's, which
 * is the one to send with (RFC 3264 §5.1, §6.1).
 */
export function negotiated(local: SessionDescription, remote: SessionDescription): Negotiated | undefined {
  const n = Math.min(local.media.length, remote.media.length);
  for (let i = 0; i < n; i++) {
    const lm = local.media[i]!;
    const rm = remote.media[i]!;
    if (lm.type !== 'audio' || rm.type !== 'audio' || lm.port === 0 || rm.port === 0) continue;
    const conn = mediaConnection(remote, rm);
    if (conn === undefined) continue;
    const mine = [...rtpMap(lm).values()];
    for (const [pt, entry] of rtpMap(rm)) {
      if (isAuxiliary(entry.encoding)) continue;
      if (
        !mine.some((e) =>
          sameCodec({ name: e.encoding, clockRate: e.clockRate, channels: e.channels }, entry),
        )
      )
        continue;
      const codec: Codec = { name: entry.encoding, clockRate: entry.clockRate, payloadType: Number(pt) };
      if (entry.channels !== undefined) codec.channels = entry.channels;
      const params = fmtp(rm, pt);
      if (params !== undefined) codec.fmtp = params;
      return {
        codec,
        remoteAddress: conn.address,
        remotePort: rm.port,
        direction: unspecified(conn.address) ? withoutSending(direction(local, lm)) : direction(local, lm),
      };
    }
  }
  return undefined;
}

/** 0.0.0.0 or ::, the address no media may be sent to. */
function unspecified(address: string): boolean {
  return address === '0.0.0.0' || /^[0:]+$/.test(address);
}

/**
 * RFC 3264 §8.4: a connection address of 0.0.0.0 (how RFC 2543 put a call on
 * hold) "means that neither RTP nor RTCP should be sent to the peer": our
 * direction loses its sending half.
 */
function withoutSending(d: Direction): Direction {
  if (d === 'sendrecv') return 'recvonly';
  if (d === 'sendonly') return 'inactive';
  return d;
}

function copy(sd: SessionDescription): SessionDescription {
  return structuredClone(sd);
}

/**
 * A copy with the direction of its audio streams (those with a port) set to
 * `d`: sendonly to put the peer on hold (RFC 3264 §8.4), sendrecv to resume.
 * The o= version is left alone; OfferAnswer.nextVersion sets it.
 */
export function withDirection(sd: SessionDescription, d: Direction): SessionDescription {
  const out = copy(sd);
  for (const m of out.media) {
    if (m.type !== 'audio' || m.port === 0) continue;
    // The media-level attribute overrides any session-level one (RFC 8866 §6.7); it
    // replaces the first direction attribute of the stream, and any others go.
    let placed = false;
    const attrs: Attribute[] = [];
    for (const a of m.attributes) {
      if (!isDirectionAttribute(a)) attrs.push(a);
      else if (!placed) {
        attrs.push({ name: d });
        placed = true;
      }
    }
    if (!placed) attrs.push({ name: d });
    m.attributes = attrs;
  }
  return out;
}

function isDirectionAttribute(a: Attribute): boolean {
  return (
    a.value === undefined &&
    (a.name === 'sendrecv' || a.name === 'sendonly' || a.name === 'recvonly' || a.name === 'inactive')
  );
}

export type OfferAnswerState = 'stable' | 'have-local-offer' | 'have-remote-offer';

/**
 * Offer/answer state of one dialog (RFC 3264 §4, §8). `local` and `remote`
 * are the descriptions last agreed; an offer in progress is `pending` until
 * its answer arrives. When to offer and answer in SIP (RFC 3261 §13.2.1) is
 * the caller's business; this only refuses what RFC 3264 forbids.
 */
export class OfferAnswer {
  /** The local description last agreed (our offer that was answered, or our answer). */
  local: SessionDescription | undefined;
  /** The remote description last agreed. */
  remote: SessionDescription | undefined;
  private _state: OfferAnswerState = 'stable';
  private _pending: SessionDescription | undefined;

  get state(): OfferAnswerState {
    return this._state;
  }

  /** The offer in progress (ours in have-local-offer, the peer's in have-remote-offer). */
  get pending(): SessionDescription | undefined {
    return this._pending;
  }

  private expect(state: OfferAnswerState, what: string): void {
    if (this._state === state) return;
    const why =
      this._state === 'have-local-offer'
        ? 'our offer has not been answered yet'
        : this._state === 'have-remote-offer'
          ? 'the peer offer has not been answered yet'
          : 'no offer is in progress';
    throw new SdpNegotiationError(`cannot ${what} in state '${this._state}': ${why} (RFC 3264 §4)`);
  }

  private checkGrowth(sd: SessionDescription, previous: SessionDescription | undefined, who: string): void {
    // RFC 3264 §8: the number of m= lines never decreases.
    if (previous !== undefined && sd.media.length < previous.media.length)
      throw new SdpNegotiationError(
        `${who} offer has ${sd.media.length} m= lines, fewer than the ${previous.media.length} before (RFC 3264 §8)`,
      );
  }

  private checkAnswer(answer: SessionDescription, offer: SessionDescription, who: string): void {
    // RFC 3264 §6: the answer has exactly as many m= lines as the offer.
    if (answer.media.length !== offer.media.length)
      throw new SdpNegotiationError(
        `${who} answer has ${answer.media.length} m= lines for an offer with ${offer.media.length} (RFC 3264 §6)`,
      );
  }

  /** We send an offer. */
  setLocalOffer(sd: SessionDescription): void {
    this.expect('stable', 'send an offer');
    this.checkGrowth(sd, this.local, 'our');
    this._pending = sd;
    this._state = 'have-local-offer';
  }

  /** The answer to our offer arrived: both become the agreed descriptions. */
  setRemoteAnswer(sd: SessionDescription): void {
    this.expect('have-local-offer', 'take an answer');
    this.checkAnswer(sd, this._pending!, 'the');
    this.local = this._pending;
    this.remote = sd;
    this._pending = undefined;
    this._state = 'stable';
  }

  /** The peer sent an offer. In have-local-offer this is glare (RFC 3264 §4; SIP answers 491). */
  setRemoteOffer(sd: SessionDescription): void {
    this.expect('stable', 'take an offer');
    this.checkGrowth(sd, this.remote, 'the peer');
    this._pending = sd;
    this._state = 'have-remote-offer';
  }

  /** We answer the peer's offer: both become the agreed descriptions. */
  setLocalAnswer(sd: SessionDescription): void {
    this.expect('have-remote-offer', 'send an answer');
    this.checkAnswer(sd, this._pending!, 'our');
    this.remote = this._pending;
    this.local = sd;
    this._pending = undefined;
    this._state = 'stable';
  }

  /**
   * Drops the offer in progress (rejected with 488 or 491, or a failed
   * re-INVITE): RFC 3264 §4 says the session reverts to the state before it.
   * The agreed descriptions stay.
   */
  rollback(): void {
    this._pending = undefined;
    this._state = 'stable';
  }

  /**
   * `sd` ready to send (RFC 3264 §8): its o= line is the one we sent last,
   * with the version one higher when anything else differs from that
   * description, the same when nothing does. The first description goes
   * out as it is.
   */
  nextVersion(sd: SessionDescription): SessionDescription {
    const previous = this.local;
    const out = copy(sd);
    if (previous === undefined) return out;
    out.origin = { ...previous.origin };
    if (serializeSdp(out) !== serializeSdp(previous))
      out.origin.sessionVersion = previous.origin.sessionVersion + 1n;
    return out;
  }
}
