import { ParseErrorCode, SipParseError } from '../errors.js';
import { DEFAULT_LIMITS, type ParseLimits, resolveLimits } from './limits.js';

/**
 * Cuts SIP messages out of a byte stream (TCP, TLS), RFC 3261 §18.3: each
 * message ends Content-Length octets after its empty line, and CRLFs
 * between messages are keep-alives (RFC 5626 §4.4.1: a double CRLF "ping"
 * is answered with a single CRLF "pong"). After a framing error the stream
 * cannot be resynchronised: every later call throws.
 */
export class StreamFramer {
  private readonly limits: Readonly<ParseLimits>;
  private chunks: Buffer[];
  private buffered: number;
  /** Header-section end found so far (offset of the body), -1 while unknown. */
  private bodyAt: number;
  /** Total length of the message being assembled, -1 while unknown. */
  private total: number;
  /** Where to resume the search for the end of the header section. */
  private scanFrom: number;
  private errored: SipParseError | null;
  /** CRLFs seen since the last message, for ping detection. */
  private crlfRun: number;

  constructor(limits?: Partial<ParseLimits>) {
    this.limits = limits === undefined ? DEFAULT_LIMITS : resolveLimits(limits);
    this.chunks = [];
    this.buffered = 0;
    this.bodyAt = -1;
    this.total = -1;
    this.scanFrom = 0;
    this.errored = null;
    this.crlfRun = 0;
  }

  /** Bytes held that do not yet form a whole message. */
  get pending(): number {
    return this.buffered;
  }

  /**
   * Adds bytes from the stream. `onMessage` receives each whole message
   * (exactly its bytes, ready for `parseMessage(..., { framing: 'stream' })`);
   * `onPing` is called for each double-CRLF keep-alive. Throws
   * SipParseError on a framing error.
   */
  push(chunk: Buffer, onMessage: (message: Buffer) => void, onPing?: () => void): void {
    if (this.errored !== null) {
      throw new SipParseError(
        ParseErrorCode.STREAM_ERRORED,
        `stream already failed: ${this.errored.message}`,
      );
    }
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    try {
      this.drain(onMessage, onPing);
    } catch (e) {
      if (e instanceof SipParseError) {
        this.errored = e;
        this.chunks = [];
        this.buffered = 0;
      }
      throw e;
    }
  }

  private joined(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.buffered)];
    return this.chunks[0] as Buffer;
  }

  private consume(n: number): void {
    const buf = this.joined();
    this.buffered -= n;
    this.chunks = this.buffered === 0 ? [] : [buf.subarray(n)];
  }

  private drain(onMessage: (message: Buffer) => void, onPing?: () => void): void {
    for (;;) {
      if (this.buffered === 0) return;
      if (this.bodyAt === -1) {
        // Skip keep-alive CRLFs before a message.
        let buf = this.joined();
        let skip = 0;
        while (skip < buf.length && (buf[skip] === 0x0d || buf[skip] === 0x0a)) {
          if (buf[skip] === 0x0a) {
            this.crlfRun++;
            if (this.crlfRun === 2) {
              this.crlfRun = 0;
              onPing?.();
            }
          }
          skip++;
        }
        if (skip > 0) {
          this.consume(skip);
          if (this.buffered === 0) return;
          buf = this.joined();
        }
        this.crlfRun = 0;
        const limit = this.limits.maxHeaderSectionSize;
        const from = Math.max(0, this.scanFrom - 3);
        let end = buf.indexOf('\r\n\r\n', from, 'latin1');
        let sep = 4;
        if (end === -1) {
          const lf = buf.indexOf('\n\n', from, 'latin1');
          if (lf !== -1) {
            end = lf;
            sep = 2;
          }
        }
        if (end === -1) {
          if (buf.length > limit) {
            throw new SipParseError(
              ParseErrorCode.MESSAGE_TOO_LARGE,
              `header section exceeds the limit of ${limit} bytes`,
              {
                offset: limit,
                status: 513,
              },
            );
          }
          this.scanFrom = buf.length;
          return;
        }
        this.bodyAt = end + sep;
        const cl = contentLength(buf, end);
        if (cl === -1) {
          throw new SipParseError(
            ParseErrorCode.CONTENT_LENGTH_REQUIRED,
            'Content-Length is required on stream transports',
            {
              offset: end,
              header: 'Content-Length',
            },
          );
        }
        if (cl > this.limits.maxBodySize || this.bodyAt + cl > this.limits.maxMessageSize) {
          throw new SipParseError(ParseErrorCode.BODY_TOO_LARGE, `Content-Length ${cl} exceeds the limit`, {
            offset: end,
            status: 413,
          });
        }
        this.total = this.bodyAt + cl;
      }
      if (this.buffered < this.total) return;
      const buf = this.joined();
      const message = buf.subarray(0, this.total);
      const total = this.total;
      this.bodyAt = -1;
      this.total = -1;
      this.scanFrom = 0;
      this.buffered -= total;
      this.chunks = this.buffered === 0 ? [] : [buf.subarray(total)];
      onMessage(message);
    }
  }
}

/**
 * Content-Length of the header section buf[0, end) (compact "l" included),
 * -1 when absent. Conflicting or malformed values throw.
 */
function contentLength(buf: Buffer, end: number): number {
  const text = buf.toString('latin1', 0, end + 2);
  let found = -1;
  let pos = text.indexOf('\n') + 1;
  while (pos > 0 && pos < text.length) {
    let eol = text.indexOf('\n', pos);
    if (eol === -1) eol = text.length;
    const c = text.charCodeAt(pos) | 0x20;
    if (c === 0x6c || c === 0x63) {
      const colon = text.indexOf(':', pos);
      if (colon !== -1 && colon < eol) {
        const name = text.slice(pos, colon).trim().toLowerCase();
        if (name === 'content-length' || name === 'l') {
          const raw = text.slice(colon + 1, eol).trim();
          if (!/^[0-9]{1,10}$/.test(raw)) {
            throw new SipParseError(
              ParseErrorCode.CONTENT_LENGTH,
              `Content-Length '${raw.slice(0, 20)}' is not a number`,
              {
                offset: colon + 1,
                header: 'Content-Length',
              },
            );
          }
          const v = Number(raw);
          if (found !== -1 && found !== v) {
            throw new SipParseError(
              ParseErrorCode.CONTENT_LENGTH,
              `conflicting Content-Length values ${found} and ${v}`,
              {
                offset: colon + 1,
                header: 'Content-Length',
              },
            );
          }
          found = v;
        }
      }
    }
    pos = eol + 1;
  }
  return found;
}
