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
}

export interface ConnectionOptions {
  limits: Readonly<ParseLimits>;
  /** Close after this long without traffic, ms (0: never). */
  idleTimeoutMs: number;
  /** Close when a message stays incomplete this long, ms (slow senders). */
  partialTimeoutMs: number;
}

let nextId = 1;

/**
 * A TCP or TLS connection carrying SIP (RFC 3261 §18.3): messages are cut by
 * the stream framer, a double-CRLF ping is answered with a CRLF pong (RFC
 * 5626 §4.4.1), and a framing error closes the connection and nothing else.
 */
export class StreamConnection implements Connection {
  readonly id: number;
  readonly transport: TransportName;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  private readonly socket: Socket;
  private readonly framer: StreamFramer;
  private readonly handlers: ConnectionHandlers;
  private readonly options: ConnectionOptions;
  private isOpen: boolean;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private partialTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    transport: 'tcp' | 'tls',
    socket: Socket,
    handlers: ConnectionHandlers,
    options: ConnectionOptions,
  ) {
    this.id = nextId++;
    this.transport = transport;
    this.socket = socket;
    this.remoteAddress = stripV4Mapped(socket.remoteAddress ?? '');
    this.remotePort = socket.remotePort ?? 0;
    this.localAddress = stripV4Mapped(socket.localAddress ?? '');
    this.localPort = socket.localPort ?? 0;
    this.framer = new StreamFramer(options.limits);
    this.handlers = handlers;
    this.options = options;
    this.isOpen = true;
    this.idleTimer = undefined;
    this.partialTimer = undefined;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => this.close());
    socket.on('close', () => this.onClose());
    this.touch();
  }

  get open(): boolean {
    return this.isOpen;
  }

  send(data: Buffer): void {
    if (!this.isOpen) return;
    this.touch();
    this.socket.write(data);
  }

  close(): void {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.clearTimers();
    this.socket.destroy();
    this.handlers.closed(this);
  }

  private onClose(): void {
    if (this.isOpen) {
      this.isOpen = false;
      this.clearTimers();
      this.handlers.closed(this);
    }
  }

  private onData(chunk: Buffer): void {
    this.touch();
    try {
      this.framer.push(
        chunk,
        (m) => this.handlers.message(m, this),
        () => this.socket.write('\r\n'),
      );
    } catch (e) {
      if (e instanceof SipParseError) {
        this.handlers.framingError(e, this);
        this.close();
        return;
      }
      throw e;
    }
    // Bound how long a partial message may sit in the buffer.
    if (this.framer.pending > 0) {
      if (this.partialTimer === undefined && this.options.partialTimeoutMs > 0) {
        this.partialTimer = setTimeout(() => this.close(), this.options.partialTimeoutMs);
      }
    } else if (this.partialTimer !== undefined) {
      clearTimeout(this.partialTimer);
      this.partialTimer = undefined;
    }
  }

  private touch(): void {
    if (this.options.idleTimeoutMs <= 0) return;
    if (this.idleTimer !== undefined) this.idleTimer.refresh();
    else {
      this.idleTimer = setTimeout(() => this.close(), this.options.idleTimeoutMs);
      this.idleTimer.unref();
    }
  }

  private clearTimers(): void {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    if (this.partialTimer !== undefined) clearTimeout(this.partialTimer);
    this.idleTimer = undefined;
    this.partialTimer = undefined;
  }
}

/** A WebSocket carrying SIP (RFC 7118): one SIP message per WebSocket message. */
export class WsConnection implements Connection {
  readonly id: number;
  readonly transport: TransportName;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  private readonly ws: WebSocket;
  private readonly handlers: ConnectionHandlers;
  private isOpen: boolean;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly idleTimeoutMs: number;

  constructor(
    transport: 'ws' | 'wss',
    ws: WebSocket,
    remote: { address: string; port: number },
    local: { address: string; port: number },
    handlers: ConnectionHandlers,
    options: ConnectionOptions,
  ) {
    this.id = nextId++;
    this.transport = transport;
    this.ws = ws;
    this.remoteAddress = stripV4Mapped(remote.address);
    this.remotePort = remote.port;
    this.localAddress = stripV4Mapped(local.address);
    this.localPort = local.port;
    this.handlers = handlers;
    this.isOpen = true;
    this.idleTimeoutMs = options.idleTimeoutMs;
    this.idleTimer = undefined;
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

  get open(): boolean {
    return this.isOpen;
  }

  send(data: Buffer): void {
    if (!this.isOpen) return;
    this.touch();
    // SIP messages are text frames (RFC 7118 §5.1), unless they hold binary bodies.
    this.ws.send(data, { binary: !isUtf8(data) });
  }

  close(): void {
    if (!this.isOpen) return;
    this.isOpen = false;
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.ws.terminate();
    this.handlers.closed(this);
  }

  private onClose(): void {
    if (this.isOpen) {
      this.isOpen = false;
      if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
      this.handlers.closed(this);
    }
  }

  private touch(): void {
    if (this.idleTimeoutMs <= 0) return;
    if (this.idleTimer !== undefined) this.idleTimer.refresh();
    else {
      this.idleTimer = setTimeout(() => this.close(), this.idleTimeoutMs);
      this.idleTimer.unref();
    }
  }
}

function isUtf8(b: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}

/** "::ffff:192.0.2.1" (an IPv4 peer on a dual-stack socket) as "192.0.2.1". */
export function stripV4Mapped(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
