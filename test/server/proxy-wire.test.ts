import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import { parseMessage, type SipRequest, type TransportAddress } from '../../src/index.js';
import { loopTag } from '../../src/proxy/loop.js';
import { createLogger } from '../../src/server/log.js';
import { type ServerOptions, SipServer } from '../../src/server/server.js';
import { MemoryLocationStore, MemoryUserStore } from '../../src/server/store/memory.js';

// The proxy's answers to requests written by hand, on the wire (UDP loopback).

async function startServer(options: Partial<ServerOptions> = {}) {
  const server = new SipServer({
    listen: ['udp:127.0.0.1:0'],
    domains: ['example.test'],
    stores: { location: new MemoryLocationStore(), users: new MemoryUserStore() },
    logger: createLogger({ level: 'silent', pretty: false }),
    open: true,
    ...options,
  });
  const bound = await server.start();
  return { server, udp: bound[0] as TransportAddress };
}

class Peer {
  readonly socket: Socket;
  readonly inbox: string[] = [];
  private waiters: Array<() => void> = [];
  constructor() {
    this.socket = createSocket('udp4');
    this.socket.on('message', (m) => {
      this.inbox.push(m.toString('latin1'));
      for (const w of this.waiters.splice(0)) w();
    });
  }
  async bind(): Promise<number> {
    await new Promise<void>((r) => this.socket.bind(0, '127.0.0.1', () => r()));
    return this.socket.address().port;
  }
  get port(): number {
    return this.socket.address().port;
  }
  send(text: string, port: number): void {
    this.socket.send(Buffer.from(text, 'latin1'), port, '127.0.0.1');
  }
  /** The next message matching `re` (waits up to 3 s; '(nothing)' otherwise). */
  async next(re: RegExp, from = 0): Promise<string> {
    const until = Date.now() + 3000;
    for (;;) {
      const hit = this.inbox.slice(from).find((m) => re.test(m));
      if (hit !== undefined) return hit;
      if (Date.now() > until) return '(nothing)';
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 100);
      });
    }
  }
  close(): void {
    this.socket.close();
  }
}

function request(
  method: string,
  uri: string,
  port: number,
  extra: string[] = [],
  branch = `z9hG4bK-${Math.random().toString(36).slice(2)}`,
): string {
  return [
    `${method} ${uri} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=${branch};rport`,
    ...extra.filter((h) => h.startsWith('Via:')),
    ...(extra.some((h) => h.startsWith('Max-Forwards:')) ? [] : ['Max-Forwards: 70']),
    'To: <sip:bob@example.test>',
    'From: <sip:alice@example.test>;tag=f1',
    `Call-ID: ${branch}@127.0.0.1`,
    `CSeq: 1 ${method}`,
    ...extra.filter((h) => !h.startsWith('Via:')),
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

describe('proxy answers on the wire', () => {
  let srv: Awaited<ReturnType<typeof startServer>>;
  let uac: Peer;
  before(async () => {
    srv = await startServer();
    uac = new Peer();
    await uac.bind();
  });
  after(async () => {
    uac.close();
    await srv.server.stop(0);
  });

  test('Max-Forwards 0 on an INVITE: 483; on an OPTIONS: answered by the proxy with 200', async () => {
    const from = uac.inbox.length;
    uac.send(request('INVITE', 'sip:bob@example.test', uac.port, ['Max-Forwards: 0']), srv.udp.port);
    assert.match(await uac.next(/^SIP\/2\.0 483 /, from), /^SIP\/2\.0 483 /, '483 Too Many Hops');
    uac.send(request('OPTIONS', 'sip:bob@example.test', uac.port, ['Max-Forwards: 0']), srv.udp.port);
    const ok = await uac.next(/^SIP\/2\.0 200 .*\r\n[\s\S]*CSeq: 1 OPTIONS/, from);
    assert.match(ok, /^SIP\/2\.0 200 /, 'OPTIONS answered');
    assert.match(ok, /\r\nAllow: /, 'with Allow');
  });

  test('Proxy-Require with an unknown option: 420 with Unsupported', async () => {
    const from = uac.inbox.length;
    uac.send(
      request('INVITE', 'sip:bob@example.test', uac.port, ['Proxy-Require: teleportation']),
      srv.udp.port,
    );
    const r = await uac.next(/^SIP\/2\.0 420 /, from);
    assert.match(r, /\r\nUnsupported: teleportation\r\n/, '420 names the option');
  });

  test('a request that comes back with our Via and the same routing inputs: 482', async () => {
    const from = uac.inbox.length;
    const base = request('INVITE', 'sip:carol@far.test', uac.port, [], 'z9hG4bK-loop-1');
    const tag = loopTag(parseMessage(base) as SipRequest);
    const looped = request(
      'INVITE',
      'sip:carol@far.test',
      uac.port,
      [`Via: SIP/2.0/UDP 127.0.0.1:${srv.udp.port};branch=z9hG4bKearlier.${tag}`],
      'z9hG4bK-loop-1',
    );
    uac.send(looped, srv.udp.port);
    assert.match(await uac.next(/^SIP\/2\.0 482 /, from), /^SIP\/2\.0 482 Loop Detected/, '482');
  });

  test('a Request-URI with an unknown scheme: 416', async () => {
    const from = uac.inbox.length;
    uac.send(request('INVITE', 'xmpp:bob@example.test', uac.port), srv.udp.port);
    assert.match(await uac.next(/^SIP\/2\.0 416 /, from), /^SIP\/2\.0 416 /, '416');
  });

  test('a request too broken to parse gets 400 from the headers that can be read; an ACK never gets an answer (§17)', async () => {
    const from = uac.inbox.length;
    // A Content-Length beyond the datagram: the message cannot be framed, so it does not parse.
    const broken = (method: string, cseq = method) =>
      request('INVITE', 'sip:bob@example.test', uac.port)
        .replace(/^INVITE /, `${method} `)
        .replace('CSeq: 1 INVITE', `CSeq: 1 ${cseq}`)
        .replace('Content-Length: 0', 'Content-Length: 99');
    uac.send(broken('ACK'), srv.udp.port);
    // A start line too broken to read, with the CSeq of an ACK.
    uac.send(broken('A\x01K', 'ACK'), srv.udp.port);
    uac.send(broken('INVITE'), srv.udp.port);
    const answer = await uac.next(/^SIP\/2\.0 400 /, from);
    assert.match(answer, /^CSeq: 1 INVITE\r$/m, 'the broken INVITE is answered');
    uac.send(request('OPTIONS', `sip:127.0.0.1:${srv.udp.port}`, uac.port), srv.udp.port);
    await uac.next(/^SIP\/2\.0 200 /, from);
    const toAcks = uac.inbox.slice(from).filter((m) => /^CSeq: 1 ACK\r$/m.test(m));
    assert.deepEqual(toAcks, [], 'no response to an ACK');
  });

  test('a malformed Via on a request to proxy: 400 naming the header, and the proxy still serves', async () => {
    const from = uac.inbox.length;
    const bad = request('INVITE', 'sip:bob@example.test', uac.port, ['Route: <sip:oops']);
    uac.send(bad, srv.udp.port);
    assert.match(
      await uac.next(/^SIP\/2\.0 400 /, from),
      /^SIP\/2\.0 400 Bad Route header/,
      '400 names Route',
    );
    uac.send(request('OPTIONS', `sip:127.0.0.1:${srv.udp.port}`, uac.port), srv.udp.port);
    assert.match(await uac.next(/^SIP\/2\.0 200 /, from), /^SIP\/2\.0 200 /, 'still answering');
  });
});

describe('answers that cannot be sent', () => {
  test('a malformed Via (answered by source address) and a Via with port 0 (no answer possible) do not take the server down', async () => {
    const srv = await startServer();
    const uac = new Peer();
    await uac.bind();
    try {
      const badHost = request('INVITE', 'sip:bob@example.test', uac.port).replace(
        `Via: SIP/2.0/UDP 127.0.0.1:${uac.port}`,
        `Via: SIP/2.0/UDP 300.1.2.3:${uac.port}`,
      );
      uac.send(badHost, srv.udp.port);
      assert.match(
        await uac.next(/^SIP\/2\.0 400 /),
        /^SIP\/2\.0 400 Bad Via header/,
        '400 sent back where it came from',
      );
      const portZero = request('INVITE', 'sip:bob@example.test', uac.port)
        .replace(`Via: SIP/2.0/UDP 127.0.0.1:${uac.port};branch=`, 'Via: SIP/2.0/UDP 127.0.0.1:0;branch=')
        .replace(';rport', '');
      uac.send(portZero, srv.udp.port);
      const from = uac.inbox.length;
      await new Promise((r) => setTimeout(r, 400));
      uac.send(request('OPTIONS', `sip:127.0.0.1:${srv.udp.port}`, uac.port), srv.udp.port);
      assert.match(await uac.next(/^SIP\/2\.0 200 /, from), /^SIP\/2\.0 200 /, 'still serving');
      assert.equal(srv.server.stack.stats.internalErrors, 0, 'no internal error');
    } finally {
      uac.close();
      await srv.server.stop(0);
    }
  });
});

describe('stateless mode (RFC 3261 §16.11)', () => {
  test('requests relayed with a branch that is the same for a retransmission; responses relayed back', async () => {
    const srv = await startServer({ stateless: true });
    const uac = new Peer();
    const uas = new Peer();
    await uac.bind();
    await uas.bind();
    try {
      const text = request('INVITE', `sip:bob@127.0.0.1:${uas.port}`, uac.port, [], 'z9hG4bK-sl-test-1');
      uac.send(text, srv.udp.port);
      const first = await uas.next(/^INVITE /);
      assert.match(
        first,
        new RegExp(`^Via: SIP/2\\.0/UDP 127\\.0\\.0\\.1:${srv.udp.port};branch=z9hG4bKsl`, 'm'),
        'our Via on top',
      );
      assert.match(first, /\r\nMax-Forwards: 69\r\n/, 'Max-Forwards decremented');
      uac.send(text, srv.udp.port);
      const second = await uas.next(/^INVITE /, 1);
      const branch = (m: string) => /branch=(z9hG4bKsl[^;\r]+)/.exec(m)?.[1];
      assert.ok(branch(first), 'a branch');
      assert.equal(branch(second), branch(first), 'the retransmission carries the same branch');
      // The UAS answers by the Vias: the response goes to the proxy, which takes its Via off.
      const vias = first.match(/^Via: .*$/gm) ?? [];
      uas.send(
        [
          'SIP/2.0 180 Ringing',
          ...vias,
          'To: <sip:bob@example.test>;tag=t1',
          'From: <sip:alice@example.test>;tag=f1',
          'Call-ID: z9hG4bK-sl-test-1@127.0.0.1',
          'CSeq: 1 INVITE',
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n'),
        srv.udp.port,
      );
      const ringing = await uac.next(/^SIP\/2\.0 180 /);
      assert.equal((ringing.match(/^Via: /gm) ?? []).length, 1, 'one Via left');
      assert.match(ringing, /branch=z9hG4bK-sl-test-1/, 'the caller’s own Via');
    } finally {
      uac.close();
      uas.close();
      await srv.server.stop(0);
    }
  });
});

/** A REGISTER from `from` binding `contact` to user@example.test for 300 s. */
function register(
  from: Peer,
  user: string,
  contact: string,
  extra: string[] = [],
  ruri = 'sip:example.test',
): string {
  return [
    `REGISTER ${ruri} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${from.port};branch=z9hG4bK-reg-${user};rport`,
    'Max-Forwards: 70',
    `To: <sip:${user}@example.test>`,
    `From: <sip:${user}@example.test>;tag=r-${user}`,
    `Call-ID: reg-${user}@127.0.0.1`,
    'CSeq: 1 REGISTER',
    `Contact: <${contact}>`,
    'Expires: 300',
    ...extra,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

describe('reaching registered contacts', () => {
  test('Path is honoured (RFC 3327), and a UA behind NAT is reached on the address it registered from', async () => {
    const srv = await startServer();
    const uac = new Peer();
    const edge = new Peer();
    const natted = new Peer();
    await uac.bind();
    await edge.bind();
    await natted.bind();
    try {
      // bob registers through an edge proxy that put itself in Path.
      edge.send(
        register(edge, 'bob', 'sip:bob@192.0.2.50:5060', [
          'Supported: path',
          `Path: <sip:127.0.0.1:${edge.port};lr>`,
        ]),
        srv.udp.port,
      );
      assert.match(
        await edge.next(/^SIP\/2\.0 200 /),
        /\r\nPath: <sip:127\.0\.0\.1:\d+;lr>\r\n/,
        'Path returned',
      );
      // dave is behind NAT: his Contact names a private address; the REGISTER came from `natted`.
      natted.send(register(natted, 'dave', 'sip:dave@10.0.0.5:5060', []), srv.udp.port);
      assert.match(await natted.next(/^SIP\/2\.0 200 /), /^SIP\/2\.0 200 /, 'dave registered');

      uac.send(request('INVITE', 'sip:bob@example.test', uac.port), srv.udp.port);
      const viaEdge = await edge.next(/^INVITE /);
      assert.match(viaEdge, /^INVITE sip:bob@192\.0\.2\.50:5060 SIP\/2\.0/, 'the Request-URI is the contact');
      assert.match(
        viaEdge,
        new RegExp(`\\r\\nRoute: <sip:127\\.0\\.0\\.1:${edge.port};lr>\\r\\n`),
        'the Path as Route',
      );

      uac.send(request('INVITE', 'sip:dave@example.test', uac.port), srv.udp.port);
      const toDave = await natted.next(/^INVITE /);
      assert.match(
        toDave,
        /^INVITE sip:dave@10\.0\.0\.5:5060 SIP\/2\.0/,
        'sent to the flow, Request-URI unchanged',
      );
    } finally {
      for (const p of [uac, edge, natted]) p.close();
      await srv.server.stop(0);
    }
  });
});

describe('in-dialog requests behind NAT', () => {
  test('over UDP, requests in a call reach each side on the address its packets came from, not its private Contact', async () => {
    const srv = await startServer();
    const caller = new Peer();
    const callee = new Peer();
    await caller.bind();
    await callee.bind();
    try {
      // The callee registers from `callee` with a Contact naming a private address.
      callee.send(
        [
          'REGISTER sip:example.test SIP/2.0',
          `Via: SIP/2.0/UDP 10.0.0.7:5060;branch=z9hG4bK-nat-reg;rport`,
          'Max-Forwards: 70',
          'To: <sip:erin@example.test>',
          'From: <sip:erin@example.test>;tag=nr',
          'Call-ID: nat-reg@10.0.0.7',
          'CSeq: 1 REGISTER',
          'Contact: <sip:erin@10.0.0.7:5060>',
          'Expires: 300',
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n'),
        srv.udp.port,
      );
      assert.match(await callee.next(/^SIP\/2\.0 200 /), /^SIP\/2\.0 200 /, 'registered');
      // The caller is behind NAT too: its Contact names 10.0.0.9.
      const invite = request('INVITE', 'sip:erin@example.test', caller.port, [
        'Contact: <sip:frank@10.0.0.9:5060>',
      ]).replace('To: <sip:bob@example.test>', 'To: <sip:erin@example.test>');
      caller.send(invite, srv.udp.port);
      const got = await callee.next(/^INVITE /);
      const rr = got.match(/^Record-Route: .*$/gm) ?? [];
      assert.equal(rr.length, 2, 'two Record-Route values: each side names its flow');
      assert.match(rr.join('\n'), new RegExp(`sw-flow=u${callee.port}-127\\.0\\.0\\.1`), 'the callee side');
      assert.match(rr.join('\n'), new RegExp(`sw-flow=u${caller.port}-127\\.0\\.0\\.1`), 'the caller side');
      // The callee answers; its 200 carries the Record-Route back.
      const vias = got.match(/^Via: .*$/gm) ?? [];
      const header = (name: string) => new RegExp(`^${name}: .*$`, 'm').exec(got)?.[0] ?? '';
      callee.send(
        [
          'SIP/2.0 200 OK',
          ...vias,
          ...rr,
          header('From'),
          `${header('To')};tag=erin1`,
          header('Call-ID'),
          header('CSeq'),
          'Contact: <sip:erin@10.0.0.7:5060>',
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n'),
        srv.udp.port,
      );
      const ok = await caller.next(/^SIP\/2\.0 200 /);
      assert.match(ok, /^Record-Route: /m, 'the caller sees the route');
      // The caller's BYE: Request-URI the callee's private Contact, Route the recorded route reversed.
      const routes = (ok.match(/^Record-Route: (.*)$/gm) ?? [])
        .map((l) => l.slice('Record-Route: '.length))
        .reverse();
      const bye = [
        'BYE sip:erin@10.0.0.7:5060 SIP/2.0',
        `Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK-nat-bye;rport`,
        `Route: ${routes.join(', ')}`,
        'Max-Forwards: 70',
        header('From'),
        `${header('To')};tag=erin1`,
        header('Call-ID'),
        'CSeq: 2 BYE',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      caller.send(bye, srv.udp.port);
      const byeAtCallee = await callee.next(/^BYE /);
      assert.match(
        byeAtCallee,
        /^BYE sip:erin@10\.0\.0\.7:5060 SIP\/2\.0/,
        'the BYE reached the callee behind NAT',
      );
    } finally {
      caller.close();
      callee.close();
      await srv.server.stop(0);
    }
  });
});

describe('SIPS (RFC 5630 §5.3)', () => {
  test('a SIPS Request-URI never reaches a SIP contact (380), and a SIPS contact is never reached without TLS (381)', async () => {
    const srv = await startServer();
    const uac = new Peer();
    const carol = new Peer();
    const frank = new Peer();
    await uac.bind();
    await carol.bind();
    await frank.bind();
    try {
      carol.send(register(carol, 'carol', `sip:carol@127.0.0.1:${carol.port}`), srv.udp.port);
      assert.match(await carol.next(/^SIP\/2\.0 /), /^SIP\/2\.0 200 /, 'carol registered a SIP contact');
      frank.send(
        register(frank, 'frank', `sips:frank@127.0.0.1:${frank.port}`, [], 'sips:example.test'),
        srv.udp.port,
      );
      assert.match(await frank.next(/^SIP\/2\.0 /), /^SIP\/2\.0 200 /, 'frank registered a SIPS contact');

      uac.send(request('INVITE', 'sips:carol@example.test', uac.port), srv.udp.port);
      const toCarol = await uac.next(/^SIP\/2\.0 4/);
      assert.match(toCarol, /^SIP\/2\.0 480 /, 'a SIPS request for a SIP-only user: 480');
      assert.match(toCarol, /\r\nWarning: 380 example\.test "SIPS Not Allowed"\r\n/, 'with warn-code 380');

      uac.send(request('INVITE', 'sip:frank@example.test', uac.port), srv.udp.port);
      const toFrank = await uac.next(/^SIP\/2\.0 480 [^\r]*\r\n(?:[^\r]*\r\n)*Warning: 381/);
      assert.match(
        toFrank,
        /\r\nWarning: 381 example\.test "SIPS Required"\r\n/,
        'frank is only reachable over UDP: 381',
      );
      assert.equal(
        frank.inbox.filter((m) => m.startsWith('INVITE ')).length,
        0,
        'nothing was sent to the SIPS contact over UDP',
      );

      uac.send(request('INVITE', 'sip:carol@example.test', uac.port), srv.udp.port);
      assert.match(
        await carol.next(/^INVITE /),
        /^INVITE sip:carol@127\.0\.0\.1:\d+ SIP\/2\.0/,
        'SIP to SIP still works',
      );
    } finally {
      for (const p of [uac, carol, frank]) p.close();
      await srv.server.stop(0);
    }
  });
});
