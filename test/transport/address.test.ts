import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { test } from 'node:test';
import { ipFamily } from '../../src/transport/address.js';

test('ipFamily answers as net.isIP does, names ruled out without it', () => {
  const cases = [
    '10.0.0.1',
    '255.255.255.255',
    '192.168.1.300',
    '1.2.3',
    '::1',
    '2001:db8::1',
    '::ffff:192.0.2.1',
    'example.com',
    'host1',
    '1host.example',
    'bench.test',
    'localhost',
    '1',
    '',
    '[::1]',
  ];
  for (const c of cases) assert.equal(ipFamily(c), isIP(c), `'${c}'`);
  assert.equal(ipFamily('192.0.2.7'), 4);
  assert.equal(ipFamily('fe80::1'), 6);
});
