import { after, before } from 'node:test';

/**
 * Deterministic mutations of SIP messages for the fuzzing tiers: bytes
 * changed, cut, repeated and inserted (`pieces` among them), the message
 * truncated, a header line repeated, Content-Length rewritten. The same seed
 * gives the same mutations on every run.
 */
export function mutator(seed: number, pieces: readonly string[]) {
  let s = seed;
  const below = (n: number): number => {
    s = (Math.imul(s, 1103515245) + 12345) & 0x7fffffff;
    return Math.floor((s / 0x80000000) * n);
  };
  const mutate = (original: Buffer): Buffer => {
    let b = Buffer.from(original);
    for (let k = 1 + below(4); k > 0; k--) {
      const at = below(b.length + 1);
      switch (below(7)) {
        case 0:
          if (b.length > 0) b[below(b.length)] = below(256);
          break;
        case 1:
          b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + below(20)))]);
          break;
        case 2:
          b = Buffer.concat([
            b.subarray(0, at),
            Buffer.from(pieces[below(pieces.length)] as string, 'latin1'),
            b.subarray(at),
          ]);
          break;
        case 3: {
          const from = below(b.length);
          b = Buffer.concat([b.subarray(0, at), b.subarray(from, from + below(80)), b.subarray(at)]);
          break;
        }
        case 4:
          b = b.subarray(0, at);
          break;
        case 5: {
          const lines = b.toString('latin1').split('\r\n');
          lines.splice(below(lines.length), 0, lines[below(lines.length)] as string);
          b = Buffer.from(lines.join('\r\n'), 'latin1');
          break;
        }
        default:
          b = Buffer.from(
            b
              .toString('latin1')
              .replace(/(Content-Length|\bl)[ \t]*:[ \t]*\d+/i, `Content-Length: ${below(3000)}`),
            'latin1',
          );
      }
    }
    return b.length > 60_000 ? b.subarray(0, 60_000) : b;
  };
  return { mutate, below };
}

/**
 * Pieces inserted by the mutations of messages between user agents and
 * proxies: separators, numbers past their limits, schemes, and whole header
 * lines that change what a dialog or a transaction is.
 */
export const DIALOG_PIECES: readonly string[] = [
  '\r\n',
  ';',
  ',',
  '<',
  '>',
  '"',
  '0',
  '4294967296',
  'sip:',
  'tel:',
  '*',
  '\x00',
  'Record-Route: <sip:127.0.0.1:1;lr>, <sips:x>\r\n',
  'Contact: *\r\n',
  'Contact: <sip:a@[::1>\r\n',
  'Via: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKx\r\n',
  'CSeq: 1 BYE\r\n',
  'Require: 100rel\r\n',
  'Content-Type: application/sdp\r\n',
  'Content-Type: multipart/mixed;boundary=x\r\n',
  'Replaces: x;to-tag=a;from-tag=b\r\n',
  'Replaces: ;early-only\r\n',
  'Refer-To: <sip:127.0.0.1:9?Replaces=a%3Bto-tag%3Db>\r\n',
  'Event: refer;id=1\r\nSubscription-State: terminated\r\n',
];

/**
 * Collects what escapes to the process (uncaught exceptions, unhandled
 * rejections) while the tests of the enclosing describe() run: call it in
 * the describe body; the tests assert the list stays empty.
 */
export function processErrors(): unknown[] {
  const errors: unknown[] = [];
  const onError = (e: unknown) => errors.push(e);
  before(() => {
    process.on('uncaughtException', onError);
    process.on('unhandledRejection', onError);
  });
  after(() => {
    process.off('uncaughtException', onError);
    process.off('unhandledRejection', onError);
  });
  return errors;
}
