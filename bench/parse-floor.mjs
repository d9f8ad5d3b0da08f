// The floor of the parsing benchmark: the least a parser that checks what it
// reads can do in Node for the fields the benchmark reads, as a reference for
// what sipwire's own message layer costs on top of it.
//
// It decodes the Buffer once, finds each header line and names it with
// sipwire's header table, and checks the top Via, From, To, Call-ID and the
// first Contact (with its URI) against sipwire's fast grammars, reading them in
// place in the decoded text. It makes no objects, keeps no list of the header
// fields, frames no body, applies no limits and reports nothing but a thrown
// Error: a message it cannot read in that one way fails the run, so it is a
// reference for the benchmark's mix only, not a parser.
import { H, lookupHeaderId } from '../dist/message/header-names.js';
import {
  nonCapturing,
  QUOTED_RE,
  SIMPLE_PARAMS_RE,
  SIP_URI_RE,
  TOKEN_RE,
  VIA_RE,
  WORD_RE,
} from '../dist/message/patterns.js';

const VIA = new RegExp(VIA_RE, 'y');
const URI = new RegExp(SIP_URI_RE, 'y');
// [display-name] "<" URI ">" *( ";" param ), the form every name-addr of the mix has.
const NAME_ADDR = new RegExp(
  `(?:${QUOTED_RE}[ \\t]*|(?:${TOKEN_RE}+[ \\t]+)*)?<[^<>\\s]+>${nonCapturing(SIMPLE_PARAMS_RE)}`,
  'y',
);
const CALL_ID = new RegExp(`${WORD_RE}+(?:@${WORD_RE}+)?`, 'y');

/** Where each hot header's first value starts and its line ends, by header id. */
const HOT = 16;
const valueAt = new Int32Array(HOT);
const lineEnd = new Int32Array(HOT);

/** Whether `re` matches s from `at` exactly to `end`. */
function whole(re, s, at, end) {
  re.lastIndex = at;
  return re.test(s) && re.lastIndex === end;
}

/** The value of `;key=` between `from` and `end`, or undefined. */
function param(s, key, from, end) {
  const i = s.indexOf(key, from);
  if (i === -1 || i >= end) return undefined;
  const v = i + key.length;
  let e = s.indexOf(';', v);
  if (e === -1 || e > end) e = end;
  return s.slice(v, e);
}

function fail(what) {
  throw new Error(`parse floor: ${what} is not in the one form it reads`);
}

export function floorReader() {
  return (buf) => {
    const s = buf.latin1Slice(0, buf.length);
    const eol = s.indexOf('\r\n');
    const first =
      s.charCodeAt(0) === 0x53 && s.charCodeAt(3) === 0x2f
        ? (s.charCodeAt(8) - 48) * 100 + (s.charCodeAt(9) - 48) * 10 + (s.charCodeAt(10) - 48)
        : s.indexOf(' ');
    valueAt.fill(-1);
    let pos = eol + 2;
    while (s.charCodeAt(pos) !== 0x0d) {
      const end = s.indexOf('\r\n', pos);
      const colon = s.indexOf(':', pos);
      const id = lookupHeaderId(s, pos, colon);
      if (id > 0 && id < HOT && valueAt[id] === -1) {
        let v = colon + 1;
        while (s.charCodeAt(v) === 0x20) v++;
        valueAt[id] = v;
        lineEnd[id] = end;
      }
      pos = end + 2;
    }
    let a = valueAt[H.VIA];
    VIA.lastIndex = a;
    if (a === -1 || !VIA.test(s)) fail('Via');
    const viaEnd = VIA.lastIndex;
    if (viaEnd !== lineEnd[H.VIA] && s.charCodeAt(viaEnd) !== 0x2c) fail('Via');
    const branch = param(s, ';branch=', a, viaEnd) ?? fail('branch');
    a = valueAt[H.FROM];
    if (a === -1 || !whole(NAME_ADDR, s, a, lineEnd[H.FROM])) fail('From');
    const fromTag = param(s, ';tag=', s.indexOf('>', a), lineEnd[H.FROM]);
    a = valueAt[H.TO];
    if (a === -1 || !whole(NAME_ADDR, s, a, lineEnd[H.TO])) fail('To');
    const toTag = param(s, ';tag=', s.indexOf('>', a), lineEnd[H.TO]);
    a = valueAt[H.CALL_ID];
    if (a === -1 || !whole(CALL_ID, s, a, lineEnd[H.CALL_ID])) fail('Call-ID');
    const callId = s.slice(a, lineEnd[H.CALL_ID]);
    a = valueAt[H.CSEQ];
    let seq = 0;
    let i = a;
    for (let c = s.charCodeAt(i); c >= 0x30 && c <= 0x39; c = s.charCodeAt(++i)) seq = seq * 10 + c - 0x30;
    if (i === a || s.charCodeAt(i) !== 0x20) fail('CSeq');
    const method = s.slice(i + 1, lineEnd[H.CSEQ]);
    let maxForwards = 0;
    a = valueAt[H.MAX_FORWARDS];
    if (a !== -1) {
      for (i = a; i < lineEnd[H.MAX_FORWARDS]; i++) {
        const c = s.charCodeAt(i);
        if (c < 0x30 || c > 0x39) fail('Max-Forwards');
        maxForwards = maxForwards * 10 + c - 0x30;
      }
    }
    let contact = 0;
    a = valueAt[H.CONTACT];
    if (a !== -1) {
      NAME_ADDR.lastIndex = a;
      if (!NAME_ADDR.test(s)) fail('Contact');
      const lt = s.indexOf('<', a);
      URI.lastIndex = lt + 1;
      if (!URI.test(s) || s.charCodeAt(URI.lastIndex) !== 0x3e) fail('Contact URI');
      contact = 1;
    }
    return (
      first +
      branch.length +
      (fromTag?.length ?? 0) +
      (toTag?.length ?? 0) +
      callId.length +
      seq +
      method.length +
      maxForwards +
      contact
    );
  };
}
