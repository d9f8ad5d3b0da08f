import { readFileSync } from 'node:fs';
import { SipParseError } from '../errors.js';
import { H } from '../message/header-names.js';
import type { SipMessage, SipRequest, SipResponse } from '../message/message.js';
import { inspect, looksLikeResponse, type ValidationRole, type Verdict } from '../message/validate.js';

export interface CheckOptions {
  /** 'auto' checks requests as an endpoint (UAS) would and responses as a proxy forwarding them would. */
  role: ValidationRole | 'auto';
  strict: boolean;
  stream: boolean;
  json: boolean;
}

/** Line and column (both from 1) of a byte offset in data. */
export function lineColumn(data: Buffer, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, data.length);
  for (let i = 0; i < end; i++) {
    if (data[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

/** One line describing a verdict, as `sipwire check` prints it after "FILE: ". */
export function describeVerdict(v: Verdict, data: Buffer): string {
  if (v.action === 'accept') return 'accept';
  const where =
    v.offset >= 0
      ? (() => {
          const { line, column } = lineColumn(data, v.offset);
          return ` at line ${line}, column ${column}`;
        })()
      : '';
  const detail = `(${v.detail}${where})`;
  if (v.action === 'drop') return `drop ${v.reason} ${detail}`;
  const extra = v.headers.map(([n, val]) => `; ${n}: ${val}`).join('');
  return `${v.status} ${v.reason} ${detail}${extra}`;
}

function safe<T>(get: () => T): T | string {
  try {
    return get();
  } catch (e) {
    if (e instanceof SipParseError) return `malformed: ${e.message}`;
    throw e;
  }
}

/** A JSON-friendly view of a parsed message: start line, headers as text, typed core headers, body. */
export function messageToJson(m: SipMessage): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (m.isRequest) {
    const r = m as SipRequest;
    out.type = 'request';
    out.method = r.method;
    out.uri = safe(() => r.uri.toJSON());
  } else {
    const r = m as SipResponse;
    out.type = 'response';
    out.status = r.status;
    out.reason = r.reason;
  }
  out.version = m.version;
  out.headers = m.headers.map((f) => ({ name: safe(() => f.name), value: safe(() => f.text) }));
  out.parsed = {
    via: safe(() =>
      m.via.map((v) => ({
        transport: v.transport,
        host: v.host,
        port: v.port,
        params: Object.fromEntries(v.params.entries()),
      })),
    ),
    from: safe(
      () =>
        m.fieldById(H.FROM) && {
          uri: m.from?.uri.toJSON(),
          tag: m.from?.tag,
          displayName: m.from?.displayName,
        },
    ),
    to: safe(
      () => m.fieldById(H.TO) && { uri: m.to?.uri.toJSON(), tag: m.to?.tag, displayName: m.to?.displayName },
    ),
    callId: safe(() => m.callId),
    cseq: safe(() => m.cseq && { seq: m.cseq.seq, method: m.cseq.method }),
    maxForwards: safe(() => m.maxForwards),
    contact: safe(() =>
      m.contact.map((c) =>
        c.wildcard ? '*' : { uri: c.uri.toJSON(), params: Object.fromEntries(c.params.entries()) },
      ),
    ),
    contentType: safe(() => m.contentType?.toString()),
  };
  const body = m.body;
  const text = body.toString('utf8');
  out.bodyLength = body.length;
  if (body.length > 0) {
    if (Buffer.from(text, 'utf8').equals(body) && !/[\x00-\x08\x0e-\x1f]/.test(text)) out.body = text;
    else out.bodyBase64 = body.toString('base64');
  }
  return out;
}

/** Runs `sipwire check`: returns the exit status (0 when every file is accepted). */
export function runCheck(files: string[], options: CheckOptions, print: (line: string) => void): number {
  let allAccepted = true;
  for (const file of files) {
    let data: Buffer;
    try {
      data = readFileSync(file);
    } catch (e) {
      print(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      allAccepted = false;
      continue;
    }
    const role = options.role === 'auto' ? (looksLikeResponse(data) ? 'proxy' : 'endpoint') : options.role;
    const { message, verdict } = inspect(data, {
      role,
      strict: options.strict,
      framing: options.stream ? 'stream' : 'datagram',
    });
    if (verdict.action !== 'accept') allAccepted = false;
    if (options.json) {
      print(
        JSON.stringify({
          file,
          verdict: verdict.action === 'accept' ? 'accept' : describeVerdict(verdict, data),
          message: message === undefined ? null : messageToJson(message),
        }),
      );
    } else print(`${file}: ${describeVerdict(verdict, data)}`);
  }
  return allAccepted ? 0 : 1;
}
