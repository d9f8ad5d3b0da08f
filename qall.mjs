import { MIX } from './bench/mix.mjs';
import { sipwireReader } from './bench/parsers.mjs';

const bufs = MIX.map((s) => Buffer.from(s, 'latin1'));
const r = sipwireReader();
let s = 0;
for (let i = 0; i < 2000000; i++) s += r(bufs[i % 5]);
console.log(s);
