import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openDatabase, SqliteLocationStore } from '../../src/server/store/sqlite.js';
import type { Binding } from '../../src/server/store/types.js';
import { Baresip } from '../support/baresip.js';
import { bound, type Child, start, stopAll, until, within } from '../support/children.js';
import { field, fields } from '../support/headers.js';
import { freePort } from '../support/net.js';
import { ROOT, sipwireCommand, startServe } from '../support/sipwire-cli.js';

// The registrar of `sipwire serve` (digest authentication, SQLite location
// service) against real SIP programs on loopback: SIPp (Debian sip-tester
// 3.6.1) with the register-*.xml scenarios of test/interop/scenarios/, and
// baresip 1.0.0 (Debian baresip-core). Each test starts its own
// `sipwire serve` on a fresh database, and checks what the peer got, what
// the peer itself reports, and the bindings: with `sipwire registrations`
// before and after, and read from the database file while the peer waits.
//
// Neither peer can answer a Digest SHA-256 challenge, and neither falls back
// to the MD5 challenge sent with it: SIPp 3.6.1 reads only the first
// WWW-Authenticate field and gives up on any algorithm but MD5 ("createAuthHeader:
// authentication must use MD5 or AKAv1-MD5"); baresip 1.0.0 (libre 1.1.0) ends the
// registration with ENOSYS ("Function not implemented") as soon as one challenge
// of the 401 is not MD5, whatever the order. So the registrations run against
// `serve --digest-algorithms MD5`, and the default SHA-256-then-MD5 challenge is
// checked for its form (by SIPp) and for what baresip does with it.

const SCENARIOS = join(ROOT, 'test', 'interop', 'scenarios');
const DOMAIN = 'example.test';
const AOR = `sip:alice@${DOMAIN}`;
const PASSWORD = 'secret';
const SIPP_TRANSPORT = { udp: 'u1', tcp: 't1' } as const;
type Transport = keyof typeof SIPP_TRANSPORT;
/** Limits for SIPp itself: a hung run ends with an error instead of hanging. */
const SIPP_LIMITS = ['-timeout', '20s', '-timeout_error'];
const TEST_TIMEOUT = 60_000;

// ---- child processes ----------------------------------------------------------

const scratch = new Set<string>();

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratch.add(dir);
  return dir;
}

/** Ends whatever a test left running and removes its folders. */
async function cleanUp(): Promise<void> {
  await stopAll();
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
  scratch.clear();
}

// ---- sipwire serve and its database ---------------------------------------------------

interface Server {
  child: Child;
  port: number;
  db: string;
}

/** A new database with alice@example.test (password "secret"), and `sipwire serve` on it over UDP and TCP. */
async function serve(extra: string[]): Promise<Server> {
  const db = join(tempDir('sipwire-registrar-'), 'sipwire.db');
  const add = await sipwireCommand(['user', 'add', `alice@${DOMAIN}`, '--password', PASSWORD, '--db', db]);
  assert.equal(add.code, 0, `sipwire user add failed:\n${add.output}`);
  assert.match(add.output, /^added alice@example\.test$/m, `sipwire user add said:\n${add.output}`);
  const port = await freePort();
  const child = startServe([`udp:127.0.0.1:${port}`, `tcp:127.0.0.1:${port}`], DOMAIN, db, extra);
  let ended = false;
  void child.exited.then(() => {
    ended = true;
  });
  if (bound('udp', port) === undefined) {
    await new Promise((r) => setTimeout(r, 3000));
  } else {
    await until(
      () => ended || (bound('udp', port) === true && bound('tcp', port) === true),
      20_000,
      `sipwire serve is not listening on ${port}:\n${child.output()}`,
    );
  }
  assert.ok(!ended, `sipwire serve ended on start:\n${child.output()}`);
  return { child, port, db };
}

/** Stops the server with SIGTERM: it must end by itself, with status 0, having logged no error. */
async function stopServer(server: Server): Promise<void> {
  const exit = await server.child.stop('SIGTERM', 10_000);
  const out = server.child.output();
  assert.equal(exit.code, 0, `sipwire serve exit status ${exit.code} (${exit.signal}):\n${out}`);
  assert.doesNotMatch(out, /"level":(50|60)/, `sipwire serve logged an error:\n${out}`);
}

/** One line of `sipwire registrations`. */
interface Listed {
  aor: string;
  contact: string;
  /** Seconds left. */
  expires: number;
  /** transport:address:port the REGISTER came from. */
  from: string;
  userAgent: string;
}

/** The bindings as `sipwire registrations --db FILE` prints them. */
async function registrations(db: string): Promise<{ rows: Listed[]; text: string }> {
  const r = await sipwireCommand(['registrations', '--db', db]);
  assert.equal(r.code, 0, `sipwire registrations failed:\n${r.output}`);
  const lines = r.output.trimEnd().split('\n');
  assert.match(
    lines[0] ?? '',
    /^AOR\s+CONTACT\s+EXPIRES\s+FROM\s+USER-AGENT$/,
    `sipwire registrations printed no heading:\n${r.output}`,
  );
  const total = /^(\d+) bindings?$/.exec(lines.at(-1) ?? '');
  assert.ok(total !== null, `sipwire registrations printed no count:\n${r.output}`);
  const rows = lines.slice(1, -1).map((line) => {
    const [aor = '', contact = '', expires = '', from = '', ...agent] = line.split(/ {2,}/);
    assert.match(expires, /^\d+s$/, `no expiry in the line '${line}'`);
    return { aor, contact, expires: Number.parseInt(expires, 10), from, userAgent: agent.join('  ') };
  });
  assert.equal(rows.length, Number(total[1]), `the count does not match the lines:\n${r.output}`);
  return { rows, text: r.output };
}

/** The unexpired bindings, read from the database file as the server writes it. */
async function stored(db: string): Promise<Binding[]> {
  const handle = openDatabase(db);
  const store = new SqliteLocationStore(handle);
  try {
    return await store.list(Date.now());
  } finally {
    await store.close();
    handle.close();
  }
}

/** Polls the database until `match` holds for its bindings; resolves with them. */
async function storedWhen(db: string, match: (b: Binding[]) => boolean, what: string): Promise<Binding[]> {
  let last: Binding[] = [];
  await until(
    async () => {
      last = await stored(db);
      return match(last);
    },
    10_000,
    `${what}; the bindings: ${JSON.stringify(last)}`,
  );
  return last;
}

/** Seconds a binding has left. */
function secondsLeft(b: Binding): number {
  return (b.expiresAt - Date.now()) / 1000;
}

// ---- SIPp -----------------------------------------------------------------------

interface SippRun {
  child: Child;
  /** The message trace so far (SIPp writes it as it goes). */
  messages(): string;
  result: Promise<SippResult>;
}

interface SippResult {
  code: number | null;
  /** SIPp's error log (-trace_err): empty when nothing went wrong. */
  errors: string;
  /** Every message SIPp sent and received (-trace_msg). */
  messages: string;
  /** The end of its screen output, for failure messages. */
  screen: string;
}

/** Runs a register-*.xml scenario (one call) from a fresh port against the server. */
async function sippRegister(
  scenario: string,
  server: Server,
  transport: Transport = 'udp',
): Promise<SippRun & { port: number }> {
  const dir = tempDir('sipp-registrar-');
  const errorFile = join(dir, 'errors.log');
  const messageFile = join(dir, 'messages.log');
  const port = await freePort();
  const child = start(
    'sipp',
    [
      '-sf',
      join(SCENARIOS, scenario),
      `127.0.0.1:${server.port}`,
      // SIPp's digest uri is "sip:" + this; the registrar wants the Request-URI (sip:example.test).
      '-auth_uri',
      DOMAIN,
      '-i',
      '127.0.0.1',
      '-p',
      String(port),
      '-t',
      SIPP_TRANSPORT[transport],
      '-m',
      '1',
      ...SIPP_LIMITS,
      '-nostdin',
      '-trace_err',
      '-error_file',
      errorFile,
      '-trace_msg',
      '-message_file',
      messageFile,
    ],
    dir,
  );
  const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '');
  const result = child.exited.then((exit) => ({
    code: exit.code,
    errors: read(errorFile),
    messages: read(messageFile),
    screen: child.output().slice(-2500),
  }));
  return { child, port, messages: () => read(messageFile), result };
}

/** A SIPp run ended well: exit status 0 and nothing in its error log. */
function assertSippClean(r: SippResult, what: string): void {
  assert.equal(r.code, 0, `${what}: SIPp exit status ${r.code}\n${r.errors}\n${r.screen}\n${r.messages}`);
  assert.equal(r.errors, '', `${what}: SIPp's error log is not empty:\n${r.errors}`);
}

interface Traced {
  direction: 'sent' | 'received';
  text: string;
}

/** The messages of a SIPp message trace, in order. */
function traced(log: string): Traced[] {
  const out: Traced[] = [];
  for (const chunk of log.split(/^-{20,}.*$/m)) {
    const m = /^\s*(?:UDP|TCP) message (sent|received)[^\n]*\n\r?\n([\s\S]*)$/.exec(chunk);
    if (m) out.push({ direction: m[1] as 'sent' | 'received', text: m[2] as string });
  }
  return out;
}

/** The REGISTERs SIPp sent. */
function registersSent(log: string): string[] {
  return traced(log)
    .filter((t) => t.direction === 'sent' && t.text.startsWith('REGISTER '))
    .map((t) => t.text);
}

/** The responses SIPp got to the REGISTER with this CSeq number. */
function answersTo(log: string, cseq: number): string[] {
  return traced(log)
    .filter(
      (t) =>
        t.direction === 'received' &&
        t.text.startsWith('SIP/2.0 ') &&
        new RegExp(`^${cseq} REGISTER$`).test(field(t.text, 'CSeq') ?? ''),
    )
    .map((t) => t.text);
}

/** The one final response to the REGISTER with this CSeq number, which must have this status. */
function finalAnswer(log: string, cseq: number, status: number): string {
  const finals = answersTo(log, cseq).filter((a) => !/^SIP\/2\.0 1\d\d /.test(a));
  assert.ok(finals.length >= 1, `no final response to CSeq ${cseq} in SIPp's trace:\n${log}`);
  const first = finals[0] as string;
  assert.match(
    first,
    new RegExp(`^SIP/2\\.0 ${status} `),
    `the answer to CSeq ${cseq} is not ${status}:\n${first}`,
  );
  return first;
}

/** The expires parameter of each Contact of a 200 to a REGISTER, by URI. */
function contactExpiries(response: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const c of fields(response, 'Contact')) {
    const m = /^<([^>]+)>;expires=(\d+)$/.exec(c);
    assert.ok(m !== null, `Contact '${c}' is not <uri>;expires=N:\n${response}`);
    out.set(m[1] as string, Number(m[2]));
  }
  return out;
}

// ---- the tests ------------------------------------------------------------------

describe('registrar (sipwire serve) against SIPp and baresip', { timeout: 10 * TEST_TIMEOUT }, () => {
  for (const transport of ['udp', 'tcp'] as const) {
    test(`SIPp registers with Digest MD5, refreshes and unregisters over ${transport.toUpperCase()}`, {
      timeout: TEST_TIMEOUT,
    }, async () => {
      try {
        const server = await serve(['--digest-algorithms', 'MD5']);
        const before = await registrations(server.db);
        assert.equal(before.rows.length, 0, `bindings before SIPp registers:\n${before.text}`);

        const sipp = await sippRegister('register-md5.xml', server, transport);
        const T = transport.toUpperCase();
        const contact = `sip:alice@127.0.0.1:${sipp.port};transport=${T}`;

        // During SIPp's first pause: the binding of the first REGISTER (CSeq 2, 120 s).
        const [first] = await storedWhen(server.db, (b) => b.length > 0, 'no binding after the first 200');
        assert.ok(first !== undefined, 'a binding after the first 200');
        assert.equal(first.aor, AOR, 'the binding is for alice');
        assert.equal(first.contact, contact, "the binding is SIPp's Contact");
        assert.equal(first.cseq, 2, 'the binding comes from the REGISTER with credentials (CSeq 2)');
        assert.equal(first.userAgent, 'SIPp register-md5', "SIPp's User-Agent is kept with the binding");
        assert.equal(first.flow?.transport, transport, `the binding's flow is ${transport}`);
        assert.equal(first.flow?.address, '127.0.0.1', "the binding's flow comes from loopback");
        if (transport === 'udp') assert.equal(first.flow?.port, sipp.port, "the flow is SIPp's port");
        const left1 = secondsLeft(first);
        assert.ok(left1 > 100 && left1 <= 120, `the first binding has ${left1} s left, not up to 120`);

        // During the second pause: the refresh (same Call-ID, CSeq 3, 300 s) replaced it.
        const after = await storedWhen(
          server.db,
          (b) => b.length !== 1 || b[0]?.cseq !== 2,
          'the refresh changed nothing',
        );
        assert.equal(after.length, 1, `one binding after the refresh: ${JSON.stringify(after)}`);
        const refreshed = after[0] as Binding;
        assert.equal(refreshed.cseq, 3, 'the binding comes from the refresh (CSeq 3)');
        assert.equal(refreshed.key, first.key, 'the refresh updated the same binding');
        assert.equal(refreshed.contact, contact, 'the contact is unchanged');
        assert.equal(refreshed.callId, first.callId, 'the refresh kept the Call-ID');
        const left2 = secondsLeft(refreshed);
        assert.ok(left2 > 280 && left2 <= 300, `the refreshed binding has ${left2} s left, not up to 300`);

        const r = await within(sipp.result, 30_000, 'SIPp register-md5');
        assertSippClean(r, 'SIPp register-md5');

        const end = await registrations(server.db);
        assert.equal(end.rows.length, 0, `no binding once SIPp unregistered:\n${end.text}`);

        // What went over the wire.
        const sent = registersSent(r.messages);
        assert.equal(sent.length, 4, `SIPp sent ${sent.length} REGISTERs, not 4:\n${r.messages}`);
        const callIds = new Set(sent.map((m) => field(m, 'Call-ID')));
        assert.equal(callIds.size, 1, `the four REGISTERs share one Call-ID:\n${r.messages}`);
        assert.equal([...callIds][0], first.callId, 'the binding has the Call-ID of the REGISTERs');
        const challenges = fields(finalAnswer(r.messages, 1, 401), 'WWW-Authenticate');
        assert.equal(challenges.length, 1, `one challenge when MD5 only is configured: ${challenges}`);
        assert.match(challenges[0] ?? '', /^Digest .*algorithm=MD5(,|$)/, 'the challenge is for MD5');
        assert.equal(
          r.messages.match(/^SIP\/2\.0 401 /gm)?.length,
          1,
          `only the first REGISTER was challenged (the nonce served for all three):\n${r.messages}`,
        );
        const nc = sent.slice(1).map((m) => /\bnc=([0-9a-f]{8})/.exec(field(m, 'Authorization') ?? '')?.[1]);
        assert.deepEqual(nc, ['00000001', '00000002', '00000003'], 'SIPp counted the uses of the nonce');

        const ok2 = contactExpiries(finalAnswer(r.messages, 2, 200));
        assert.deepEqual([...ok2.keys()], [contact], 'the 200 to the registration lists the binding');
        const e2 = ok2.get(contact) ?? -1;
        assert.ok(e2 >= 119 && e2 <= 120, `the 200 to the registration says expires=${e2}, not 120`);
        const ok3 = contactExpiries(finalAnswer(r.messages, 3, 200));
        assert.deepEqual([...ok3.keys()], [contact], 'the 200 to the refresh lists the binding');
        const e3 = ok3.get(contact) ?? -1;
        assert.ok(e3 >= 299 && e3 <= 300, `the 200 to the refresh says expires=${e3}, not 300`);
        const ok4 = finalAnswer(r.messages, 4, 200);
        assert.deepEqual(fields(ok4, 'Contact'), [], `the 200 to the removal lists no binding:\n${ok4}`);

        await stopServer(server);
      } finally {
        await cleanUp();
      }
    });
  }

  test('the default 401 carries a SHA-256 then an MD5 challenge (SIPp checks their form)', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    // SIPp 3.6.1 cannot answer this 401 (see register-dual-challenge.xml and
    // the top of this file): it only reads the first WWW-Authenticate field,
    // and that one is SHA-256. What it can check is what RFC 8760 2.4 asks
    // of the server: one challenge per algorithm, the preferred one first.
    try {
      const server = await serve([]);
      const sipp = await sippRegister('register-dual-challenge.xml', server);
      const r = await within(sipp.result, 30_000, 'SIPp register-dual-challenge');
      assertSippClean(r, 'SIPp register-dual-challenge');

      const sent = registersSent(r.messages);
      assert.equal(sent.length, 1, `SIPp sent one REGISTER:\n${r.messages}`);
      const challenges = fields(finalAnswer(r.messages, 1, 401), 'WWW-Authenticate');
      assert.equal(challenges.length, 2, `two challenges in the 401: ${challenges.join(' | ')}`);
      const [sha, md5] = challenges as [string, string];
      assert.match(sha, /^Digest .*algorithm=SHA-256(,|$)/, `the first challenge is SHA-256: ${sha}`);
      assert.match(md5, /^Digest .*algorithm=MD5(,|$)/, `the second challenge is MD5: ${md5}`);
      for (const c of challenges) {
        assert.match(c, /realm="example\.test"/, `the realm is the domain: ${c}`);
        assert.match(c, /qop="auth"/, `qop auth is offered: ${c}`);
        assert.match(c, /nonce="[^"]+"/, `a nonce is given: ${c}`);
      }

      const end = await registrations(server.db);
      assert.equal(end.rows.length, 0, `no binding from an unanswered challenge:\n${end.text}`);
      await stopServer(server);
    } finally {
      await cleanUp();
    }
  });

  test('Contact: * with Expires: 0 removes every binding of the AOR; with Expires: 300 it gets 400', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    try {
      const server = await serve(['--digest-algorithms', 'MD5']);
      const before = await registrations(server.db);
      assert.equal(before.rows.length, 0, `bindings before SIPp registers:\n${before.text}`);

      const sipp = await sippRegister('register-wildcard.xml', server);
      const desk = `sip:alice-desk@127.0.0.1:${sipp.port};transport=UDP`;
      const main = `sip:alice@127.0.0.1:${sipp.port};transport=UDP`;

      const two = await storedWhen(server.db, (b) => b.length >= 2, 'the two contacts were not bound');
      assert.deepEqual(
        two.map((b) => b.contact).sort(),
        [desk, main].sort(),
        'both contacts of the REGISTER are bound',
      );
      for (const b of two) assert.equal(b.aor, AOR, `${b.contact} is bound to alice`);

      // SIPp pauses after the 400: both bindings must still be there.
      await until(
        () => answersTo(sipp.messages(), 3).some((a) => a.startsWith('SIP/2.0 400 ')),
        10_000,
        `no 400 to "Contact: *" with Expires: 300:\n${sipp.messages()}`,
      );
      const kept = await stored(server.db);
      assert.deepEqual(
        kept.map((b) => `${b.contact} ${b.cseq} ${b.expiresAt}`).sort(),
        two.map((b) => `${b.contact} ${b.cseq} ${b.expiresAt}`).sort(),
        'the refused "Contact: *" left both bindings as they were',
      );

      const r = await within(sipp.result, 30_000, 'SIPp register-wildcard');
      assertSippClean(r, 'SIPp register-wildcard');

      const end = await registrations(server.db);
      assert.equal(end.rows.length, 0, `"Contact: *" with Expires: 0 removed every binding:\n${end.text}`);

      const listed = contactExpiries(finalAnswer(r.messages, 2, 200));
      assert.deepEqual([...listed.keys()].sort(), [desk, main].sort(), 'the 200 lists both bindings');
      const bad = finalAnswer(r.messages, 3, 400);
      assert.equal(field(bad, 'Contact'), undefined, `the 400 lists no binding:\n${bad}`);
      const removed = finalAnswer(r.messages, 4, 200);
      assert.deepEqual(
        fields(removed, 'Contact'),
        [],
        `the 200 to "Contact: *" lists no binding:\n${removed}`,
      );
      await stopServer(server);
    } finally {
      await cleanUp();
    }
  });

  test('a wrong password gets 403 and no binding', { timeout: TEST_TIMEOUT }, async () => {
    try {
      const server = await serve(['--digest-algorithms', 'MD5']);
      const sipp = await sippRegister('register-wrong-password.xml', server);
      const r = await within(sipp.result, 30_000, 'SIPp register-wrong-password');
      assertSippClean(r, 'SIPp register-wrong-password');

      assert.equal(registersSent(r.messages).length, 2, `SIPp sent two REGISTERs:\n${r.messages}`);
      finalAnswer(r.messages, 1, 401);
      const refused = finalAnswer(r.messages, 2, 403);
      assert.deepEqual(fields(refused, 'WWW-Authenticate'), [], `the 403 is no new challenge:\n${refused}`);

      const end = await registrations(server.db);
      assert.equal(end.rows.length, 0, `no binding after a wrong password:\n${end.text}`);
      assert.deepEqual(await stored(server.db), [], 'nothing in the bindings table');
      assert.match(
        server.child.output(),
        /registration refused: bad credentials/,
        `sipwire serve logged the refusal:\n${server.child.output()}`,
      );
      await stopServer(server);
    } finally {
      await cleanUp();
    }
  });

  test('baresip with RFC 5626 outbound over UDP keeps its flow with STUN keep-alives, which sipwire answers', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    let b: Baresip | undefined;
    try {
      // Counters every second, to read the STUN answers from.
      const server = await serve([
        '--digest-algorithms',
        'MD5',
        '--log-level',
        'info',
        '--stats-interval',
        '1',
      ]);
      b = await Baresip.start({ uuid: true });
      const bs = b;
      await bs.addAccount(
        `<${AOR}>;auth_pass=${PASSWORD};outbound="sip:127.0.0.1:${server.port}";regint=60;sipnat=outbound`,
      );
      const outcome = await bs.registration(AOR);
      assert.equal(outcome.type, 'REGISTER_OK', `baresip's registration failed:\n${bs.tail()}`);
      await bs.waitForOutput(/^Require: outbound\r?$/m, 5000).catch(() => undefined);
      assert.match(bs.output, /;reg-id=1/, `baresip registered with a reg-id:\n${bs.tail()}`);
      assert.match(
        bs.output,
        /^Require: outbound\r?$/m,
        `the 200 said the flow is kept (RFC 5626 §6):\n${bs.tail()}`,
      );
      // libre sends its first Binding Request as soon as the flow is set up, and gives the flow
      // up (registering again) when none is answered.
      const answered = () => {
        const counts = [...server.child.output().matchAll(/"transport\.stunBindings":(\d+)/g)];
        return Number(counts.at(-1)?.[1] ?? 0);
      };
      await until(
        () => answered() >= 1,
        10_000,
        `no STUN Binding Request answered:\n${server.child.output()}`,
      );
      const listed = await registrations(server.db);
      assert.equal(listed.rows.length, 1, `one binding, the flow's:\n${listed.text}`);
      const exit = await bs.quit();
      assert.equal(exit.code, 0, `baresip exit status ${exit.code} (${exit.signal}):\n${bs.tail()}`);
      await stopServer(server);
    } finally {
      await b?.stop();
      await cleanUp();
    }
  });

  for (const transport of ['udp', 'tcp'] as const) {
    test(`baresip registers with a password over ${transport.toUpperCase()} and unregisters when it quits`, {
      timeout: TEST_TIMEOUT,
    }, async () => {
      let b: Baresip | undefined;
      try {
        const server = await serve(['--digest-algorithms', 'MD5']);
        b = await Baresip.start();
        const bs = b;
        const T = transport.toUpperCase();
        const suffix = transport === 'tcp' ? ';transport=tcp' : '';
        await bs.addAccount(
          `<${AOR}${suffix}>;auth_pass=${PASSWORD};outbound="sip:127.0.0.1:${server.port}${suffix}";regint=60`,
        );
        const outcome = await bs.registration(AOR);
        assert.equal(outcome.type, 'REGISTER_OK', `baresip's registration failed:\n${bs.tail()}`);
        assert.equal(outcome.param, '200 OK', `baresip's REGISTER_OK event names the 200:\n${bs.tail()}`);
        // What baresip prints comes over its output, the event over the control socket: wait for the first.
        const printed = new RegExp(`alice@example\\.test: \\{0/${T}/v4\\} 200 OK \\(\\) \\[1 binding\\]`);
        await bs.waitForOutput(printed, 5000).catch(() => undefined);
        assert.match(bs.output, printed, `baresip printed its registration:\n${bs.tail()}`);
        // baresip's Contact, as it sent it: sip:alice-<its id>@127.0.0.1:<its SIP port>.
        const sentContact = new RegExp(
          `^Contact: <(sip:alice-[^@>]+@127\\.0\\.0\\.1:${bs.sipPort}${suffix})>;expires=60\\r?$`,
          'm',
        ).exec(bs.output)?.[1];
        assert.ok(
          sentContact !== undefined,
          `baresip's REGISTER has a Contact at its own address:\n${bs.tail()}`,
        );

        const listed = await registrations(server.db);
        assert.equal(listed.rows.length, 1, `one binding for baresip:\n${listed.text}`);
        const row = listed.rows[0] as Listed;
        assert.equal(row.aor, AOR, `the binding is for alice:\n${listed.text}`);
        assert.equal(row.contact, sentContact, `the binding is baresip's Contact:\n${listed.text}`);
        assert.ok(row.expires > 0 && row.expires <= 60, `the binding expires within 60 s:\n${listed.text}`);
        assert.match(row.userAgent, /^baresip v1\./, `baresip's User-Agent is listed:\n${listed.text}`);
        if (transport === 'udp')
          assert.equal(
            row.from,
            `udp:127.0.0.1:${bs.sipPort}`,
            `the REGISTER came from baresip:\n${listed.text}`,
          );
        else assert.match(row.from, /^tcp:127\.0\.0\.1:\d+$/, `the REGISTER came over TCP:\n${listed.text}`);

        // baresip 1.0.0 unregisters on quit: REGISTER with ;expires=0 on its
        // Contact (challenged again and answered), UNREGISTERING event, then EXIT.
        const exit = await bs.quit();
        assert.equal(exit.code, 0, `baresip exit status ${exit.code} (${exit.signal}):\n${bs.tail()}`);
        assert.ok(
          bs.events.some((e) => e.type === 'UNREGISTERING' && e.accountaor === AOR),
          `baresip reported UNREGISTERING:\n${bs.tail()}`,
        );
        await bs.waitForOutput(/;expires=0\r?\n[\s\S]*^SIP\/2\.0 200 OK\r?$/m, 5000).catch(() => undefined);
        const unregister = bs.output.indexOf(`Contact: <${sentContact}>;expires=0`);
        assert.ok(unregister >= 0, `baresip sent a REGISTER with expires=0:\n${bs.tail()}`);
        assert.match(
          bs.output.slice(unregister),
          /^SIP\/2\.0 200 OK\r?$/m,
          `the unregistration was answered 200:\n${bs.tail()}`,
        );
        const end = await registrations(server.db);
        assert.equal(end.rows.length, 0, `no binding after baresip quit:\n${end.text}`);
        await stopServer(server);
      } finally {
        await b?.stop();
        await cleanUp();
      }
    });
  }

  test('baresip 1.0.0 gives up on the default SHA-256-then-MD5 challenge (no binding)', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    // RFC 8760 2.4 has the client use the first challenge whose algorithm it
    // supports. libre 1.1.0 (under baresip 1.0.0) fails the whole 401 with
    // ENOSYS as soon as one of its challenges is not MD5 (with MD5 offered
    // first it fails the same way), so it cannot register with a server that
    // also offers SHA-256, as sipwire does by default. This records what this
    // peer does; if a newer baresip registers here, this test is to be turned
    // into a registration test.
    let b: Baresip | undefined;
    try {
      const server = await serve([]);
      b = await Baresip.start();
      const bs = b;
      await bs.addAccount(`<${AOR}>;auth_pass=${PASSWORD};outbound="sip:127.0.0.1:${server.port}";regint=60`);
      const outcome = await bs.registration(AOR);
      assert.equal(outcome.type, 'REGISTER_FAIL', `baresip's registration outcome:\n${bs.tail()}`);
      assert.equal(
        outcome.param,
        'Function not implemented',
        `baresip's REGISTER_FAIL reason:\n${bs.tail()}`,
      );
      assert.match(bs.output, /Function not implemented/, `baresip said why it failed:\n${bs.tail()}`);
      // The event comes over the control socket, the 401 baresip printed over its output: the
      // second may be read after the first.
      await bs
        .waitForOutput(
          /SIP\/2\.0 401 Unauthorized[\s\S]*?WWW-Authenticate: [^\n]*\n[\s\S]*?WWW-Authenticate: /,
          5000,
        )
        .catch(() => undefined);
      const challenge = bs.output.slice(bs.output.indexOf('SIP/2.0 401 Unauthorized'));
      const offered = [...challenge.matchAll(/^WWW-Authenticate: Digest .*algorithm=([A-Z0-9-]+)\r?$/gm)].map(
        (m) => m[1],
      );
      assert.deepEqual(offered.slice(0, 2), ['SHA-256', 'MD5'], `the 401 baresip got:\n${bs.tail()}`);
      assert.doesNotMatch(bs.output, /^Authorization: /m, `baresip sent no credentials:\n${bs.tail()}`);
      const end = await registrations(server.db);
      assert.equal(end.rows.length, 0, `no binding:\n${end.text}`);
      await bs.quit();
      await stopServer(server);
    } finally {
      await b?.stop();
      await cleanUp();
    }
  });
});
