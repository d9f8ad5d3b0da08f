/**
 * Errors of sipwire. Every class has a stable `name` and every instance a
 * stable `code` (`SIP_ERR_*`); callers match on `err.code`. The codes are
 * listed in docs/errors.md and never reused.
 */

const kSipError = Symbol.for('sipwire.SipError');
const kSipParseError = Symbol.for('sipwire.SipParseError');

/** Codes of errors raised while reading SIP bytes. */
export const ParseErrorCode = {
  /** The input holds no message (nothing, or only CRLF keep-alives). */
  EMPTY: 'SIP_ERR_EMPTY',
  /** The input is larger than `maxMessageSize`. */
  MESSAGE_TOO_LARGE: 'SIP_ERR_MESSAGE_TOO_LARGE',
  /** The header section has no terminating empty line. */
  HEADERS_UNTERMINATED: 'SIP_ERR_HEADERS_UNTERMINATED',
  /** The start line (request line or status line) is malformed. */
  START_LINE: 'SIP_ERR_START_LINE',
  /** The SIP-Version is malformed. */
  VERSION: 'SIP_ERR_VERSION',
  /** The status code is not three digits between 100 and 699. */
  STATUS_CODE: 'SIP_ERR_STATUS_CODE',
  /** A header line is malformed (no name, no colon, bare CR, folding with nothing to fold). */
  HEADER_LINE: 'SIP_ERR_HEADER_LINE',
  /** More header fields than `maxHeaders`. */
  TOO_MANY_HEADERS: 'SIP_ERR_TOO_MANY_HEADERS',
  /** A header field longer than `maxHeaderLineLength`. */
  HEADER_TOO_LONG: 'SIP_ERR_HEADER_TOO_LONG',
  /** More Via values than `maxVias`. */
  TOO_MANY_VIAS: 'SIP_ERR_TOO_MANY_VIAS',
  /** Content-Length is malformed, conflicting, or larger than the data received. */
  CONTENT_LENGTH: 'SIP_ERR_CONTENT_LENGTH',
  /** A stream message has no Content-Length (RFC 3261 §18.3). */
  CONTENT_LENGTH_REQUIRED: 'SIP_ERR_CONTENT_LENGTH_REQUIRED',
  /** The body is larger than `maxBodySize`. */
  BODY_TOO_LARGE: 'SIP_ERR_BODY_TOO_LARGE',
  /** A header value does not match its grammar. */
  HEADER_VALUE: 'SIP_ERR_HEADER_VALUE',
  /** A URI does not match its grammar. */
  URI: 'SIP_ERR_URI',
  /** A multipart body is malformed. */
  MULTIPART: 'SIP_ERR_MULTIPART',
  /** A stream was fed after a framing error. */
  STREAM_ERRORED: 'SIP_ERR_STREAM_ERRORED',
} as const;

export type ParseErrorCode = (typeof ParseErrorCode)[keyof typeof ParseErrorCode];

/** Codes of errors outside message parsing. */
export const ErrorCode = {
  /** A transaction was driven in a way its state machine does not allow (a bug in the caller). */
  TRANSACTION_STATE: 'SIP_ERR_TRANSACTION_STATE',
  /** A client transaction ended without a final response (Timer B or F, RFC 3261 §8.1.3.1: treat as 408). */
  TIMEOUT: 'SIP_ERR_TIMEOUT',
  /** The transport could not deliver a message (RFC 3261 §8.1.3.1: treat as 503). */
  TRANSPORT: 'SIP_ERR_TRANSPORT',
  /** An SDP body does not follow the RFC 8866 grammar. */
  SDP: 'SIP_ERR_SDP',
  /** An offer cannot be answered (no common media or codec; answer 488), or offer/answer was driven out of order. */
  SDP_NEGOTIATION: 'SIP_ERR_SDP_NEGOTIATION',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base class of every error sipwire throws on purpose. */
export class SipError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }

  override get name(): string {
    return 'SipError';
  }

  get [kSipError](): true {
    return true;
  }

  /**
   * Any sipwire error is a SipError, even from another copy of the package;
   * a subclass matches its own kind only (by prototype, or by name across copies).
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null || (value as { [kSipError]?: true })[kSipError] !== true)
      return false;
    if (this === SipError) return true;
    return Function.prototype[Symbol.hasInstance].call(this, value) || (value as Error).name === this.name;
  }
}

export interface SipParseErrorDetails {
  /** Byte offset in the message where the problem was found; -1 when unknown. */
  offset?: number;
  /** The header field concerned, in its canonical spelling. */
  header?: string;
  /** The response status a server sends to a request with this error (default 400). */
  status?: number;
}

/**
 * Raised for any input that does not form a valid SIP message or value.
 * Parsing never throws anything else.
 */
export class SipParseError extends SipError {
  /** Byte offset in the message (or in the parsed string) of the problem; -1 when unknown. */
  readonly offset: number;
  /** Canonical name of the header field concerned, if any. */
  readonly header: string | undefined;
  /** Status of the response a server sends for a request with this error: 400, 413, 505 or 513. */
  readonly status: number;

  constructor(code: ParseErrorCode, message: string, details: SipParseErrorDetails = {}) {
    super(code, message);
    this.offset = details.offset ?? -1;
    this.header = details.header;
    this.status = details.status ?? 400;
  }

  override get name(): string {
    return 'SipParseError';
  }

  get [kSipParseError](): true {
    return true;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as { [kSipParseError]?: true })[kSipParseError] === true
    );
  }

  /** The same error with its offset moved by `delta` and its header named, for values parsed inside a message. */
  relocate(delta: number, header?: string): SipParseError {
    const err = new SipParseError(this.code as ParseErrorCode, this.message, {
      offset: this.offset < 0 ? -1 : this.offset + delta,
      header: this.header ?? header,
      status: this.status,
    });
    return err;
  }
}

/**
 * A transaction was asked to do something its state does not allow, such as
 * sending a second final response: a bug in the code driving it.
 */
export class TransactionStateError extends SipError {
  constructor(message: string) {
    super(ErrorCode.TRANSACTION_STATE, message);
  }

  override get name(): string {
    return 'TransactionStateError';
  }
}

/** A client transaction timed out (Timer B or F): no final response arrived. */
export class TransactionTimeoutError extends SipError {
  constructor(message: string) {
    super(ErrorCode.TIMEOUT, message);
  }

  override get name(): string {
    return 'TransactionTimeoutError';
  }
}

/** The transport failed to deliver a message. */
export class TransportError extends SipError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.TRANSPORT, message);
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }

  override get name(): string {
    return 'TransportError';
  }
}

/** An SDP body does not follow the RFC 8866 grammar, or exceeds a limit. */
export class SdpError extends SipError {
  /** 1-based line of the SDP body where the problem is; 0 when it is not tied to one line. */
  readonly line: number;

  constructor(message: string, line = 0) {
    super(ErrorCode.SDP, message);
    this.line = line;
  }

  override get name(): string {
    return 'SdpError';
  }
}

/**
 * An offer cannot be answered (no stream with a common codec: the caller
 * answers 488, RFC 3261 §13.3.1.3), or offer/answer was driven in an order
 * RFC 3264 §4 does not allow.
 */
export class SdpNegotiationError extends SipError {
  constructor(message: string) {
    super(ErrorCode.SDP_NEGOTIATION, message);
  }

  override get name(): string {
    return 'SdpNegotiationError';
  }
}
