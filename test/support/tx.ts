import { createResponse, parseMessage, type SipRequest, type SipResponse } from '../../src/index.js';
import type { Channel } from '../../src/transaction/layer.js';
import type {
  ClientTransaction,
  ClientTransactionUser,
  ServerTransaction,
  ServerTransactionUser,
} from '../../src/transaction/transaction.js';

let counter = 0;

/** A request as a UAC would send it, with a fresh RFC 3261 branch. */
export function request(method: string, branch = `z9hG4bK-test-${++counter}`): SipRequest {
  return parseMessage(
    [
      `${method} sip:bob@biloxi.example.com SIP/2.0`,
      `Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=${branch}`,
      'Max-Forwards: 70',
      'To: Bob <sip:bob@biloxi.example.com>',
      'From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl',
      `Call-ID: tx-${branch}@atlanta.example.com`,
      `CSeq: 1 ${method}`,
      'Contact: <sip:alice@pc33.atlanta.example.com>',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  ) as SipRequest;
}

export function response(req: SipRequest, status: number, toTag = 'b1a2c3'): SipResponse {
  return createResponse(req, status, undefined, { toTag });
}

/** A channel that records what the transaction sends, and can be made reliable. */
export class RecordingChannel implements Channel {
  readonly sent: Array<SipRequest | SipResponse> = [];
  constructor(readonly reliable = false) {}
  send(m: SipRequest | SipResponse): undefined {
    this.sent.push(m);
    return undefined;
  }
  /** Start lines of what was sent, e.g. ['INVITE', '100', 'ACK']. */
  get lines(): string[] {
    return this.sent.map((m) => (m.isRequest ? (m as SipRequest).method : String((m as SipResponse).status)));
  }
}

/** A client TU that records the events it receives. */
export class RecordingClientUser implements ClientTransactionUser {
  readonly events: string[] = [];
  response(r: SipResponse, _tx: ClientTransaction): void {
    this.events.push(`response ${r.status}`);
  }
  timeout(): void {
    this.events.push('timeout');
  }
  transportError(e: Error): void {
    this.events.push(`transport-error ${e.message}`);
  }
  terminated(): void {
    this.events.push('terminated');
  }
}

export class RecordingServerUser implements ServerTransactionUser {
  readonly events: string[] = [];
  ack(a: SipRequest, _tx: ServerTransaction): void {
    this.events.push(`ack ${a.method}`);
  }
  timeout(): void {
    this.events.push('timeout');
  }
  transportError(e: Error): void {
    this.events.push(`transport-error ${e.message}`);
  }
  terminated(): void {
    this.events.push('terminated');
  }
}

/** The ACK a UAC sends for a 2xx (same branch is fine for these tests: it only needs to match or not). */
export function ackFor(req: SipRequest, branch?: string): SipRequest {
  const text = req
    .toString()
    .replace(/^INVITE /, 'ACK ')
    .replace(/CSeq: (\d+) INVITE/, 'CSeq: $1 ACK');
  return parseMessage(
    branch === undefined ? text : text.replace(/branch=[^;\r\n]+/, `branch=${branch}`),
  ) as SipRequest;
}
