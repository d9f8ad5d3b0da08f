import { measure } from './harness.mjs';
import { MIX } from './mix.mjs';
import { sipReader, sipwireReader } from './parsers.mjs';

const bufs = MIX.map((s) => Buffer.from(s));
const r = measure(
  [
    { name: 'sipwire', fn: sipwireReader(), inputs: bufs },
    { name: 'sip', fn: sipReader(), inputs: MIX },
  ],
  { rounds: Number(process.argv[2] ?? 15) },
);
const a = r.get('sipwire');
const b = r.get('sip');
console.log(
  `sipwire ${(a / 1000).toFixed(2)} us, sip ${(b / 1000).toFixed(2)} us, ratio ${(b / a).toFixed(2)}x`,
);
