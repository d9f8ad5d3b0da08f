// The floor of the registration benchmark: the least a registrar written for
// Node can do per registration over the same UDP socket API, as a reference
// for what sipwire's own SIP processing costs on top of it.
//
// It answers a REGISTER without Authorization with a fixed 401 and one with
// Authorization with a 200 that lists the Contact, copying Via, From, To,
// Call-ID and CSeq by text search. Nothing is parsed, checked or kept: no
// digest verification, no transactions, no retransmission handling. With
// --durable FILE, each 200 waits for its binding to be written to SQLite the
// way sipwire's store does it by default (WAL, synchronous=FULL; a write with
// no commit in the last 10 ms committed with the rest of its event-loop
// turn, later ones together once the 10 ms are over), so the 200 means on disk.
//
// Run: node floor-server.mjs PORT [--durable FILE]
import dgram from 'node:dgram';
import { createRequire } from 'node:module';

const port = Number(process.argv[2]);
const durableAt = process.argv.indexOf('--durable');
const dbFile = durableAt > 0 ? process.argv[durableAt + 1] : undefined;

/** The whole line of the first header `name` (exact spelling, as SIPp writes it). */
function line(text, name) {
  const at = text.indexOf(`\r\n${name}:`);
  if (at === -1) return '';
  return text.slice(at + 2, text.indexOf('\r\n', at + 2));
}

const COMMIT_INTERVAL_MS = 10;
let commit;
let pending = [];
let scheduled = false;
let lastCommitAt = Number.NEGATIVE_INFINITY;
if (dbFile !== undefined) {
  const Database = createRequire(import.meta.url)('better-sqlite3');
  const db = new Database(dbFile);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(`CREATE TABLE IF NOT EXISTS bindings (
    aor TEXT NOT NULL, contact TEXT NOT NULL, call_id TEXT NOT NULL, cseq INTEGER NOT NULL,
    expires_at INTEGER NOT NULL, PRIMARY KEY (aor, contact)) STRICT`);
  const upsert = db.prepare(`INSERT INTO bindings VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (aor, contact) DO UPDATE SET call_id = excluded.call_id, cseq = excluded.cseq,
    expires_at = excluded.expires_at`);
  commit = db.transaction((writes) => {
    for (const w of writes) upsert.run(w.aor, w.contact, w.callId, w.cseq, Date.now() + 3_600_000);
  });
}

function flush() {
  scheduled = false;
  const writes = pending;
  pending = [];
  lastCommitAt = performance.now();
  commit(writes);
  for (const w of writes) w.send();
}

const socket = dgram.createSocket('udp4');
socket.on('message', (data, peer) => {
  const text = data.toString('latin1');
  if (!text.startsWith('REGISTER ') && !text.startsWith('OPTIONS ')) return;
  const callId = line(text, 'Call-ID');
  const cseq = line(text, 'CSeq');
  const head =
    `${line(text, 'Via')};received=${peer.address}\r\n${line(text, 'From')}\r\n` +
    `${line(text, 'To')};tag=f100r\r\n${callId}\r\n${cseq}\r\n`;
  const send = (message) => socket.send(message, peer.port, peer.address);
  if (!text.includes('\r\nAuthorization:')) {
    send(
      `SIP/2.0 401 Unauthorized\r\n${head}WWW-Authenticate: Digest realm="bench.test", ` +
        `nonce="${Date.now().toString(16)}f100r", algorithm=MD5, qop="auth"\r\nContent-Length: 0\r\n\r\n`,
    );
    return;
  }
  const contact = line(text, 'Contact');
  const ok = `SIP/2.0 200 OK\r\n${head}${contact};expires=3600\r\nContent-Length: 0\r\n\r\n`;
  if (commit === undefined) {
    send(ok);
    return;
  }
  pending.push({
    aor: line(text, 'To'),
    contact,
    callId,
    cseq: Number.parseInt(cseq.slice(cseq.indexOf(':') + 1), 10) || 0,
    send: () => send(ok),
  });
  if (!scheduled) {
    scheduled = true;
    const wait = lastCommitAt + COMMIT_INTERVAL_MS - performance.now();
    if (wait > 0) setTimeout(flush, wait);
    else setImmediate(flush);
  }
});
socket.bind(port, '127.0.0.1');
