/**
 * For a request too broken to parse: finds the header lines a response needs
 * (Via, From, To, Call-ID, CSeq; RFC 3261 §8.2.6.2), so a 400 can still be
 * sent when at least the top Via can be read. Tolerant and bounded: it only
 * looks at whole lines of the first `limit` bytes.
 */
export interface SalvagedHeaders {
  readonly via: string[];
  readonly from: string | undefined;
  readonly to: string | undefined;
  readonly callId: string | undefined;
  readonly cseq: string | undefined;
}

const NAMES: Record<string, keyof Omit<SalvagedHeaders, 'via'> | 'via'> = {
  via: 'via',
  v: 'via',
  from: 'from',
  f: 'from',
  to: 'to',
  t: 'to',
  'call-id': 'callId',
  i: 'callId',
  cseq: 'cseq',
};

export function salvageRequestHeaders(data: Buffer, limit = 8192): SalvagedHeaders | undefined {
  const text = data.toString('latin1', 0, Math.min(data.length, limit));
  // Responses are never answered, and neither is an ACK (RFC 3261 §17: no response to ACK), by
  // its start line or, where that is broken, by its CSeq.
  if (/^\s*SIP\//i.test(text) || /^\s*ACK[ \t]/.test(text)) return undefined;
  const out: { via: string[]; from?: string; to?: string; callId?: string; cseq?: string } = { via: [] };
  const lines = text.split(/\r?\n/);
  for (let i = 1; i < lines.length && i < 256; i++) {
    const line = lines[i] as string;
    if (line === '') break;
    const colon = line.indexOf(':');
    if (colon <= 0 || colon > 40) continue;
    const key = NAMES[line.slice(0, colon).trim().toLowerCase()];
    if (key === undefined) continue;
    const value = line.slice(colon + 1).trim();
    if (value === '' || /[\x00-\x08\x0a-\x1f\x7f]/.test(value)) continue;
    if (key === 'via') out.via.push(value);
    else if (out[key] === undefined) out[key] = value;
  }
  if (out.via.length === 0 || (out.cseq !== undefined && /[ \t]ACK$/.test(out.cseq))) return undefined;
  return { via: out.via, from: out.from, to: out.to, callId: out.callId, cseq: out.cseq };
}
