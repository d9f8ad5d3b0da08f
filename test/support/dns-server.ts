// A tiny authoritative DNS server for tests (RFC 1035 wire format), answering
// A, AAAA, SRV and NAPTR questions from a table, on a loopback UDP port.
import { createSocket, type Socket } from 'node:dgram';

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
  readonly records: DnsRecord[];
  /** Questions received, as "TYPE name". */
  readonly queries: string[] = [];

  constructor(records: DnsRecord[]) {
    this.records = records;
  }

  async start(): Promise<string> {
    const socket = createSocket('udp4');
    this.socket = socket;
    socket.on('message', (msg, rinfo) => {
      const id = msg.readUInt16BE(0);
      const [qname, end] = readName(msg, 12);
      const qtype = msg.readUInt16BE(end);
      const question = msg.subarray(12, end + 4);
      const typeName =
        (Object.keys(TYPES) as Array<DnsRecord['type']>).find((t) => TYPES[t] === qtype) ?? String(qtype);
      this.queries.push(`${typeName} ${qname}`);
      const answers = this.records.filter(
        (r) => TYPES[r.type] === qtype && r.name.replace(/\.$/, '').toLowerCase() === qname,
      );
      const header = Buffer.alloc(12);
      header.writeUInt16BE(id, 0);
      const nameExists = this.records.some((r) => r.name.replace(/\.$/, '').toLowerCase() === qname);
      // QR, AA, RD copied, RA; RCODE 3 (NXDOMAIN) when the name is unknown.
      header.writeUInt16BE(0x8400 | (msg.readUInt16BE(2) & 0x0100) | 0x0080 | (nameExists ? 0 : 3), 2);
      header.writeUInt16BE(1, 4);
      header.writeUInt16BE(answers.length, 6);
      const rrs = answers.map((r) => {
        const data = rdata(r);
        const fixed = Buffer.alloc(10);
        fixed.writeUInt16BE(TYPES[r.type], 0);
        fixed.writeUInt16BE(1, 2);
        fixed.writeUInt32BE(r.ttl ?? 300, 4);
        fixed.writeUInt16BE(data.length, 8);
        return Buffer.concat([encodeName(r.name), fixed, data]);
      });
      socket.send(Buffer.concat([header, question, ...rrs]), rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    return `127.0.0.1:${socket.address().port}`;
  }

  /** "127.0.0.1:port" once started. */
  address(): string {
    const a = this.socket?.address();
    if (a === undefined) throw new Error('not started');
    return `${a.address}:${a.port}`;
  }

  close(): void {
    this.socket?.close();
  }
}
