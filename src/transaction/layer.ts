import { getHeapStatistics } from 'node:v8';
import { TransactionStateError } from '../errors.js';
import type { SipRequest, SipResponse } from '../message/message.js';
import { type Clock, systemClock } from './clock.js';
import { InviteClientTransaction } from './invite-client.js';
import { InviteServerTransaction } from './invite-server.js';
import { clientKey, responseKey, serverKey } from './keys.js';
import { NonInviteClientTransaction } from './non-invite-client.js';
import { NonInviteServerTransaction } from './non-invite-server.js';
import { resolveTimers, type TimerSettings } from './timers.js';
import type {
  ClientTransaction,
  ClientTransactionUser,
  ServerTransaction,
  ServerTransactionUser,
  TransactionContext,
} from './transaction.js';

export interface TransactionLayerOptions {
  clock?: Clock;
  /** T1, T2, T4 for this layer (RFC 3261 defaults 500, 4000, 5000 ms). */
  timers?: Partial<TimerSettings>;
  /**
   * Most server transactions alive at once (default 200,000). A new request
   * beyond it makes no transaction: receiveRequest() says 'overloaded' and
   * the caller refuses it. Retransmissions, ACKs and CANCELs still match.
   */
  maxServerTransactions?: number;
  /**
   * Most bytes of received requests held by live server transactions
   * (default a quarter of V8's heap limit). Each holds its request while it
   * lingers, and a request may be as large as the parser's limit (64 KiB):
   * the count limit alone would let large requests fill the heap. A new
   * request that would go past it is refused like one past the count.
   */
  maxServerTransactionBytes?: number;
}

/** Default for TransactionLayerOptions.maxServerTransactions. */
export const DEFAULT_MAX_SERVER_TRANSACTIONS = 200_000;

/** Default for TransactionLayerOptions.maxServerTransactionBytes: a quarter of the heap limit. */
export function defaultMaxServerTransactionBytes(heapLimit = getHeapStatistics().heap_size_limit): number {
  return Math.floor(heapLimit / 4);
}

/** How a message reaches the network for one transaction. */
export interface Channel {
  readonly reliable: boolean;
  /** Sends; returns the bytes sent for the message, if it has them (see TransactionContext.send). */
  send(message: SipRequest | SipResponse): Buffer | undefined;
}

/** What became of a request handed to the layer (RFC 3261 §17.2.3). */
export type RequestRouting =
  /** A new request: a server transaction was made; the TU must answer it. */
  | { readonly kind: 'new'; readonly tx: ServerTransaction }
  /** A retransmission (or an ACK for a non-2xx final response), absorbed by its transaction. */
  | { readonly kind: 'absorbed'; readonly tx: ServerTransaction }
  /** An ACK matching no transaction: the ACK for a 2xx, end to end (§17.2.3, §13.2.2.4). */
  | { readonly kind: 'ack' }
  /** The request has no top Via branch or CSeq to match on; the caller answers or drops it. */
  | { readonly kind: 'unmatchable' }
  /** A new request while the layer holds its most server transactions: none was made (RFC 3261 §21.5.4: 503). */
  | { readonly kind: 'overloaded' };

/**
 * The transaction layer of RFC 3261 §17: owns the client and server
 * transaction tables, makes transactions, and routes each incoming message
 * to the transaction it matches.
 */
export class TransactionLayer {
  readonly clock: Clock;
  readonly timers: TimerSettings;
  private readonly clients: Map<string, ClientTransaction>;
  private readonly servers: Map<string, ServerTransaction>;
  /** Most server transactions alive at once (see TransactionLayerOptions). */
  readonly maxServerTransactions: number;
  /** Most bytes of requests they hold (see TransactionLayerOptions). */
  readonly maxServerTransactionBytes: number;
  /** Bytes of requests the live server transactions hold. */
  private readonly held: { bytes: number };

  constructor(options: TransactionLayerOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.timers = resolveTimers(options.timers);
    const max = options.maxServerTransactions ?? DEFAULT_MAX_SERVER_TRANSACTIONS;
    if (!(max >= 1)) throw new TypeError('maxServerTransactions must be at least 1');
    this.maxServerTransactions = max;
    const maxBytes = options.maxServerTransactionBytes ?? defaultMaxServerTransactionBytes();
    if (!(maxBytes >= 1)) throw new TypeError('maxServerTransactionBytes must be at least 1');
    this.maxServerTransactionBytes = maxBytes;
    this.held = { bytes: 0 };
    this.clients = new Map();
    this.servers = new Map();
  }

  /** Live client and server transactions. */
  get size(): { clients: number; servers: number } {
    return { clients: this.clients.size, servers: this.servers.size };
  }

  /** Bytes of received requests the live server transactions hold. */
  get serverBytes(): number {
    return this.held.bytes;
  }

  /**
   * Makes a client transaction for `request` (which must carry its top Via
   * with a unique RFC 3261 branch) and sends it.
   */
  sendRequest(request: SipRequest, channel: Channel, tu: ClientTransactionUser): ClientTransaction {
    const branch = request.topVia?.branch;
    if (branch === undefined)
      throw new TransactionStateError('a request needs a top Via with a branch to start a transaction');
    if (request.method === 'ACK')
      throw new TransactionStateError('ACK is sent without a client transaction (RFC 3261 §17.1)');
    const key = clientKey(branch, request.method);
    if (this.clients.has(key))
      throw new TransactionStateError(`a client transaction with branch ${branch} already exists`);
    const clients = this.clients;
    const link = new ClientLink(this.clock, this.timers, channel, tu, clients, key);
    const tx =
      request.method === 'INVITE'
        ? new InviteClientTransaction(request, key, link, link)
        : new NonInviteClientTransaction(request, key, link, link);
    clients.set(key, tx);
    tx.start();
    return tx;
  }

  /**
   * Routes a response to its client transaction. Returns false when none
   * matches: the response then goes to the core (a 2xx retransmission or a
   * forked 2xx after the transaction ended, §17.1.1.2).
   */
  receiveResponse(response: SipResponse): boolean {
    const key = responseKey(response);
    const tx = key === undefined ? undefined : this.clients.get(key);
    if (tx === undefined) return false;
    tx.receiveResponse(response);
    return true;
  }

  /** Reports a transport failure for the client transaction with this key. */
  clientTransportError(key: string, error: Error): void {
    this.clients.get(key)?.transportError(error);
  }

  /**
   * Routes a request to its server transaction, or makes one (§17.2.3). The
   * channel sends this transaction's responses back the way the request came.
   */
  receiveRequest(request: SipRequest, channel: Channel, tu: ServerTransactionUser = {}): RequestRouting {
    const key = serverKey(request);
    if (key === undefined) return { kind: 'unmatchable' };
    const existing = this.servers.get(key);
    if (existing !== undefined) {
      existing.receiveRequest(request);
      return { kind: 'absorbed', tx: existing };
    }
    if (request.method === 'ACK') return { kind: 'ack' };
    const servers = this.servers;
    // Every answered transaction lingers (Timer J, L: 32 s over UDP), so a flood
    // would grow the table without bound. A CANCEL is let in: it ends work.
    const bytes = request.receivedBytes;
    if (
      (servers.size >= this.maxServerTransactions ||
        this.held.bytes + bytes > this.maxServerTransactionBytes) &&
      request.method !== 'CANCEL'
    )
      return { kind: 'overloaded' };
    this.held.bytes += bytes;
    const link = new ServerLink(this.clock, this.timers, channel, tu, servers, key, this.held, bytes);
    const tx =
      request.method === 'INVITE'
        ? new InviteServerTransaction(request, key, link, link)
        : new NonInviteServerTransaction(request, key, link, link);
    servers.set(key, tx);
    return { kind: 'new', tx };
  }

  /** The server transaction a request belongs to, if any. */
  findServer(request: SipRequest): ServerTransaction | undefined {
    const key = serverKey(request);
    return key === undefined ? undefined : this.servers.get(key);
  }

  /** The INVITE server transaction a CANCEL targets (RFC 3261 §9.2), if still live. */
  findInviteForCancel(cancel: SipRequest): ServerTransaction | undefined {
    const key = serverKey(cancel, 'INVITE');
    return key === undefined ? undefined : this.servers.get(key);
  }

  /** Stops every transaction without telling their users (shutdown). */
  close(): void {
    for (const tx of this.clients.values()) tx.abort();
    for (const tx of this.servers.values()) tx.abort();
    this.clients.clear();
    this.servers.clear();
    this.held.bytes = 0;
  }
}

/**
 * What ties one transaction to the layer: its way to the network (the
 * layer's clock and timers, and the channel) and its user, whose events it
 * passes on; when the transaction ends it leaves the table. One object per
 * transaction serves as both its context and its user.
 */
abstract class Link<T, U> implements TransactionContext {
  readonly clock: Clock;
  readonly timers: TimerSettings;
  readonly reliable: boolean;
  protected readonly tu: U;
  private readonly channel: Channel;
  private readonly table: Map<string, T>;
  private readonly key: string;

  constructor(
    clock: Clock,
    timers: TimerSettings,
    channel: Channel,
    tu: U,
    table: Map<string, T>,
    key: string,
  ) {
    this.clock = clock;
    this.timers = timers;
    this.reliable = channel.reliable;
    this.tu = tu;
    this.channel = channel;
    this.table = table;
    this.key = key;
  }

  send(message: SipRequest | SipResponse): Buffer | undefined {
    return this.channel.send(message);
  }

  protected leave(): void {
    this.table.delete(this.key);
  }
}

/** The link of a client transaction. */
class ClientLink extends Link<ClientTransaction, ClientTransactionUser> implements ClientTransactionUser {
  response(r: SipResponse, tx: ClientTransaction): void {
    this.tu.response(r, tx);
  }

  timeout(tx: ClientTransaction): void {
    this.tu.timeout(tx);
  }

  transportError(e: Error, tx: ClientTransaction): void {
    this.tu.transportError(e, tx);
  }

  terminated(tx: ClientTransaction): void {
    this.leave();
    this.tu.terminated?.(tx);
  }
}

/** The link of a server transaction, which also gives back the bytes its request held. */
class ServerLink extends Link<ServerTransaction, ServerTransactionUser> implements ServerTransactionUser {
  private readonly held: { bytes: number };
  private readonly bytes: number;

  constructor(
    clock: Clock,
    timers: TimerSettings,
    channel: Channel,
    tu: ServerTransactionUser,
    table: Map<string, ServerTransaction>,
    key: string,
    held: { bytes: number },
    bytes: number,
  ) {
    super(clock, timers, channel, tu, table, key);
    this.held = held;
    this.bytes = bytes;
  }

  ack(a: SipRequest, tx: ServerTransaction): void {
    this.tu.ack?.(a, tx);
  }

  timeout(tx: ServerTransaction): void {
    this.tu.timeout?.(tx);
  }

  transportError(e: Error, tx: ServerTransaction): void {
    this.tu.transportError?.(e, tx);
  }

  terminated(tx: ServerTransaction): void {
    this.leave();
    this.held.bytes -= this.bytes;
    this.tu.terminated?.(tx);
  }
}
