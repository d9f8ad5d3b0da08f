// Times one parser alone in this process (so no other parser's garbage or
// JIT state affects it) and prints its best time per message in ns as JSON.
import { measure } from './harness.mjs';
import { MIX } from './mix.mjs';
import { floorReader } from './parse-floor.mjs';
import { jssipReader, sipjsReader, sipReader, sipwireReader } from './parsers.mjs';

const readers = {
  sipwire: sipwireReader,
  floor: floorReader,
  sip: sipReader,
  jssip: jssipReader,
  'sip.js': sipjsReader,
};
const name = process.argv[2];
const rounds = Number(process.argv[3] ?? 12);
const make = readers[name];
if (make === undefined) throw new Error(`unknown parser ${name}`);
// sipwire (and the floor) read the Buffer a socket delivers; the others take the string their transports hand them.
const inputs = name === 'sipwire' || name === 'floor' ? MIX.map((s) => Buffer.from(s, 'latin1')) : MIX;
const best = measure([{ name, fn: make(), inputs }], { rounds, sliceMs: 25 }).get(name);
process.stdout.write(JSON.stringify({ name, ns: best }));
