import { COMMA, DIGIT, DQUOTE } from './chars.js';
import { quote, Scanner, unquote } from './scanner.js';

/** One Warning value (RFC 3261 §20.43): warn-code SP warn-agent SP warn-text. */
export class Warning {
  readonly code: number;
  readonly agent: string;
  /** Warning text (quotes and escapes removed). */
  readonly text: string;
  constructor(code: number, agent: string, text: string) {
    this.code = code;
    this.agent = agent;
    this.text = text;
  }
  toString(): string {
    return `${this.code} ${this.agent} ${quote(this.text)}`;
  }
}

export function parseWarningList(value: string, base = 0): Warning[] {
  const sc = new Scanner(value, 'Warning', 0, value.length, base);
  const s = sc.s;
  const out: Warning[] = [];
  for (;;) {
    sc.skipWs();
    const cStart = sc.i;
    let j = cStart;
    while (j < sc.end && DIGIT[s.charCodeAt(j)] === 1) j++;
    if (j - cStart !== 3) sc.fail('warn-code must be exactly three digits');
    const code = Number(s.slice(cStart, j));
    sc.i = j;
    if (!sc.skipWs()) sc.fail(`expected whitespace after the warn-code${sc.describeHere()}`);
    // warn-agent = hostport / pseudonym
    const aStart = sc.i;
    while (sc.i < sc.end) {
      const c = s.charCodeAt(sc.i);
      if (c === 0x20 || c === 0x09 || c === DQUOTE || c === COMMA) break;
      sc.i++;
    }
    if (sc.i === aStart) sc.fail(`expected a warn-agent${sc.describeHere()}`);
    const agent = s.slice(aStart, sc.i);
    if (!sc.skipWs()) sc.fail(`expected whitespace after the warn-agent${sc.describeHere()}`);
    if (sc.peek() !== DQUOTE) sc.fail(`warn-text must be a quoted string${sc.describeHere()}`);
    const text = unquote(sc.quotedRaw());
    out.push(new Warning(code, agent, text));
    sc.skipWs();
    if (sc.atEnd()) return out;
    if (sc.peek() !== COMMA) sc.fail(`expected ','${sc.describeHere()}`);
    sc.i++;
  }
}
