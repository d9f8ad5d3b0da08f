// Heap held by live server transactions: 100,000 requests go into a real
// SipStack (the datagram path, without the socket), are answered, and stay
// live in the Completed state with their timer running, as a server under
// load holds them. Prints JSON; run with --expose-gc.
//   node --expose-gc bench/tx-heap.mjs [count]

import { createSocket } from 'node:dgram';
import { parseMessage, SipStack } from '../dist/index.js';

const count = Number(process.argv[2] ?? 100_000);
const gc = globalThis.gc;
if (typeof gc !== 'function') throw new Error('run with --expose-gc');

const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

function request(method, i) {
  return Buffer.from(
    [
      `${method} sip:bob@192.0.2.10 SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-heap-${i}-${method};rport`,
      'Max-Forwards: 70',
      'To: <sip:bob@192.0.2.10>',
      `From: "Alice" <sip:alice@192.0.2.20>;tag=heap${i}`,
      `Call-ID: heap-${i}-a84b4c76e66710@192.0.2.20`,
      `CSeq: 1 ${method}`,
      'Contact: <sip:alice@127.0.0.1:5070>',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
    'latin1',
  );
}

/** Feeds `count` requests and answers each with `status`; returns heap bytes per live transaction. */
async function live(method, status) {
  const sink = createSocket('udp4');
  sink.on('message', () => {});
  await new Promise((r) => sink.bind(0, '127.0.0.1', r));
  const stack = new SipStack({ listen: ['udp:127.0.0.1:0'] });
  await stack.start();
  stack.onRequest((incoming) => incoming.respond(status));
  const source = { transport: 'udp', address: '127.0.0.1', port: sink.address().port };
  const inputs = Array.from({ length: count }, (_, i) => request(method, i));
  const before = heap();
  const receive = stack.receive.bind(stack);
  for (let i = 0; i < count; i++) receive(inputs[i], source);
  // Let the responses leave so nothing is queued in the socket.
  await new Promise((r) => setTimeout(r, 200));
  const after = heap();
  const state = stack.transactions.findServer(parseMessage(inputs[0])).state;
  await stack.stop();
  sink.close();
  return { perTransaction: (after - before) / count, state };
}

/** Heap of a parsed request alone, for comparison. */
function messageOnly(method) {
  const inputs = Array.from({ length: count }, (_, i) => request(method, i));
  const keep = new Array(count);
  const before = heap();
  for (let i = 0; i < count; i++) {
    const m = parseMessage(inputs[i]);
    // What the stack reads of every request anyway.
    void m.topVia;
    void m.cseq;
    keep[i] = m;
  }
  const after = heap();
  return (after - before) / keep.length;
}

/** Heap of one pending setTimeout with its closure: what each running transaction timer costs. */
function timerOnly() {
  const handles = new Array(count);
  const before = heap();
  for (let i = 0; i < count; i++) {
    const box = { i };
    handles[i] = setTimeout(() => void box, 60_000);
  }
  const after = heap();
  for (const h of handles) clearTimeout(h);
  return (after - before) / count;
}

const nonInvite = await live('OPTIONS', 200);
const invite = await live('INVITE', 486);
console.log(
  JSON.stringify({
    count,
    nonInvite,
    invite,
    request: messageOnly('OPTIONS'),
    timer: timerOnly(),
  }),
);
