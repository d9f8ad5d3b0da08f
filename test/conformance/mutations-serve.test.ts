import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TransportAddress } from '../../src/index.js';
import { SipResolver } from '../../src/resolver/resolver.js';
import { createLogger } from '../../src/server/log.js';
import { SipServer } from '../../src/server/server.js';
import { MemoryLocationStore, MemoryUserStore } from '../../src/server/store/memory.js';
import { corpusDir } from '../support/corpus.js';
import { TestDnsServer } from '../support/dns-server.js';
import { mutator } from '../support/mutate.js';

// Mutations of every message in the corpus (RFC 4475, RFC 5118, the RFC 3261
// and RFC 3665 examples, the PJSIP fuzzing seeds) sent to a running open
// `sipwire serve`, over UDP and over TCP: bytes changed, cut, repeated and
// inserted, header lines repeated, Content-Length rewritten. The server is a
// proxy to anywhere, so the mutated Request-URIs, Routes and Vias name hosts
// it must look up; its DNS server never answers. The server must never
// throw, must keep its outstanding DNS questions within their bound, and
// must still serve at the end. The mutations are the same on every run.

/** The messages the mutations start from. */
function seeds(): Buffer[] {
  const root = corpusDir();
  const out: Buffer[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(sip|dat)$/.test(name)) out.push(readFileSync(path));
    }
  };
  for (const dir of ['examples', 'rfc4475', 'rfc5118', 'fuzz-seeds']) walk(join(root, dir));
  return out;
}

/** Inserted pieces: separators, numbers at the edges, whole header lines that take the server down other paths. */
const PIECES = [
  '\r\n',
  ';',
  ',',
  ':',
  '<',
  '>',
  '"',
  '\\',
  '%',
  '@',
  ' ',
  '\t',
  '4294967296',
  '-1',
  'sips:',
  'tel:',
  '[',
  ']',
  '*',
  '\x00',
  '\xff',
  '\r\n\r\n',
  'Route: <sip:edge.mutated.test;lr>\r\n',
  'Via: SIP/2.0/UDP via.mutated.test;branch=z9hG4bKmut\r\n',
  'Max-Forwards: 0\r\n',
  'Content-Length: 99999\r\n',
  'Contact: *\r\n',
  'Expires: 0\r\n',
  'Require: mutated\r\n',
  'Proxy-Require: mutated\r\n',
  'CSeq: 1 CANCEL\r\n',
];

describe('mutated corpus messages against a running sipwire serve (open proxy, silent DNS)', () => {
  const MAX_PENDING = 16;
  const dns = new TestDnsServer([]);
  let server: SipServer;
  let udp: TransportAddress;
  let tcp: TransportAddress;
  const sock = createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
  const errors: unknown[] = [];
  const onError = (e: unknown) => errors.push(e);
  const answers: string[] = [];

  before(async () => {
    process.on('uncaughtException', onError);
    process.on('unhandledRejection', onError);
    dns.mode = 'silent';
    const resolver = new SipResolver({
      servers: [await dns.start()],
      timeoutMs: 50,
      maxPending: MAX_PENDING,
      // No name is in any hosts file here: the test does not depend on the machine's resolver.
      systemLookup: async (host) => {
        throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
      },
    });
    server = new SipServer({
      listen: ['udp:127.0.0.1:0', 'tcp:127.0.0.1:0'],
      domains: ['example.com', 'atlanta.com', 'biloxi.com'],
      stores: { location: new MemoryLocationStore(), users: new MemoryUserStore() },
      open: true,
      resolver,
      timers: { t1: 20 },
      logger: createLogger({ level: 'silent', pretty: false }),
      statsIntervalMs: 0,
    });
    const bound = await server.start();
    udp = bound.find((b) => b.transport === 'udp') as TransportAddress;
    tcp = bound.find((b) => b.transport === 'tcp') as TransportAddress;
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    sock.on('message', (m) => answers.push(m.toString('latin1', 0, Math.min(m.length, 200))));
  });

  after(async () => {
    process.off('uncaughtException', onError);
    process.off('unhandledRejection', onError);
    sock.close();
    await server.stop(0);
    dns.close();
  });

  function probe(branch: string): Buffer {
    return Buffer.from(
      [
        `OPTIONS sip:127.0.0.1:${udp.port} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${sock.address().port};branch=z9hG4bK-${branch};rport`,
        'Max-Forwards: 70',
        `To: <sip:127.0.0.1:${udp.port}>`,
        `From: <sip:tester@example.net>;tag=${branch}`,
        `Call-ID: ${branch}@127.0.0.1`,
        'CSeq: 1 OPTIONS',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
      'latin1',
    );
  }

  async function answered(branch: string): Promise<boolean> {
    sock.send(probe(branch), udp.port, '127.0.0.1');
    for (let i = 0; i < 50; i++) {
      if (answers.some((a) => a.startsWith('SIP/2.0 200') && a.includes(`branch=z9hG4bK-${branch}`)))
        return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  }

  test('12,000 mutations over UDP and 1,200 over TCP: no exception, DNS within its bound, still serving', {
    timeout: 300_000,
  }, async () => {
    const base = seeds();
    assert.ok(base.length > 250, `the corpus gives the seeds (${base.length})`);
    const { mutate, below } = mutator(20261127, PIECES);
    let mostPending = 0;
    let sentTcp = 0;
    for (let i = 0; i < 13_200; i++) {
      const m = mutate(base[below(base.length)] as Buffer);
      if (i % 11 === 10) {
        // A connection of its own: the bytes in two writes, then a second message.
        const c = connect(tcp.port, '127.0.0.1');
        c.on('error', () => {});
        c.on('data', () => {});
        await new Promise<void>((r) => {
          c.once('connect', r);
          c.once('error', () => r());
        });
        const cut = below(m.length + 1);
        c.write(m.subarray(0, cut));
        c.write(m.subarray(cut));
        c.end(mutate(base[below(base.length)] as Buffer));
        setTimeout(() => c.destroy(), 100).unref();
        sentTcp++;
      } else sock.send(m, udp.port, '127.0.0.1');
      // Paced, so the test measures the server and not the kernel's queues.
      if (i % 200 === 199) {
        await new Promise((r) => setTimeout(r, 20));
        mostPending = Math.max(mostPending, server.stack.dnsStats.pending);
      }
      if (i % 4000 === 3999) assert.ok(await answered(`mid${i}`), `still serving after ${i + 1} mutations`);
    }
    await new Promise((r) => setTimeout(r, 1500));
    const stats = server.snapshot();
    console.log(
      `mutations to sipwire serve: 12000 over UDP, ${sentTcp} over TCP; most DNS questions outstanding ${mostPending}; ${JSON.stringify(stats)}`,
    );
    assert.deepEqual(errors, [], 'no uncaught exception or unhandled rejection');
    assert.ok(await answered('end'), 'the server answers after the whole run');
    assert.equal(stats['messages.internalErrors'], 0, 'no request ended in an internal error');
    assert.ok(mostPending <= MAX_PENDING, `outstanding DNS questions stayed within ${MAX_PENDING}`);
    assert.ok((stats['dns.asked'] as number) > 0, 'the mutations made the server look names up');
    assert.ok((stats['messages.rejected'] as number) > 1000, 'malformed requests were answered');
  });
});
