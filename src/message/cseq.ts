import { DIGIT, TOKEN } from './chars.js';
import { Scanner } from './scanner.js';

/** CSeq (RFC 3261 §20.16): a sequence number and a method. */
export class CSeq {
  readonly seq: number;
  readonly method: string;

  constructor(seq: number, method: string) {
    this.seq = seq;
    this.method = method;
  }

  toString(): string {
    return `${this.seq} ${this.method}`;
  }
}

/** RAck (RFC 3262 §7.2): response-num LWS CSeq-num LWS Method. */
export class RAck {
  readonly rseq: number;
  readonly seq: number;
  readonly method: string;

  constructor(rseq: number, seq: number, method: string) {
    this.rseq = rseq;
    this.seq = seq;
    this.method = method;
  }

  toString(): string {
    return `${this.rseq} ${this.seq} ${this.method}`;
  }
}

/** Reads 1*DIGIT as a 32-bit unsigned number (RFC 3261 §8.1.1.5, RFC 4475 §3.1.2.4). */
export function scanUint32(sc: Scanner, what: string): number {
  const s = sc.s;
  const start = sc.i;
  let i = start;
  let v = 0;
  while (i < sc.end && DIGIT[s.charCodeAt(i)] === 1) {
    v = v * 10 + (s.charCodeAt(i) - 0x30);
    i++;
    if (v > 0xffffffff) {
      sc.i = start;
      sc.fail(`${what} is larger than 2^32-1`);
    }
  }
  if (i === start) sc.fail(`expected ${what}${sc.describeHere()}`);
  sc.i = i;
  return v;
}

export function parseCSeq(value: string, base = 0): CSeq {
  // Common form: digits, one space, a token to the end.
  let i = 0;
  let num = 0;
  const n = value.length;
  while (i < n && i < 10) {
    const c = value.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) break;
    num = num * 10 + c;
    i++;
  }
  if (i > 0 && i < n && value.charCodeAt(i) === 0x20 && num <= 0xffffffff) {
    let j = i + 1;
    while (j < n && TOKEN[value.charCodeAt(j)] === 1) j++;
    if (j === n && j > i + 1) return new CSeq(num, value.slice(i + 1));
  }
  const sc = new Scanner(value, 'CSeq', 0, value.length, base);
  sc.skipWs();
  const seq = scanUint32(sc, 'sequence number');
  if (!sc.skipWs()) sc.fail(`expected whitespace after the sequence number${sc.describeHere()}`);
  const method = sc.token('method');
  sc.skipWs();
  if (!sc.atEnd()) sc.fail(`unexpected text after the method${sc.describeHere()}`);
  return new CSeq(seq, method);
}

export function parseRAck(value: string, base = 0): RAck {
  const sc = new Scanner(value, 'RAck', 0, value.length, base);
  sc.skipWs();
  const rseq = scanUint32(sc, 'response number');
  if (!sc.skipWs()) sc.fail(`expected whitespace after the response number${sc.describeHere()}`);
  const seq = scanUint32(sc, 'CSeq number');
  if (!sc.skipWs()) sc.fail(`expected whitespace after the CSeq number${sc.describeHere()}`);
  const method = sc.token('method');
  sc.skipWs();
  if (!sc.atEnd()) sc.fail(`unexpected text after the method${sc.describeHere()}`);
  return new RAck(rseq, seq, method);
}
