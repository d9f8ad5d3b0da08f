import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
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
});
