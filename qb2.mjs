import { measure } from './bench/harness.mjs';
import { MIX } from './bench/mix.mjs';
import { sipReader, sipwireReader } from './bench/parsers.mjs';
import { parseMessage } from './dist/index.js';

const bufs = MIX.map((s) => Buffer.from(s, 'latin1'));
const c = (name, fn) => ({ name, fn, inputs: bufs });
const r = measure(
  [
    { name: 'sip', fn: sipReader(), inputs: MIX },
    c('latin1Slice', (b) => b.latin1Slice(0, b.length).length),
    c('parse', (b) => parseMessage(b).headers.length),
    c('parse+via', (b) => parseMessage(b).topVia.branch.length),
    c('parse+from', (b) => parseMessage(b).from.tag.length),
    c('parse+callid+cseq+mf', (b) => {
      const m = parseMessage(b);
      return m.callId.length + m.cseq.seq + (m.maxForwards ?? 0);
    }),
    c('parse+contact.uri', (b) => {
      const x = parseMessage(b).contact[0];
      return x ? x.uri.host.length : 0;
    }),
    c('all', sipwireReader()),
  ],
  { rounds: 15, sliceMs: 20 },
);
const k = 10000 / r.get('sip');
for (const [n, v] of r) console.log(n.padEnd(22), (v * k).toFixed(0).padStart(6), 'ns @ sip=10us');
