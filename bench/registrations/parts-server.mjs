// A reference of the registration benchmark: sipwire's own parts that every
// registrar needs, wired straight to a UDP socket, without the rest of
// `sipwire serve`. Each datagram is parsed and validated by the message
// layer, its top Via marked with where it came from, its credentials checked
// by the server's Authenticator (the same users table and nonces), and the
// REGISTER handed to the server's Registrar on the SQLite location store
// (group commits at serve's default interval); the answer is built by
// createResponse. What is left out is the stack: the transport and
// transaction layers (no retransmission is absorbed, nothing lingers, no
// timers), the routing pipeline, the failure guard's delays, statistics and
// logs. What sipwire serve costs above this is what those layers cost.
//
// Run (after npm run build): node parts-server.mjs PORT DBFILE
import dgram from 'node:dgram';

const dist = new URL('../../dist/', import.meta.url);
const load = (path) => import(new URL(path, dist).href);
const { isRequest } = await load('message/message.js');
const { parseMessage } = await load('message/parser.js');
const { validateRequest } = await load('message/validate.js');
const { createResponse } = await load('message/response.js');
const { Authenticator } = await load('server/authenticator.js');
const { Registrar, addressOfRecord } = await load('server/registrar.js');
const { DEFAULT_COMMIT_INTERVAL_MS } = await load('server/server.js');
const { openDatabase, SqliteLocationStore, SqliteUserStore } = await load('server/store/sqlite.js');

const port = Number(process.argv[2]);
const db = openDatabase(process.argv[3]);
const authenticator = new Authenticator({ users: new SqliteUserStore(db), algorithms: ['MD5'] });
const registrar = new Registrar(
  new SqliteLocationStore(db, { commitIntervalMs: DEFAULT_COMMIT_INTERVAL_MS }),
);
const socket = dgram.createSocket('udp4');
let tags = 0;

function answer(request, status, headers, peer) {
  const response = createResponse(request, status, undefined, { headers, toTag: `p${++tags}` });
  socket.send(response.toBuffer(), peer.port, peer.address);
}

async function handle(data, peer) {
  let request;
  try {
    request = parseMessage(data);
  } catch {
    return;
  }
  if (!isRequest(request) || validateRequest(request).action !== 'accept') return;
  const via = request.topVia;
  const marked = via.markedFrom(peer.address, peer.port);
  if (marked !== via) request.replaceFirstValue('Via', marked);
  if (request.method === 'OPTIONS') return answer(request, 200, [], peer);
  if (request.method !== 'REGISTER') return answer(request, 405, [], peer);
  const source = { transport: 'udp', address: peer.address, port: peer.port };
  const to = request.to.uri;
  const outcome = await authenticator.check(request, source, to.host.toLowerCase(), false);
  if (outcome.kind === 'challenge') {
    return answer(
      request,
      401,
      outcome.challenges.map((c) => [outcome.header, c]),
      peer,
    );
  }
  if (outcome.kind !== 'ok') return answer(request, 403, [], peer);
  const result = await registrar.register(request, addressOfRecord(to), source);
  answer(request, result.status, result.headers, peer);
}

socket.on('message', (data, peer) => {
  handle(data, peer).catch((error) => console.error(`ERROR ${error?.stack ?? error}`));
});
socket.bind(port, '127.0.0.1');
