import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parseMessage, SipParseError, StreamFramer } from '../../src/index.js';

const msg = (n: number, body = '') =>
  Buffer.from(
    [
      `MESSAGE sip:a@b.com SIP/2.0`,
      `Call-ID: m${n}`,
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n'),
  );

function feed(framer: StreamFramer, chunks: Buffer[]): { messages: Buffer[]; pings: number } {
  const messages: Buffer[] = [];
  let pings = 0;
  for (const c of chunks)
    framer.push(
      c,
      (m) => messages.push(m),
      () => pings++,
    );
  return { messages, pings };
}

describe('stream framer (RFC 3261 §18.3)', () => {
  test('several messages in one chunk', () => {
    const data = Buffer.concat([msg(1, 'hello'), msg(2), msg(3, 'x\r\n\r\ny')]);
    const { messages } = feed(new StreamFramer(), [data]);
    assert.deepEqual(
      messages.map((m) => parseMessage(m, { framing: 'stream' }).callId),
      ['m1', 'm2', 'm3'],
    );
    assert.equal(parseMessage(messages[2]!, { framing: 'stream' }).body.toString(), 'x\r\n\r\ny');
  });

  test('a message split at every byte', () => {
    const data = Buffer.concat([msg(1, 'body with\r\n\r\nbreaks'), msg(2)]);
    const chunks = [...data].map((b) => Buffer.from([b]));
    const framer = new StreamFramer();
    const { messages } = feed(framer, chunks);
    assert.equal(messages.length, 2);
    assert.equal(framer.pending, 0);
    assert.equal(
      parseMessage(messages[0]!, { framing: 'stream' }).body.toString(),
      'body with\r\n\r\nbreaks',
    );
  });

  test('CRLF keep-alives between messages: a double CRLF is a ping (RFC 5626 §4.4.1)', () => {
    const { messages, pings } = feed(new StreamFramer(), [
      Buffer.from('\r\n\r\n'),
      msg(1),
      Buffer.from('\r\n'),
      Buffer.from('\r\n'),
      msg(2),
    ]);
    assert.equal(messages.length, 2);
    assert.equal(pings, 2);
  });

  test('a missing Content-Length is a framing error, and the stream stays failed', () => {
    const framer = new StreamFramer();
    const bad = Buffer.from('OPTIONS sip:a@b.com SIP/2.0\r\nCall-ID: x\r\n\r\n');
    assert.throws(() => feed(framer, [bad]), { code: 'SIP_ERR_CONTENT_LENGTH_REQUIRED' });
    assert.throws(() => feed(framer, [msg(1)]), { code: 'SIP_ERR_STREAM_ERRORED' });
  });

  test('a negative or non-numeric Content-Length closes the stream', () => {
    assert.throws(
      () => feed(new StreamFramer(), [Buffer.from('OPTIONS sip:a@b.com SIP/2.0\r\nl: -5\r\n\r\n')]),
      {
        code: 'SIP_ERR_CONTENT_LENGTH',
      },
    );
  });

  test('buffered bytes are bounded: a header section without an end fails at the limit', () => {
    const framer = new StreamFramer({ maxHeaderSectionSize: 1024 });
    const junk = Buffer.alloc(600, 0x61);
    assert.throws(
      () => feed(framer, [junk, junk]),
      (e: unknown) =>
        e instanceof SipParseError && e.code === 'SIP_ERR_MESSAGE_TOO_LARGE' && e.status === 513,
    );
  });

  test('a declared body over the limit fails before it is buffered', () => {
    const framer = new StreamFramer({ maxBodySize: 100 });
    assert.throws(
      () => feed(framer, [Buffer.from('MESSAGE sip:a@b.com SIP/2.0\r\nContent-Length: 100000\r\n\r\n')]),
      {
        code: 'SIP_ERR_BODY_TOO_LARGE',
      },
    );
  });

  test('a message fed a byte at a time costs copying in proportion to its length', () => {
    // 30 KB of header and 30 KB of body, each byte its own chunk. Joining
    // everything held on every arrival copied the header about 30,000 / 2
    // times over (some 450 MB); this counts the bytes copied.
    const big = msg(1, 'b'.repeat(30_000))
      .toString('latin1')
      .replace('Call-ID: m1', `Call-ID: m1\r\nX-Pad: ${'p'.repeat(30_000)}`);
    const data = Buffer.from(big, 'latin1');
    const chunks = [...data].map((b) => Buffer.from([b]));
    let copied = 0;
    const { copy } = Buffer.prototype;
    const { concat } = Buffer;
    Buffer.prototype.copy = function (this: Buffer, target: Uint8Array, ...rest: number[]) {
      const n = copy.call(this, target, ...rest);
      copied += n;
      return n;
    };
    Buffer.concat = (list: readonly Uint8Array[], total?: number) => {
      const out = concat(list, total);
      copied += out.length;
      return out;
    };
    let messages: Buffer[];
    try {
      ({ messages } = feed(new StreamFramer(), chunks));
    } finally {
      Buffer.prototype.copy = copy;
      Buffer.concat = concat;
    }
    assert.equal(messages.length, 1);
    assert.ok(messages[0]?.equals(data), 'the message comes out whole');
    assert.ok(copied <= 4 * data.length, `${copied} bytes copied for a message of ${data.length}`);
  });

  test('the header section ends at the first empty line, however lines end (CRLF, LF, or mixed)', () => {
    for (const [name, head] of [
      ['CRLF', 'MESSAGE sip:a@b.com SIP/2.0\r\nContent-Length: 2\r\n\r\n'],
      ['LF', 'MESSAGE sip:a@b.com SIP/2.0\nContent-Length: 2\n\n'],
      ['LF then CRLF', 'MESSAGE sip:a@b.com SIP/2.0\nContent-Length: 2\n\r\n'],
      ['CRLF then LF', 'MESSAGE sip:a@b.com SIP/2.0\r\nContent-Length: 2\r\n\n'],
    ] as const) {
      const data = Buffer.from(`${head}hiMESSAGE`, 'latin1');
      const framer = new StreamFramer();
      const { messages } = feed(framer, [data]);
      assert.equal(messages.length, 1, name);
      assert.equal(messages[0]?.toString('latin1'), `${head}hi`, name);
      assert.equal(parseMessage(messages[0] as Buffer, { framing: 'stream' }).body.toString(), 'hi', name);
      assert.equal(framer.pending, 'MESSAGE'.length, `${name}: the next message's start is held`);
    }
  });

  test('messages come out the same however the stream is cut, and stay intact as more arrives', () => {
    const stream = Buffer.concat([
      Buffer.from('\r\n\r\n'),
      msg(1, 'first body'),
      Buffer.from('\r\n'),
      msg(2),
      msg(3, 'x\r\n\r\ny'),
      Buffer.from('MESSAGE sip:a@b.com SIP/2.0\nContent-Length: 3\n\nlf!'),
    ]);
    const whole = feed(new StreamFramer(), [stream]).messages.map((m) => m.toString('latin1'));
    assert.equal(whole.length, 4);
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 40 }),
        (cuts) => {
          const at = [0, ...cuts.sort((a, b) => a - b), stream.length];
          const chunks = at.slice(1).map((end, i) => stream.subarray(at[i], end));
          const framer = new StreamFramer();
          const { messages, pings } = feed(framer, chunks);
          // Read only after everything was pushed: earlier messages must not have been written over.
          assert.deepEqual(
            messages.map((m) => m.toString('latin1')),
            whole,
          );
          assert.equal(pings, 1);
          assert.equal(framer.pending, 0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
