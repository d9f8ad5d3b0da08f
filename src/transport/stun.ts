/**
 * The limited STUN server RFC 5626 §8 asks of every SIP server on its UDP
 * ports: a Binding Request (RFC 5389 §6, §7.3) sent over a SIP flow as a
 * keep-alive gets a Binding Response carrying XOR-MAPPED-ADDRESS, the
 * address and port the request came from, so that the client sees its NAT
 * binding is alive and unchanged (RFC 5626 §4.4.2). No credentials are used;
 * a request with an unknown comprehension-required attribute gets the error
 * response 420 (RFC 5389 §7.3.1). Anything else that is not SIP is dropped.
 */
import { isIP } from 'node:net';

/** RFC 5389 §6: the fixed value in bytes 4-7 of every message. */
const MAGIC_COOKIE = 0x2112a442;
const HEADER = 20;
/** Message types (RFC 5389 §6, §18.1). */
const TYPE = { bindingRequest: 0x0001, bindingSuccess: 0x0101, bindingError: 0x0111 } as const;
/** Attribute types (RFC 5389 §18.2, RFC 3489 §11.2). */
const ATTR = {
  mappedAddress: 0x0001,
  changeRequest: 0x0003,
  errorCode: 0x0009,
  unknownAttributes: 0x000a,
  xorMappedAddress: 0x0020,
  fingerprint: 0x8028,
} as const;
/** "STUN" (RFC 5389 §15.5), XORed into the CRC of FINGERPRINT. */
const FINGERPRINT_XOR = 0x5354554e;
/**
 * Comprehension-required attributes RFC 5389 §18.2 and RFC 3489 §11.2 define
 * (RESPONSE-ADDRESS, CHANGE-REQUEST, SOURCE-ADDRESS, CHANGED-ADDRESS,
 * PASSWORD and REFLECTED-FROM among them); the rest are unknown here. None
 * changes the answer: it goes to the source of the request.
 */
const KNOWN_REQUIRED = new Set([
  0x0001, 0x0002, 0x0003, 0x0004, 0x0005, 0x0006, 0x0007, 0x0008, 0x0009, 0x000a, 0x000b, 0x0014, 0x0015,
  0x0020,
]);

/**
 * True when a datagram starts as a STUN request or response does (RFC 5389
 * §6: the top bits of the type zero, the method Binding's first byte 0 or 1),
 * unlike any SIP message, including one after the line breaks RFC 3261 §7.5
 * lets come first.
 */
export function looksLikeStun(data: Buffer): boolean {
  return data.length > 0 && (data[0] as number) <= 0x01;
}

/**
 * The answer to a datagram that is a well-formed STUN Binding Request from
 * `address`:`port`: a Binding Response (or a 420 error response); null for
 * anything else, which is to be dropped. A request without the magic cookie
 * comes from an RFC 3489 client and gets MAPPED-ADDRESS instead (RFC 5389
 * §12.2); one asking for an answer from another address or port
 * (CHANGE-REQUEST) gets none, as this server has no other.
 */
export function stunBindingAnswer(data: Buffer, address: string, port: number): Buffer | null {
  if (data.length < HEADER || (data[0] as number) >= 0x40) return null;
  if (data.readUInt16BE(0) !== TYPE.bindingRequest) return null;
  const length = data.readUInt16BE(2);
  if (length % 4 !== 0 || HEADER + length !== data.length) return null;
  const classic = data.readUInt32BE(4) !== MAGIC_COOKIE;
  const family = isIP(address);
  if (family === 0) return null;
  // The attributes (RFC 5389 §15): type, length, value padded to 4 bytes; FINGERPRINT last.
  const unknown: number[] = [];
  let fingerprint = false;
  for (let at = HEADER; at < data.length; ) {
    if (at + 4 > data.length) return null;
    const type = data.readUInt16BE(at);
    const len = data.readUInt16BE(at + 2);
    const next = at + 4 + Math.ceil(len / 4) * 4;
    if (next > data.length) return null;
    if (type === ATTR.changeRequest) {
      if (len !== 4) return null;
      if ((data.readUInt32BE(at + 4) & 0x06) !== 0) return null;
    } else if (type === ATTR.fingerprint && !classic) {
      if (len !== 4 || next !== data.length) return null;
      if (data.readUInt32BE(at + 4) !== (crc32(data, 0, at) ^ FINGERPRINT_XOR) >>> 0) return null;
      fingerprint = true;
    } else if (type < 0x8000 && !KNOWN_REQUIRED.has(type) && unknown.length < 16) {
      unknown.push(type);
    }
    at = next;
  }
  // The transaction ID: 96 bits after the cookie, or RFC 3489's 128 bits in their place.
  const tid = data.subarray(classic ? 4 : 8, 20);
  if (unknown.length > 0) {
    // RFC 5389 §15.6, §15.9: 420 Unknown Attribute, with the types it did not understand.
    const reason = Buffer.from('Unknown Attribute', 'latin1');
    const errorValue = Buffer.alloc(4 + reason.length);
    errorValue.writeUInt8(4, 2);
    errorValue.writeUInt8(20, 3);
    reason.copy(errorValue, 4);
    const list = Buffer.alloc(unknown.length * 2);
    for (let i = 0; i < unknown.length; i++) list.writeUInt16BE(unknown[i] as number, i * 2);
    return message(TYPE.bindingError, tid, [
      [ATTR.errorCode, errorValue],
      [ATTR.unknownAttributes, list],
    ]);
  }
  const mapped: [number, Buffer] = classic
    ? [ATTR.mappedAddress, addressValue(address, family, port, null)]
    : [ATTR.xorMappedAddress, addressValue(address, family, port, tid)];
  return message(TYPE.bindingSuccess, tid, [mapped], fingerprint);
}

/**
 * MAPPED-ADDRESS (RFC 5389 §15.1, RFC 3489 §11.2.1) when `tid` is null:
 * family, port and address as they are; else XOR-MAPPED-ADDRESS (§15.2): the
 * port XOR the cookie's top half, the address XOR the cookie and, for IPv6,
 * the transaction ID.
 */
function addressValue(address: string, family: number, port: number, tid: Buffer | null): Buffer {
  const bytes = family === 4 ? ipv4Bytes(address) : ipv6Bytes(address);
  const value = Buffer.alloc(4 + bytes.length);
  value.writeUInt8(family === 4 ? 0x01 : 0x02, 1);
  const mask = Buffer.alloc(16);
  if (tid !== null) {
    mask.writeUInt32BE(MAGIC_COOKIE, 0);
    tid.copy(mask, 4);
  }
  value.writeUInt16BE(port ^ mask.readUInt16BE(0), 2);
  for (let i = 0; i < bytes.length; i++) value[4 + i] = (bytes[i] as number) ^ (mask[i] as number);
  return value;
}

function ipv4Bytes(address: string): number[] {
  return address.split('.').map(Number);
}

function ipv6Bytes(address: string): number[] {
  // Eight groups of 16 bits: "::" expanded, an embedded IPv4 tail taken as the last two.
  let text = address.split('%')[0] as string;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    const v4 = ipv4Bytes(text.slice(lastColon + 1)) as [number, number, number, number];
    tail = [(v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]];
    text = text.slice(0, lastColon + 1);
    if (!text.endsWith('::')) text = text.slice(0, -1);
  }
  const [head = '', rest] = text.split('::');
  const groups = (s: string) => (s === '' ? [] : s.split(':').map((g) => Number.parseInt(g, 16)));
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const all = [
    ...left,
    ...new Array<number>(8 - left.length - right.length - tail.length).fill(0),
    ...right,
    ...tail,
  ];
  const out: number[] = [];
  for (const g of all) out.push((g >> 8) & 0xff, g & 0xff);
  return out;
}

/** A STUN message: header, the attributes, and FINGERPRINT when asked for. */
function message(type: number, tid: Buffer, attrs: Array<[number, Buffer]>, fingerprint = false): Buffer {
  const size = attrs.reduce((n, [, v]) => n + 4 + Math.ceil(v.length / 4) * 4, 0) + (fingerprint ? 8 : 0);
  const out = Buffer.alloc(HEADER + size);
  out.writeUInt16BE(type, 0);
  out.writeUInt16BE(size, 2);
  if (tid.length === 12) out.writeUInt32BE(MAGIC_COOKIE, 4);
  tid.copy(out, 20 - tid.length);
  let at = HEADER;
  for (const [t, v] of attrs) {
    out.writeUInt16BE(t, at);
    out.writeUInt16BE(v.length, at + 2);
    v.copy(out, at + 4);
    at += 4 + Math.ceil(v.length / 4) * 4;
  }
  if (fingerprint) {
    out.writeUInt16BE(ATTR.fingerprint, at);
    out.writeUInt16BE(4, at + 2);
    out.writeUInt32BE((crc32(out, 0, at) ^ FINGERPRINT_XOR) >>> 0, at + 4);
  }
  return out;
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (ISO HDLC, as zlib computes it) of data[start, end). */
export function crc32(data: Buffer, start: number, end: number): number {
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = start; i < end; i++)
    crc = (crcTable[(crc ^ (data[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
