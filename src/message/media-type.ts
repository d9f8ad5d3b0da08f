import { COMMA, SLASH } from './chars.js';
import { Params, scanParams } from './params.js';
import { Scanner } from './scanner.js';

/** A media type with parameters (Content-Type, RFC 3261 §20.15) or a media range (Accept, §20.1). */
export class MediaType {
  readonly type: string;
  readonly subtype: string;
  readonly params: Params;
  private text: string | undefined;

  constructor(
    type: string,
    subtype: string,
    params: Params | Record<string, string> = Params.EMPTY,
    text?: string,
  ) {
    this.type = type;
    this.subtype = subtype;
    this.params = params instanceof Params ? params : Params.from(params);
    this.text = text;
  }

  /** "type/subtype" in lower case. */
  get essence(): string {
    return `${this.type}/${this.subtype}`.toLowerCase();
  }

  /** True when this media range (which may hold `*`) covers `essence`. */
  matches(essence: string): boolean {
    const [t, st] = essence.toLowerCase().split('/');
    const mt = this.type.toLowerCase();
    const ms = this.subtype.toLowerCase();
    return (mt === '*' || mt === t) && (ms === '*' || ms === st);
  }

  toString(): string {
    if (this.text === undefined) this.text = `${this.type}/${this.subtype}${this.params.toString()}`;
    return this.text;
  }
}

function scanMediaType(sc: Scanner): MediaType {
  sc.skipWs();
  const start = sc.i;
  const type = sc.token('media type');
  sc.expect(SLASH, "'/' in the media type");
  const subtype = sc.token('media subtype');
  const params = scanParams(sc);
  return new MediaType(type, subtype, params, sc.s.slice(start, sc.i));
}

export function parseMediaType(value: string, base = 0, what = 'Content-Type'): MediaType {
  const sc = new Scanner(value, what, 0, value.length, base);
  const m = scanMediaType(sc);
  sc.skipWs();
  if (!sc.atEnd()) sc.fail(`unexpected text after the media type${sc.describeHere()}`);
  return m;
}

/** Accept (RFC 3261 §20.1): possibly empty list of media ranges. */
export function parseAccept(value: string, base = 0): MediaType[] {
  const sc = new Scanner(value, 'Accept', 0, value.length, base);
  const out: MediaType[] = [];
  sc.skipWs();
  if (sc.atEnd()) return out;
  for (;;) {
    out.push(scanMediaType(sc));
    sc.skipWs();
    if (sc.atEnd()) return out;
    if (sc.peek() !== COMMA) sc.fail(`expected ','${sc.describeHere()}`);
    sc.i++;
  }
}
