import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import {
  createServer as createNetServer,
  isIP,
  type Server as NetServer,
  connect as netConnect,
  type Socket,
} from 'node:net';
import { createServer as createTlsServer, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { WebSocket, WebSocketServer } from 'ws';
import { TransportError } from '../errors.js';
import { DEFAULT_LIMITS, type ParseLimits, resolveLimits } from '../message/limits.js';
import { ipFamily, isReliable, type TransportAddress, type TransportName } from './address.js';
import {
  type Connection,
  type ConnectionHandlers,
  type ConnectionOptions,
  StreamConnection,
  stripV4Mapped,
  WsConnection,
} from './connection.js';
import { looksLikeStun, stunBindingAnswer } from './stun.js';

/** Where a message came from. */
export interface Source {
  readonly transport: TransportName;
  readonly address: string;
  readonly port: number;
  /** The local address and port it arrived on. */
  readonly localAddress: string;
  readonly localPort: number;
  /** The connection it arrived on (stream and WebSocket transports). */
  readonly connection: Connection | undefined;
}

/** Where to send a message. */
export interface Target {
  readonly transport: TransportName;
  readonly address: string;
  readonly port: number;
  /** Send on this connection while it is open (responses go back the way requests came, §18.2.2). */
  readonly connection?: Connection | undefined;
}

export interface TlsOptions {
  /** PEM certificate chain file. */
  certFile?: string;
  /** PEM private key file. */
  keyFile?: string;
  /** PEM CA bundle file, to verify peers. */
  caFile?: string;
  /** Ask clients for a certificate and require a valid one. */
  requireClientCert?: boolean;
  /** Verify the certificates of servers we connect to (default true). */
  verifyServer?: boolean;
  /** Oldest TLS version to accept or offer (default Node's, TLSv1.2). */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** Newest TLS version to accept or offer (default TLSv1.3); TLSv1.2 for peers that cannot take 1.3. */
  maxVersion?: 'TLSv1.2' | 'TLSv1.3';
}

export interface TransportLayerOptions {
  limits?: Partial<ParseLimits>;
  /** Close idle connections after this many ms (default 5 minutes; 0: never). */
  idleTimeoutMs?: number;
  /** Close a connection whose message stays incomplete this long, ms (default 30 s). */
  partialTimeoutMs?: number;
  /** Most connections open at once (default 10000); more are refused. */
  maxConnections?: number;
  /**
   * Most bytes waiting to be written on one connection (default 1 MiB): a peer
   * that stops reading while messages for it pile up is disconnected.
   */
  maxQueuedBytes?: number;
  /**
   * Most bytes of incomplete messages held by all stream connections
   * together (default 64 MiB). Each may hold up to a message (64 KiB) for
   * `partialTimeoutMs`; past this, the connection holding most is closed.
   */
  maxPartialBytes?: number;
  /** Give up connecting after this many ms (default 10 s). */
  connectTimeoutMs?: number;
  /**
   * Receive and send buffer of each UDP socket, bytes (default 4 MiB; the
   * system caps it at net.core.rmem_max / wmem_max). A large one rides out
   * bursts and short pauses without the kernel dropping datagrams.
   */
  udpBufferBytes?: number;
  /** Send CRLFCRLF pings on idle outbound connections every this many ms (RFC 5626 §4.4.1; default 0: off). */
  keepAliveMs?: number;
  tls?: TlsOptions;
}

export interface TransportHandlers {
  /** Bytes of one SIP message (a datagram, a framed stream message, a WebSocket message). */
  message(data: Buffer, source: Source): void;
  /** A stream broke its framing; the connection was closed. */
  framingError?(error: Error, source: Source): void;
}

interface Listener {
  readonly address: TransportAddress;
  close(): Promise<void>;
}

/**
 * Address lookup for the UDP sockets: every datagram goes to an IP address
 * (names are resolved before, by RFC 3263), which is answered at once rather
 * than through dns.lookup() and a tick of the event loop per send.
 */
function literalLookup(
  address: string,
  options: number | LookupOneOptions,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const family = ipFamily(address);
  if (family !== 0) callback(null, address, family);
  else dnsLookup(address, options as LookupOneOptions, callback);
}

/**
 * The transport layer of RFC 3261 §18: listens on UDP, TCP, TLS, WS and WSS
 * addresses, keeps a pool of connections (reused for messages to the same
 * destination, closed when idle), and delivers whole messages as bytes.
 */
export class TransportLayer {
  private readonly handlers: TransportHandlers;
  readonly limits: Readonly<ParseLimits>;
  private readonly options: Required<Omit<TransportLayerOptions, 'limits' | 'tls'>> & { tls: TlsOptions };
  private readonly listeners: Listener[];
  private readonly udpSockets: Map<string, UdpSocket>;
  private readonly pool: Map<string, Connection>;
  private readonly connecting: Map<string, Promise<Connection>>;
  private readonly connections: Map<number, Connection>;
  /** Connections holding an incomplete message, with its bytes so far. */
  private readonly partial: Map<Connection, number>;
  /** Their sum. */
  private partialBytes: number;
  /** Counters for what was refused or dropped. */
  readonly stats: {
    droppedDatagrams: number;
    framingErrors: number;
    refusedConnections: number;
    /** Connections closed because their peer left more than `maxQueuedBytes` unread. */
    stalledConnections: number;
    /** Connections closed because the incomplete messages of all held more than `maxPartialBytes`. */
    partialOverflows: number;
    /** STUN Binding Requests answered on the UDP ports (RFC 5626 §8 keep-alives). */
    stunBindings: number;
  };
  private keepAlive: ReturnType<typeof setInterval> | undefined;
  /** Peer addresses seen lately, so the sources of their datagrams share one string each. */
  private readonly peerAddresses: Map<string, string>;

  constructor(handlers: TransportHandlers, options: TransportLayerOptions = {}) {
    this.handlers = handlers;
    this.limits = options.limits === undefined ? DEFAULT_LIMITS : resolveLimits(options.limits);
    this.options = {
      idleTimeoutMs: options.idleTimeoutMs ?? 300_000,
      partialTimeoutMs: options.partialTimeoutMs ?? 30_000,
      maxConnections: options.maxConnections ?? 10_000,
      maxQueuedBytes: options.maxQueuedBytes ?? 1024 * 1024,
      maxPartialBytes: options.maxPartialBytes ?? 64 * 1024 * 1024,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      keepAliveMs: options.keepAliveMs ?? 0,
      udpBufferBytes: options.udpBufferBytes ?? 4 * 1024 * 1024,
      tls: options.tls ?? {},
    };
    this.listeners = [];
    this.udpSockets = new Map();
    this.pool = new Map();
    this.connecting = new Map();
    this.connections = new Map();
    this.partial = new Map();
    this.partialBytes = 0;
    this.stats = {
      droppedDatagrams: 0,
      framingErrors: 0,
      refusedConnections: 0,
      stalledConnections: 0,
      partialOverflows: 0,
      stunBindings: 0,
    };
    this.keepAlive = undefined;
    this.peerAddresses = new Map();
    if (this.options.keepAliveMs > 0) {
      this.keepAlive = setInterval(() => {
        for (const c of this.pool.values()) c.send(Buffer.from('\r\n\r\n'));
      }, this.options.keepAliveMs);
      this.keepAlive.unref();
    }
  }

  /** The addresses listened on, with the ports actually bound (port 0 asks for any). */
  get addresses(): TransportAddress[] {
    return this.listeners.map((l) => l.address);
  }

  private connectionOptions(): ConnectionOptions {
    return {
      limits: this.limits,
      idleTimeoutMs: this.options.idleTimeoutMs,
      partialTimeoutMs: this.options.partialTimeoutMs,
      maxQueuedBytes: this.options.maxQueuedBytes,
    };
  }

  private connectionHandlers(): ConnectionHandlers {
    return {
      message: (data, conn) =>
        this.handlers.message(data, {
          transport: conn.transport,
          address: conn.remoteAddress,
          port: conn.remotePort,
          localAddress: conn.localAddress,
          localPort: conn.localPort,
          connection: conn,
        }),
      framingError: (e, conn) => {
        this.stats.framingErrors++;
        this.handlers.framingError?.(e, {
          transport: conn.transport,
          address: conn.remoteAddress,
          port: conn.remotePort,
          localAddress: conn.localAddress,
          localPort: conn.localPort,
          connection: conn,
        });
      },
      stalled: () => {
        this.stats.stalledConnections++;
      },
      holding: (conn, bytes) => {
        const was = this.partial.get(conn) ?? 0;
        if (bytes === was) return;
        if (bytes === 0) this.partial.delete(conn);
        else this.partial.set(conn, bytes);
        this.partialBytes += bytes - was;
        if (this.partialBytes > this.options.maxPartialBytes) this.shedPartial();
      },
      closed: (conn) => {
        this.connections.delete(conn.id);
        const key = poolKey(conn.transport, conn.remoteAddress, conn.remotePort);
        if (this.pool.get(key) === conn) this.pool.delete(key);
      },
    };
  }

  /**
   * Closes the connections holding the largest incomplete messages until the
   * total is within its limit: a flood of slow senders loses its own
   * connections, while a peer whose message is merely split across reads
   * holds little. A connection leaves the count before it is closed, so
   * its closing reports nothing more.
   */
  private shedPartial(): void {
    while (this.partialBytes > this.options.maxPartialBytes) {
      let largest: Connection | undefined;
      let most = 0;
      for (const [c, b] of this.partial) {
        if (b > most) {
          most = b;
          largest = c;
        }
      }
      if (largest === undefined) return;
      this.stats.partialOverflows++;
      this.partial.delete(largest);
      this.partialBytes -= most;
      largest.close();
    }
  }

  private adopt(conn: Connection): Connection {
    this.connections.set(conn.id, conn);
    const key = poolKey(conn.transport, conn.remoteAddress, conn.remotePort);
    if (!this.pool.has(key)) this.pool.set(key, conn);
    return conn;
  }

  private admit(socket: Socket): boolean {
    if (this.connections.size >= this.options.maxConnections) {
      this.stats.refusedConnections++;
      socket.destroy();
      return false;
    }
    return true;
  }

  /** Starts listening on an address (`port: 0` picks a free port). */
  /**
   * A datagram's source address as a string shared with earlier datagrams
   * from the same peer: what a transaction keeps of its source then costs no
   * string per message. At most 4096 are remembered.
   */
  private sharedAddress(address: string): string {
    const known = this.peerAddresses.get(address);
    if (known !== undefined) return known;
    if (this.peerAddresses.size >= 4096) this.peerAddresses.clear();
    this.peerAddresses.set(address, address);
    return address;
  }

  async listen(address: TransportAddress): Promise<TransportAddress> {
    switch (address.transport) {
      case 'udp':
        return this.listenUdp(address);
      case 'tcp':
      case 'tls':
        return this.listenStream(address);
      default:
        return this.listenWs(address);
    }
  }

  private async listenUdp(address: TransportAddress): Promise<TransportAddress> {
    const socket = createSocket({
      type: isIP(address.host) === 6 ? 'udp6' : 'udp4',
      reuseAddr: false,
      recvBufferSize: this.options.udpBufferBytes,
      sendBufferSize: this.options.udpBufferBytes,
      lookup: literalLookup,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(address.port, address.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const bound = socket.address();
    const actual: TransportAddress = { transport: 'udp', host: address.host, port: bound.port };
    socket.on('message', (data, rinfo) => {
      // CRLF keep-alives are not SIP; STUN keep-alives (RFC 5626 §8) are answered here.
      if (data.length === 0 || (data.length <= 4 && data.every((b) => b === 13 || b === 10))) return;
      if (looksLikeStun(data)) {
        const answer = stunBindingAnswer(data, stripV4Mapped(rinfo.address), rinfo.port);
        if (answer === null) return;
        this.stats.stunBindings++;
        socket.send(answer, rinfo.port, rinfo.address, () => {});
        return;
      }
      this.handlers.message(data, {
        transport: 'udp',
        address: this.sharedAddress(stripV4Mapped(rinfo.address)),
        port: rinfo.port,
        localAddress: address.host,
        localPort: bound.port,
        connection: undefined,
      });
    });
    socket.on('error', () => {
      this.stats.droppedDatagrams++;
    });
    this.udpSockets.set(
      udpKey(isIP(address.host) === 6 ? 6 : 4),
      this.udpSockets.get(udpKey(isIP(address.host) === 6 ? 6 : 4)) ?? socket,
    );
    this.udpSockets.set(`${address.host}|${bound.port}`, socket);
    this.listeners.push({
      address: actual,
      close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
    });
    return actual;
  }

  private tlsServerOptions() {
    const t = this.options.tls;
    if (t.certFile === undefined || t.keyFile === undefined) {
      throw new RangeError('a TLS or WSS listener needs tls.certFile and tls.keyFile');
    }
    return {
      cert: readFileSync(t.certFile),
      key: readFileSync(t.keyFile),
      ca: t.caFile ? readFileSync(t.caFile) : undefined,
      requestCert: t.requireClientCert === true,
      rejectUnauthorized: t.requireClientCert === true,
      minVersion: t.minVersion,
      maxVersion: t.maxVersion,
    };
  }

  private async listenStream(address: TransportAddress): Promise<TransportAddress> {
    const transport = address.transport as 'tcp' | 'tls';
    const onSocket = (socket: Socket) => {
      if (!this.admit(socket)) return;
      this.adopt(
        new StreamConnection(transport, socket, this.connectionHandlers(), this.connectionOptions()),
      );
    };
    const server: NetServer =
      transport === 'tls'
        ? createTlsServer(
            { ...this.tlsServerOptions(), handshakeTimeout: this.options.connectTimeoutMs },
            onSocket,
          )
        : createNetServer(onSocket);
    server.on('tlsClientError', () => {
      this.stats.refusedConnections++;
    });
    return this.bind(server, address, () => new Promise<void>((resolve) => server.close(() => resolve())));
  }

  /** Binds a stream or HTTP server and records it as a listener with its way to close. */
  private async bind(
    server: NetServer | HttpServer,
    address: TransportAddress,
    close: () => Promise<void>,
  ): Promise<TransportAddress> {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(address.port, address.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const port = (server.address() as { port: number }).port;
    const actual: TransportAddress = { transport: address.transport, host: address.host, port };
    this.listeners.push({ address: actual, close });
    return actual;
  }

  private async listenWs(address: TransportAddress): Promise<TransportAddress> {
    const transport = address.transport as 'ws' | 'wss';
    const http: HttpServer =
      transport === 'wss' ? createHttpsServer(this.tlsServerOptions()) : createHttpServer();
    const wss = new WebSocketServer({
      server: http,
      maxPayload: this.limits.maxMessageSize,
      // RFC 7118 §4.1: the "sip" subprotocol is required.
      handleProtocols: (protocols) => (protocols.has('sip') ? 'sip' : false),
    });
    wss.on('connection', (ws, req) => {
      const socket = req.socket;
      if (ws.protocol !== 'sip' || this.connections.size >= this.options.maxConnections) {
        this.stats.refusedConnections++;
        ws.close(1002, 'the sip subprotocol is required');
        return;
      }
      this.adopt(
        new WsConnection(
          transport,
          ws,
          { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 },
          { address: socket.localAddress ?? '', port: socket.localPort ?? 0 },
          this.connectionHandlers(),
          this.connectionOptions(),
        ),
      );
    });
    return this.bind(
      http,
      address,
      () =>
        new Promise<void>((resolve) => {
          for (const c of wss.clients) c.terminate();
          wss.close(() => http.close(() => resolve()));
        }),
    );
  }

  /** An open connection by its id (a flow remembered by a registration or a Record-Route). */
  connectionById(id: number): Connection | undefined {
    const c = this.connections.get(id);
    return c?.open ? c : undefined;
  }

  /** An open connection to the target, if the pool has one. */
  findConnection(transport: TransportName, address: string, port: number): Connection | undefined {
    const c = this.pool.get(poolKey(transport, address, port));
    return c?.open ? c : undefined;
  }

  /**
   * Sends bytes. UDP goes from a listening socket of the same address family;
   * stream and WebSocket transports use the given connection, an open one to
   * the same destination, or a new one. Rejects with TransportError.
   */
  /** Sees every message sent, before it goes (for tracing). */
  tap: ((data: Buffer, target: Target) => void) | undefined = undefined;

  async send(data: Buffer, target: Target): Promise<Connection | undefined> {
    this.tap?.(data, target);
    const bad = badTarget(target);
    if (bad !== undefined) throw new TransportError(bad);
    if (target.transport === 'udp') {
      const socket = this.udpSocketFor(target.address);
      if (socket === undefined)
        throw new TransportError('no UDP socket to send from (listen on a UDP address first)');
      await new Promise<void>((resolve, reject) => {
        socket.send(data, target.port, target.address, (err) =>
          err ? reject(new TransportError(err.message, { cause: err })) : resolve(),
        );
      });
      return undefined;
    }
    let conn = target.connection?.open
      ? target.connection
      : this.findConnection(target.transport, target.address, target.port);
    if (conn === undefined) conn = await this.connect(target);
    conn.send(data);
    return conn;
  }

  /**
   * Sends without a promise: a UDP datagram leaves at once; stream and
   * WebSocket transports go through send(). A failure goes to `onError`.
   */
  post(data: Buffer, target: Target, onError: (e: TransportError) => void): void {
    if (target.transport !== 'udp') {
      // send() taps it.
      this.send(data, target).catch((e: unknown) =>
        onError(e instanceof TransportError ? e : new TransportError(String(e), { cause: e })),
      );
      return;
    }
    this.tap?.(data, target);
    const bad = badTarget(target);
    if (bad !== undefined) {
      onError(new TransportError(bad));
      return;
    }
    const socket = this.udpSocketFor(target.address);
    if (socket === undefined) {
      onError(new TransportError('no UDP socket to send from (listen on a UDP address first)'));
      return;
    }
    try {
      socket.send(data, target.port, target.address, (err) => {
        if (err) onError(new TransportError(err.message, { cause: err }));
      });
    } catch (err) {
      // A send that fails at once (a closed socket) is reported like one that fails later.
      onError(new TransportError((err as Error).message, { cause: err }));
    }
  }

  private udpSocketFor(address: string): UdpSocket | undefined {
    return this.udpSockets.get(udpKey(ipFamily(address) === 6 ? 6 : 4));
  }

  /** Opens (or joins the opening of) a connection to the target. */
  connect(target: Target): Promise<Connection> {
    const key = poolKey(target.transport, target.address, target.port);
    let p = this.connecting.get(key);
    if (p === undefined) {
      p = this.open(target).finally(() => this.connecting.delete(key));
      this.connecting.set(key, p);
    }
    return p;
  }

  private open(target: Target): Promise<Connection> {
    if (this.connections.size >= this.options.maxConnections) {
      return Promise.reject(new TransportError(`connection limit of ${this.options.maxConnections} reached`));
    }
    const timeout = this.options.connectTimeoutMs;
    if (target.transport === 'ws' || target.transport === 'wss') {
      return new Promise((resolve, reject) => {
        const host = target.address.includes(':') ? `[${target.address}]` : target.address;
        const ws = new WebSocket(`${target.transport}://${host}:${target.port}/`, 'sip', {
          handshakeTimeout: timeout,
          rejectUnauthorized: this.options.tls.verifyServer !== false,
          ca: this.options.tls.caFile ? readFileSync(this.options.tls.caFile) : undefined,
          minVersion: this.options.tls.minVersion,
          maxVersion: this.options.tls.maxVersion,
          maxPayload: this.limits.maxMessageSize,
        });
        ws.once('open', () => {
          const s = (ws as unknown as { _socket: Socket })._socket;
          resolve(
            this.adopt(
              new WsConnection(
                target.transport as 'ws' | 'wss',
                ws,
                { address: target.address, port: target.port },
                { address: s?.localAddress ?? '', port: s?.localPort ?? 0 },
                this.connectionHandlers(),
                this.connectionOptions(),
              ),
            ),
          );
        });
        ws.once('error', (err) =>
          reject(
            new TransportError(
              `cannot connect to ${target.transport}:${target.address}:${target.port}: ${err.message}`,
              { cause: err },
            ),
          ),
        );
      });
    }
    return new Promise((resolve, reject) => {
      const tls = target.transport === 'tls';
      let socket: Socket | TLSSocket;
      const fail = (err: Error) => {
        socket.destroy();
        reject(
          new TransportError(
            `cannot connect to ${target.transport}:${target.address}:${target.port}: ${err.message}`,
            { cause: err },
          ),
        );
      };
      const ready = () => {
        socket.setTimeout(0);
        socket.off('error', fail);
        resolve(
          this.adopt(
            new StreamConnection(
              target.transport as 'tcp' | 'tls',
              socket,
              this.connectionHandlers(),
              this.connectionOptions(),
            ),
          ),
        );
      };
      if (tls) {
        socket = tlsConnect({
          host: target.address,
          port: target.port,
          rejectUnauthorized: this.options.tls.verifyServer !== false,
          ca: this.options.tls.caFile ? readFileSync(this.options.tls.caFile) : undefined,
          cert: this.options.tls.certFile ? readFileSync(this.options.tls.certFile) : undefined,
          key: this.options.tls.keyFile ? readFileSync(this.options.tls.keyFile) : undefined,
          servername: isIP(target.address) ? undefined : target.address,
          minVersion: this.options.tls.minVersion,
          maxVersion: this.options.tls.maxVersion,
        });
        socket.once('secureConnect', ready);
      } else {
        socket = netConnect({ host: target.address, port: target.port });
        socket.once('connect', ready);
      }
      socket.once('error', fail);
      socket.setTimeout(timeout, () => fail(new Error(`no connection within ${timeout} ms`)));
    });
  }

  /** Open connections. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    if (this.keepAlive !== undefined) clearInterval(this.keepAlive);
    for (const c of [...this.connections.values()]) c.close();
    await Promise.all(this.listeners.map((l) => l.close()));
    this.listeners.length = 0;
    this.udpSockets.clear();
    this.pool.clear();
  }

  /** True for transports with delivery guarantees. */
  static reliable(t: TransportName): boolean {
    return isReliable(t);
  }
}

function poolKey(transport: TransportName, address: string, port: number): string {
  return `${transport}|${address}|${port}`;
}

function udpKey(family: 4 | 6): string {
  return `udp${family}`;
}

/**
 * Why a target cannot be sent to, or undefined when it can: a port out of
 * range or no host (a Via or Contact written by a peer can name anything;
 * it must not reach the socket calls, which throw).
 */
function badTarget(t: Target): string | undefined {
  if (!(Number.isInteger(t.port) && t.port > 0 && t.port < 65536)) return `cannot send to port ${t.port}`;
  if (t.connection === undefined && t.address === '') return 'cannot send to an empty address';
  return undefined;
}
