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
  /**
   * The bytes held are data[0, held). `data` is either a view of what was
   * received (not written to) or, when `owned`, a buffer of this framer's
   * with room to grow: pieces that arrive before a message is whole are
   * copied into it, and it doubles when full, so a message that comes a
   * byte at a time costs time and memory in proportion to its length.
   */
  private data: Buffer;
  private held: number;
  private owned: boolean;
  /** Header-section end found so far (offset of the body), -1 while unknown. */
  private bodyAt: number;
  /** Total length of the message being assembled, -1 while unknown. */
  private total: number;
  /** Where to resume the search for the end of the header section. */
  private scanFrom: number;
  /** Start of the header line the search is in. */
  private lineStart: number;
  private errored: SipParseError | null;
  /** CRLFs seen since the last message, for ping detection. */
  private crlfRun: number;

  constructor(limits?: Partial<ParseLimits>) {
    this.limits = limits === undefined ? DEFAULT_LIMITS : resolveLimits(limits);
    this.data = EMPTY;
    this.held = 0;
    this.owned = false;
    this.bodyAt = -1;
    this.total = -1;
    this.scanFrom = 0;
    this.lineStart = 0;
    this.errored = null;
    this.crlfRun = 0;
  }

  /** Bytes held that do not yet form a whole message. */
  get pending(): number {
    return this.held;
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
    this.append(chunk);
    try {
      this.drain(onMessage, onPing);
    } catch (e) {
      if (e instanceof SipParseError) {
        this.errored = e;
        this.data = EMPTY;
        this.held = 0;
        this.owned = false;
      }
      throw e;
    }
  }

  private append(chunk: Buffer): void {
    if (this.held === 0) {
      // Nothing held: the chunk itself, without a copy.
      this.data = chunk;
      this.held = chunk.length;
      this.owned = false;
      return;
    }
    const need = this.held + chunk.length;
    if (!this.owned || need > this.data.length) {
      // Doubling up to the largest message; past that (a whole message and the start of
      // the next) just what is needed.
      const grown = Buffer.allocUnsafe(
        Math.max(need, Math.min(2 * this.held, this.limits.maxMessageSize), 4096),
      );
      this.data.copy(grown, 0, 0, this.held);
      this.data = grown;
      this.owned = true;
    }
    chunk.copy(this.data, this.held);
    this.held = need;
  }

  /** Drops the first n bytes held; what is left is a view until more arrives. */
  private consume(n: number): void {
    this.held -= n;
    this.data = this.held === 0 ? EMPTY : this.data.subarray(n, n + this.held);
    this.owned = false;
  }

  private drain(onMessage: (message: Buffer) => void, onPing?: () => void): void {
    for (;;) {
      if (this.held === 0) return;
      if (this.bodyAt === -1) {
        if (this.scanFrom === 0) {
          // Skip keep-alive CRLFs before a message.
          const buf = this.data;
          let skip = 0;
          while (skip < this.held && (buf[skip] === 0x0d || buf[skip] === 0x0a)) {
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
            if (this.held === 0) return;
          }
          this.crlfRun = 0;
        }
        const headEnd = this.findEmptyLine();
        if (headEnd === -1) {
          const limit = this.limits.maxHeaderSectionSize;
          if (this.held > limit) {
            throw new SipParseError(
              ParseErrorCode.MESSAGE_TOO_LARGE,
              `header section exceeds the limit of ${limit} bytes`,
              {
                offset: limit,
                status: 513,
              },
            );
          }
          return;
        }
        const cl = contentLength(this.data, headEnd);
        if (cl === -1) {
          throw new SipParseError(
            ParseErrorCode.CONTENT_LENGTH_REQUIRED,
            'Content-Length is required on stream transports',
            {
              offset: headEnd,
              header: 'Content-Length',
            },
          );
        }
        if (cl > this.limits.maxBodySize || this.bodyAt + cl > this.limits.maxMessageSize) {
          throw new SipParseError(ParseErrorCode.BODY_TOO_LARGE, `Content-Length ${cl} exceeds the limit`, {
            offset: headEnd,
            status: 413,
          });
        }
        this.total = this.bodyAt + cl;
      }
      if (this.held < this.total) return;
      const message = this.data.subarray(0, this.total);
      this.bodyAt = -1;
      this.scanFrom = 0;
      this.lineStart = 0;
      // The rest becomes a view: nothing is written over the message handed out.
      this.consume(this.total);
      this.total = -1;
      onMessage(message);
    }
  }

  /**
   * Looks through the bytes not yet searched for the empty line that ends
   * the header section (RFC 3261 §7: a line that is empty, or only CR, the
   * way the parser reads lines). On finding it sets `bodyAt` and returns
   * where the empty line starts; else -1, to go on from there next time.
   */
  private findEmptyLine(): number {
    const buf = this.data;
    const held = this.held;
    let p = this.scanFrom;
    let lineStart = this.lineStart;
    for (;;) {
      p = buf.indexOf(0x0a, p);
      if (p === -1 || p >= held) {
        this.scanFrom = held;
        this.lineStart = lineStart;
        return -1;
      }
      if (p === lineStart || (p === lineStart + 1 && buf[lineStart] === 0x0d)) {
        this.bodyAt = p + 1;
        return lineStart;
      }
      lineStart = p + 1;
      p++;
    }
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * Content-Length of the header section buf[0, headEnd) (compact "l"
 * included), -1 when absent. Conflicting or malformed values throw.
 */
function contentLength(buf: Buffer, headEnd: number): number {
  const text = buf.toString('latin1', 0, headEnd);
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
