// One side of the transaction throughput benchmark, in its own process:
//   node bench/tx-node.mjs server <impl>                     prints "ready <port>", answers OPTIONS with 200
//   node bench/tx-node.mjs client <impl> <port> <count> <window>
//                                                            sends <count> OPTIONS, <window> at a time,
//                                                            prints {"tps":..., "seconds":...}
// <impl> is sipwire or sip (the npm package). Both use UDP; the server on
// 127.0.0.2 and the client on 127.0.0.1 (the sip package takes a request to its
// own address for a flow token).

import { createRequire } from 'node:module';

const [role, impl, portArg, countArg, windowArg] = process.argv.slice(2);
const require = createRequire(import.meta.url);

if (impl === 'sipwire') {
  const { NameAddr, SipRequest, SipStack, newCallId, newTag } = await import('../dist/index.js');
  const stack = new SipStack({ listen: [role === 'server' ? 'udp:127.0.0.2:0' : 'udp:127.0.0.1:0'] });
  const [bound] = await stack.start();
  if (role === 'server') {
    stack.onRequest((incoming) => incoming.respond(200));
    process.on('SIGTERM', () => stack.stop().then(() => process.exit(0)));
    console.log(`ready ${bound.port}`);
  } else {
    const target = `udp:127.0.0.2:${portArg}`;
    const uri = `sip:bench@127.0.0.2:${portArg}`;
    const to = new NameAddr(uri);
    const callIdHost = '127.0.0.1';
    const once = async () => {
      const req = new SipRequest({
        method: 'OPTIONS',
        uri,
        headers: [
          ['Max-Forwards', 70],
          ['To', to],
          ['From', new NameAddr('sip:client@127.0.0.1', undefined, { tag: newTag() })],
          ['Call-ID', newCallId(callIdHost)],
          ['CSeq', '1 OPTIONS'],
          ['Content-Length', 0],
        ],
      });
      const out = await stack.request(req, { target });
      const res = await out.final;
      if (res.status !== 200) throw new Error(`status ${res.status}`);
    };
    const result = await drive(once, Number(countArg), Number(windowArg));
    await stack.stop();
    console.log(JSON.stringify(result));
  }
} else if (impl === 'sip') {
  const sip = require('sip');
  const address = role === 'server' ? '127.0.0.2' : '127.0.0.1';
  const port = await freeUdpPort(address);
  const stack = sip.create({ port, address, hostname: address, publicAddress: address, tcp: false }, (rq) => {
    if (rq.method !== 'ACK') stack.send(sip.makeResponse(rq, 200, 'OK'));
  });
  if (role === 'server') {
    process.on('SIGTERM', () => {
      stack.destroy();
      process.exit(0);
    });
    console.log(`ready ${port}`);
  } else {
    const uri = `sip:bench@127.0.0.2:${portArg}`;
    let seq = 0;
    const once = () =>
      new Promise((resolve, reject) => {
        seq++;
        stack.send(
          {
            method: 'OPTIONS',
            uri,
            headers: {
              to: { uri },
              from: {
                uri: 'sip:client@127.0.0.1',
                params: { tag: `t${seq}x${Math.random().toString(36).slice(2)}` },
              },
              'call-id': `${seq}-${Math.random().toString(36).slice(2)}@127.0.0.1`,
              cseq: { method: 'OPTIONS', seq: 1 },
              'max-forwards': 70,
              'content-length': 0,
            },
          },
          (rs) => {
            if (rs.status >= 200) (rs.status === 200 ? resolve : reject)(rs.status);
          },
        );
      });
    const result = await drive(once, Number(countArg), Number(windowArg));
    stack.destroy();
    console.log(JSON.stringify(result));
  }
} else {
  console.error(`unknown implementation ${impl}`);
  process.exit(2);
}

/** Keeps `window` transactions in flight until `count` have completed; returns transactions per second. */
async function drive(once, count, window) {
  // Warm-up: a tenth of the run, not timed.
  await pool(once, Math.max(200, Math.floor(count / 10)), window);
  const t0 = process.hrtime.bigint();
  await pool(once, count, window);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { tps: count / s, seconds: s };
}

async function pool(once, count, window) {
  let started = 0;
  const worker = async () => {
    while (started < count) {
      started++;
      await once();
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
}

async function freeUdpPort(address) {
  const { createSocket } = await import('node:dgram');
  const s = createSocket('udp4');
  await new Promise((r) => s.bind(0, address, r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}
