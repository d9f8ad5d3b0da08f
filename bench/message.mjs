// Message-layer benchmarks: parsing the realistic mix with sipwire and the npm
// parsers (each reading the fields a proxy reads), forwarding a request with
// proxy edits, and heap bytes per parsed message.

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseMessage } from '../dist/index.js';
import { heapPerObject } from './harness.mjs';
import { MIX } from './mix.mjs';

const fmt = (ns) => (ns / 1000).toFixed(2);

/**
 * Each case runs alone in a child process, in turn, several times; the best
 * time of each is kept. Running them apart keeps one case's garbage and JIT
 * state from slowing another, and alternating the processes spreads the
 * machine's slow moments (its speed swings up to 2x from one process to the
 * next) over all of them.
 */
function bestOfProcesses(script, names, processes, roundsFor) {
  const best = new Map(names.map((n) => [n, Number.POSITIVE_INFINITY]));
  const path = fileURLToPath(new URL(script, import.meta.url));
  for (let p = 0; p < processes; p++) {
    for (const name of names) {
      const out = execFileSync(process.execPath, [path, name, String(roundsFor(name))], { encoding: 'utf8' });
      const { ns } = JSON.parse(out);
      if (ns < best.get(name)) best.set(name, ns);
    }
  }
  return best;
}

export function runMessageBench({ rounds = 20, processes = 5 } = {}) {
  const bufs = MIX.map((s) => Buffer.from(s, 'latin1'));
  // The slow parsers need fewer rounds to reach a stable best.
  const parse = bestOfProcesses('./parse-one.mjs', ['sipwire', 'sip', 'jssip', 'sip.js'], processes, (n) =>
    n === 'sip.js' || n === 'jssip' ? 4 : 12,
  );
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

  // Forwarding with proxy edits (RFC 3261 §16.6), each case in its own process.
  const fwd = bestOfProcesses(
    './forward-one.mjs',
    ['edit+serialize', 'parse+edit+serialize', 'serialize unchanged'],
    processes,
    () => Math.max(4, Math.round(rounds / 2)),
  );
  console.log('\nForwarding an INVITE with proxy edits (Via, Max-Forwards, Route, Record-Route),');
  console.log(`each case alone in its own process, best of ${processes} processes:`);
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
