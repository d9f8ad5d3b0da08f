// Kamailio as the reference registrar: a config written for the benchmark
// (UDP on loopback, digest authentication against auth_db on SQLite, usrloc in
// memory or written through to SQLite), a database made from the schema files
// the Debian package ships, and start/stop of a foreground Kamailio.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { kamailioArgs, kamailioModuleDir } from '../peers.mjs';
import { startServerGroup } from './procs.mjs';

/** Where Debian's kamailio-sqlite-modules puts the SQLite schema of each module. */
const SCHEMA_DIRS = ['/usr/share/kamailio/db_sqlite', '/usr/local/share/kamailio/db_sqlite'];
export const MODULES = [
  'tm',
  'sl',
  'rr',
  'pv',
  'maxfwd',
  'textops',
  'siputils',
  'xlog',
  'sanity',
  'usrloc',
  'registrar',
  'auth',
  'auth_db',
  'db_sqlite',
];

function schemaFile(name) {
  for (const dir of SCHEMA_DIRS) {
    const f = join(dir, `${name}-create.sql`);
    if (existsSync(f)) return f;
  }
  throw new Error(
    `Kamailio's SQLite schema ${name}-create.sql not found in ${SCHEMA_DIRS.join(' or ')} (install kamailio-sqlite-modules)`,
  );
}

const isWal = (mode) => String(mode ?? '').toUpperCase() === 'WAL';

const md5 = (s) => createHash('md5').update(s).digest('hex');

/**
 * Creates the SQLite database Kamailio reads: the `version` table, auth_db's
 * `subscriber` with `users` accounts and usrloc's `location`, each from the
 * package's own schema file (which also records the table versions Kamailio
 * checks at start).
 */
export function createKamailioDb(file, { users, password, domain, journalMode }) {
  const db = new Database(file);
  try {
    // WAL is a property of the file, kept across connections: set here, it
    // spares Kamailio's processes switching it at start, where they would
    // race for the lock (db_sqlite sets no busy timeout).
    if (isWal(journalMode)) db.pragma('journal_mode = WAL');
    for (const name of ['standard', 'auth_db', 'usrloc']) db.exec(readFileSync(schemaFile(name), 'utf8'));
    const insert = db.prepare(
      'INSERT INTO subscriber (username, domain, password, ha1, ha1b) VALUES (?, ?, ?, ?, ?)',
    );
    db.transaction(() => {
      for (const user of users) {
        insert.run(
          user,
          domain,
          password,
          md5(`${user}:${domain}:${password}`),
          md5(`${user}@${domain}:${domain}:${password}`),
        );
      }
    })();
  } finally {
    db.close();
  }
}

/**
 * The global settings of a benchmark's Kamailio: UDP only on
 * 127.0.0.1:port with `children` workers, logging to stderr (warnings and
 * worse), no DNS.
 */
export function kamailioUdpGlobals({ port, children }) {
  return [
    'debug=0',
    'log_stderror=yes',
    `listen=udp:127.0.0.1:${port}`,
    `children=${children}`,
    'disable_tcp=yes',
    'auto_aliases=no',
    'dns=no',
    'rev_dns=no',
    'use_dns_cache=no',
  ];
}

/** The text of kamailio.cfg for one run. */
export function kamailioConfig({ port, children, dbFile, dbMode, domain, journalMode }) {
  // sqlite:// + "/" + an absolute path: the part after the third slash is the file name.
  const dbUrl = `sqlite:///${dbFile}`;
  const lines = [
    '#!KAMAILIO',
    `# Registration benchmark: REGISTER with digest authentication, usrloc db_mode ${dbMode}.`,
    '',
    ...kamailioUdpGlobals({ port, children }),
    `alias="${domain}"`,
    '',
    ...MODULES.map((m) => `loadmodule "${m}.so"`),
    '',
    // Digest: HA1 from the subscriber table (no plaintext needed at run time).
    `modparam("auth_db", "db_url", "${dbUrl}")`,
    'modparam("auth_db", "calculate_ha1", 0)',
    'modparam("auth_db", "password_column", "ha1")',
    'modparam("auth_db", "use_domain", 0)',
    '',
    `modparam("usrloc", "db_mode", ${dbMode})`,
    ...(dbMode > 0 ? [`modparam("usrloc", "db_url", "${dbUrl}")`] : []),
    'modparam("usrloc", "use_domain", 0)',
    '',
    'modparam("registrar", "max_contacts", 10)',
    // Other journal modes last only for a connection: each process sets its own.
    ...(journalMode && !isWal(journalMode)
      ? [`modparam("db_sqlite", "db_set_journal_mode", "${dbFile}=${journalMode};")`]
      : []),
    '',
    'request_route {',
    '  if (!mf_process_maxfwd_header("10")) {',
    '    sl_send_reply("483", "Too Many Hops");',
    '    exit;',
    '  }',
    '  if (!sanity_check()) {',
    '    exit;',
    '  }',
    '  if (is_method("OPTIONS") && uri == myself) {',
    '    sl_send_reply("200", "OK");',
    '    exit;',
    '  }',
    '  if (!is_method("REGISTER")) {',
    '    sl_send_reply("405", "Method Not Allowed");',
    '    exit;',
    '  }',
    // qop=auth in the challenge (flag 1), as a current registrar sends.
    `  if (!www_authorize("${domain}", "subscriber")) {`,
    `    www_challenge("${domain}", "1");`,
    '    exit;',
    '  }',
    '  if (!save("location")) {',
    '    xlog("L_ERR", "save(location) failed for $tu\\n");',
    '    sl_reply_error();',
    '  }',
    '  exit;',
    '}',
    '',
  ];
  return lines.join('\n');
}

/**
 * Starts Kamailio on `config` (the text of its kamailio.cfg) in the
 * foreground, its children in its process group, in `dir`, with `shmMb` MB
 * of shared memory. Resolves once it answers OPTIONS on `port`, with what
 * startServerGroup() gives.
 */
export async function startKamailioProcess({ dir, port, config, shmMb, readyTimeoutMs }) {
  mkdirSync(dir, { recursive: true });
  const runDir = join(dir, 'run');
  mkdirSync(runDir, { recursive: true });
  const cfg = join(dir, 'kamailio.cfg');
  writeFileSync(cfg, config);
  // The modules' folder is the one with db_sqlite.so, which has the others too.
  const args = [
    ...kamailioArgs({ cfg, dir, runDir, moduleDir: kamailioModuleDir('db_sqlite') }),
    '-m',
    String(shmMb),
  ];
  return startServerGroup('kamailio', args, {
    dir,
    port,
    logFile: join(dir, 'kamailio.log'),
    name: 'kamailio',
    readyTimeoutMs,
  });
}

/**
 * Starts Kamailio as the registrar in `dir`, on a database made for the run.
 * Resolves once it answers OPTIONS.
 */
export async function startKamailio({
  dir,
  port,
  dbMode,
  users,
  password,
  domain,
  children = 4,
  shmMb = 256,
  journalMode,
  readyTimeoutMs = 15000,
}) {
  mkdirSync(dir, { recursive: true });
  const dbFile = join(dir, 'kamailio.sqlite');
  createKamailioDb(dbFile, { users, password, domain, journalMode });
  const config = kamailioConfig({ port, children, dbFile, dbMode, domain, journalMode });
  const server = await startKamailioProcess({ dir, port, config, shmMb, readyTimeoutMs });
  return {
    ...server,
    name:
      dbMode === 0
        ? 'kamailio (memory)'
        : `kamailio (db_mode ${dbMode}${children === 1 ? ', 1 worker' : ''})`,
    dbFile,
    describe: `${children} UDP worker${children === 1 ? '' : 's'}${dbMode > 0 ? `, SQLite journal ${journalMode ?? 'default'}` : ''}`,
    /** Rows in the location table (bindings on disk); only with db_mode > 0. */
    storedBindings:
      dbMode === 0
        ? undefined
        : () => {
            const db = new Database(dbFile, { readonly: true, fileMustExist: true });
            try {
              db.pragma('busy_timeout = 2000');
              return db.prepare('SELECT COUNT(*) AS n FROM location').get().n;
            } finally {
              db.close();
            }
          },
  };
}

/** The lines of Kamailio's log at level ERROR, CRITICAL or BUG. */
export function errorLines(file) {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => / (ERROR|CRITICAL|BUG): /.test(l));
  } catch {
    return [];
  }
}
