import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  ErrorCode,
  ParseErrorCode,
  SdpError,
  SipError,
  SipParseError,
  TransactionTimeoutError,
  TransportError,
} from '../src/index.js';

describe('error codes', () => {
  const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
  const documented = new Set([...doc.matchAll(/^\| `(SIP_ERR_[A-Z_]+)`/gm)].map((m) => m[1]));

  test('every code is documented in docs/errors.md, and every documented code exists', () => {
    const codes = new Set<string>([...Object.values(ParseErrorCode), ...Object.values(ErrorCode)]);
    assert.deepEqual([...codes].sort(), [...documented].sort());
  });

  test('codes are unique', () => {
    const values = [...Object.values(ParseErrorCode), ...Object.values(ErrorCode)];
    assert.equal(new Set(values).size, values.length);
  });

  test('SipParseError carries code, offset, header, status and a stable name', () => {
    const e = new SipParseError(ParseErrorCode.URI, 'bad', { offset: 7, header: 'To', status: 400 });
    assert.equal(e.name, 'SipParseError');
    assert.equal(e.code, 'SIP_ERR_URI');
    assert.equal(e.offset, 7);
    assert.equal(e.header, 'To');
    assert.equal(e.status, 400);
    assert.ok(e instanceof SipError && e instanceof Error, 'class hierarchy');
    assert.equal(e.relocate(10, 'From').offset, 17);
  });

  test('instanceof works across copies of the module (branded with Symbol.for)', () => {
    const foreign = { [Symbol.for('sipwire.SipParseError')]: true, [Symbol.for('sipwire.SipError')]: true };
    assert.ok((foreign as unknown) instanceof SipParseError, 'branded object');
    assert.equal({} instanceof SipParseError, false);
  });

  test('each error class matches its own kind only', () => {
    const timeout = new TransactionTimeoutError('Timer F');
    assert.ok(timeout instanceof SipError, 'every error is a SipError');
    assert.ok(timeout instanceof TransactionTimeoutError, 'its own class');
    assert.equal(timeout instanceof TransportError, false, 'not a TransportError');
    assert.equal(new SdpError('x') instanceof SipParseError, false, 'not a parse error');
    const foreign = { [Symbol.for('sipwire.SipError')]: true, name: 'TransportError' };
    assert.ok((foreign as unknown) instanceof TransportError, 'a TransportError of another copy, by name');
  });
});
