import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inspect, SipParseError, type Verdict } from '../../src/index.js';
import { protosCases } from '../support/protos.js';

// PROTOS c07-sip: 4527 INVITE cases, each followed by a teardown request.
// Every case must parse and validate without any exception other than
// SipParseError. The slowest cases are reported (no timing is asserted).

const BIG = {
  maxMessageSize: 1 << 20,
  maxHeaderSectionSize: 1 << 20,
  maxHeaderLineLength: 1 << 20,
  maxBodySize: 1 << 20,
};

function run(data: Buffer, limits?: typeof BIG): Verdict {
  try {
    return inspect(data, { role: 'endpoint', limits }).verdict;
  } catch (e) {
    // inspect() turns SipParseError into verdicts; anything reaching here is a bug.
    assert.fail(
      `threw ${e instanceof SipParseError ? 'SipParseError' : (e as Error).name}: ${(e as Error).stack}`,
    );
  }
}

describe('PROTOS c07-sip robustness cases', () => {
  const { archive, names, pdus, fill } = protosCases();

  test('all 4527 cases are present', () => {
    assert.equal(names.length, 4527);
  });

  for (const [label, limits] of [
    ['default limits', undefined],
    ['limits raised to 1 MiB', BIG],
  ] as const) {
    test(`every case and its teardown parse and validate without an unexpected exception (${label})`, () => {
      const times: Array<[number, string, number]> = [];
      const tally = new Map<string, number>();
      for (const name of names) {
        const caseNo = Number(name.slice(-7));
        const [invite, teardown] = pdus(archive.get(name) as Buffer).map((p) => fill(p, caseNo));
        // Each case runs twice and the faster run counts, so one-off JIT and GC pauses do not show as slow cases.
        let best = Number.POSITIVE_INFINITY;
        let v: Verdict = run(invite as Buffer, limits);
        for (let k = 0; k < 2; k++) {
          const t0 = process.hrtime.bigint();
          v = run(invite as Buffer, limits);
          best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e3);
        }
        run(teardown as Buffer, limits);
        times.push([best, name.slice(-7), (invite as Buffer).length]);
        const key = v.action === 'reject' ? String(v.status) : v.action;
        tally.set(key, (tally.get(key) ?? 0) + 1);
      }
      // The valid template (case 0) must be accepted.
      const first = pdus(archive.get(names[0] as string) as Buffer).map((p) => fill(p, 0));
      assert.equal(run(first[0] as Buffer, limits).action, 'accept');
      times.sort((a, b) => b[0] - a[0]);
      const slow = times
        .slice(0, 5)
        .map(
          ([us, n, size]) =>
            `case ${n} (${size} bytes): ${us.toFixed(0)} us, ${((us * 1000) / size).toFixed(1)} ns/byte`,
        )
        .join('; ');
      const total = times.reduce((s, [us]) => s + us, 0);
      console.log(
        `PROTOS ${label}: verdicts ${JSON.stringify(Object.fromEntries(tally))}; total ${(total / 1000).toFixed(0)} ms; slowest: ${slow}`,
      );
    });
  }
});
