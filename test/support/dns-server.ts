// A tiny authoritative DNS server for tests (RFC 1035 wire format), answering
// A, AAAA, SRV and NAPTR questions from a table, on a loopback UDP port and
// the same TCP port. A UDP answer over 512 bytes is sent truncated (TC) with
// no records, as real servers do; an unknown name gets NXDOMAIN with an SOA
// whose minimum is `negativeTtl`. `mode` makes it fail on purpose.
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';

export type DnsRecord =
  | { type: 'A'; name: string; address: string; ttl?: number }
  | { type: 'AAAA'; name: string; address: string; ttl?: number }
  | {
      type: 'SRV';
      name: string;
      priority: number;
      weight: number;
      port: number;
      target: string;
      ttl?: number;
    }
  | {
      type: 'NAPTR';
      name: string;
      order: number;
      preference: number;
      flags: string;
      service: string;
      regexp: string;
      replacement: string;
      ttl?: number;
    };

const TYPES: Record<DnsRecord['type'], number> = { A: 1, AAAA: 28, SRV: 33, NAPTR: 35 };

function encodeName(name: string): Buffer {
  const parts = name.replace(/\.$/, '').split('.').filter(Boolean);
  return Buffer.concat([
    ...parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p)])),
    Buffer.from([0]),
  ]);
}

function readName(buf: Buffer, offset: number): [string, number] {
  const labels: string[] = [];
  let i = offset;
  while (buf[i] !== 0) {
    const len = buf[i] as number;
    labels.push(buf.toString('latin1', i + 1, i + 1 + len));
    i += len + 1;
  }
  return [labels.join('.').toLowerCase(), i + 1];
}

function rdata(r: DnsRecord): Buffer {
  switch (r.type) {
    case 'A':
      return Buffer.from(r.address.split('.').map(Number));
    case 'AAAA': {
      const [head, tail] = r.address.includes('::') ? r.address.split('::') : [r.address, undefined];
      const h = head ? head.split(':') : [];
      const t = tail ? tail.split(':') : [];
      const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
      const b = Buffer.alloc(16);
      for (const [k, g] of groups.entries()) b.writeUInt16BE(Number.parseInt(g || '0', 16), k * 2);
      return b;
    }
    case 'SRV': {
      const b = Buffer.alloc(6);
      b.writeUInt16BE(r.priority, 0);
      b.writeUInt16BE(r.weight, 2);
      b.writeUInt16BE(r.port, 4);
      return Buffer.concat([b, encodeName(r.target)]);
    }
    case 'NAPTR': {
      const b = Buffer.alloc(4);
      b.writeUInt16BE(r.order, 0);
      b.writeUInt16BE(r.preference, 2);
      const str = (s: string) => Buffer.concat([Buffer.from([s.length]), Buffer.from(s)]);
      return Buffer.concat([b, str(r.flags), str(r.service), str(r.regexp), encodeName(r.replacement)]);
    }
  }
}

export class TestDnsServer {
  private socket: Socket | undefined;
  private tcp: Server | undefined;
  readonly records: DnsRecord[];
  /** Questions received, as "TYPE name" ("TCP TYPE name" over TCP). */
  readonly queries: string[] = [];
  /** 'answer' (default), 'servfail', or 'silent' (never answers). */
  mode: 'answer' | 'servfail' | 'silent' = 'answer';
  /** SOA minimum for negative answers, seconds. */
  negativeTtl = 60;

  constructor(records: DnsRecord[]) {
    this.records = records;
  }

  /** The answer to one query message; `udp` limits it to 512 bytes. */
  private answer(msg: Buffer, udp: boolean): Buffer {
    const id = msg.readUInt16BE(0);
    const [qname, end] = readName(msg, 12);
    const qtype = msg.readUInt16BE(end);
    const question = msg.subarray(12, end + 4);
    const typeName =
      (Object.keys(TYPES) as Array<DnsRecord['type']>).find((t) => TYPES[t] === qtype) ?? String(qtype);
    this.queries.push(`${udp ? '' : 'TCP '}${typeName} ${qname}`);
    const answers = this.records.filter(
      (r) => TYPES[r.type] === qtype && r.name.replace(/\.$/, '').toLowerCase() === qname,
    );
    const nameExists = this.records.some((r) => r.name.replace(/\.$/, '').toLowerCase() === qname);
    const rcode = this.mode === 'servfail' ? 2 : nameExists ? 0 : 3;
    const rrs = rcode === 0 ? answers.map((r) => rr(r.name, TYPES[r.type], r.ttl ?? 300, rdata(r))) : [];
    const authority = rcode === 3 || (rcode === 0 && rrs.length === 0) ? [soa(qname, this.negativeTtl)] : [];
    const header = Buffer.alloc(12);
    header.writeUInt16BE(id, 0);
    header.writeUInt16BE(1, 4);
    let body = Buffer.concat([question, ...rrs, ...authority]);
    let flags = 0x8400 | (msg.readUInt16BE(2) & 0x0100) | 0x0080 | rcode;
    if (udp && 12 + body.length > 512) {
      flags |= 0x0200; // TC: ask again over TCP
      body = Buffer.from(question);
      header.writeUInt16BE(0, 6);
      header.writeUInt16BE(0, 8);
    } else {
      header.writeUInt16BE(rrs.length, 6);
      header.writeUInt16BE(authority.length, 8);
    }
    header.writeUInt16BE(flags, 2);
    return Buffer.concat([header, body]);
  }

  /**
   * Listens on UDP and TCP 127.0.0.1 on one port and resolves with
   * "127.0.0.1:port". The port is the one the kernel gives the UDP socket;
   * the same number may be taken for TCP (as the local port of a connection
   * made meanwhile), and then both are let go and another is tried.
   */
  async start(): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      const socket = createSocket('udp4');
      socket.on('message', (msg, rinfo) => {
        if (this.mode === 'silent') return;
        socket.send(this.answer(msg, true), rinfo.port, rinfo.address);
      });
      socket.on('error', () => {});
      await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
      const port = socket.address().port;
      const tcp = this.tcpServer();
      const listened = await new Promise<Error | undefined>((r) => {
        tcp.once('error', r);
        tcp.listen(port, '127.0.0.1', () => {
          tcp.off('error', r);
          r(undefined);
        });
      });
      if (listened === undefined) {
        tcp.on('error', () => {});
        this.socket = socket;
        this.tcp = tcp;
        return `127.0.0.1:${port}`;
      }
      socket.close();
      if (attempt >= 20) throw listened;
    }
  }

  private tcpServer(): Server {
    return createServer((c) => {
      let buf = Buffer.alloc(0);
      c.on('error', () => {});
      c.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
        if (this.mode === 'silent') return;
        const reply = this.answer(buf.subarray(2, 2 + buf.readUInt16BE(0)), false);
        const len = Buffer.alloc(2);
        len.writeUInt16BE(reply.length);
        c.end(Buffer.concat([len, reply]));
      });
    });
  }

  /** "127.0.0.1:port" once started. */
  address(): string {
    const a = this.socket?.address();
    if (a === undefined) throw new Error('not started');
    return `${a.address}:${a.port}`;
  }

  close(): void {
    this.socket?.close();
    this.tcp?.close();
  }
}

function rr(name: string, type: number, ttl: number, data: Buffer): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(type, 0);
  fixed.writeUInt16BE(1, 2);
  fixed.writeUInt32BE(ttl, 4);
  fixed.writeUInt16BE(data.length, 8);
  return Buffer.concat([encodeName(name), fixed, data]);
}

/** An SOA for the zone of `name` whose TTL and minimum are `ttl` (RFC 2308 negative caching). */
function soa(name: string, ttl: number): Buffer {
  const zone = name.split('.').slice(-2).join('.');
  const nums = Buffer.alloc(20);
  nums.writeUInt32BE(1, 0);
  nums.writeUInt32BE(3600, 4);
  nums.writeUInt32BE(600, 8);
  nums.writeUInt32BE(86400, 12);
  nums.writeUInt32BE(ttl, 16);
  return rr(zone, 6, ttl, Buffer.concat([encodeName(`ns.${zone}`), encodeName(`admin.${zone}`), nums]));
}
