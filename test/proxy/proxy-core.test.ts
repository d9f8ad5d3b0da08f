import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseMessage, type SipRequest, type SipResponse, type SipUri } from '../../src/index.js';
import { createResponse } from '../../src/message/response.js';
import { parseUri } from '../../src/message/uri.js';
import { chooseBest, finishBest } from '../../src/proxy/best-response.js';
import { hasLooped, loopTag } from '../../src/proxy/loop.js';
import { preprocessRoute } from '../../src/proxy/route.js';
import { forkGroups } from '../../src/proxy/target.js';

function invite(extra: string[] = [], uri = 'sip:bob@example.test'): SipRequest {
  return parseMessage(
    [
      `INVITE ${uri} SIP/2.0`,
      'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-caller-1',
      'Max-Forwards: 70',
      'To: <sip:bob@example.test>',
      'From: <sip:alice@example.test>;tag=a1',
      'Call-ID: loop-1@192.0.2.10',
      'CSeq: 7 INVITE',
      ...extra,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  ) as SipRequest;
}

describe('best response (RFC 3261 §16.7 item 6)', () => {
  test('a 6xx wins over anything, even a later lower class', () => {
    assert.equal(chooseBest([486, 603, 302]), 1, '603 chosen');
    assert.equal(chooseBest([600, 404]), 0, '600 kept');
  });
  test('else the lowest class; within 4xx the ones that tell how to resubmit', () => {
    assert.equal(chooseBest([500, 486, 302]), 2, '3xx is the lowest class');
    assert.equal(chooseBest([408, 486, 404]), 1, 'a 408 is the least telling 4xx');
    assert.equal(chooseBest([486, 407]), 1, 'a challenge before another 4xx');
    assert.equal(chooseBest([486, 484, 415]), 2, '415 before 484 before other 4xx');
    assert.equal(chooseBest([503, 500]), 0, 'same class: the first');
    assert.equal(chooseBest([]), -1, 'nothing to choose');
  });
  test('a chosen 503 becomes 500; a 401/407 gathers every challenge', () => {
    const req = invite();
    const r503 = createResponse(req, 503, 'Busy Here');
    assert.equal(finishBest(r503, [r503]).status, 500, '503 -> 500');
    const a = createResponse(req, 407, undefined, {
      headers: [['Proxy-Authenticate', 'Digest realm="a.test", nonce="1"']],
    });
    const b = createResponse(req, 401, undefined, {
      headers: [['WWW-Authenticate', 'Digest realm="b.test", nonce="2"']],
    });
    const c = createResponse(req, 486);
    const best = finishBest(a, [a, b, c]);
    assert.deepEqual(
      best.getAll('Proxy-Authenticate'),
      ['Digest realm="a.test", nonce="1"'],
      'own challenge',
    );
    assert.deepEqual(
      best.getAll('WWW-Authenticate'),
      ['Digest realm="b.test", nonce="2"'],
      'the other branch’s',
    );
  });
});

describe('loop detection (RFC 5393 §4.2)', () => {
  const ours = (v: { host: string; port?: number }) => v.host === '198.51.100.1' && v.port === 5060;
  test('the same request back with our Via and the same tag is a loop; a retargeted one is a spiral', () => {
    const first = invite();
    const tag = loopTag(first);
    assert.match(tag, /^[0-9a-f]{8}$/, 'a 32-bit tag');
    const back = invite([`Via: SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bKxyz.${tag}`]);
    assert.equal(
      hasLooped(back, ours, () => loopTag(back)),
      true,
      'loop',
    );
    const spiral = invite(
      [`Via: SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bKxyz.${tag}`],
      'sip:bob@desk.test',
    );
    assert.equal(
      hasLooped(spiral, ours, () => loopTag(spiral)),
      false,
      'spiral: the Request-URI changed',
    );
    const other = invite([`Via: SIP/2.0/UDP 203.0.113.9:5060;branch=z9hG4bKxyz.${tag}`]);
    assert.equal(
      hasLooped(other, ours, () => loopTag(other)),
      false,
      'not our Via',
    );
  });
  test('the tag does not vary with the method (a CANCEL hashes like its INVITE)', () => {
    const inv = invite();
    const cancel = parseMessage(
      inv
        .toString()
        .replace(/^INVITE/, 'CANCEL')
        .replace('CSeq: 7 INVITE', 'CSeq: 7 CANCEL'),
    ) as SipRequest;
    assert.equal(loopTag(cancel), loopTag(inv), 'same tag');
  });
});

describe('route preprocessing (RFC 3261 §16.4)', () => {
  const isOurs = (u: SipUri) => u.host === '198.51.100.1' && (u.port ?? 5060) === 5060;
  test('loose routing: our Route values on top are taken off (two with double Record-Route)', () => {
    const req = invite([
      'Route: <sip:198.51.100.1;lr>, <sip:198.51.100.1:5060;transport=tcp;lr>',
      'Route: <sip:203.0.113.5;lr>',
    ]);
    const r = preprocessRoute(req, isOurs);
    assert.equal(r.popped, 2, 'two of ours');
    assert.deepEqual(
      req.route.map((x) => x.uri.toString()),
      ['sip:203.0.113.5;lr'],
      'the next hop stays',
    );
    assert.equal(req.uri.toString(), 'sip:bob@example.test', 'Request-URI untouched');
  });
  test('a strict router before us: the Request-URI comes back from the last Route value', () => {
    const req = invite(['Route: <sip:203.0.113.5;lr>, <sip:bob@192.0.2.77>'], 'sip:198.51.100.1;lr');
    const r = preprocessRoute(req, isOurs);
    assert.equal(r.strictRouted, true, 'strict routing undone');
    assert.equal(req.uri.toString(), 'sip:bob@192.0.2.77', 'the real target');
    assert.deepEqual(
      req.route.map((x) => x.uri.toString()),
      ['sip:203.0.113.5;lr'],
      'last Route value removed',
    );
  });
  test('a maddr naming us is stripped', () => {
    const req = invite([], 'sip:bob@example.test;maddr=198.51.100.1');
    preprocessRoute(req, isOurs);
    assert.equal(req.uri.toString(), 'sip:bob@example.test', 'maddr gone');
  });
});

describe('fork groups', () => {
  test('highest q first; equal q together; sequential makes one group per target', () => {
    const t = (u: string, q?: number) => ({ uri: parseUri(u), q });
    const groups = forkGroups([t('sip:a@x', 0.5), t('sip:b@x'), t('sip:c@x', 1), t('sip:d@x', 0.1)]);
    assert.deepEqual(
      groups.map((g) => g.map((x) => x.uri.toString())),
      [['sip:b@x', 'sip:c@x'], ['sip:a@x'], ['sip:d@x']],
      'groups by q',
    );
    assert.equal(forkGroups([t('sip:a@x'), t('sip:b@x')], false).length, 2, 'sequential');
  });
});

export type { SipResponse };
