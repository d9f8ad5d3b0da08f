import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, defaultMaxTransactions, parseConfig } from '../../src/server/config.js';

describe('sipwire serve configuration (YAML)', () => {
  test('a full file is read; what it leaves out keeps its default', () => {
    const cfg = parseConfig(
      [
        'listen: [udp:0.0.0.0:5070, tcp:0.0.0.0:5070]',
        'domains:',
        '  - Example.COM',
        'db: /tmp/x.db',
        'commit_interval_ms: 0',
        'registrar:',
        '  min_expires: 30',
        'auth:',
        '  algorithms: [MD5]',
        'log: { level: debug, stats_interval: 15 }',
        'limits: { max_transactions: 5000, max_transaction_mb: 300 }',
      ].join('\n'),
      'serve.yaml',
    );
    assert.deepEqual(cfg.listen, ['udp:0.0.0.0:5070', 'tcp:0.0.0.0:5070'], 'listen');
    assert.deepEqual(cfg.domains, ['example.com'], 'domains lower-cased');
    assert.equal(cfg.registrar.minExpires, 30, 'min_expires');
    assert.equal(cfg.registrar.maxExpires, 86400, 'default max_expires');
    assert.deepEqual(cfg.auth.algorithms, ['MD5'], 'algorithms');
    assert.equal(cfg.logLevel, 'debug', 'log level');
    assert.equal(cfg.statsInterval, 15, 'stats interval');
    assert.equal(cfg.commitIntervalMs, 0, 'commit interval');
    assert.equal(parseConfig('open: false').commitIntervalMs, 10, 'commits at most every 10 ms by default');
    assert.equal(parseConfig('open: false').statsInterval, 60, 'a stats line a minute by default');
    assert.equal(cfg.open, false, 'closed by default');
    assert.equal(cfg.limits.maxTransactions, 5000, 'max_transactions');
    assert.equal(cfg.limits.maxTransactionMiB, 300, 'max_transaction_mb');
    assert.equal(cfg.limits.maxConnections, 10_000, 'default max_connections');
    assert.equal(
      parseConfig('open: false').limits.maxTransactions,
      defaultMaxTransactions(),
      'default max_transactions',
    );
  });

  test('mistakes are reported by setting name and line', () => {
    const cases: Array<[string, RegExp]> = [
      ['listen: [udp:0.0.0.0:5060]\nlisne: x', /serve\.yaml line 2: 'lisne' is not a setting/],
      [
        'domains: [a]\nregistrar:\n  min_expires: -5',
        /line 3: registrar\.min_expires must be a whole number/,
      ],
      ['auth:\n  algorithms: [SHA-1]', /line 2: auth\.algorithms: 'SHA-1' is not a digest algorithm/],
      ['listen: [carrier:1.2.3.4:5]', /line 1: listen: /],
      ['open: maybe', /line 1: open must be true or false/],
      ['registrar: {min_expires: 500, max_expires: 100}', /min_expires \(500\) is above max_expires \(100\)/],
      ['listen: [tls:0.0.0.0:5061]', /needs tls\.cert and tls\.key/],
      ['log:\n  levle: info', /line 2: 'levle' is not a setting \(did you mean 'level'\?\)/],
      ['log:\n  stats_interval: -1', /line 2: log\.stats_interval must be a whole number from 0 to 86400/],
      ['db: [a\n', /serve\.yaml line \d/],
      [
        'db: x.db\ncommit_interval_ms: 5000',
        /line 2: commit_interval_ms must be a whole number from 0 to 1000/,
      ],
      ['proxy:\n  mode: relay', /line 2: proxy\.mode must be proxy, redirect or stateless, not 'relay'/],
      ['proxy:\n  timer_c: 30', /line 2: proxy\.timer_c must be a whole number from 181/],
      ['proxy:\n  upstream: "http://x"', /line 2: proxy\.upstream: /],
      ['limits:\n  max_transactions: 0', /line 2: limits\.max_transactions must be a whole number from 1/],
      [
        'limits:\n  max_transaction_mb: 0',
        /line 2: limits\.max_transaction_mb must be a whole number from 1/,
      ],
      ['limits:\n  max_conections: 5', /line 2: 'max_conections' is not a setting/],
    ];
    for (const [text, want] of cases) {
      assert.throws(
        () => parseConfig(text, 'serve.yaml'),
        (e: unknown) => e instanceof ConfigError && want.test(e.message),
        text,
      );
    }
  });

  test('the default transaction limit follows a small heap: one per 16 KB, between 1000 and 200,000', () => {
    assert.equal(defaultMaxTransactions(4 * 1024 ** 3), 200_000, 'a 4 GiB heap: the cap');
    assert.equal(defaultMaxTransactions(1024 ** 3), 65_536, 'a 1 GiB heap');
    assert.equal(defaultMaxTransactions(8 * 1024 ** 2), 1000, 'a tiny heap: the floor');
  });
});
