// Message-layer benchmarks: parsing the realistic mix with sipwire and the npm
// parsers (each reading the fields a proxy reads), forwarding a request with
// proxy edits, and heap bytes per parsed message.

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseMessage } from '../dist/index.js';
import { heapPerObject, measure } from './harness.mjs';
import { INVITE, MIX } from './mix.mjs';

const fmt = (ns) => (ns / 1000).toFixed(2);

/**
 * Each parser runs alone in a child process, in turn, several times; the best
 * time of each is kept. Running them apart keeps one parser's garbage and JIT
 * state from slowing another, and alternating the processes spreads the
 * machine's slow moments over all of them.
 */
function parseTimes(processes) {
  const names = ['sipwire', 'sip', 'jssip', 'sip.js'];
  const best = new Map(names.map((n) => [n, Number.POSITIVE_INFINITY]));
  const script = fileURLToPath(new URL('./parse-one.mjs', import.meta.url));
  for (let p = 0; p < processes; p++) {
    for (const name of names) {
      // The slow parsers need fewer rounds to reach a stable best.
      const rounds = name === 'sip.js' || name === 'jssip' ? 4 : 12;
      const out = execFileSync(process.execPath, [script, name, String(rounds)], { encoding: 'utf8' });
      const { ns } = JSON.parse(out);
      if (ns < best.get(name)) best.set(name, ns);
    }
  }
  return best;
}

export function runMessageBench({ rounds = 20, processes = 3 } = {}) {
  const bufs = MIX.map((s) => Buffer.from(s, 'latin1'));
  const parse = parseTimes(processes);
  const ours = parse.get('sipwire');
  const peers = [...parse].filter(([n]) => n !== 'sipwire');
  const fastest = Math.min(...peers.map(([, v]) => v));
  console.log('\nParsing the mix (INVITE+SDP, 180, 200+Record-Route, REGISTER+Authorization, BYE+Route),');
  console.log(
    'reading method/status, top Via branch, From/To tags, Call-ID, CSeq, Max-Forwards, first Contact URI',
  );
  console.log(`(each parser alone in its own process, best of ${processes} processes):`);
  console.log('  parser      us/message   sipwire is N times faster');
  for (const [name, ns] of parse) {
    console.log(
      `  ${name.padEnd(10)} ${fmt(ns).padStart(10)}   ${name === 'sipwire' ? '' : (ns / ours).toFixed(1)}`,
    );
  }
  console.log(`  ratio to the fastest peer: ${(fastest / ours).toFixed(2)}x`);

  // Forwarding with proxy edits (RFC 3261 §16.6): top Via added, Max-Forwards
  // decremented, top Route removed, Record-Route added, written to bytes.
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
  const fwd = measure(
    [
      { name: 'edit+serialize', fn: () => edit(parsedOnce.clone()), inputs: [0] },
      { name: 'parse+edit+serialize', fn: (b) => edit(parseMessage(b)), inputs: [invite] },
      { name: 'serialize unchanged', fn: (b) => parseMessage(b).toBuffer().length, inputs: [invite] },
    ],
    { rounds },
  );
  console.log('\nForwarding an INVITE with proxy edits (Via, Max-Forwards, Route, Record-Route):');
  for (const [name, ns] of fwd) console.log(`  ${name.padEnd(22)} ${fmt(ns).padStart(8)} us`);

  const heap = heapPerObject((b) => {
    const m = parseMessage(b);
    void m.topVia.branch;
    void m.from.tag;
    void m.to.tag;
    void m.callId;
    void m.cseq;
    void m.maxForwards;
    void m.contact[0]?.uri;
    return m;
  }, bufs);
  console.log(
    `\nHeap per parsed message (proxy fields read, message kept alive): ${Number.isNaN(heap) ? 'n/a (run with --expose-gc)' : `${Math.round(heap)} bytes`}`,
  );
  return { parse, fwd, heap, ratio: fastest / ours };
}
