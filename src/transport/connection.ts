import { isUtf8 } from 'node:buffer';
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { SipParseError } from '../errors.js';
import { StreamFramer } from '../message/framer.js';
import type { ParseLimits } from '../message/limits.js';
import type { TransportName } from './address.js';

/** An open stream (TCP, TLS) or WebSocket connection. */
export interface Connection {
  readonly id: number;
  readonly transport: TransportName;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** True until the connection is closed from either side. */
  readonly open: boolean;
  /** Writes one SIP message (or a keep-alive). */
  send(data: Buffer): void;
  close(): void;
}

export interface ConnectionHandlers {
  /** One whole SIP message received on the connection. */
  message(data: Buffer, conn: Connection): void;
  /** The stream broke its framing (RFC 3261 §18.3): the connection is being closed. */
  framingError(error: SipParseError, conn: Connection): void;
  closed(conn: Connection): void;
  /** More than `maxQueuedBytes` waited to be written (the peer does not read): the connection is being closed. */
  stalled?(conn: Connection): void;
  /** The bytes of an incomplete message the connection now holds (0 once it closes). */
  holding?(conn: Connection, bytes: number): void;
}

export interface ConnectionOptions {
  limits: Readonly<ParseLimits>;
  /** Close after this long without traffic, ms (0: never). */
  idleTimeoutMs: number;
  /** Close when a message stays incomplete this long, ms (slow senders). */
  partialTimeoutMs: number;
  /** Close when more than this many bytes wait to be written (a peer that does not read). */
  maxQueuedBytes: number;
}

let nextId = 1;

/** The answer to a double-CRLF keep-alive ping (RFC 5626 §4.4.1). */
const PONG = Buffer.from('\r\n');

/**
 * What stream and WebSocket connections share: identity, addresses, the
 * idle timer, and closing once (from either side) with one report.
 */
abstract class ConnectionBase implements Connection {
  readonly id: number;
  readonly transport: TransportName;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  protected readonly handlers: ConnectionHandlers;
  private isOpen: boolean;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly idleTimeoutMs: number;
  private readonly maxQueuedBytes: number;

  protected constructor(
    transport: TransportName,
    remote: { address: string; port: number },
    local: { address: string; port: number },
    handlers: ConnectionHandlers,
    options: ConnectionOptions,
  ) {
    this.id = nextId++;
    this.transport = transport;
    this.remoteAddress = stripV4Mapped(remote.address);
    this.remotePort = remote.port;
    this.localAddress = stripV4Mapped(local.address);
    this.localPort = local.port;
    this.handlers = handlers;
    this.isOpen = true;
    this.idleTimeoutMs = options.idleTimeoutMs;
    this.idleTimer = undefined;
    this.maxQueuedBytes = options.maxQueuedBytes;
  }

  get open(): boolean {
    return this.isOpen;
  }

  send(data: Buffer): void {
    if (!this.isOpen) return;
    this.touch();
    this.write(data);
    // What the peer has not read stays in memory: past the bound, the connection goes (as a
    // stream server's write queue limit does), rather than memory without end.
    if (this.queued() > this.maxQueuedBytes) {
      this.handlers.stalled?.(this);
      this.close();
    }
  }

  /** Puts bytes on the underlying socket. */
  protected abstract write(data: Buffer): void;

  /** Bytes written but not yet taken by the network. */
  protected abstract queued(): number;

  /** Tears the underlying socket down. */
  protected abstract destroy(): void;

  close(): void {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.clearTimers();
    this.destroy();
    this.handlers.closed(this);
  }

  /** The peer or the network closed the connection. */
  protected onClose(): void {
    if (this.isOpen) {
      this.isOpen = false;
      this.clearTimers();
      this.handlers.closed(this);
    }
  }

  /** Traffic: the idle timer starts over. */
  protected touch(): void {
    if (this.idleTimeoutMs <= 0) return;
    if (this.idleTimer !== undefined) this.idleTimer.refresh();
    else {
      this.idleTimer = setTimeout(() => this.close(), this.idleTimeoutMs);
      this.idleTimer.unref();
    }
  }

  protected clearTimers(): void {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }
}

/**
 * A TCP or TLS connection carrying SIP (RFC 3261 §18.3): messages are cut by
 * the stream framer, a double-CRLF ping is answered with a CRLF pong (RFC
 * 5626 §4.4.1), and a framing error closes the connection and nothing else.
 */
export class StreamConnection extends ConnectionBase {
  private readonly socket: Socket;
  private readonly framer: StreamFramer;
  private readonly partialTimeoutMs: number;
  private partialTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    transport: 'tcp' | 'tls',
    socket: Socket,
    handlers: ConnectionHandlers,
    options: ConnectionOptions,
  ) {
    super(
      transport,
      { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 },
      { address: socket.localAddress ?? '', port: socket.localPort ?? 0 },
      handlers,
      options,
    );
    this.socket = socket;
    this.framer = new StreamFramer(options.limits);
    this.partialTimeoutMs = options.partialTimeoutMs;
    this.partialTimer = undefined;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => this.close());
    socket.on('close', () => this.onClose());
    this.touch();
  }

  protected write(data: Buffer): void {
    this.socket.write(data);
  }

  protected queued(): number {
    return this.socket.writableLength;
  }

  protected destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.touch();
    try {
      this.framer.push(
        chunk,
        (m) => this.handlers.message(m, this),
        () => this.send(PONG),
      );
    } catch (e) {
      if (e instanceof SipParseError) {
        this.handlers.framingError(e, this);
        this.close();
        return;
      }
      throw e;
    }
    if (!this.open) return;
    this.handlers.holding?.(this, this.framer.pending);
    // Bound how long a partial message may sit in the buffer.
    if (this.framer.pending > 0) {
      if (this.partialTimer === undefined && this.partialTimeoutMs > 0) {
        this.partialTimer = setTimeout(() => this.close(), this.partialTimeoutMs);
      }
    } else if (this.partialTimer !== undefined) {
      clearTimeout(this.partialTimer);
      this.partialTimer = undefined;
    }
  }

  /** On closing (either side): timers stop, and what the framer held no longer counts. */
  protected override clearTimers(): void {
    super.clearTimers();
    if (this.partialTimer !== undefined) clearTimeout(this.partialTimer);
    this.partialTimer = undefined;
    this.handlers.holding?.(this, 0);
  }
}

/** A WebSocket carrying SIP (RFC 7118): one SIP message per WebSocket message. */
export class WsConnection extends ConnectionBase {
  private readonly ws: WebSocket;

  constructor(
    transport: 'ws' | 'wss',
    ws: WebSocket,
    remote: { address: string; port: number },
    local: { address: string; port: number },
    handlers: ConnectionHandlers,
    options: ConnectionOptions,
  ) {
    super(transport, remote, local, handlers, options);
    this.ws = ws;
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
      this.touch();
      const buf = Array.isArray(data)
        ? Buffer.concat(data)
        : Buffer.isBuffer(data)
          ? data
          : Buffer.from(data);
      // RFC 7118 §5: a WebSocket message holds exactly one SIP message; CRLF alone is a keep-alive.
      if (buf.length <= 4 && buf.every((b) => b === 0x0d || b === 0x0a)) return;
      this.handlers.message(buf, this);
    });
    ws.on('close', () => this.onClose());
    ws.on('error', () => this.close());
    this.touch();
  }

  protected write(data: Buffer): void {
    // SIP messages are text frames (RFC 7118 §5.1), unless they hold binary bodies.
    this.ws.send(data, { binary: !isUtf8(data) });
  }

  protected queued(): number {
    return this.ws.bufferedAmount;
  }

  protected destroy(): void {
    this.ws.terminate();
  }
}

/** "::ffff:192.0.2.1" (an IPv4 peer on a dual-stack socket) as "192.0.2.1". */
export function stripV4Mapped(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
