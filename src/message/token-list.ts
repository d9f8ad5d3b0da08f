import { COMMA } from './chars.js';
import { Params, scanParams } from './params.js';
import { Scanner } from './scanner.js';

/**
 * A comma-separated list of tokens (Allow, Supported, Require,
 * Proxy-Require, Unsupported, Allow-Events, Content-Encoding...). An empty
 * value is an empty list (RFC 3261 §20.37 allows an empty Supported).
 */
export function parseTokenList(value: string, what: string, base = 0): string[] {
  const sc = new Scanner(value, what, 0, value.length, base);
  const out: string[] = [];
  sc.skipWs();
  if (sc.atEnd()) return out;
  for (;;) {
    sc.skipWs();
    out.push(sc.token('a token'));
    sc.skipWs();
    if (sc.atEnd()) return out;
    if (sc.peek() !== COMMA) sc.fail(`expected ','${sc.describeHere()}`);
    sc.i++;
  }
}

/** A token with parameters: Event (RFC 6665 §8.2.1), Subscription-State (§8.2.3), Content-Disposition, Reason... */
export class TokenWithParams {
  readonly value: string;
  readonly params: Params;
  private text: string | undefined;
  constructor(value: string, params: Params = Params.EMPTY, text?: string) {
    this.value = value;
    this.params = params;
    this.text = text;
  }
  toString(): string {
    if (this.text === undefined) this.text = `${this.value}${this.params.toString()}`;
    return this.text;
  }
}

function scanTokenWithParams(sc: Scanner, what: string): TokenWithParams {
  sc.skipWs();
  const start = sc.i;
  const value = sc.token(what);
  const params = scanParams(sc);
  return new TokenWithParams(value, params, sc.s.slice(start, sc.i));
}

export function parseTokenWithParams(value: string, what: string, base = 0): TokenWithParams {
  const sc = new Scanner(value, what, 0, value.length, base);
  const t = scanTokenWithParams(sc, what);
  sc.skipWs();
  if (!sc.atEnd()) sc.fail(`unexpected text${sc.describeHere()}`);
  return t;
}

export function parseTokenWithParamsList(value: string, what: string, base = 0): TokenWithParams[] {
  const sc = new Scanner(value, what, 0, value.length, base);
  const out: TokenWithParams[] = [];
  for (;;) {
    out.push(scanTokenWithParams(sc, what));
    sc.skipWs();
    if (sc.atEnd()) return out;
    if (sc.peek() !== COMMA) sc.fail(`expected ','${sc.describeHere()}`);
    sc.i++;
  }
}
