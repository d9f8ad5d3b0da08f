import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { TransportAddress } from '../../src/index.js';
import { createLogger } from '../../src/server/log.js';
import { SipServer } from '../../src/server/server.js';
import { MemoryLocationStore, MemoryUserStore } from '../../src/server/store/memory.js';
import { until } from '../support/children.js';

// Requests for users registered over connections (RFC 5626 §5.3, §7; RFC 7118
// §5), on the wire over loopback: a registered flow that has closed takes no
// request; of one instance's flows (reg-ids) one is used at a time, the next
// standing in when it closes; when every flow of the user is closed the caller
// gets 480 at once. A binding without reg-id is still reached at its Contact.

const INSTANCE = '"<urn:uuid:6f1c2a9e-41d5-4b77-9a34-0c5d1e2f3a4b>"';

/** A SIP peer on one TCP connection: what it reads, split into messages (no bodies here). */
class TcpPeer {
  readonly messages: string[] = [];
  private buffered = '';
  constructor(readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.buffered += d;
      for (let end = this.buffered.indexOf('\r\n\r\n'); end !== -1; end = this.buffered.indexOf('\r\n\r\n')) {
        this.messages.push(this.buffered.slice(0, end + 4));
        this.buffered = this.buffered.slice(end + 4);
      }
    });
    socket.on('error', () => {});
  }
  static async open(port: number): Promise<TcpPeer> {
    const s = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve);
      s.once('error', reject);
    });
    return new TcpPeer(s);
  }
  get port(): number {
    return this.socket.localPort as number;
  }
  send(text: string): void {
    this.socket.write(text, 'latin1');
  }
  async next(re: RegExp): Promise<string> {
    const find = () => this.messages.find((m) => re.test(m));
    await until(() => find() !== undefined, 3000, `no message like ${re}`);
    return find() as string;
  }
  /** Answers every request it has read that it has not answered yet, with 200. */
  answer(): void {
    for (const m of this.messages.splice(0)) {
      if (m.startsWith('SIP/2.0')) continue;
      const keep = m.split('\r\n').filter((l) => /^(Via|From|To|Call-ID|CSeq):/i.test(l));
      this.send(`SIP/2.0 200 OK\r\n${keep.join('\r\n')}\r\nContent-Length: 0\r\n\r\n`);
    }
  }
}

function register(port: number, contact: string, callId: string): string {
  return [
    'REGISTER sip:example.test SIP/2.0',
    `Via: SIP/2.0/TCP 127.0.0.1:${port};branch=z9hG4bK-${callId}`,
    'Max-Forwards: 70',
    'From: <sip:bob@example.test>;tag=r1',
    'To: <sip:bob@example.test>',
    `Call-ID: ${callId}`,
    'CSeq: 1 REGISTER',
    `Contact: ${contact}`,
    'Expires: 600',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

describe('requests for users registered over connections', () => {
  let server: SipServer;
  let udp: TransportAddress;
  let tcp: TransportAddress;
  const caller = createSocket('udp4');
  const replies: string[] = [];
  let n = 0;

  before(async () => {
    server = new SipServer({
      listen: ['udp:127.0.0.1:0', 'tcp:127.0.0.1:0'],
      domains: ['example.test'],
      stores: { location: new MemoryLocationStore(), users: new MemoryUserStore() },
      logger: createLogger({ level: 'silent', pretty: false }),
      open: true,
    });
    const bound = await server.start();
    udp = bound.find((b) => b.transport === 'udp') as TransportAddress;
    tcp = bound.find((b) => b.transport === 'tcp') as TransportAddress;
    caller.on('message', (m) => replies.push(m.toString('latin1')));
    await new Promise<void>((r) => caller.bind(0, '127.0.0.1', () => r()));
  });

  after(async () => {
    caller.close();
    await server.stop(0);
  });

  /** Sends a request for `aor` from the UDP caller; resolves with its final response. */
  async function ask(method: 'MESSAGE' | 'INVITE', aor: string): Promise<string> {
    const id = `ask-${++n}`;
    const port = caller.address().port;
    const text = [
      `${method} ${aor} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-${id};rport`,
      'Max-Forwards: 70',
      'From: <sip:alice@example.test>;tag=a1',
      `To: <${aor}>`,
      `Call-ID: ${id}`,
      `CSeq: 1 ${method}`,
      'Contact: <sip:alice@127.0.0.1>',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    caller.send(Buffer.from(text, 'latin1'), udp.port, '127.0.0.1');
    const find = () => replies.find((r) => r.includes(`Call-ID: ${id}\r\n`) && /^SIP\/2\.0 [2-6]/.test(r));
    await until(() => find() !== undefined, 5000, `no final response to ${method} ${id}`);
    return find() as string;
  }

  test('one flow of an instance at a time; the next when it closes; 480 once all are closed', async () => {
    const first = await TcpPeer.open(tcp.port);
    first.send(
      register(first.port, `<sip:bob@first.invalid;transport=tcp>;+sip.instance=${INSTANCE};reg-id=1`, 'r1'),
    );
    assert.match(await first.next(/^SIP\/2\.0 200 /), /^SIP\/2\.0 200 /, 'first flow registered');
    const second = await TcpPeer.open(tcp.port);
    second.send(
      register(
        second.port,
        `<sip:bob@second.invalid;transport=tcp>;+sip.instance=${INSTANCE};reg-id=2`,
        'r2',
      ),
    );
    const ok = await second.next(/^SIP\/2\.0 200 /);
    assert.equal(ok.match(/^Contact:/gim)?.length, 2, `two bindings, one per reg-id:\n${ok}`);
    first.messages.length = 0;
    second.messages.length = 0;

    // Both flows are open: the request goes over one of them only.
    const asked = ask('MESSAGE', 'sip:bob@example.test');
    const got = await Promise.race([
      first.next(/^MESSAGE /).then(() => first),
      second.next(/^MESSAGE /).then(() => second),
    ]);
    got.answer();
    assert.match(await asked, /^SIP\/2\.0 200 /, 'delivered');
    const other = got === first ? second : first;
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(
      other.messages.filter((m) => m.startsWith('MESSAGE ')).length,
      0,
      'not over the other flow too',
    );

    // That flow closes: the instance's other flow stands in.
    got.socket.destroy();
    await until(() => got.socket.destroyed, 1000, 'closed');
    await new Promise((r) => setTimeout(r, 100));
    const again = ask('MESSAGE', 'sip:bob@example.test');
    await other.next(/^MESSAGE /);
    other.answer();
    assert.match(await again, /^SIP\/2\.0 200 /, 'delivered over the remaining flow');

    // The last flow closes too: the caller is told at once that bob cannot be reached.
    other.socket.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const refused = await ask('INVITE', 'sip:bob@example.test');
    assert.match(
      refused,
      /^SIP\/2\.0 480 Temporarily Unavailable \(the connection the user registered on is closed\)\r\n/,
      refused,
    );
  });

  test('a binding without reg-id whose connection closed is still reached at its Contact', async () => {
    // carol's Contact is an address that takes connections: the proxy opens a new one there.
    const inbound: TcpPeer[] = [];
    const listener: Server = createServer((s) => inbound.push(new TcpPeer(s)));
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', () => r()));
    const contactPort = (listener.address() as { port: number }).port;
    try {
      const reg = await TcpPeer.open(tcp.port);
      reg.send(
        register(reg.port, `<sip:carol@127.0.0.1:${contactPort};transport=tcp>`, 'r3').replace(
          /bob@example/g,
          'carol@example',
        ),
      );
      assert.match(await reg.next(/^SIP\/2\.0 200 /), /^SIP\/2\.0 200 /, 'registered');
      reg.socket.destroy();
      await new Promise((r) => setTimeout(r, 100));
      const asked = ask('MESSAGE', 'sip:carol@example.test');
      await until(() => inbound.length > 0, 3000, 'no connection to the Contact');
      const peer = inbound[0] as TcpPeer;
      await peer.next(/^MESSAGE sip:carol@127\.0\.0\.1:\d+;transport=tcp SIP\/2\.0/);
      peer.answer();
      assert.match(await asked, /^SIP\/2\.0 200 /, 'delivered over a new connection');
      for (const p of inbound) p.socket.destroy();
    } finally {
      await new Promise((r) => listener.close(r));
    }
  });
});
