import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type DigestAlgorithm, ha1, isSupportedAlgorithm } from '../auth/digest.js';
import { parseSipUri } from '../message/uri.js';
import { ConfigError, checkConfig, cloneDefaults, loadConfig, type ServeConfig } from '../server/config.js';
import { createLogger, type LogLevel } from '../server/log.js';
import { loadRoutes } from '../server/routes-loader.js';
import { type Routes, SipServer } from '../server/server.js';
import { openDatabase, SqliteLocationStore, SqliteUserStore } from '../server/store/sqlite.js';
import type { HashAlgorithm, User } from '../server/store/types.js';
import { formatTransportAddress, parseTransportAddress } from '../transport/address.js';
import { UsageError } from './ua-commands.js';

type Print = (s: string) => void;

const HASHES: HashAlgorithm[] = ['MD5', 'SHA-256', 'SHA-512-256'];

// ---- sipwire serve -----------------------------------------------------------

export async function runServe(args: string[], out: Print, err: Print): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string', short: 'c' },
      listen: { type: 'string', multiple: true },
      domain: { type: 'string', multiple: true },
      db: { type: 'string' },
      open: { type: 'boolean' },
      advertise: { type: 'string' },
      'log-level': { type: 'string' },
      'stats-interval': { type: 'string' },
      'commit-interval': { type: 'string' },
      'digest-algorithms': { type: 'string' },
      'min-expires': { type: 'string' },
      'max-expires': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      routes: { type: 'string' },
      redirect: { type: 'boolean' },
      stateless: { type: 'boolean' },
      'follow-redirects': { type: 'boolean' },
      upstream: { type: 'string' },
      'max-transactions': { type: 'string' },
      'max-transaction-mb': { type: 'string' },
    },
  });
  let cfg: ServeConfig;
  let routes: Routes | undefined;
  try {
    cfg = values.config !== undefined ? loadConfig(values.config) : cloneDefaults();
    applyFlags(cfg, values);
    checkConfig(cfg, 'command line');
    if (cfg.routes !== undefined) routes = await loadRoutes(cfg.routes);
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
  const log = createLogger({ level: cfg.logLevel });
  const server = new SipServer({
    listen: cfg.listen,
    advertise: cfg.advertise,
    domains: cfg.domains,
    db: cfg.db,
    commitIntervalMs: cfg.commitIntervalMs,
    open: cfg.open,
    registrar: cfg.registrar,
    auth: { algorithms: cfg.auth.algorithms, qop: cfg.auth.qop, nonceTtlMs: cfg.auth.nonceTtl * 1000 },
    tls:
      cfg.tls === undefined
        ? undefined
        : {
            certFile: cfg.tls.cert,
            keyFile: cfg.tls.key,
            caFile: cfg.tls.ca,
            requireClientCert: cfg.tls.requireClientCert,
          },
    logger: log,
    statsIntervalMs: cfg.statsInterval * 1000,
    redirect: cfg.proxy.mode === 'redirect' ? true : cfg.proxy.redirectDomains,
    stateless: cfg.proxy.mode === 'stateless',
    followRedirects: cfg.proxy.followRedirects,
    proxy: {
      timerCMs: cfg.proxy.timerC * 1000,
      maxBreadth: cfg.proxy.maxBreadth,
      upstream: cfg.proxy.upstream,
    },
    routes,
    maxServerTransactions: cfg.limits.maxTransactions,
    maxServerTransactionBytes:
      cfg.limits.maxTransactionMiB === undefined ? undefined : cfg.limits.maxTransactionMiB * 1048576,
    maxConnections: cfg.limits.maxConnections,
  });
  let bound: Awaited<ReturnType<SipServer['start']>>;
  try {
    bound = await server.start();
  } catch (e) {
    err(`sipwire serve: cannot listen: ${(e as Error).message}`);
    await server.stop(0).catch(() => {});
    return 1;
  }
  log.info(
    {
      listen: bound.map((b) => formatTransportAddress(b)),
      domains: cfg.domains.length > 0 ? cfg.domains : 'any',
      mode: cfg.proxy.mode,
      routes: cfg.routes ?? 'default',
      db: cfg.db,
      algorithms: cfg.auth.algorithms,
    },
    'sipwire serve is up',
  );
  if (cfg.open) {
    const warning =
      'OPEN MODE: anyone can register any address without a password (--open). Do not expose this server.';
    log.warn(warning);
    err(`WARNING: ${warning}`);
  }
  const users = await server.users.list();
  if (!cfg.open && users.length === 0)
    log.warn('no users yet: add one with `sipwire user add alice@example.com --password ...`');
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      log.info({ signal }, 'stopping: finishing transactions, closing the database');
      resolve();
    };
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
  });
  await server.stop();
  log.info('stopped');
  out('');
  return 0;
}

type FlagValues = Record<string, string | boolean | string[] | undefined>;

/**
 * The value of --`flag` as a whole number in [min, max] (of `unit`; `minNote`
 * says what the least value means); a UsageError saying so otherwise.
 */
function wholeNumber(v: FlagValues, flag: string, min: number, max: number, unit = '', minNote = ''): number {
  const n = Number(v[flag]);
  if (!Number.isInteger(n) || n < min || n > max) {
    const of = unit === '' ? '' : ` of ${unit}`;
    throw new UsageError(`--${flag} must be a whole number${of} from ${min}${minNote} to ${max}`);
  }
  return n;
}

function applyFlags(cfg: ServeConfig, v: FlagValues): void {
  if (v.listen !== undefined) {
    const list = v.listen as string[];
    for (const l of list) parseTransportAddress(l);
    cfg.listen = list;
  }
  if (v.domain !== undefined) cfg.domains = (v.domain as string[]).map((d) => d.toLowerCase());
  if (v.db !== undefined) cfg.db = v.db as string;
  if (v.open !== undefined) cfg.open = v.open as boolean;
  if (v.advertise !== undefined) cfg.advertise = v.advertise as string;
  if (v['log-level'] !== undefined) {
    const level = v['log-level'] as string;
    if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(level))
      throw new UsageError(
        `--log-level must be fatal, error, warn, info, debug, trace or silent, not '${level}'`,
      );
    cfg.logLevel = level as LogLevel;
  }
  if (v['stats-interval'] !== undefined) {
    cfg.statsInterval = wholeNumber(v, 'stats-interval', 0, 86400, 'seconds', ' (none)');
  }
  if (v['commit-interval'] !== undefined) {
    cfg.commitIntervalMs = wholeNumber(v, 'commit-interval', 0, 1000, 'ms');
  }
  if (v['max-transactions'] !== undefined) {
    cfg.limits.maxTransactions = wholeNumber(v, 'max-transactions', 1, 10_000_000);
  }
  if (v['max-transaction-mb'] !== undefined) {
    cfg.limits.maxTransactionMiB = wholeNumber(v, 'max-transaction-mb', 1, 1_000_000, 'MiB');
  }
  if (v['digest-algorithms'] !== undefined) {
    cfg.auth.algorithms = (v['digest-algorithms'] as string).split(',').map((a) => {
      const t = a.trim();
      if (!isSupportedAlgorithm(t))
        throw new UsageError(`--digest-algorithms: '${t}' is not a digest algorithm`);
      return t as DigestAlgorithm;
    });
  }
  const num = (name: string): number | undefined => {
    const raw = v[name];
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a whole number of seconds`);
    return n;
  };
  cfg.registrar.minExpires = num('min-expires') ?? cfg.registrar.minExpires;
  cfg.registrar.maxExpires = num('max-expires') ?? cfg.registrar.maxExpires;
  if (cfg.registrar.defaultExpires > cfg.registrar.maxExpires)
    cfg.registrar.defaultExpires = cfg.registrar.maxExpires;
  if (cfg.registrar.defaultExpires < cfg.registrar.minExpires)
    cfg.registrar.defaultExpires = cfg.registrar.minExpires;
  if (v.routes !== undefined) cfg.routes = v.routes as string;
  if (v.redirect === true && v.stateless === true)
    throw new UsageError('--redirect and --stateless exclude each other');
  if (v.redirect === true) cfg.proxy.mode = 'redirect';
  if (v.stateless === true) cfg.proxy.mode = 'stateless';
  if (v['follow-redirects'] === true) cfg.proxy.followRedirects = true;
  if (v.upstream !== undefined) {
    try {
      parseSipUri(v.upstream as string);
    } catch (e) {
      throw new UsageError(`--upstream: ${(e as Error).message}`);
    }
    cfg.proxy.upstream = v.upstream as string;
  }
  if (v['tls-cert'] !== undefined || v['tls-key'] !== undefined) {
    if (v['tls-cert'] === undefined || v['tls-key'] === undefined)
      throw new UsageError('--tls-cert and --tls-key go together');
    cfg.tls = { cert: v['tls-cert'] as string, key: v['tls-key'] as string, requireClientCert: false };
  }
}

// ---- sipwire user ---------------------------------------------------------------

function splitAddress(text: string): { username: string; domain: string } {
  const at = text.lastIndexOf('@');
  const user = text.slice(text.startsWith('sip:') ? 4 : 0, at);
  const domain = text.slice(at + 1).toLowerCase();
  if (at <= 0 || user.length === 0 || domain.length === 0 || /[\s:;<>]/.test(user + domain))
    throw new UsageError(`'${text}' is not user@domain`);
  return { username: user, domain };
}

/** A user record: HA1 for every algorithm, realm = domain; the password itself is not kept. */
export function makeUser(address: string, password: string, now = Date.now()): User {
  const { username, domain } = splitAddress(address);
  const hashes: Partial<Record<HashAlgorithm, string>> = {};
  for (const a of HASHES) hashes[a] = ha1(a, username, domain, password);
  return { username, domain, ha1: hashes, createdAt: now };
}

export async function runUser(args: string[], out: Print, _err: Print): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      db: { type: 'string', default: 'sipwire.db' },
      password: { type: 'string' },
      domain: { type: 'string' },
    },
  });
  if (sub !== 'add' && sub !== 'remove' && sub !== 'list' && sub !== 'import')
    throw new UsageError('usage: sipwire user add|remove|list|import ... [--db FILE]');
  if ((sub === 'add' || sub === 'remove' || sub === 'import') && positionals.length !== 1)
    throw new UsageError(
      `usage: sipwire user ${sub} ${sub === 'import' ? 'FILE' : 'user@domain'}${sub === 'add' ? ' --password PASSWORD' : ''}`,
    );
  if (sub === 'add' && (values.password === undefined || values.password === ''))
    throw new UsageError('sipwire user add needs --password');
  // Reading the import file and checking every line comes before the database opens.
  let imported: User[] = [];
  if (sub === 'import') imported = readUsers(positionals[0] as string);
  const user = sub === 'add' ? makeUser(positionals[0] as string, values.password as string) : undefined;
  const target = sub === 'remove' ? splitAddress(positionals[0] as string) : undefined;
  const db = openDatabase(values.db as string);
  const users = new SqliteUserStore(db);
  try {
    switch (sub) {
      case 'add':
        await users.put(user as User);
        out(`added ${(user as User).username}@${(user as User).domain}`);
        return 0;
      case 'remove': {
        const t = target as { username: string; domain: string };
        const gone = await users.remove(t.username, t.domain);
        out(gone ? `removed ${t.username}@${t.domain}` : `no user ${t.username}@${t.domain}`);
        return gone ? 0 : 1;
      }
      case 'import':
        for (const u of imported) await users.put(u);
        out(`imported ${imported.length} users`);
        return 0;
      default: {
        const list = await users.list(values.domain);
        for (const u of list)
          out(`${u.username}@${u.domain}  (${HASHES.filter((a) => u.ha1[a]).join(', ')})`);
        out(`${list.length} user${list.length === 1 ? '' : 's'}`);
        return 0;
      }
    }
  } finally {
    await users.close();
    db.close();
  }
}

/** Lines `user@domain password` (or `user@domain:password`); blank lines and `#` comments skipped. */
function readUsers(file: string): User[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
  }
  const now = Date.now();
  const out: User[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(\S+@[^\s:]+)(?:\s+|:)(\S.*)$/.exec(line);
    if (m === null) throw new UsageError(`${file} line ${i + 1}: expected 'user@domain password'`);
    try {
      out.push(makeUser(m[1] as string, m[2] as string, now));
    } catch (e) {
      throw new UsageError(`${file} line ${i + 1}: ${(e as Error).message}`);
    }
  });
  return out;
}

// ---- sipwire registrations -----------------------------------------------------------

export async function runRegistrations(args: string[], out: Print, _err: Print): Promise<number> {
  const { values } = parseArgs({ args, options: { db: { type: 'string', default: 'sipwire.db' } } });
  const db = openDatabase(values.db as string);
  const location = new SqliteLocationStore(db);
  try {
    const now = Date.now();
    const all = await location.list(now);
    const rows = all.map((b) => [
      b.aor,
      b.contact,
      `${Math.max(0, Math.round((b.expiresAt - now) / 1000))}s`,
      b.flow ? `${b.flow.transport}:${b.flow.address}:${b.flow.port}` : '',
      b.userAgent ?? '',
    ]);
    const head = ['AOR', 'CONTACT', 'EXPIRES', 'FROM', 'USER-AGENT'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
    const line = (r: string[]) =>
      r
        .map((c, i) => c.padEnd(widths[i] as number))
        .join('  ')
        .trimEnd();
    out(line(head));
    for (const r of rows) out(line(r));
    out(`${rows.length} binding${rows.length === 1 ? '' : 's'}`);
    return 0;
  } finally {
    await location.close();
    db.close();
  }
}
