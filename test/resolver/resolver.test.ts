import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  NameAddr,
  newCallId,
  newTag,
  parseSipUri,
  SipRequest,
  SipResolver,
  SipStack,
  type TransportAddress,
  TransportError,
} from '../../src/index.js';
import { DnsClient, DnsError } from '../../src/resolver/dns-client.js';
import { numericTarget } from '../../src/resolver/resolver.js';
import { FakeClock } from '../../src/transaction/clock.js';
import { type DnsRecord, TestDnsServer } from '../support/dns-server.js';
import { freePort } from '../support/net.js';

const ZONE: DnsRecord[] = [
  // example.test: NAPTR prefers TCP over UDP; SRV for both; two TCP servers at different priorities.
  {
    type: 'NAPTR',
    name: 'example.test',
    order: 10,
    preference: 20,
    flags: 's',
    service: 'SIP+D2U',
    regexp: '',
    replacement: '_sip._udp.example.test',
  },
  {
    type: 'NAPTR',
    name: 'example.test',
    order: 10,
    preference: 10,
    flags: 's',
    service: 'SIP+D2T',
    regexp: '',
    replacement: '_sip._tcp.example.test',
  },
  {
    type: 'NAPTR',
    name: 'example.test',
    order: 5,
    preference: 10,
    flags: 's',
    service: 'SIPS+D2T',
    regexp: '',
    replacement: '_sips._tcp.example.test',
  },
  {
    type: 'SRV',
    name: '_sip._tcp.example.test',
    priority: 10,
    weight: 0,
    port: 5070,
    target: 'a.example.test',
  },
  {
    type: 'SRV',
    name: '_sip._tcp.example.test',
    priority: 20,
    weight: 0,
    port: 5071,
    target: 'b.example.test',
  },
  {
    type: 'SRV',
    name: '_sip._udp.example.test',
    priority: 10,
    weight: 0,
    port: 5080,
    target: 'a.example.test',
  },
  {
    type: 'SRV',
    name: '_sips._tcp.example.test',
    priority: 10,
    weight: 0,
    port: 5061,
    target: 'b.example.test',
  },
  { type: 'A', name: 'a.example.test', address: '192.0.2.1' },
  { type: 'AAAA', name: 'a.example.test', address: '2001:db8::1' },
  { type: 'A', name: 'b.example.test', address: '192.0.2.2' },
  // srv-only.test: no NAPTR, SRV for UDP only.
  {
    type: 'SRV',
    name: '_sip._udp.srv-only.test',
    priority: 1,
    weight: 0,
    port: 5090,
    target: 'c.srv-only.test',
    ttl: 2,
  },
  { type: 'A', name: 'c.srv-only.test', address: '192.0.2.3', ttl: 600 },
  // plain.test: only an A record.
  { type: 'A', name: 'plain.test', address: '192.0.2.4' },
  // dead.test: SRV target "." means no service (RFC 2782).
  { type: 'SRV', name: '_sip._udp.dead.test', priority: 1, weight: 0, port: 5060, target: '.' },
  { type: 'A', name: 'dead.test', address: '192.0.2.5' },
];

describe('SipResolver (RFC 3263) against a loopback DNS server', () => {
  const dns = new TestDnsServer(ZONE);
  let resolver: SipResolver;
  before(async () => {
    resolver = new SipResolver({ servers: [await dns.start()] });
  });
  after(() => dns.close());

  test('NAPTR order and preference pick the transport, SRV priority orders the servers, A and AAAA give addresses', async () => {
    const got = await resolver.resolve(parseSipUri('sip:bob@example.test'));
    assert.deepEqual(
      got.map((t) => `${t.transport}:${t.address}:${t.port}`),
      [
        'tls:192.0.2.2:5061',
        'tcp:192.0.2.1:5070',
        'tcp:2001:db8::1:5070',
        'tcp:192.0.2.2:5071',
        'udp:192.0.2.1:5080',
        'udp:2001:db8::1:5080',
      ],
      'TLS (order 5) first, then TCP (order 10, preference 10) before UDP (preference 20)',
    );
    const noTls = await resolver.resolve(parseSipUri('sip:bob@example.test'), { transports: ['udp', 'tcp'] });
    assert.equal(noTls[0]?.transport, 'tcp', 'a client without TLS skips the SIPS record');
    assert.equal(noTls.length, 5, 'five targets without TLS');
  });

  test('a SIPS URI keeps only SIPS services', async () => {
    const r = new SipResolver({ servers: [dns.address()], transports: ['udp', 'tcp', 'tls'] });
    const got = await r.resolve(parseSipUri('sips:bob@example.test'));
    assert.deepEqual(
      got.map((t) => `${t.transport}:${t.address}:${t.port}`),
      ['tls:192.0.2.2:5061'],
      'only SIPS+D2T',
    );
  });

  test('without NAPTR, SRV for each supported transport; without SRV, A with the default port', async () => {
    const srv = await resolver.resolve(parseSipUri('sip:srv-only.test'));
    assert.deepEqual(
      srv.map((t) => `${t.transport}:${t.address}:${t.port}`),
      ['udp:192.0.2.3:5090'],
      'SRV',
    );
    const plain = await resolver.resolve(parseSipUri('sip:plain.test'));
    assert.deepEqual(
      plain.map((t) => `${t.transport}:${t.address}:${t.port}`),
      ['udp:192.0.2.4:5060'],
      'A',
    );
  });

  test('an SRV target of "." means no service', async () => {
    const got = await resolver.resolve(parseSipUri('sip:dead.test'));
    assert.deepEqual(got, [], 'no targets');
  });

  test('a transport parameter or an explicit port skips NAPTR (and with a port, SRV too)', async () => {
    const before = dns.queries.length;
    const t = await resolver.resolve(parseSipUri('sip:plain.test;transport=tcp'));
    assert.deepEqual(
      t.map((x) => `${x.transport}:${x.address}:${x.port}`),
      ['tcp:192.0.2.4:5060'],
      'transport=tcp',
    );
    const p = await resolver.resolve(parseSipUri('sip:plain.test:5099'));
    assert.deepEqual(
      p.map((x) => `${x.transport}:${x.address}:${x.port}`),
      ['udp:192.0.2.4:5099'],
      'explicit port',
    );
    const asked = dns.queries.slice(before);
    assert.ok(!asked.some((q) => q.startsWith('NAPTR')), `no NAPTR query: ${asked.join(', ')}`);
    assert.ok(
      !asked.includes('SRV _sip._udp.plain.test'),
      `no SRV query with an explicit port: ${asked.join(', ')}`,
    );
  });

  test('numeric hosts and localhost never reach DNS', async () => {
    const before = dns.queries.length;
    const v4 = await resolver.resolve(parseSipUri('sip:10.0.0.1'));
    assert.deepEqual(v4, [{ transport: 'udp', address: '10.0.0.1', port: 5060 }], 'IPv4');
    const v6 = await resolver.resolve(parseSipUri('sips:[2001:db8::9]:5999'));
    assert.deepEqual(v6, [{ transport: 'tls', address: '2001:db8::9', port: 5999 }], 'IPv6 literal, sips');
    const local = await resolver.resolve(parseSipUri('sip:localhost;transport=tcp'));
    assert.ok(
      local.length > 0 && local.every((t) => t.transport === 'tcp' && t.port === 5060),
      JSON.stringify(local),
    );
    assert.deepEqual(dns.queries.slice(before), [], 'no DNS queries');
  });

  test('numericTarget: the target of an IP address without DNS; a name has none', () => {
    assert.deepEqual(numericTarget(parseSipUri('sip:bob@10.0.0.1')), {
      transport: 'udp',
      address: '10.0.0.1',
      port: 5060,
    });
    assert.deepEqual(numericTarget(parseSipUri('sips:[2001:db8::9]')), {
      transport: 'tls',
      address: '2001:db8::9',
      port: 5061,
    });
    assert.deepEqual(numericTarget(parseSipUri('sip:10.0.0.1:5070;transport=TCP')), {
      transport: 'tcp',
      address: '10.0.0.1',
      port: 5070,
    });
    assert.deepEqual(numericTarget(parseSipUri('sip:bob@example.test;maddr=192.0.2.77')), {
      transport: 'udp',
      address: '192.0.2.77',
      port: 5060,
    });
    assert.equal(numericTarget(parseSipUri('sip:bob@example.test:5060')), undefined);
  });

  test('maddr overrides the host', async () => {
    const got = await resolver.resolve(parseSipUri('sip:bob@example.test;maddr=192.0.2.77'));
    assert.deepEqual(got, [{ transport: 'udp', address: '192.0.2.77', port: 5060 }], 'maddr');
  });

  test('answers are cached for their own TTL, empty answers for the SOA minimum (RFC 2308)', async () => {
    const clock = new FakeClock();
    const r = new SipResolver({ servers: [dns.address()], clock });
    let n = 0;
    const asked = () => dns.queries.slice(n);
    await r.resolve(parseSipUri('sip:srv-only.test'));
    n = dns.queries.length;
    await r.resolve(parseSipUri('sip:srv-only.test'));
    assert.deepEqual(asked(), [], 'the second lookup comes from the cache');
    clock.tick(2001);
    n = dns.queries.length;
    await r.resolve(parseSipUri('sip:srv-only.test'));
    // The SRV record (TTL 2 s) and the empty NAPTR answer (SOA minimum 60 s here: kept) are asked again or not.
    assert.deepEqual(
      asked(),
      ['SRV _sip._udp.srv-only.test'],
      `only the expired SRV is asked again: ${asked()}`,
    );
    clock.tick(60_000);
    n = dns.queries.length;
    await r.resolve(parseSipUri('sip:srv-only.test'));
    assert.ok(asked().includes('NAPTR srv-only.test'), `the negative NAPTR answer expired: ${asked()}`);
    assert.ok(!asked().includes('A c.srv-only.test'), `the A record (TTL 600 s) is still cached: ${asked()}`);
  });
});

describe('DnsClient', () => {
  const many: DnsRecord[] = Array.from({ length: 30 }, (_, i) => ({
    type: 'SRV' as const,
    name: '_sip._udp.big.test',
    priority: 1,
    weight: i,
    port: 5000 + i,
    target: `host-number-${i}.big.test`,
  }));
  const dns = new TestDnsServer([
    ...many,
    { type: 'AAAA', name: 'v6.test', address: '2001:db8::1:0:0:1' },
    { type: 'A', name: 'v6.test', address: '192.0.2.9', ttl: 77 },
  ]);
  before(async () => {
    await dns.start();
  });
  after(() => dns.close());

  test('a truncated UDP answer is asked again over TCP', async () => {
    const client = new DnsClient({ servers: [dns.address()] });
    const n = dns.queries.length;
    const answer = await client.query('_sip._udp.big.test', 'SRV');
    assert.equal(answer.records.length, 30, 'all 30 SRV records');
    assert.deepEqual(
      dns.queries.slice(n),
      ['SRV _sip._udp.big.test', 'TCP SRV _sip._udp.big.test'],
      'UDP first, then TCP',
    );
    assert.equal(answer.records[29]?.name, 'host-number-29.big.test', 'targets read');
  });

  test('AAAA is written the RFC 5952 way; TTLs are reported', async () => {
    const client = new DnsClient({ servers: [dns.address()] });
    const six = await client.query('v6.test', 'AAAA');
    assert.deepEqual(six.records, ['2001:db8::1:0:0:1'], 'compressed IPv6');
    const four = await client.query('v6.test', 'A');
    assert.deepEqual(four, { records: ['192.0.2.9'], ttl: 77 }, 'A with its TTL');
  });

  test('NXDOMAIN is an empty answer with the SOA minimum as its TTL', async () => {
    dns.negativeTtl = 42;
    const client = new DnsClient({ servers: [dns.address()] });
    assert.deepEqual(await client.query('nothing.test', 'A'), { records: [], ttl: 42 }, 'negative answer');
  });

  test('SERVFAIL and silence move on to the next server; when none answers, a DnsError', async () => {
    const bad = new TestDnsServer([]);
    await bad.start();
    bad.mode = 'servfail';
    const silent = new TestDnsServer([]);
    await silent.start();
    silent.mode = 'silent';
    try {
      const client = new DnsClient({
        servers: [bad.address(), silent.address(), dns.address()],
        timeoutMs: 100,
        tries: 1,
      });
      assert.deepEqual(
        (await client.query('v6.test', 'A')).records,
        ['192.0.2.9'],
        'the third server answered',
      );
      const none = new DnsClient({ servers: [bad.address(), silent.address()], timeoutMs: 100, tries: 1 });
      await assert.rejects(none.query('v6.test', 'A'), (e: unknown) => e instanceof DnsError, 'DnsError');
    } finally {
      bad.close();
      silent.close();
    }
  });
});

describe('SRV weights (RFC 2782)', () => {
  const recs = [
    { priority: 1, weight: 10, port: 1, name: 'x' },
    { priority: 1, weight: 90, port: 2, name: 'y' },
    { priority: 0, weight: 0, port: 3, name: 'z' },
  ];

  test('lower priority first; within a priority the weights share out the first place', () => {
    let n = 0;
    const seq = [0.05, 0.5, 0.99];
    const r = new SipResolver({ random: () => seq[n++ % seq.length] as number });
    const counts = new Map<number, number>();
    for (let i = 0; i < 300; i++) {
      const order = r.orderSrv(recs);
      assert.equal(order[0]?.port, 3, 'priority 0 first');
      const firstOfOne = order[1]?.port as number;
      counts.set(firstOfOne, (counts.get(firstOfOne) ?? 0) + 1);
      assert.equal(order.length, 3, 'every record once');
    }
    assert.ok(
      (counts.get(2) ?? 0) > (counts.get(1) ?? 0),
      `weight 90 wins more often: ${JSON.stringify([...counts])}`,
    );
    assert.ok((counts.get(1) ?? 0) > 0, 'weight 10 still wins sometimes');
  });
});

function request(uri: string): SipRequest {
  return new SipRequest({
    method: 'OPTIONS',
    uri,
    headers: [
      ['Max-Forwards', 70],
      ['To', new NameAddr(uri)],
      ['From', new NameAddr('sip:alice@127.0.0.1', undefined, { tag: newTag() })],
      ['Call-ID', newCallId('127.0.0.1')],
      ['CSeq', '1 OPTIONS'],
    ],
  });
}

describe('SipStack failover across the servers DNS gives (RFC 3263 §4.3)', () => {
  const busy = new SipStack({ listen: ['udp:127.0.0.1:0'] });
  const good = new SipStack({ listen: ['udp:127.0.0.1:0'] });
  let busyAddr: TransportAddress;
  let goodAddr: TransportAddress;
  let dns: TestDnsServer;
  let client: SipStack;
  const seen: string[] = [];

  // A UDP socket that reads requests and never answers.
  const silent = createSocket('udp4');
  const quiet = { port: 0, heard: 0 };

  before(async () => {
    silent.on('message', () => {
      quiet.heard++;
    });
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
    quiet.port = silent.address().port;
    [busyAddr] = (await busy.start()) as [TransportAddress];
    [goodAddr] = (await good.start()) as [TransportAddress];
    busy.onRequest((i) => {
      seen.push(`busy ${i.request.topVia?.branch}`);
      i.respond(503, 'Overloaded');
    });
    good.onRequest((i) => {
      seen.push(`good ${i.request.topVia?.branch}`);
      i.respond(200);
    });
    dns = new TestDnsServer([
      {
        type: 'SRV',
        name: '_sip._udp.pool.test',
        priority: 1,
        weight: 0,
        port: busyAddr.port,
        target: 'busy.pool.test',
      },
      {
        type: 'SRV',
        name: '_sip._udp.pool.test',
        priority: 2,
        weight: 0,
        port: goodAddr.port,
        target: 'good.pool.test',
      },
      { type: 'A', name: 'busy.pool.test', address: '127.0.0.1' },
      { type: 'A', name: 'good.pool.test', address: '127.0.0.1' },
      // quiet.test: the first server takes the request and never answers.
      {
        type: 'SRV',
        name: '_sip._udp.quiet.test',
        priority: 1,
        weight: 0,
        port: quiet.port,
        target: 'a.quiet.test',
      },
      {
        type: 'SRV',
        name: '_sip._udp.quiet.test',
        priority: 2,
        weight: 0,
        port: goodAddr.port,
        target: 'a.quiet.test',
      },
      { type: 'A', name: 'a.quiet.test', address: '127.0.0.1' },
      { type: 'SRV', name: '_sip._tcp.gone.test', priority: 1, weight: 0, port: 9, target: 'a.gone.test' },
      { type: 'SRV', name: '_sip._tcp.gone.test', priority: 2, weight: 0, port: 9, target: 'a.gone.test' },
      { type: 'A', name: 'a.gone.test', address: '127.0.0.1' },
    ]);
    client = new SipStack({
      listen: ['udp:127.0.0.1:0', 'tcp:127.0.0.1:0'],
      resolver: new SipResolver({ servers: [await dns.start()] }),
      timers: { t1: 20 },
    });
    await client.start();
  });
  after(async () => {
    await client.stop();
    await busy.stop();
    await good.stop();
    silent.close();
    dns.close();
  });

  test('a 503 from the first server sends a copy with a new branch to the next', async () => {
    seen.length = 0;
    const out = await client.request(request('sip:pool.test'));
    const res = await out.final;
    assert.equal(res.status, 200, `final from the second server: ${res.status}`);
    assert.equal(out.tried.length, 2, 'two targets tried');
    assert.deepEqual(
      out.tried.map((t) => t.port),
      [busyAddr.port, goodAddr.port],
      'in SRV priority order',
    );
    assert.equal(seen.length, 2, seen.join('; '));
    const [b1, b2] = seen.map((s) => s.split(' ')[1]);
    assert.ok(
      b1 !== b2 && b1?.startsWith('z9hG4bK') && b2?.startsWith('z9hG4bK'),
      `new branch: ${seen.join('; ')}`,
    );
    assert.equal(out.request.topVia?.branch, b2, 'the request now is the copy');
  });

  test('a server that never answers: after Timer F the next one gets the request', async () => {
    const out = await client.request(request('sip:quiet.test'));
    const res = await out.final;
    assert.equal(res.status, 200, `final from the second server: ${res.status}`);
    assert.deepEqual(
      out.tried.map((t) => t.port),
      [quiet.port, goodAddr.port],
      'the silent server first, then the next',
    );
    assert.ok(quiet.heard >= 2, `the silent server saw the request and its retransmissions: ${quiet.heard}`);
  });

  test('when every server fails the last error is reported', async () => {
    const out = await client.request(request('sip:gone.test'));
    // gone.test only has TCP SRV records; nothing listens on port 9.
    await assert.rejects(out.final, (e: unknown) => e instanceof TransportError, 'transport error');
    assert.equal(out.tried.length, 2, 'both targets tried');
  });

  test('no server at all rejects the request up front', async () => {
    await assert.rejects(client.request(request('sip:nowhere.test')), TransportError, 'nothing resolves');
  });
});

describe('responses after the connection failed (RFC 3263 §5)', () => {
  test('a domain sent-by with a port: A records give the next place to send', {
    timeout: 10_000,
  }, async () => {
    // Nothing listens on 127.0.0.1:port; the A record for the sent-by name says 127.0.0.2, where the client now listens.
    const port = await freePort();
    const got: Buffer[] = [];
    const gotIt = new Promise<void>((resolve) => {
      const sink = createServer((c) =>
        c.on('data', (d) => {
          got.push(d);
          if (Buffer.concat(got).includes('\r\n\r\n')) resolve();
        }),
      );
      sink.listen(port, '127.0.0.2');
      after(() => sink.close());
    });
    const dns = new TestDnsServer([{ type: 'A', name: 'client.sentby.test', address: '127.0.0.2' }]);
    const server = new SipStack({
      listen: ['tcp:127.0.0.1:0'],
      resolver: new SipResolver({ servers: [await dns.start()] }),
    });
    const [tcp] = (await server.start()) as [TransportAddress];
    const closed = new Promise<void>((resolve) => {
      server.onRequest((incoming) => {
        // Answer only once the client has gone.
        void closedSocket.then(() => {
          incoming.respond(200);
          resolve();
        });
      });
    });
    let closedSocket: Promise<void> = Promise.resolve();
    const raw = connect(tcp.port, '127.0.0.1');
    closedSocket = new Promise<void>((resolve) => raw.on('close', () => setTimeout(resolve, 50)));
    raw.on('connect', () => {
      raw.end(
        [
          'OPTIONS sip:server@127.0.0.1 SIP/2.0',
          `Via: SIP/2.0/TCP client.sentby.test:${port};branch=z9hG4bK-sentby-1`,
          'Max-Forwards: 70',
          'To: <sip:server@127.0.0.1>',
          'From: <sip:client@client.sentby.test>;tag=a1',
          'Call-ID: sentby-1',
          'CSeq: 1 OPTIONS',
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n'),
      );
    });
    try {
      await closed;
      await gotIt;
      const text = Buffer.concat(got).toString('latin1');
      assert.match(text, /^SIP\/2\.0 200 /, `the response reached the sent-by host: ${text.slice(0, 60)}`);
      assert.match(text, /received=127\.0\.0\.1/, 'with received in its Via');
    } finally {
      await server.stop();
      dns.close();
    }
  });
});

describe('SipResolver under load: shared, bounded and remembered questions', () => {
  /** A system lookup answered by hand, counting its calls. */
  function handLookup() {
    const calls: string[] = [];
    const waiting = new Map<string, { resolve: (a: string[]) => void; reject: (e: Error) => void }>();
    const lookup = (host: string) =>
      new Promise<string[]>((resolve, reject) => {
        calls.push(host);
        waiting.set(host, { resolve, reject });
      });
    return { calls, waiting, lookup };
  }

  test('the same name asked many times at once is looked up once, and the answer goes to every asker', async () => {
    const h = handLookup();
    const r = new SipResolver({ systemLookup: h.lookup });
    const all = Array.from({ length: 10 }, () => r.resolve(parseSipUri('sip:bob@same.test:5070')));
    await new Promise((res) => setImmediate(res));
    assert.deepEqual(h.calls, ['same.test'], 'one lookup');
    assert.equal(r.pendingCount, 1);
    h.waiting.get('same.test')?.resolve(['192.0.2.7']);
    for (const got of await Promise.all(all)) {
      assert.deepEqual(got, [{ transport: 'udp', address: '192.0.2.7', port: 5070 }]);
    }
    assert.equal(r.pendingCount, 0);
    assert.deepEqual(r.stats, { asked: 1, shared: 9, cached: 0, refused: 0 });
    await r.resolve(parseSipUri('sip:bob@same.test:5070'));
    assert.deepEqual(h.calls, ['same.test'], 'then from the cache');
  });

  test('past maxPending outstanding questions, a new name finds nothing at once and is not looked up', async () => {
    const h = handLookup();
    const r = new SipResolver({ systemLookup: h.lookup, maxPending: 4 });
    const first = Array.from({ length: 4 }, (_, i) => r.resolve(parseSipUri(`sip:bob@n${i}.test:5060`)));
    await new Promise((res) => setImmediate(res));
    assert.equal(r.pendingCount, 4);
    const extra = await r.resolve(parseSipUri('sip:bob@n4.test:5060'));
    assert.deepEqual(extra, [], 'refused: nothing found');
    assert.deepEqual(h.calls, ['n0.test', 'n1.test', 'n2.test', 'n3.test'], 'n4.test was not looked up');
    assert.equal(r.stats.refused, 1);
    for (const [host, w] of h.waiting) w.resolve([`192.0.2.${host.charCodeAt(1) - 47}`]);
    assert.deepEqual(
      (await Promise.all(first)).map((t) => t[0]?.address),
      ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'],
    );
    assert.equal(r.pendingCount, 0);
    const later = r.resolve(parseSipUri('sip:bob@n4.test:5060'));
    await new Promise((res) => setImmediate(res));
    assert.deepEqual(h.calls.at(-1), 'n4.test', 'asked once there is room again');
    h.waiting.get('n4.test')?.resolve(['192.0.2.5']);
    assert.equal((await later)[0]?.address, '192.0.2.5');
  });

  test('a failed lookup is not repeated for failureTtlMs; an unknown host is remembered for a minute', async () => {
    const clock = new FakeClock();
    const calls: string[] = [];
    const r = new SipResolver({
      clock,
      failureTtlMs: 1000,
      systemLookup: async (host) => {
        calls.push(host);
        const code = host.startsWith('flaky') ? 'EAI_AGAIN' : 'ENOTFOUND';
        throw Object.assign(new Error(`${code} ${host}`), { code });
      },
    });
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(await r.resolve(parseSipUri('sip:bob@flaky.test:5060')), []);
      assert.deepEqual(await r.resolve(parseSipUri('sip:bob@gone.test:5060')), []);
    }
    assert.deepEqual(calls, ['flaky.test', 'gone.test'], 'each asked once');
    clock.tick(1001);
    await r.resolve(parseSipUri('sip:bob@flaky.test:5060'));
    await r.resolve(parseSipUri('sip:bob@gone.test:5060'));
    assert.deepEqual(
      calls,
      ['flaky.test', 'gone.test', 'flaky.test'],
      'the failure is asked again after 1 s',
    );
    clock.tick(60_000);
    await r.resolve(parseSipUri('sip:bob@gone.test:5060'));
    assert.deepEqual(calls.at(-1), 'gone.test', 'the unknown host after a minute');
  });

  test('a silent DNS server: questions on the wire stay within maxPending, and a name that timed out is not asked again at once', async () => {
    const dns = new TestDnsServer([]);
    dns.mode = 'silent';
    try {
      const r = new SipResolver({ servers: [await dns.start()], maxPending: 2, timeoutMs: 50 });
      const names = Array.from({ length: 20 }, (_, i) => `quiet${i}.test`);
      const got = await Promise.all(names.map((n) => r.resolve(parseSipUri(`sip:bob@${n}`))));
      assert.ok(
        got.every((t) => t.length === 0),
        'nothing resolves',
      );
      const asked = new Set(
        dns.queries.map((q) =>
          q
            .split(' ')
            .at(-1)
            ?.replace(/^_sips?\._[a-z]+\./, ''),
        ),
      );
      assert.ok(
        asked.size <= 2,
        `questions about at most 2 names reached the server (${[...asked].join(', ')})`,
      );
      assert.ok(r.stats.refused >= 18, `the other names were refused (${r.stats.refused})`);
      const before = dns.queries.length;
      await r.resolve(parseSipUri(`sip:bob@${[...asked][0]}`));
      assert.equal(dns.queries.length, before, 'timed-out questions are remembered as failed');
    } finally {
      dns.close();
    }
  });
});
