import { INVITE } from './bench/mix.mjs';
import { parseMessage } from './dist/index.js';

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
let s = 0;
for (let i = 0; i < 1000000; i++) s += edit(parsedOnce.clone());
console.log(s);
