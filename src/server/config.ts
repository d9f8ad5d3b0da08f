import { readFileSync } from 'node:fs';
import { getHeapStatistics } from 'node:v8';
import {
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  type Scalar,
  type YAMLMap,
} from 'yaml';
import { type DigestAlgorithm, isSupportedAlgorithm } from '../auth/digest.js';
import { parseSipUri } from '../message/uri.js';
import { parseTransportAddress } from '../transport/address.js';
import type { LogLevel } from './log.js';

/**
 * The settings of `sipwire serve`, from a YAML file and the command line
 * (the command line wins). Everything has a default: no file is needed.
 *
 *   listen: [udp:0.0.0.0:5060, tcp:0.0.0.0:5060]
 *   domains: [example.com]
 *   db: /var/lib/sipwire/sipwire.db
 *   commit_interval_ms: 10
 *   open: false
 *   advertise: 203.0.113.5
 *   log: { level: info, stats_interval: 60 }
 *   registrar: { min_expires: 60, max_expires: 86400, default_expires: 3600, max_contacts: 32 }
 *   auth: { algorithms: [SHA-256, MD5], qop: [auth], nonce_ttl: 300 }
 *   tls: { cert: cert.pem, key: key.pem, ca: ca.pem, require_client_cert: false }
 *   proxy: { mode: proxy, redirect_domains: [], follow_redirects: false, timer_c: 181, max_breadth: 60,
 *            upstream: sip:proxy.example.net }
 *   routes: ./routes.ts
 *   limits: { max_transactions: 200000, max_connections: 10000 }
 */
export interface ServeConfig {
  listen: string[];
  domains: string[];
  db: string;
  /** The least time between two commits of the location store, ms (0: every turn's writes at once). */
  commitIntervalMs: number;
  open: boolean;
  advertise?: string;
  logLevel: LogLevel;
  /** Seconds between two `stats` log lines (0: none). */
  statsInterval: number;
  registrar: { minExpires: number; maxExpires: number; defaultExpires: number; maxContacts: number };
  auth: { algorithms: DigestAlgorithm[]; qop: Array<'auth' | 'auth-int'>; nonceTtl: number };
  tls?: { cert: string; key: string; ca?: string; requireClientCert: boolean };
  proxy: {
    /** proxy (stateful), redirect (3xx with the contacts), or stateless (relay only, RFC 3261 §16.11). */
    mode: 'proxy' | 'redirect' | 'stateless';
    /** Domains answered with redirects while the rest is proxied. */
    redirectDomains: string[];
    followRedirects: boolean;
    /** Timer C, seconds. */
    timerC: number;
    maxBreadth: number;
    /** Upstream proxy for requests to other domains (a SIP URI). */
    upstream?: string;
  };
  /** The routes module (TypeScript or JavaScript). */
  routes?: string;
  limits: {
    /** Most server transactions alive at once; new requests beyond are answered 503. */
    maxTransactions: number;
    /** Most MiB of received requests the live server transactions hold; default a quarter of the heap limit. */
    maxTransactionMiB?: number;
    /** Most TCP, TLS and WebSocket connections open at once; more are refused. */
    maxConnections: number;
  };
}

/**
 * The default limit on live server transactions: 200,000, or one per 16 KB
 * of the V8 heap limit when that is fewer, at least 1000. A proxied call
 * leaves about 8 KB of heap behind while its two server transactions (and
 * two client ones) linger, an answered OPTIONS about 2.3 KB: the limit
 * leaves the heap room to spare.
 */
export function defaultMaxTransactions(heapLimit = getHeapStatistics().heap_size_limit): number {
  return Math.max(1000, Math.min(200_000, Math.floor(heapLimit / 16384)));
}

export const DEFAULT_CONFIG: Readonly<ServeConfig> = Object.freeze({
  listen: ['udp:0.0.0.0:5060', 'tcp:0.0.0.0:5060'],
  domains: [],
  db: 'sipwire.db',
  commitIntervalMs: 10,
  open: false,
  logLevel: 'info',
  statsInterval: 60,
  registrar: { minExpires: 60, maxExpires: 86400, defaultExpires: 3600, maxContacts: 32 },
  auth: {
    algorithms: ['SHA-256', 'MD5'] as DigestAlgorithm[],
    qop: ['auth'] as Array<'auth' | 'auth-int'>,
    nonceTtl: 300,
  },
  proxy: {
    mode: 'proxy' as ServeConfig['proxy']['mode'],
    redirectDomains: [] as string[],
    followRedirects: false,
    timerC: 181,
    maxBreadth: 60,
  },
  limits: { maxTransactions: defaultMaxTransactions(), maxConnections: 10_000 },
});

/** A mistake in the configuration, with the file and line it is on. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

type Where = (node: Node | null | undefined) => string;

/** Reads a YAML configuration file; every mistake is reported by setting name and line. */
export function loadConfig(path: string, base: ServeConfig = cloneDefaults()): ServeConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read ${path}: ${(e as Error).message}`);
  }
  return parseConfig(text, path, base);
}

export function cloneDefaults(): ServeConfig {
  return structuredClone(DEFAULT_CONFIG) as ServeConfig;
}

export function parseConfig(text: string, file = 'config', base: ServeConfig = cloneDefaults()): ServeConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const where: Where = (node) => {
    const offset = node?.range?.[0];
    if (offset === undefined) return file;
    const { line } = lines.linePos(offset);
    return `${file} line ${line}`;
  };
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const offset = e?.pos?.[0];
    const line = offset === undefined ? undefined : lines.linePos(offset).line;
    throw new ConfigError(
      `${file}${line ? ` line ${line}` : ''}: ${e?.message.split('\n')[0] ?? 'YAML error'}`,
    );
  }
  const root = doc.contents;
  if (root === null || root === undefined) return base;
  if (!isMap(root)) throw new ConfigError(`${where(root)}: the configuration must be a mapping of settings`);
  const cfg = base;
  forEachKey(root, where, {
    listen: (v) => {
      cfg.listen = stringList(v, 'listen', where).map((s) => {
        try {
          parseTransportAddress(s.value);
        } catch (e) {
          throw new ConfigError(`${where(s.node)}: listen: ${(e as Error).message}`);
        }
        return s.value;
      });
    },
    domains: (v) => {
      cfg.domains = stringList(v, 'domains', where).map((s) => s.value.toLowerCase());
    },
    db: (v) => {
      cfg.db = str(v, 'db', where);
    },
    commit_interval_ms: (n) => {
      cfg.commitIntervalMs = int(n, 'commit_interval_ms', where, 0, 1000);
    },
    open: (v) => {
      cfg.open = bool(v, 'open', where);
    },
    advertise: (v) => {
      cfg.advertise = str(v, 'advertise', where);
    },
    log: (v) =>
      forEachKey(mapping(v, 'log', where), where, {
        level: (l) => {
          const level = str(l, 'log.level', where);
          if (!LEVELS.includes(level))
            throw new ConfigError(
              `${where(l)}: log.level must be one of ${LEVELS.join(', ')}, not '${level}'`,
            );
          cfg.logLevel = level as LogLevel;
        },
        stats_interval: (n) => {
          cfg.statsInterval = int(n, 'log.stats_interval', where, 0, 86400);
        },
      }),
    registrar: (v) =>
      forEachKey(mapping(v, 'registrar', where), where, {
        min_expires: (n) => {
          cfg.registrar.minExpires = int(n, 'registrar.min_expires', where, 0, 86400 * 365);
        },
        max_expires: (n) => {
          cfg.registrar.maxExpires = int(n, 'registrar.max_expires', where, 1, 86400 * 365);
        },
        default_expires: (n) => {
          cfg.registrar.defaultExpires = int(n, 'registrar.default_expires', where, 1, 86400 * 365);
        },
        max_contacts: (n) => {
          cfg.registrar.maxContacts = int(n, 'registrar.max_contacts', where, 1, 1000);
        },
      }),
    auth: (v) =>
      forEachKey(mapping(v, 'auth', where), where, {
        algorithms: (a) => {
          cfg.auth.algorithms = stringList(a, 'auth.algorithms', where).map((s) => {
            if (!isSupportedAlgorithm(s.value))
              throw new ConfigError(
                `${where(s.node)}: auth.algorithms: '${s.value}' is not a digest algorithm sipwire knows`,
              );
            return s.value as DigestAlgorithm;
          });
        },
        qop: (q) => {
          cfg.auth.qop = stringList(q, 'auth.qop', where).map((s) => {
            if (s.value !== 'auth' && s.value !== 'auth-int')
              throw new ConfigError(`${where(s.node)}: auth.qop: '${s.value}' is not auth or auth-int`);
            return s.value;
          });
        },
        nonce_ttl: (n) => {
          cfg.auth.nonceTtl = int(n, 'auth.nonce_ttl', where, 1, 86400);
        },
      }),
    proxy: (v) =>
      forEachKey(mapping(v, 'proxy', where), where, {
        mode: (m) => {
          const mode = str(m, 'proxy.mode', where);
          if (mode !== 'proxy' && mode !== 'redirect' && mode !== 'stateless')
            throw new ConfigError(
              `${where(m)}: proxy.mode must be proxy, redirect or stateless, not '${mode}'`,
            );
          cfg.proxy.mode = mode;
        },
        redirect_domains: (d) => {
          cfg.proxy.redirectDomains = stringList(d, 'proxy.redirect_domains', where).map((s) =>
            s.value.toLowerCase(),
          );
        },
        follow_redirects: (b) => {
          cfg.proxy.followRedirects = bool(b, 'proxy.follow_redirects', where);
        },
        timer_c: (n) => {
          cfg.proxy.timerC = int(n, 'proxy.timer_c', where, 181, 3600);
        },
        max_breadth: (n) => {
          cfg.proxy.maxBreadth = int(n, 'proxy.max_breadth', where, 1, 1000);
        },
        upstream: (u) => {
          const text = str(u, 'proxy.upstream', where);
          try {
            parseSipUri(text);
          } catch (e) {
            throw new ConfigError(`${where(u)}: proxy.upstream: ${(e as Error).message}`);
          }
          cfg.proxy.upstream = text;
        },
      }),
    routes: (v) => {
      cfg.routes = str(v, 'routes', where);
    },
    limits: (v) =>
      forEachKey(mapping(v, 'limits', where), where, {
        max_transactions: (n) => {
          cfg.limits.maxTransactions = int(n, 'limits.max_transactions', where, 1, 10_000_000);
        },
        max_transaction_mb: (n) => {
          cfg.limits.maxTransactionMiB = int(n, 'limits.max_transaction_mb', where, 1, 1_000_000);
        },
        max_connections: (n) => {
          cfg.limits.maxConnections = int(n, 'limits.max_connections', where, 1, 1_000_000);
        },
      }),
    tls: (v) => {
      const tls = { cert: '', key: '', ca: undefined as string | undefined, requireClientCert: false };
      const m = mapping(v, 'tls', where);
      forEachKey(m, where, {
        cert: (c) => {
          tls.cert = str(c, 'tls.cert', where);
        },
        key: (k) => {
          tls.key = str(k, 'tls.key', where);
        },
        ca: (c) => {
          tls.ca = str(c, 'tls.ca', where);
        },
        require_client_cert: (b) => {
          tls.requireClientCert = bool(b, 'tls.require_client_cert', where);
        },
      });
      if (tls.cert === '' || tls.key === '')
        throw new ConfigError(`${where(m)}: tls needs both cert and key`);
      cfg.tls = tls;
    },
  });
  checkConfig(cfg, file);
  return cfg;
}

/** Cross-setting checks, for a file or flags alike. */
export function checkConfig(cfg: ServeConfig, file = 'settings'): void {
  const r = cfg.registrar;
  if (r.minExpires > r.maxExpires)
    throw new ConfigError(
      `${file}: registrar.min_expires (${r.minExpires}) is above max_expires (${r.maxExpires})`,
    );
  if (r.defaultExpires < r.minExpires || r.defaultExpires > r.maxExpires)
    throw new ConfigError(`${file}: registrar.default_expires must lie between min_expires and max_expires`);
  if (cfg.auth.algorithms.length === 0) throw new ConfigError(`${file}: auth.algorithms is empty`);
  if (cfg.listen.some((l) => /^(tls|wss):/i.test(l)) && cfg.tls === undefined)
    throw new ConfigError(`${file}: a tls: or wss: listener needs tls.cert and tls.key`);
}

function forEachKey(m: YAMLMap, where: Where, handlers: Record<string, (v: Node) => void>): void {
  const names = Object.keys(handlers);
  for (const pair of m.items) {
    const keyNode = pair.key as Node;
    const key = isScalar(keyNode) ? String(keyNode.value) : '';
    const h = handlers[key];
    if (h === undefined) {
      const near = names.find((n) => distance(n, key) <= 2);
      throw new ConfigError(
        `${where(keyNode)}: '${key}' is not a setting${near ? ` (did you mean '${near}'?)` : ''}; known: ${names.join(', ')}`,
      );
    }
    h(pair.value as Node);
  }
}

function mapping(v: Node, name: string, where: Where): YAMLMap {
  if (!isMap(v)) throw new ConfigError(`${where(v)}: ${name} must be a mapping`);
  return v;
}

function scalar(v: Node, name: string, where: Where): Scalar {
  if (!isScalar(v)) throw new ConfigError(`${where(v)}: ${name} must be a single value`);
  return v;
}

function str(v: Node, name: string, where: Where): string {
  const s = scalar(v, name, where);
  if (typeof s.value !== 'string' && typeof s.value !== 'number')
    throw new ConfigError(`${where(v)}: ${name} must be text`);
  return String(s.value);
}

function bool(v: Node, name: string, where: Where): boolean {
  const s = scalar(v, name, where);
  if (typeof s.value !== 'boolean') throw new ConfigError(`${where(v)}: ${name} must be true or false`);
  return s.value;
}

function int(v: Node, name: string, where: Where, min: number, max: number): number {
  const s = scalar(v, name, where);
  if (typeof s.value !== 'number' || !Number.isInteger(s.value) || s.value < min || s.value > max)
    throw new ConfigError(`${where(v)}: ${name} must be a whole number from ${min} to ${max}`);
  return s.value;
}

function stringList(v: Node, name: string, where: Where): Array<{ value: string; node: Node }> {
  if (isScalar(v)) return [{ value: str(v, name, where), node: v }];
  if (!isSeq(v)) throw new ConfigError(`${where(v)}: ${name} must be a list`);
  return v.items.map((item) => ({ value: str(item as Node, name, where), node: item as Node }));
}

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)] as number[]);
  for (let j = 1; j <= b.length; j++) (d[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[];
      const prev = d[i - 1] as number[];
      row[j] = Math.min(
        (prev[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}
