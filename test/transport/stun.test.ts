import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { SipStack } from '../../src/index.js';
import { crc32, looksLikeStun, stunBindingAnswer } from '../../src/transport/stun.js';

// The limited STUN server of RFC 5626 §8 on sipwire's UDP ports: Binding
// Requests (RFC 5389) built here byte by byte, answers read back by hand.

const COOKIE = 0x2112a442;

/** A Binding Request with transaction ID `tid` and the attributes given (type, value). */
function bindingRequest(tid: Buffer, attrs: Array<[number, Buffer]> = [], fingerprint = false): Buffer {
  const parts: Buffer[] = [];
  for (const [type, value] of attrs) {
    const a = Buffer.alloc(4 + Math.ceil(value.length / 4) * 4);
    a.writeUInt16BE(type, 0);
    a.writeUInt16BE(value.length, 2);
    value.copy(a, 4);
    parts.push(a);
  }
  let body = Buffer.concat(parts);
  const head = Buffer.alloc(20);
  head.writeUInt16BE(0x0001, 0);
  head.writeUInt16BE(body.length + (fingerprint ? 8 : 0), 2);
  head.writeUInt32BE(COOKIE, 4);
  tid.copy(head, 8);
  if (fingerprint) {
    const fp = Buffer.alloc(8);
    fp.writeUInt16BE(0x8028, 0);
    fp.writeUInt16BE(4, 2);
    fp.writeUInt32BE((crc32(Buffer.concat([head, body]), 0, 20 + body.length) ^ 0x5354554e) >>> 0, 4);
    body = Buffer.concat([body, fp]);
  }
  return Buffer.concat([head, body]);
}

interface Answer {
  type: number;
  tid: Buffer;
  attrs: Map<number, Buffer>;
}

function read(answer: Buffer): Answer {
  assert.equal(answer.readUInt32BE(4), COOKIE, 'magic cookie');
  assert.equal(answer.readUInt16BE(2), answer.length - 20, 'message length');
  const attrs = new Map<number, Buffer>();
  for (let at = 20; at < answer.length; ) {
    const type = answer.readUInt16BE(at);
    const len = answer.readUInt16BE(at + 2);
    attrs.set(type, answer.subarray(at + 4, at + 4 + len));
    at += 4 + Math.ceil(len / 4) * 4;
  }
  return { type: answer.readUInt16BE(0), tid: answer.subarray(8, 20), attrs };
}

/** XOR-MAPPED-ADDRESS decoded (RFC 5389 §15.2). */
function mapped(a: Answer): { family: number; address: string; port: number } {
  const v = a.attrs.get(0x0020);
  assert.ok(v !== undefined, 'XOR-MAPPED-ADDRESS present');
  const port = v.readUInt16BE(2) ^ (COOKIE >>> 16);
  const family = v.readUInt8(1);
  const mask = Buffer.concat([Buffer.from([0x21, 0x12, 0xa4, 0x42]), a.tid]);
  const bytes = [...v.subarray(4)].map((b, i) => b ^ (mask[i] as number));
  const address =
    family === 1
      ? bytes.join('.')
      : Array.from({ length: 8 }, (_, i) =>
          (((bytes[2 * i] as number) << 8) | (bytes[2 * i + 1] as number)).toString(16),
        ).join(':');
  return { family, address, port };
}

const TID = Buffer.from('b7e7a701bc34d686fa87dfae', 'hex');

describe('STUN keep-alives (RFC 5626 §8, RFC 5389)', () => {
  test('CRC-32 is the one FINGERPRINT uses (check value of "123456789")', () => {
    assert.equal(crc32(Buffer.from('123456789'), 0, 9), 0xcbf43926);
  });

  test('a Binding Request gets a Binding Response with the source as XOR-MAPPED-ADDRESS', () => {
    const a = read(stunBindingAnswer(bindingRequest(TID), '192.0.2.1', 32853) as Buffer);
    assert.equal(a.type, 0x0101, 'Binding Success Response');
    assert.deepEqual(a.tid, TID, 'same transaction ID');
    assert.deepEqual(mapped(a), { family: 1, address: '192.0.2.1', port: 32853 });
    // RFC 5769 §2.2 gives these bytes for 192.0.2.1:32853.
    assert.equal((a.attrs.get(0x0020) as Buffer).toString('hex'), '0001a147e112a643');
    assert.equal(a.attrs.has(0x8028), false, 'no FINGERPRINT when the request had none');
  });

  test('IPv6 sources, with "::" and an IPv4 tail, are mapped with the transaction ID in the mask', () => {
    for (const [address, groups] of [
      ['2001:db8:1234:5678:11:2233:4455:6677', '2001:db8:1234:5678:11:2233:4455:6677'],
      ['2001:db8::1', '2001:db8:0:0:0:0:0:1'],
      ['::1', '0:0:0:0:0:0:0:1'],
      ['64:ff9b::192.0.2.33', '64:ff9b:0:0:0:0:c000:221'],
    ] as const) {
      const a = read(stunBindingAnswer(bindingRequest(TID), address, 5060) as Buffer);
      assert.deepEqual(mapped(a), { family: 2, address: groups, port: 5060 }, address);
    }
  });

  test('a request with FINGERPRINT gets one back; a wrong FINGERPRINT gets nothing', () => {
    const req = bindingRequest(TID, [[0x8022, Buffer.from('test client')]], true);
    const answer = stunBindingAnswer(req, '192.0.2.1', 4000) as Buffer;
    const a = read(answer);
    const fp = a.attrs.get(0x8028) as Buffer;
    assert.ok(fp !== undefined, 'FINGERPRINT present');
    assert.equal(fp.readUInt32BE(0), (crc32(answer, 0, answer.length - 8) ^ 0x5354554e) >>> 0, 'and right');
    const bad = Buffer.from(req);
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 1;
    assert.equal(stunBindingAnswer(bad, '192.0.2.1', 4000), null);
  });

  test('an unknown comprehension-required attribute gets 420 with UNKNOWN-ATTRIBUTES', () => {
    const a = read(
      stunBindingAnswer(bindingRequest(TID, [[0x0033, Buffer.from([1, 2, 3, 4])]]), '192.0.2.1', 1) as Buffer,
    );
    assert.equal(a.type, 0x0111, 'Binding Error Response');
    const code = a.attrs.get(0x0009) as Buffer;
    assert.equal(code.readUInt8(2) * 100 + code.readUInt8(3), 420);
    assert.equal((a.attrs.get(0x000a) as Buffer).toString('hex'), '0033');
    // Comprehension-optional ones (SOFTWARE) are ignored.
    assert.equal(
      read(stunBindingAnswer(bindingRequest(TID, [[0x8022, Buffer.from('x')]]), '192.0.2.1', 1) as Buffer)
        .type,
      0x0101,
    );
  });

  test('an RFC 3489 client (no magic cookie) gets MAPPED-ADDRESS and its 128-bit ID back (RFC 5389 §12.2)', () => {
    const id = Buffer.from('0123456789abcdeffedcba9876543210', 'hex');
    const change = (flags: number) => {
      const v = Buffer.alloc(4);
      v.writeUInt32BE(flags, 0);
      return v;
    };
    const req = bindingRequest(TID, [[0x0003, change(0)]]);
    id.copy(req, 4);
    const answer = stunBindingAnswer(req, '192.0.2.9', 40001) as Buffer;
    assert.equal(answer.readUInt16BE(0), 0x0101, 'Binding Response');
    assert.deepEqual(answer.subarray(4, 20), id, 'the whole ID as sent');
    // MAPPED-ADDRESS: 0x0001, length 8, family 1, the port and address as they are.
    assert.equal(answer.subarray(20).toString('hex'), `000100080001${(40001).toString(16)}c0000209`);
    // Asking for an answer from another address or port: this server has none, so no answer.
    const other = bindingRequest(TID, [[0x0003, change(0x06)]]);
    id.copy(other, 4);
    assert.equal(stunBindingAnswer(other, '192.0.2.9', 40001), null);
  });

  test('anything else gets nothing: other types, wrong lengths, SIP', () => {
    const req = bindingRequest(TID);
    const indication = Buffer.from(req);
    indication.writeUInt16BE(0x0011, 0);
    const longer = Buffer.concat([req, Buffer.alloc(4)]);
    const odd = Buffer.from(req);
    odd.writeUInt16BE(2, 2);
    for (const b of [indication, longer, odd, req.subarray(0, 19)]) {
      assert.equal(stunBindingAnswer(b, '192.0.2.1', 1), null);
    }
    assert.equal(looksLikeStun(Buffer.from('OPTIONS sip:x SIP/2.0\r\n')), false);
    assert.equal(
      looksLikeStun(Buffer.from('\r\nOPTIONS sip:x SIP/2.0\r\n')),
      false,
      'line breaks first (§7.5)',
    );
    assert.equal(looksLikeStun(req), true);
  });

  test('arbitrary bytes never throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.boolean(), (bytes, stunHead) => {
        const b = Buffer.from(bytes);
        if (stunHead && b.length >= 8) {
          b.writeUInt16BE(0x0001, 0);
          b.writeUInt16BE(Math.max(0, b.length - 20) & 0xfffc, 2);
          b.writeUInt32BE(COOKIE, 4);
        }
        const r = stunBindingAnswer(b, '192.0.2.1', 5060);
        return r === null || r.length >= 20;
      }),
      { numRuns: 2000 },
    );
  });

  test('a SipStack answers a Binding Request on its SIP UDP port, and SIP goes on there', async () => {
    const stack = new SipStack({ listen: ['udp:127.0.0.1:0'], role: 'endpoint' });
    const [bound] = await stack.start();
    const client = createSocket('udp4');
    await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()));
    try {
      const got = new Promise<Buffer>((resolve) => client.once('message', resolve));
      client.send(bindingRequest(TID), (bound as { port: number }).port, '127.0.0.1');
      const a = read(await got);
      assert.equal(a.type, 0x0101);
      assert.deepEqual(mapped(a), { family: 1, address: '127.0.0.1', port: client.address().port });
      assert.equal(stack.transports.stats.stunBindings, 1, 'counted');
      stack.onRequest((inc) => inc.respond(200, 'OK'));
      const sip = new Promise<Buffer>((resolve) => client.once('message', resolve));
      const port = client.address().port;
      client.send(
        Buffer.from(
          // Line breaks before the start line are SIP's (RFC 3261 §7.5), not STUN.
          `\r\nOPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-stun1\r\n` +
            'Max-Forwards: 70\r\nTo: <sip:127.0.0.1>\r\nFrom: <sip:t@127.0.0.1>;tag=1\r\nCall-ID: stun1\r\n' +
            'CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n',
        ),
        (bound as { port: number }).port,
        '127.0.0.1',
      );
      assert.match((await sip).toString('latin1'), /^SIP\/2\.0 200 OK\r\n/);
    } finally {
      client.close();
      await stack.stop();
    }
  });
});
