/**
 * Session Description Protocol (RFC 8866): reading, writing, and the few
 * lookups a SIP user agent needs (direction, payload type map, fmtp, address).
 */

import { Buffer } from 'node:buffer';
import { isIPv4, isIPv6 } from 'node:net';
import { SdpError } from '../errors.js';

/** The o= line (RFC 8866 §5.2). */
export interface Origin {
  username: string;
  /** Numeric string, kept as written: it may exceed 2^53. */
  sessionId: string;
  sessionVersion: bigint;
  netType: string;
  addrType: string;
  address: string;
}

/** A c= line (RFC 8866 §5.7). `ttl` and `count` come from the `/ttl/count` multicast forms. */
export interface Connection {
  netType: string;
  addrType: string;
  address: string;
  ttl?: number;
  count?: number;
}

/** A b= line (RFC 8866 §5.8). */
export interface Bandwidth {
  type: string;
  value: number;
}

/** A t= line and the r= lines that follow it (RFC 8866 §5.9, §5.10); r= values are kept as text. */
export interface Timing {
  start: bigint;
  stop: bigint;
  repeats: string[];
}

/** `a=name` (property attribute) or `a=name:value` (value attribute), RFC 8866 §5.13. */
export interface Attribute {
  name: string;
  value?: string;
}

/** An m= line and the lines of its section (RFC 8866 §5.14). */
export interface MediaDescription {
  type: string;
  port: number;
  portCount?: number;
  proto: string;
  formats: string[];
  information?: string;
  connections: Connection[];
  bandwidths: Bandwidth[];
  /** k= as received; RFC 8866 §5.12 makes it obsolete and serializeSdp never writes it. */
  key?: string;
  attributes: Attribute[];
}

export interface SessionDescription {
  version: number;
  origin: Origin;
  sessionName: string;
  information?: string;
  uri?: string;
  emails: string[];
  phones: string[];
  connection?: Connection;
  bandwidths: Bandwidth[];
  timing: Timing[];
  /** The z= value as text. */
  timeZones?: string;
  /** k= as received; RFC 8866 §5.12 makes it obsolete and serializeSdp never writes it. */
  key?: string;
  attributes: Attribute[];
  media: MediaDescription[];
}

export interface SdpLimits {
  /** Largest description accepted, in bytes. */
  maxLength: number;
  /** Most m= sections. */
  maxMedia: number;
  /** Most a= lines in one section (the session level, or one media description). */
  maxAttributes: number;
}

export const DEFAULT_SDP_LIMITS: Readonly<SdpLimits> = Object.freeze({
  maxLength: 65535,
  maxMedia: 32,
  maxAttributes: 256,
});

export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

const DIRECTIONS: ReadonlySet<string> = new Set(['sendrecv', 'sendonly', 'recvonly', 'inactive']);

// RFC 8866 §9: token-char.
const TOKEN = /^[!#$%&'*+\-.^_`{|}~0-9A-Za-z]+$/;
// RFC 8866 §9: proto = token *("/" token).
const PROTO = /^[!#$%&'*+\-.^_`{|}~0-9A-Za-z]+(?:\/[!#$%&'*+\-.^_`{|}~0-9A-Za-z]+)*$/;
const DIGITS = /^[0-9]+$/;
const HOSTNAME = /^[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?$/;
const TYPED_TIME = /^[0-9]+[dhms]?$/;
const SIGNED_TYPED_TIME = /^-?[0-9]+[dhms]?$/;

/** The line types of RFC 8866 §5. */
const KNOWN_TYPES = 'vosiuepcbtrzkam';

/**
 * Position of each line type in the session-level order of RFC 8866 §5; t=,
 * r= and z= share one slot (time descriptions), with their own rules.
 */
const SESSION_ORDER: Readonly<Record<string, number>> = {
  v: 0,
  o: 1,
  s: 2,
  i: 3,
  u: 4,
  e: 5,
  p: 6,
  c: 7,
  b: 8,
  t: 9,
  r: 9,
  z: 9,
  k: 10,
  a: 11,
};

/** Position of each line type in a media description (RFC 8866 §5). */
const MEDIA_ORDER: Readonly<Record<string, number>> = { m: 0, i: 1, c: 2, b: 3, k: 4, a: 5 };

/** Line types that may appear at most once at session level (RFC 8866 §5.4, §5.5, §5.7, §5.11, §5.12). */
const SESSION_ONCE: ReadonlySet<string> = new Set(['i', 'u', 'c', 'k', 'z']);
/** Line types that may appear at most once in a media description (RFC 8866 §5.4, §5.12). */
const MEDIA_ONCE: ReadonlySet<string> = new Set(['i', 'k']);

function resolveSdpLimits(partial: Partial<SdpLimits> | undefined): Readonly<SdpLimits> {
  if (partial === undefined) return DEFAULT_SDP_LIMITS;
  const out = { ...DEFAULT_SDP_LIMITS, ...partial };
  for (const [k, v] of Object.entries(out)) {
    if (!Number.isInteger(v) || v <= 0)
      throw new RangeError(`SDP limit ${k} must be a positive integer, got ${v}`);
  }
  return out;
}

/** A value quoted for an error message: at most 40 characters, control characters escaped. */
function quote(s: string): string {
  const cut = s.length > 40 ? `${s.slice(0, 40)}...` : s;
  const shown = cut.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return `'${shown}'`;
}

function fail(line: number, what: string): never {
  throw new SdpError(line > 0 ? `SDP line ${line}: ${what}` : `SDP: ${what}`, line);
}

/** Subfields of a value; RFC 8866 §5 asks for single spaces, runs of blanks are read liberally. */
function fields(value: string): string[] {
  const t = value.trim();
  return t === '' ? [] : t.split(/[ \t]+/);
}

function parseInteger(text: string, line: number, what: string, max: number): number {
  if (!DIGITS.test(text)) fail(line, `${what} ${quote(text)} is not a number`);
  const n = text.length > 16 ? Number.POSITIVE_INFINITY : Number(text);
  if (n > max) fail(line, `${what} ${quote(text)} is out of range (0-${max})`);
  return n;
}

function parseBigint(text: string, line: number, what: string): bigint {
  if (!DIGITS.test(text)) fail(line, `${what} ${quote(text)} is not a number`);
  return BigInt(text);
}

function isHostname(s: string): boolean {
  // An all-numeric dotted name is an IPv4 address, checked by the caller.
  return HOSTNAME.test(s) && !/^[0-9.]+$/.test(s);
}

function isIp4Multicast(address: string): boolean {
  if (!isIPv4(address)) return false;
  const first = Number(address.slice(0, address.indexOf('.')));
  return first >= 224 && first <= 239;
}

function isIp6Multicast(address: string): boolean {
  return isIPv6(address) && /^ff/i.test(address);
}

/** True when a connection address is a multicast group (RFC 8866 §5.7). */
export function isMulticast(c: Connection): boolean {
  if (c.addrType === 'IP4') return c.ttl !== undefined || isIp4Multicast(c.address);
  if (c.addrType === 'IP6') return isIp6Multicast(c.address);
  return false;
}

function parseConnection(value: string, line: number): Connection {
  const f = fields(value);
  if (f.length !== 3) fail(line, `c= needs 3 fields (nettype addrtype address), found ${f.length}`);
  const [netType, addrType, spec] = f as [string, string, string];
  // Only Internet addresses are handled: RFC 8866 §5.7 defines IN with IP4 and IP6.
  if (netType !== 'IN') fail(line, `c= network type ${quote(netType)} is not IN`);
  const parts = spec.split('/');
  const address = parts[0]!;
  const out: Connection = { netType, addrType, address };
  if (addrType === 'IP4') {
    if (!isIPv4(address) && !isHostname(address))
      fail(line, `c= address ${quote(address)} is not an IPv4 address or a host name`);
    if (parts.length > 3) fail(line, `c= address ${quote(spec)} has too many '/' parts`);
    const multicast = isIp4Multicast(address);
    if (parts.length > 1) {
      // RFC 8866 §5.7: the slash notation MUST NOT be used for unicast addresses.
      if (!multicast) fail(line, `c= address ${quote(address)} is not multicast but has a '/' suffix`);
      out.ttl = parseInteger(parts[1]!, line, 'c= TTL', 255);
      if (parts.length === 3) out.count = parseCount(parts[2]!, line, 'c= address count');
    } else if (multicast) {
      // RFC 8866 §5.7: an IP4 multicast address MUST have a TTL.
      fail(line, `c= IP4 multicast address ${quote(address)} has no /ttl`);
    }
  } else if (addrType === 'IP6') {
    if (!isIPv6(address) && !isHostname(address))
      fail(line, `c= address ${quote(address)} is not an IPv6 address or a host name`);
    // RFC 8866 §5.7: IP6 multicast has no TTL, only an optional address count.
    if (parts.length > 2) fail(line, `c= address ${quote(spec)} has too many '/' parts (IP6 has no TTL)`);
    if (parts.length === 2) {
      if (!isIp6Multicast(address))
        fail(line, `c= address ${quote(address)} is not multicast but has a '/' suffix`);
      out.count = parseCount(parts[1]!, line, 'c= address count');
    }
  } else {
    fail(line, `c= address type ${quote(addrType)} is not IP4 or IP6`);
  }
  return out;
}

function parseCount(text: string, line: number, what: string): number {
  const n = parseInteger(text, line, what, 65535);
  if (n === 0) fail(line, `${what} must be at least 1`);
  return n;
}

function parseOrigin(value: string, line: number): Origin {
  const f = fields(value);
  // RFC 8866 §5.2: o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>
  if (f.length !== 6) fail(line, `o= needs 6 fields, found ${f.length}`);
  const [username, sessionId, version, netType, addrType, address] = f as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (!DIGITS.test(sessionId)) fail(line, `o= session id ${quote(sessionId)} is not a number`);
  const sessionVersion = parseBigint(version, line, 'o= session version');
  if (!TOKEN.test(netType)) fail(line, `o= network type ${quote(netType)} is not a token`);
  if (!TOKEN.test(addrType)) fail(line, `o= address type ${quote(addrType)} is not a token`);
  return { username, sessionId, sessionVersion, netType, addrType, address };
}

function parseBandwidth(value: string, line: number): Bandwidth {
  // RFC 8866 §5.8: b=<bwtype>:<bandwidth>
  const colon = value.indexOf(':');
  if (colon === -1) fail(line, `b= value ${quote(value)} has no ':'`);
  const type = value.slice(0, colon);
  if (!TOKEN.test(type)) fail(line, `b= type ${quote(type)} is not a token`);
  const amount = value.slice(colon + 1);
  return { type, value: parseInteger(amount, line, 'b= bandwidth', Number.MAX_SAFE_INTEGER) };
}

function parseTiming(value: string, line: number): Timing {
  const f = fields(value);
  if (f.length !== 2) fail(line, `t= needs 2 fields (start stop), found ${f.length}`);
  return {
    start: parseBigint(f[0]!, line, 't= start time'),
    stop: parseBigint(f[1]!, line, 't= stop time'),
    repeats: [],
  };
}

function checkRepeat(value: string, line: number): void {
  // RFC 8866 §5.10: r=<repeat interval> <active duration> <offsets from start-time>
  const f = fields(value);
  if (f.length < 3) fail(line, `r= needs at least 3 fields, found ${f.length}`);
  for (const x of f) if (!TYPED_TIME.test(x)) fail(line, `r= time ${quote(x)} is not a number`);
}

function checkZone(value: string, line: number): void {
  // RFC 8866 §5.11: z=<adjustment time> <offset> ...
  const f = fields(value);
  if (f.length === 0 || f.length % 2 !== 0) fail(line, 'z= needs pairs of adjustment time and offset');
  for (let i = 0; i < f.length; i += 2) {
    if (!DIGITS.test(f[i]!)) fail(line, `z= adjustment time ${quote(f[i]!)} is not a number`);
    if (!SIGNED_TYPED_TIME.test(f[i + 1]!)) fail(line, `z= offset ${quote(f[i + 1]!)} is not a number`);
  }
}

function parseAttribute(value: string, line: number): Attribute {
  // RFC 8866 §5.13: a=<attribute-name> or a=<attribute-name>:<attribute-value>
  const colon = value.indexOf(':');
  const name = colon === -1 ? value : value.slice(0, colon);
  if (!TOKEN.test(name)) fail(line, `a= attribute name ${quote(name)} is not a token`);
  return colon === -1 ? { name } : { name, value: value.slice(colon + 1) };
}

function parseMedia(value: string, line: number): MediaDescription {
  // RFC 8866 §5.14: m=<media> <port>[/<number of ports>] <proto> <fmt> ...
  const f = fields(value);
  if (f.length < 4)
    fail(line, `m= needs media, port, proto and at least one format, found ${f.length} fields`);
  const [type, portSpec, proto] = f as [string, string, string];
  if (!TOKEN.test(type)) fail(line, `m= media type ${quote(type)} is not a token`);
  const slash = portSpec.indexOf('/');
  const port = parseInteger(slash === -1 ? portSpec : portSpec.slice(0, slash), line, 'm= port', 65535);
  const m: MediaDescription = {
    type,
    port,
    proto,
    formats: f.slice(3),
    connections: [],
    bandwidths: [],
    attributes: [],
  };
  if (slash !== -1) m.portCount = parseCount(portSpec.slice(slash + 1), line, 'm= port count');
  if (!PROTO.test(proto)) fail(line, `m= proto ${quote(proto)} is not a token list`);
  for (const fmt of m.formats) if (!TOKEN.test(fmt)) fail(line, `m= format ${quote(fmt)} is not a token`);
  return m;
}

function decode(input: string | Buffer, maxLength: number): string {
  if (typeof input === 'string') {
    // Each character takes at least one byte: a cheap bound before counting.
    if (input.length > maxLength || Buffer.byteLength(input, 'utf8') > maxLength)
      fail(0, `description is larger than ${maxLength} bytes`);
    return input;
  }
  if (!(input instanceof Uint8Array)) fail(0, 'input is neither a string nor a Buffer');
  if (input.length > maxLength) fail(0, `description is ${input.length} bytes, more than ${maxLength}`);
  return Buffer.from(input.buffer, input.byteOffset, input.length).toString('utf8');
}

/** Splits into lines; CRLF or a bare LF ends a line (RFC 8866 §5 asks parsers to accept both). */
function splitLines(text: string): string[] {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.endsWith('\r')) lines[i] = l.slice(0, -1);
  }
  // Empty lines at the very end (a final line ending, or padding after the body) carry nothing.
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/**
 * Reads an SDP description (RFC 8866). Throws SdpError, and nothing else, for
 * any input that does not follow the grammar or exceeds a limit.
 */
export function parseSdp(input: string | Buffer, limits?: Partial<SdpLimits>): SessionDescription {
  const lim = resolveSdpLimits(limits);
  const lines = splitLines(decode(input, lim.maxLength));
  if (lines.length === 0) fail(0, 'description is empty');

  let sd: SessionDescription | undefined;
  let origin: Origin | undefined;
  let media: MediaDescription | undefined;
  let order = 0;
  let prevType = '';
  let seen = new Set<string>();
  let attributeCount = 0;
  const mediaLines: number[] = [];

  for (let n = 0; n < lines.length; n++) {
    const lineNo = n + 1;
    const text = lines[n]!;
    if (text === '') fail(lineNo, 'empty line');
    // RFC 8866 §5: text fields may hold any octet except NUL, CR and LF.
    if (text.includes('\r')) fail(lineNo, 'bare CR inside a line');
    if (text.includes('\0')) fail(lineNo, 'NUL character');
    const type = text[0]!;
    // RFC 8866 §5: <type>=<value>, the type one case-significant letter, no blank around '='.
    if (text.length < 2 || text[1] !== '=' || type < 'a' || type > 'z')
      fail(lineNo, `expected <type>=<value>, found ${quote(text)}`);
    const value = text.slice(2);
    // RFC 8866 §5: a parser MUST ignore or reject a whole description with a type
    // letter it does not understand; it is rejected so the caller can answer 488.
    if (!KNOWN_TYPES.includes(type)) fail(lineNo, `unknown line type '${type}='`);

    // RFC 8866 §5: v=, o= and s= open every description, in that order.
    if (n === 0) {
      if (type !== 'v') fail(lineNo, `expected v= first, found '${type}='`);
      if (value !== '0') fail(lineNo, `v= version ${quote(value)} is not 0`);
      prevType = type;
      continue;
    }
    if (n === 1) {
      if (type !== 'o') fail(lineNo, `expected o= after v=, found '${type}='`);
      origin = parseOrigin(value, lineNo);
      prevType = type;
      order = SESSION_ORDER.o!;
      continue;
    }
    if (n === 2) {
      if (type !== 's') fail(lineNo, `expected s= after o=, found '${type}='`);
      // RFC 8866 §5.3 wants a non-empty name (" " or "-"); an empty one is read liberally.
      sd = {
        version: 0,
        origin: origin!,
        sessionName: value,
        emails: [],
        phones: [],
        bandwidths: [],
        timing: [],
        attributes: [],
        media: [],
      };
      prevType = type;
      order = SESSION_ORDER.s!;
      continue;
    }
    const s = sd!;

    if (type === 'm') {
      if (s.timing.length === 0) fail(lineNo, `expected t= before 'm='`);
      if (s.media.length >= lim.maxMedia) fail(lineNo, `more than ${lim.maxMedia} m= sections`);
      media = parseMedia(value, lineNo);
      s.media.push(media);
      mediaLines.push(lineNo);
      order = MEDIA_ORDER.m!;
      seen = new Set();
      attributeCount = 0;
      prevType = type;
      continue;
    }

    const table = media === undefined ? SESSION_ORDER : MEDIA_ORDER;
    const rank = table[type];
    if (rank === undefined) fail(lineNo, `'${type}=' is not allowed in a media description`);
    // RFC 8866 §5: lines appear in exactly the order the overview gives.
    if (rank < order) fail(lineNo, `'${type}=' is out of order after '${prevType}='`);
    if ((media === undefined ? SESSION_ONCE : MEDIA_ONCE).has(type)) {
      if (seen.has(type))
        fail(
          lineNo,
          `more than one '${type}=' line in the ${media === undefined ? 'session' : 'media'} section`,
        );
      seen.add(type);
    }
    if (media === undefined && rank > SESSION_ORDER.t! && s.timing.length === 0)
      fail(lineNo, `expected t= before '${type}='`);
    order = rank;

    if (media === undefined) {
      switch (type) {
        case 'i':
          s.information = value;
          break;
        case 'u':
          s.uri = value;
          break;
        case 'e':
          s.emails.push(value);
          break;
        case 'p':
          s.phones.push(value);
          break;
        case 'c':
          // RFC 8866 §5.7: a single c= line at session level.
          s.connection = parseConnection(value, lineNo);
          break;
        case 'b':
          s.bandwidths.push(parseBandwidth(value, lineNo));
          break;
        case 't':
          if (seen.has('z')) fail(lineNo, `'t=' is out of order after 'z='`);
          s.timing.push(parseTiming(value, lineNo));
          break;
        case 'r':
          // RFC 8866 §9: repeat-fields follow their time-field.
          if (prevType !== 't' && prevType !== 'r') fail(lineNo, `'r=' must follow 't=' or 'r='`);
          checkRepeat(value, lineNo);
          s.timing[s.timing.length - 1]!.repeats.push(value);
          break;
        case 'z':
          checkZone(value, lineNo);
          s.timeZones = value;
          break;
        case 'k':
          s.key = value;
          break;
        case 'a':
          if (++attributeCount > lim.maxAttributes)
            fail(lineNo, `more than ${lim.maxAttributes} a= lines at session level`);
          s.attributes.push(parseAttribute(value, lineNo));
          break;
        default:
          // v= and o= have a lower rank than anything after s=: only a second s= gets here.
          fail(lineNo, `more than one '${type}=' line`);
      }
    } else {
      switch (type) {
        case 'i':
          media.information = value;
          break;
        case 'c':
          // RFC 8866 §5.7: several c= lines are allowed in a media description (layered multicast).
          media.connections.push(parseConnection(value, lineNo));
          break;
        case 'b':
          media.bandwidths.push(parseBandwidth(value, lineNo));
          break;
        case 'k':
          media.key = value;
          break;
        default:
          if (++attributeCount > lim.maxAttributes)
            fail(
              lineNo,
              `more than ${lim.maxAttributes} a= lines in the m= section of line ${mediaLines.at(-1)}`,
            );
          media.attributes.push(parseAttribute(value, lineNo));
      }
    }
    prevType = type;
  }

  if (sd === undefined)
    fail(0, `description ends after line ${lines.length}: ${lines.length === 1 ? 'o=' : 's='} missing`);
  if (sd.timing.length === 0) fail(0, `description ends after line ${lines.length} without a t= line`);
  // RFC 8866 §5.7: a c= line at session level, or in every media description.
  // A stream with port 0 is not used (RFC 3264 §5.1), so it needs no address.
  if (sd.connection === undefined) {
    sd.media.forEach((m, i) => {
      if (m.port !== 0 && m.connections.length === 0)
        fail(mediaLines[i]!, 'm= section has no c= line and there is no session-level c= line');
    });
  }
  return sd;
}

function formatConnection(c: Connection): string {
  let addr = c.address;
  if (c.ttl !== undefined) addr += `/${c.ttl}`;
  if (c.count !== undefined) addr += `/${c.count}`;
  return `${c.netType} ${c.addrType} ${addr}`;
}

/**
 * Writes a description with CRLF line ends in the line order of RFC 8866 §5.
 * A value holding CR, LF or NUL would break the line structure: SdpError.
 */
export function serializeSdp(sd: SessionDescription): string {
  const out: string[] = [];
  const put = (type: string, value: string): void => {
    if (/[\r\n\0]/.test(value))
      fail(0, `cannot write ${type}= value ${quote(value)}: it holds CR, LF or NUL`);
    out.push(`${type}=${value}`);
  };
  const o = sd.origin;
  put('v', String(sd.version));
  put('o', `${o.username} ${o.sessionId} ${o.sessionVersion} ${o.netType} ${o.addrType} ${o.address}`);
  // RFC 8866 §5.3: the s= line MUST NOT be empty; a single space stands for no name.
  put('s', sd.sessionName === '' ? ' ' : sd.sessionName);
  if (sd.information !== undefined) put('i', sd.information);
  if (sd.uri !== undefined) put('u', sd.uri);
  for (const e of sd.emails) put('e', e);
  for (const p of sd.phones) put('p', p);
  if (sd.connection !== undefined) put('c', formatConnection(sd.connection));
  for (const b of sd.bandwidths) put('b', `${b.type}:${b.value}`);
  // RFC 8866 §5: at least one time description; RFC 3264 §5: "0 0" for sessions set up by SIP.
  if (sd.timing.length === 0) put('t', '0 0');
  for (const t of sd.timing) {
    put('t', `${t.start} ${t.stop}`);
    for (const r of t.repeats) put('r', r);
  }
  if (sd.timeZones !== undefined) put('z', sd.timeZones);
  // RFC 8866 §5.12: k= is obsolete and MUST NOT be sent.
  for (const a of sd.attributes) put('a', a.value === undefined ? a.name : `${a.name}:${a.value}`);
  for (const m of sd.media) {
    const port = m.portCount === undefined ? String(m.port) : `${m.port}/${m.portCount}`;
    put('m', `${m.type} ${port} ${m.proto} ${m.formats.join(' ')}`);
    if (m.information !== undefined) put('i', m.information);
    for (const c of m.connections) put('c', formatConnection(c));
    for (const b of m.bandwidths) put('b', `${b.type}:${b.value}`);
    for (const a of m.attributes) put('a', a.value === undefined ? a.name : `${a.name}:${a.value}`);
  }
  return `${out.join('\r\n')}\r\n`;
}

function directionIn(attributes: readonly Attribute[]): Direction | undefined {
  for (const a of attributes) if (a.value === undefined && DIRECTIONS.has(a.name)) return a.name as Direction;
  return undefined;
}

/**
 * The direction of a media stream: its own attribute, else the session-level
 * one, else sendrecv (RFC 8866 §6.7, RFC 3264 §5.1).
 */
export function direction(sd: SessionDescription, m: MediaDescription): Direction {
  return directionIn(m.attributes) ?? directionIn(sd.attributes) ?? 'sendrecv';
}

export interface RtpMapEntry {
  encoding: string;
  clockRate: number;
  channels?: number;
}

/** RFC 3551 §6, Table 4: static audio payload types. */
const STATIC_PAYLOAD_TYPES: ReadonlyMap<string, RtpMapEntry> = new Map([
  ['0', { encoding: 'PCMU', clockRate: 8000 }],
  ['3', { encoding: 'GSM', clockRate: 8000 }],
  ['4', { encoding: 'G723', clockRate: 8000 }],
  ['8', { encoding: 'PCMA', clockRate: 8000 }],
  ['9', { encoding: 'G722', clockRate: 8000 }],
  ['18', { encoding: 'G729', clockRate: 8000 }],
]);

/** The static payload type RFC 3551 gives a codec, if any. */
export function staticPayloadType(name: string, clockRate: number, channels?: number): number | undefined {
  if ((channels ?? 1) !== 1) return undefined;
  for (const [pt, e] of STATIC_PAYLOAD_TYPES)
    if (e.encoding.toLowerCase() === name.toLowerCase() && e.clockRate === clockRate) return Number(pt);
  return undefined;
}

function parseRtpMap(value: string): [string, RtpMapEntry] | undefined {
  // RFC 8866 §6.6: <payload type> <encoding name>/<clock rate>[/<encoding parameters>]
  const m = /^([0-9]{1,3}) +([^ /]+)\/([0-9]{1,10})(?:\/([0-9]{1,5}))? *$/.exec(value);
  if (m === null || Number(m[1]) > 127 || !TOKEN.test(m[2]!)) return undefined;
  const entry: RtpMapEntry = { encoding: m[2]!, clockRate: Number(m[3]) };
  if (m[4] !== undefined) entry.channels = Number(m[4]);
  return [String(Number(m[1])), entry];
}

/**
 * Payload type to encoding for the formats of an RTP m= line, in m= order:
 * from a=rtpmap, else the RFC 3551 static assignment (RFC 3264 §5.1: without
 * rtpmap the profile's default mapping applies). Formats with neither are
 * left out; so are malformed rtpmap lines (RFC 8866 §5.13 ignores what it
 * does not understand).
 */
export function rtpMap(m: MediaDescription): Map<string, RtpMapEntry> {
  const declared = new Map<string, RtpMapEntry>();
  for (const a of m.attributes) {
    if (a.name !== 'rtpmap' || a.value === undefined) continue;
    const parsed = parseRtpMap(a.value);
    // RFC 8866 §6.6: up to one rtpmap per format; the first one counts.
    if (parsed !== undefined && !declared.has(parsed[0])) declared.set(parsed[0], parsed[1]);
  }
  const rtp = m.proto.toUpperCase().startsWith('RTP/');
  const out = new Map<string, RtpMapEntry>();
  for (const fmt of m.formats) {
    if (out.has(fmt)) continue;
    const entry = declared.get(fmt) ?? (rtp ? STATIC_PAYLOAD_TYPES.get(fmt) : undefined);
    if (entry !== undefined) out.set(fmt, { ...entry });
  }
  return out;
}

/** The a=fmtp parameters of one format (RFC 8866 §6.15), or undefined when there are none. */
export function fmtp(m: MediaDescription, pt: string): string | undefined {
  for (const a of m.attributes) {
    if (a.name !== 'fmtp' || a.value === undefined) continue;
    const space = a.value.indexOf(' ');
    const fmt = space === -1 ? a.value : a.value.slice(0, space);
    if (fmt === pt) return space === -1 ? '' : a.value.slice(space + 1).trimStart();
  }
  return undefined;
}

/** The connection of a media stream: its first c= line, else the session-level one (RFC 8866 §5.7). */
export function mediaConnection(sd: SessionDescription, m: MediaDescription): Connection | undefined {
  return m.connections[0] ?? sd.connection;
}
