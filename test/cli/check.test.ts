import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { main } from '../../src/cli/main.js';

const dir = mkdtempSync(join(tmpdir(), 'sipwire-check-'));
const crlf = (...lines: string[]) => lines.join('\r\n');
const good = join(dir, 'good.sip');
writeFileSync(
  good,
  crlf(
    'OPTIONS sip:carol@chicago.com SIP/2.0',
    'Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKhjhs8ass877',
    'Max-Forwards: 70',
    'To: <sip:carol@chicago.com>',
    'From: Alice <sip:alice@atlanta.com>;tag=1928301774',
    'Call-ID: a84b4c76e66710',
    'CSeq: 63104 OPTIONS',
    'Content-Length: 0',
    '',
    '',
  ),
);
const badVia = join(dir, 'bad-via.sip');
writeFileSync(
  badVia,
  Buffer.from(require2(good).replace('branch=z9hG4bKhjhs8ass877', 'branch=z9hG4bKhjhs8ass877;;'), 'latin1'),
);
const badResponse = join(dir, 'bad-response.sip');
writeFileSync(badResponse, 'SIP/2.0 4000 Huh\r\nContent-Length: 0\r\n\r\n');

function require2(path: string): string {
  return readFileSync(path, 'latin1');
}

function run(args: string[]): { code: number; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const code = main(
    args,
    (s) => out.push(s),
    (s) => err.push(s),
  );
  if (typeof code !== 'number') throw new Error('check answers synchronously');
  return { code, out, err };
}

describe('sipwire check', () => {
  test('accepts a good message, exit 0', () => {
    const r = run(['check', good]);
    assert.equal(r.code, 0);
    assert.deepEqual(r.out, [`${good}: accept`]);
  });

  test('names the response a server would send, and where the problem is; exit 1', () => {
    const r = run(['check', good, badVia, badResponse]);
    assert.equal(r.code, 1);
    assert.equal(r.out[0], `${good}: accept`);
    assert.match(
      r.out[1]!,
      /: 400 Bad Via header \(Via: expected parameter name, found ';' at line 2, column 61\)$/,
    );
    assert.match(
      r.out[2]!,
      /: drop malformed response \(status code must have 3 digits, found 4 at line 1, column 9\)$/,
    );
  });

  test('--json prints the parsed message', () => {
    const r = run(['check', '--json', good]);
    const obj = JSON.parse(r.out[0]!);
    assert.equal(obj.verdict, 'accept');
    assert.equal(obj.message.method, 'OPTIONS');
    assert.equal(obj.message.parsed.from.tag, '1928301774');
    assert.equal(obj.message.parsed.cseq.seq, 63104);
    assert.equal(obj.message.headers.length, 7);
  });

  test('--role proxy and --lenient change the verdict', () => {
    const unknown = join(dir, 'unknown-method.sip');
    writeFileSync(unknown, require2(good).replace(/OPTIONS/g, 'FROB'));
    assert.match(run(['check', unknown]).out[0]!, /501 Not Implemented/);
    assert.equal(run(['check', '--role', 'proxy', unknown]).code, 0);
    const date = join(dir, 'bad-date.sip');
    writeFileSync(date, require2(good).replace('Content-Length: 0', 'Date: today\r\nContent-Length: 0'));
    assert.equal(run(['check', date]).code, 1);
    assert.equal(run(['check', '--lenient', date]).code, 0);
  });

  test('usage errors exit 2 with a clear message', () => {
    assert.equal(run(['check']).code, 2);
    const r = run(['check', '--role', 'nonsense', good]);
    assert.equal(r.code, 2);
    assert.match(r.err[0]!, /--role must be/);
    assert.equal(run(['frobnicate']).code, 2);
    assert.match(run(['check', '--bogus', good]).err[0]!, /sipwire check: /);
  });

  test('an unreadable file is reported and fails the run', () => {
    const r = run(['check', join(dir, 'missing.sip')]);
    assert.equal(r.code, 1);
    assert.match(r.out[0]!, /cannot read \(ENOENT\)/);
  });

  test('the installed command runs end to end', () => {
    const bin = new URL('../../src/cli/bin.ts', import.meta.url).pathname;
    const r = spawnSync(process.execPath, ['--import', 'tsx', bin, 'check', good, badVia], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 1);
    assert.equal(r.stdout.split('\n').filter(Boolean).length, 2);
  });
});
