import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { getServers } from 'node:dns';
import { isIP, connect as netConnect } from 'node:net';

/**
 * A small DNS stub client (RFC 1035) for the records SIP server location
 * needs: A, AAAA, SRV (RFC 2782) and NAPTR (RFC 3403). Unlike node:dns it
 * reports every record's TTL, so answers can be cached for exactly as long as
 * their zone allows (RFC 3263 §4: "the client SHOULD cache results").
 * Queries go over UDP; a truncated answer is asked again over TCP.
 */

export type DnsType = 'A' | 'AAAA' | 'SRV' | 'NAPTR';

export interface SrvData {
  readonly priority: number;
  readonly weight: number;
  readonly port: number;
  readonly name: string;
}

export interface NaptrData {
  readonly order: number;
  readonly preference: number;
  readonly flags: string;
  readonly service: string;
  readonly regexp: string;
  readonly replacement: string;
}

export interface DnsAnswer<T> {
  readonly records: T[];
  /** Seconds the answer may be cached: the smallest record TTL, or the negative TTL (RFC 2308) when empty. */
  readonly ttl: number;
}

export interface DnsClientOptions {
  /** Servers as "ip" or "ip:port" ("[ipv6]:port"); default: the system's (node:dns getServers()). */
  servers?: readonly string[];
  /** Time to wait for one answer, ms (default 2000). */
  timeoutMs?: number;
  /** Attempts per server (default 2). */
  tries?: number;
}

const TYPE_CODES: Record<DnsType, number> = { A: 1, AAAA: 28, SRV: 33, NAPTR: 35 };
const SOA = 6;
/** Cached for this long when an empty answer carries no SOA (seconds). */
const DEFAULT_NEGATIVE_TTL = 30;
/** Most answer records read from one response. */
const MAX_RECORDS = 256;

type RecordData<T extends DnsType> = T extends 'A' | 'AAAA' ? string : T extends 'SRV' ? SrvData : NaptrData;

export class DnsError extends Error {
  /** 'SERVFAIL', 'REFUSED', 'TIMEOUT', 'FORMERR', 'BADRESPONSE', ... */
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'DnsError';
    this.code = code;
  }
}

interface Server {
  readonly address: string;
  readonly port: number;
}

function parseServer(text: string): Server {
  if (isIP(text) !== 0) return { address: text, port: 53 };
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracket) return { address: bracket[1] as string, port: bracket[2] ? Number(bracket[2]) : 53 };
  const colon = text.lastIndexOf(':');
  if (colon > 0 && isIP(text.slice(0, colon)) === 4)
    return { address: text.slice(0, colon), port: Number(text.slice(colon + 1)) };
  throw new RangeError(`'${text}' is not a DNS server address (ip, ip:port or [ipv6]:port)`);
}

export class DnsClient {
  private readonly servers: readonly Server[];
  private readonly timeoutMs: number;
  private readonly tries: number;

  constructor(options: DnsClientOptions = {}) {
    const list = options.servers !== undefined && options.servers.length > 0 ? options.servers : getServers();
    this.servers = (list.length > 0 ? list : ['127.0.0.1']).map(parseServer);
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.tries = options.tries ?? 2;
  }

  /**
   * Asks each server in turn until one answers. NXDOMAIN and NODATA are
   * empty answers, not errors; SERVFAIL, REFUSED and silence move on to the
   * next server, and fail with DnsError when none is left.
   */
  async query<T extends DnsType>(name: string, type: T): Promise<DnsAnswer<RecordData<T>>> {
    const question = encodeQuery(name, TYPE_CODES[type]);
    let last: DnsError = new DnsError('TIMEOUT', `no DNS server answered for ${type} ${name}`);
    for (let attempt = 0; attempt < this.tries; attempt++) {
      for (const server of this.servers) {
        try {
          let reply = await this.udp(question, server);
          // RFC 1035 §4.2.1: a truncated UDP answer is asked again over TCP.
          if (((reply[2] as number) & 0x02) !== 0) reply = await this.tcp(question, server);
          return parseAnswer(reply, question, TYPE_CODES[type]) as DnsAnswer<RecordData<T>>;
        } catch (e) {
          if (e instanceof DnsError) last = e;
          else last = new DnsError('NETWORK', (e as Error).message);
        }
      }
    }
    throw last;
  }

  private udp(question: Buffer, server: Server): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const socket = createSocket(isIP(server.address) === 6 ? 'udp6' : 'udp4');
      const timer = setTimeout(
        () => finish(new DnsError('TIMEOUT', `${server.address} did not answer`)),
        this.timeoutMs,
      );
      const finish = (err: Error | null, reply?: Buffer): void => {
        clearTimeout(timer);
        socket.close();
        if (err) reject(err);
        else resolve(reply as Buffer);
      };
      socket.on('error', (e) => finish(e));
      socket.on('message', (msg, rinfo) => {
        // Only the server asked, with the question's ID (spoofed answers are ignored).
        if (rinfo.port !== server.port || msg.length < 12 || msg.readUInt16BE(0) !== question.readUInt16BE(0))
          return;
        finish(null, msg);
      });
      socket.send(question, server.port, server.address, (e) => {
        if (e) finish(e);
      });
    });
  }

  private tcp(question: Buffer, server: Server): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host: server.address, port: server.port });
      const chunks: Buffer[] = [];
      let size = 0;
      const timer = setTimeout(
        () => finish(new DnsError('TIMEOUT', `${server.address} did not answer over TCP`)),
        this.timeoutMs,
      );
      const finish = (err: Error | null, reply?: Buffer): void => {
        clearTimeout(timer);
        socket.destroy();
        if (err) reject(err);
        else resolve(reply as Buffer);
      };
      socket.on('error', (e) => finish(e));
      socket.on('connect', () => {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(question.length);
        socket.write(Buffer.concat([len, question]));
      });
      socket.on('data', (d) => {
        chunks.push(d);
        size += d.length;
        if (size < 2) return;
        const all = Buffer.concat(chunks);
        const want = all.readUInt16BE(0);
        if (all.length >= want + 2) finish(null, all.subarray(2, 2 + want));
      });
      socket.on('end', () =>
        finish(new DnsError('BADRESPONSE', `${server.address} closed the TCP connection early`)),
      );
    });
  }
}

function encodeName(name: string): Buffer {
  const labels = name.replace(/\.$/, '').split('.');
  const parts: Buffer[] = [];
  for (const label of labels) {
    if (label.length === 0) throw new DnsError('BADNAME', `empty label in '${name}'`);
    const b = Buffer.from(label, 'latin1');
    if (b.length > 63) throw new DnsError('BADNAME', `label longer than 63 octets in '${name}'`);
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  const out = Buffer.concat(parts);
  if (out.length > 255) throw new DnsError('BADNAME', `name longer than 255 octets: '${name}'`);
  return out;
}

function encodeQuery(name: string, type: number): Buffer {
  const header = Buffer.alloc(12);
  randomBytes(2).copy(header, 0);
  header.writeUInt16BE(0x0100, 2); // RD: recursion desired
  header.writeUInt16BE(1, 4); // QDCOUNT
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(1, 2); // class IN
  return Buffer.concat([header, encodeName(name), tail]);
}

/** Reads a possibly compressed name (RFC 1035 §4.1.4) at `offset`; returns it and where the field ends. */
function readName(msg: Buffer, offset: number): [string, number] {
  const labels: string[] = [];
  let i = offset;
  let end = -1;
  let jumps = 0;
  for (;;) {
    if (i >= msg.length) throw new DnsError('BADRESPONSE', 'name runs past the end of the message');
    const len = msg[i] as number;
    if (len === 0) {
      if (end === -1) end = i + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (i + 1 >= msg.length) throw new DnsError('BADRESPONSE', 'truncated compression pointer');
      if (++jumps > 32) throw new DnsError('BADRESPONSE', 'compression pointer loop');
      if (end === -1) end = i + 2;
      i = ((len & 0x3f) << 8) | (msg[i + 1] as number);
      continue;
    }
    if ((len & 0xc0) !== 0) throw new DnsError('BADRESPONSE', 'unknown label type');
    if (i + 1 + len > msg.length) throw new DnsError('BADRESPONSE', 'label runs past the end of the message');
    labels.push(msg.toString('latin1', i + 1, i + 1 + len));
    i += 1 + len;
  }
  return [labels.join('.'), end];
}

function readString(msg: Buffer, offset: number, end: number): [string, number] {
  const len = msg[offset] as number;
  if (offset + 1 + len > end) throw new DnsError('BADRESPONSE', 'character-string runs past its record');
  return [msg.toString('latin1', offset + 1, offset + 1 + len), offset + 1 + len];
}

function formatIpv6(b: Buffer): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i));
  // RFC 5952: the longest run of two or more zero groups becomes "::".
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

function parseAnswer(msg: Buffer, question: Buffer, type: number): DnsAnswer<unknown> {
  if (msg.length < 12) throw new DnsError('BADRESPONSE', 'DNS answer shorter than its header');
  if (msg.readUInt16BE(0) !== question.readUInt16BE(0))
    throw new DnsError('BADRESPONSE', 'DNS answer ID mismatch');
  const flags = msg.readUInt16BE(2);
  if ((flags & 0x8000) === 0) throw new DnsError('BADRESPONSE', 'DNS message is not an answer');
  const rcode = flags & 0x000f;
  if (rcode === 1) throw new DnsError('FORMERR', 'the DNS server could not read the question');
  if (rcode === 2) throw new DnsError('SERVFAIL', 'the DNS server failed');
  if (rcode === 5) throw new DnsError('REFUSED', 'the DNS server refused the question');
  if (rcode !== 0 && rcode !== 3) throw new DnsError('BADRESPONSE', `DNS error code ${rcode}`);
  const qd = msg.readUInt16BE(4);
  const an = msg.readUInt16BE(6);
  const ns = msg.readUInt16BE(8);
  let at = 12;
  for (let q = 0; q < qd; q++) at = readName(msg, at)[1] + 4;
  const records: unknown[] = [];
  let ttl = Number.POSITIVE_INFINITY;
  let negativeTtl = DEFAULT_NEGATIVE_TTL;
  const total = Math.min(an + ns, MAX_RECORDS);
  for (let r = 0; r < total; r++) {
    const [, nameEnd] = readName(msg, at);
    if (nameEnd + 10 > msg.length) throw new DnsError('BADRESPONSE', 'record header runs past the end');
    const rtype = msg.readUInt16BE(nameEnd);
    const rttl = msg.readUInt32BE(nameEnd + 4);
    const rdlen = msg.readUInt16BE(nameEnd + 8);
    const start = nameEnd + 10;
    const end = start + rdlen;
    if (end > msg.length) throw new DnsError('BADRESPONSE', 'record data runs past the end');
    if (r >= an) {
      // Authority section: an SOA gives the negative-caching TTL (RFC 2308 §5).
      if (rtype === SOA) {
        const [, m1] = readName(msg, start);
        const [, m2] = readName(msg, m1);
        if (m2 + 20 <= end) negativeTtl = Math.min(rttl, msg.readUInt32BE(m2 + 16));
      }
    } else if (rtype === type) {
      records.push(readData(msg, type, start, end));
      ttl = Math.min(ttl, rttl);
    }
    at = end;
  }
  return { records, ttl: records.length > 0 ? ttl : negativeTtl };
}

function readData(msg: Buffer, type: number, start: number, end: number): unknown {
  switch (type) {
    case 1:
      if (end - start !== 4) throw new DnsError('BADRESPONSE', 'A record of the wrong size');
      return `${msg[start]}.${msg[start + 1]}.${msg[start + 2]}.${msg[start + 3]}`;
    case 28:
      if (end - start !== 16) throw new DnsError('BADRESPONSE', 'AAAA record of the wrong size');
      return formatIpv6(msg.subarray(start, end));
    case 33: {
      if (end - start < 7) throw new DnsError('BADRESPONSE', 'SRV record too short');
      const [name] = readName(msg, start + 6);
      return {
        priority: msg.readUInt16BE(start),
        weight: msg.readUInt16BE(start + 2),
        port: msg.readUInt16BE(start + 4),
        name,
      } satisfies SrvData;
    }
    default: {
      if (end - start < 7) throw new DnsError('BADRESPONSE', 'NAPTR record too short');
      const order = msg.readUInt16BE(start);
      const preference = msg.readUInt16BE(start + 2);
      const [flags, a] = readString(msg, start + 4, end);
      const [service, b] = readString(msg, a, end);
      const [regexp, c] = readString(msg, b, end);
      const [replacement] = readName(msg, c);
      return { order, preference, flags, service, regexp, replacement } satisfies NaptrData;
    }
  }
}
