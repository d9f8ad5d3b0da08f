import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { makeUser } from '../../src/cli/serve-commands.js';
import type { TransportAddress } from '../../src/index.js';
import { createLogger } from '../../src/server/log.js';
import { SipServer } from '../../src/server/server.js';
import { MemoryLocationStore, MemoryUserStore } from '../../src/server/store/memory.js';
import { protosCases } from '../support/protos.js';

// Every PROTOS c07-sip case and its teardown sent over UDP to a running
// `sipwire serve` (registrar and proxy, authentication on, bob registered):
// the server must answer what it can answer, never throw, and still serve
// afterwards. The answers come back to the test's own socket (the cases'
// Via names it).

describe('PROTOS c07-sip against a running sipwire serve', () => {
  let server: SipServer;
  let addr: TransportAddress;
  let tcp: TransportAddress;
  const sock = createSocket({ type: 'udp4', recvBufferSize: 8 * 1024 * 1024 });
  const statuses = new Map<string, number>();
  let received = 0;
  const errors: unknown[] = [];
  const onError = (e: unknown) => errors.push(e);

  before(async () => {
    process.on('uncaughtException', onError);
    process.on('unhandledRejection', onError);
    const users = new MemoryUserStore();
    await users.put(makeUser('bob@example.com', 'secret'));
    const location = new MemoryLocationStore();
    server = new SipServer({
      listen: ['udp:127.0.0.1:0', 'tcp:127.0.0.1:0'],
      domains: ['example.com'],
      stores: { location, users },
      logger: createLogger({ level: 'silent', pretty: false }),
    });
    const bound = await server.start();
    addr = bound.find((b) => b.transport === 'udp') as TransportAddress;
    tcp = bound.find((b) => b.transport === 'tcp') as TransportAddress;
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    // bob's phone is this socket: what the proxy forwards to bob comes here too.
    const now = Date.now();
    await location.apply(
      'sip:bob@example.com',
      {
        upsert: [
          {
            aor: 'sip:bob@example.com',
            contact: `sip:bob@127.0.0.1:${sock.address().port}`,
            key: 'k',
            callId: 'c',
            cseq: 1,
            expiresAt: now + 600_000,
            path: [],
            updatedAt: now,
          },
        ],
        remove: [],
      },
      now,
    );
    sock.on('message', (m) => {
      received++;
      const first = m.toString('latin1', 0, Math.min(m.length, 40));
      const status = /^SIP\/2\.0 (\d{3})/.exec(first)?.[1] ?? /^([A-Z]+) /.exec(first)?.[1] ?? '?';
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    });
  });

  after(async () => {
    process.off('uncaughtException', onError);
    process.off('unhandledRejection', onError);
    sock.close();
    await server.stop(0);
  });

  test('all 4527 cases and teardowns: answered or dropped, no exception, and the server still serves', {
    timeout: 180_000,
  }, async () => {
    const local = String(sock.address().port);
    const { archive, names, pdus, fill } = protosCases({
      '<From-Address>': '127.0.0.1',
      '<From-IP>': '127.0.0.1',
      '<Local-Port>': local,
    });
    assert.equal(names.length, 4527, 'every case is in the corpus');
    let sent = 0;
    for (const name of names) {
      const caseNo = Number(name.slice(-7));
      for (const pdu of pdus(archive.get(name) as Buffer).map((p) => fill(p, caseNo))) {
        // Datagrams over 64 KiB cannot be sent over UDP at all.
        if (pdu.length > 65_000) continue;
        sock.send(pdu, addr.port, '127.0.0.1');
        sent++;
      }
      // Paced, so the test measures the server and not the kernel's queues.
      if (caseNo % 50 === 0) await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 1500));
    // Still serving: an OPTIONS to the server itself is answered 200.
    const probe = [
      `OPTIONS sip:127.0.0.1:${addr.port} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bK-after-protos`,
      'Max-Forwards: 70',
      `To: <sip:127.0.0.1:${addr.port}>`,
      'From: <sip:tester@example.net>;tag=p1',
      'Call-ID: after-protos@127.0.0.1',
      'CSeq: 1 OPTIONS',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    const before200 = statuses.get('200') ?? 0;
    sock.send(Buffer.from(probe, 'latin1'), addr.port, '127.0.0.1');
    for (let i = 0; i < 50 && (statuses.get('200') ?? 0) === before200; i++)
      await new Promise((r) => setTimeout(r, 100));
    console.log(
      `PROTOS via UDP to sipwire serve: ${sent} datagrams sent, ${received} received back: ${JSON.stringify(Object.fromEntries(statuses))}; stack ${JSON.stringify(server.stack.stats)}`,
    );
    assert.deepEqual(errors, [], 'no uncaught exception or unhandled rejection');
    assert.ok((statuses.get('200') ?? 0) > before200, 'the server answers after the whole run');
    assert.ok((statuses.get('400') ?? 0) > 1000, 'malformed cases got 400');
    assert.equal(statuses.get('500') ?? 0, 0, 'no 500: a header the proxy need not read never stops it');
    // A valid case is forwarded to bob, or, when its own CANCEL is handled
    // before the proxy has forwarded it (cases arrive in bursts, and the
    // server handles a burst's messages back to back), answered 487 (RFC 3261 §9.2, §16.10).
    assert.ok(
      (statuses.get('INVITE') ?? 0) + (statuses.get('487') ?? 0) > 1000,
      'the valid cases were proxied to bob, or cancelled by their teardown first',
    );
    assert.ok((statuses.get('INVITE') ?? 0) > 100, 'valid cases reach bob');
  });

  test('all cases over TCP, eight connections at a time, each case on a connection of its own: no exception, still serving', {
    timeout: 180_000,
  }, async () => {
    const { archive, names, pdus, fill } = protosCases({
      '<From-Address>': '127.0.0.1',
      '<From-IP>': '127.0.0.1',
    });
    let closedByServer = 0;
    let answered = 0;
    const one = (data: Buffer[]) =>
      new Promise<void>((resolve) => {
        const c = connect(tcp.port, '127.0.0.1');
        let done = false;
        const finish = () => {
          if (done) return;
          done = true;
          c.destroy();
          resolve();
        };
        c.on('data', (d) => {
          if (d.toString('latin1').startsWith('SIP/2.0 ')) answered++;
        });
        c.on('end', () => {
          closedByServer++;
          finish();
        });
        c.on('error', finish);
        c.on('connect', () => {
          for (const d of data) c.write(d);
          setTimeout(finish, 150);
        });
      });
    for (let i = 0; i < names.length; i += 8) {
      await Promise.all(
        names.slice(i, i + 8).map((name) => {
          const caseNo = Number((name as string).slice(-7));
          return one(pdus(archive.get(name) as Buffer).map((p) => fill(p, caseNo)));
        }),
      );
    }
    const probe = await new Promise<string>((resolve) => {
      const c = connect(tcp.port, '127.0.0.1');
      c.on('data', (d) => {
        resolve(d.toString('latin1'));
        c.destroy();
      });
      c.on('connect', () =>
        c.write(
          [
            `OPTIONS sip:127.0.0.1:${tcp.port};transport=tcp SIP/2.0`,
            'Via: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK-after-protos-tcp',
            'Max-Forwards: 70',
            `To: <sip:127.0.0.1:${tcp.port}>`,
            'From: <sip:tester@example.net>;tag=t1',
            'Call-ID: after-protos-tcp@127.0.0.1',
            'CSeq: 1 OPTIONS',
            'Content-Length: 0',
            '',
            '',
          ].join('\r\n'),
        ),
      );
      setTimeout(() => resolve('(nothing)'), 5000);
    });
    console.log(
      `PROTOS via TCP to sipwire serve: ${names.length} connections, ${answered} answered, ${closedByServer} closed by the server; stack ${JSON.stringify(server.stack.stats)}; transport ${JSON.stringify(server.stack.transports.stats)}`,
    );
    assert.deepEqual(errors, [], 'no uncaught exception or unhandled rejection');
    assert.match(probe, /^SIP\/2\.0 200 /, 'the server answers over TCP after the whole run');
    assert.ok(answered > 1000, 'the cases were answered');
  });
});
