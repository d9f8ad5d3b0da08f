import { isIP } from 'node:net';

/** Transports sipwire speaks. */
export type TransportName = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';

const NAMES: readonly TransportName[] = ['udp', 'tcp', 'tls', 'ws', 'wss'];

/** A listening or sending address: `transport:host:port`. */
export interface TransportAddress {
  readonly transport: TransportName;
  /** Host or IP address, IPv6 without brackets. */
  readonly host: string;
  readonly port: number;
}

/** Default port per transport (RFC 3261 §19.1.2, RFC 7118 §5 uses the web ports). */
export const DEFAULT_PORTS: Readonly<Record<TransportName, number>> = Object.freeze({
  udp: 5060,
  tcp: 5060,
  tls: 5061,
  ws: 80,
  wss: 443,
});

/** True for transports with delivery guarantees (no retransmissions, RFC 3261 §17). */
export function isReliable(t: TransportName): boolean {
  return t !== 'udp';
}

/** The Via transport token (RFC 3261 §20.42, RFC 7118 §5). */
export function viaTransport(t: TransportName): string {
  return t.toUpperCase();
}

/** Parses `udp:127.0.0.1:5060`, `tls:[::1]:5061`, `ws:0.0.0.0:8080`; the port may be left out. */
export function parseTransportAddress(text: string): TransportAddress {
  const colon = text.indexOf(':');
  const name = (colon === -1 ? '' : text.slice(0, colon)).toLowerCase() as TransportName;
  if (!NAMES.includes(name)) {
    throw new RangeError(`'${text}': expected transport:host:port with transport one of ${NAMES.join(', ')}`);
  }
  const rest = text.slice(colon + 1);
  let host: string;
  let portText: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close === -1) throw new RangeError(`'${text}': unterminated IPv6 address`);
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) throw new RangeError(`'${text}': expected ':' after ']'`);
    portText = after === '' ? undefined : after.slice(1);
    if (isIP(host) !== 6) throw new RangeError(`'${text}': '${host}' is not an IPv6 address`);
  } else {
    const c = rest.lastIndexOf(':');
    if (c !== -1 && rest.indexOf(':') !== c)
      throw new RangeError(`'${text}': write IPv6 addresses in brackets, e.g. udp:[::1]:5060`);
    host = c === -1 ? rest : rest.slice(0, c);
    portText = c === -1 ? undefined : rest.slice(c + 1);
  }
  if (host === '') throw new RangeError(`'${text}': missing host`);
  let port = DEFAULT_PORTS[name];
  if (portText !== undefined) {
    if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) > 65535)
      throw new RangeError(`'${text}': bad port '${portText}'`);
    port = Number(portText);
  }
  return { transport: name, host, port };
}

export function formatTransportAddress(a: TransportAddress): string {
  return `${a.transport}:${hostPort(a.host, a.port)}`;
}

/** host:port as it appears in a Via sent-by or a URI (IPv6 in brackets). */
export function hostPort(host: string, port: number): string {
  return `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
}

/**
 * 4 or 6 for an IP address (IPv6 without brackets), 0 for anything else, as
 * net.isIP() says. A name with no ':' that does not start and end with a
 * digit is ruled out at once: a domain checked on every request (is this
 * URI ours?) costs no trip through isIP()'s regular expressions.
 */
export function ipFamily(host: string): number {
  if (host.indexOf(':') === -1) {
    const first = host.charCodeAt(0);
    const last = host.charCodeAt(host.length - 1);
    if (!(first >= 0x30 && first <= 0x39 && last >= 0x30 && last <= 0x39)) return 0;
  }
  return isIP(host);
}
