import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseMediaType, parseMessage, parseMultipart } from '../../src/index.js';

describe('multipart bodies (RFC 2046 §5.1)', () => {
  const body = Buffer.concat([
    Buffer.from(
      'preamble\r\n--b1\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n\r\n--b1\r\nContent-Type: application/octet-stream\r\n\r\n',
    ),
    Buffer.from([0, 13, 10, 45, 45, 98, 255]),
    Buffer.from('\r\n--b1--\r\nepilogue'),
  ]);
  const ct = parseMediaType('multipart/mixed;boundary=b1');

  test('splits parts binary-safely, preamble and epilogue ignored', () => {
    const parts = parseMultipart(body, ct);
    assert.equal(parts.length, 2);
    assert.equal(parts[0]!.contentType.essence, 'application/sdp');
    assert.equal(parts[0]!.body.toString(), 'v=0\r\n');
    assert.deepEqual([...parts[1]!.body], [0, 13, 10, 45, 45, 98, 255]);
  });

  test('a part without headers is text/plain', () => {
    const parts = parseMultipart(
      Buffer.from('--x\r\n\r\nplain\r\n--x--'),
      parseMediaType('multipart/mixed; boundary=x'),
    );
    assert.equal(parts[0]!.contentType.essence, 'text/plain');
    assert.equal(parts[0]!.body.toString(), 'plain');
  });

  test('errors: missing boundary parameter, missing close', () => {
    assert.throws(() => parseMultipart(body, parseMediaType('multipart/mixed')), {
      code: 'SIP_ERR_MULTIPART',
    });
    assert.throws(() => parseMultipart(Buffer.from('--b1\r\n\r\nx'), ct), /missing closing boundary/);
  });

  test('bodyParts() on a message', () => {
    const m = parseMessage(
      Buffer.concat([
        Buffer.from(
          `MESSAGE sip:a@b.com SIP/2.0\r\nContent-Type: multipart/mixed;boundary=b1\r\nContent-Length: ${body.length}\r\n\r\n`,
        ),
        body,
      ]),
    );
    assert.equal(m.bodyParts().length, 2);
    const plain = parseMessage(
      'MESSAGE sip:a@b.com SIP/2.0\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi',
    );
    assert.equal(plain.bodyParts()[0]!.body.toString(), 'hi');
  });
});
