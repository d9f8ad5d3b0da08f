// Times one forwarding case alone in this process and prints its best time
// per message in ns as JSON: a proxy's edits (RFC 3261 §16.6: top Via added,
// Max-Forwards decremented, top Route removed, Record-Route added) and the
// bytes written, on an INVITE with SDP.
import { parseMessage } from '../dist/index.js';
import { measure } from './harness.mjs';
import { INVITE } from './mix.mjs';

const invite = Buffer.from(
  INVITE.replace('Max-Forwards: 70', 'Max-Forwards: 70\r\nRoute: <sip:192.0.2.10;lr>'),
  'latin1',
);
const parsedOnce = parseMessage(invite);
const edit = (m) => {
  m.prependHeader('Via', 'SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK.a1b2c3d4e5;rport');
  m.decrementMaxForwards();
  m.removeFirstValue('Route');
  m.prependHeader('Record-Route', '<sip:192.0.2.10;lr>');
  return m.toBuffer().length;
};
const cases = {
  'edit+serialize': () => edit(parsedOnce.clone()),
  'parse+edit+serialize': (b) => edit(parseMessage(b)),
  'serialize unchanged': (b) => parseMessage(b).toBuffer().length,
};
const name = process.argv[2];
const fn = cases[name];
if (fn === undefined) throw new Error(`unknown case ${name}`);
const best = measure([{ name, fn, inputs: [invite] }], { rounds: Number(process.argv[3] ?? 12) }).get(name);
process.stdout.write(JSON.stringify({ name, ns: best }));
