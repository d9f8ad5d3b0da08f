import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createResponse, parseMessage, type SipRequest, type SipResponse } from '../../src/index.js';
import { Dialog, dialogKey } from '../../src/ua/dialog.js';

const crlf = (...lines: string[]) => `${lines.join('\r\n')}\r\n\r\n`;

// An INVITE as it reaches the callee through two record-routing proxies.
const INVITE = crlf(
  'INVITE sip:callee@192.0.2.50:5070 SIP/2.0',
  'Via: SIP/2.0/UDP p2.example.net;branch=z9hG4bKp2x',
  'Via: SIP/2.0/UDP p1.example.org;branch=z9hG4bKp1x',
  'Via: SIP/2.0/UDP caller.example.org:5062;branch=z9hG4bKuac',
  'Max-Forwards: 68',
  'Record-Route: <sip:p2.example.net;lr>',
  'Record-Route: <sip:p1.example.org;lr>',
  'From: "Caller" <sip:caller@example.org>;tag=from-1',
  'To: <sip:callee@example.net>',
  'Call-ID: dlg-test-1@caller.example.org',
  'CSeq: 20 INVITE',
  'Contact: <sip:caller@198.51.100.2:5062>',
  'Content-Length: 0',
);

const invite = () => parseMessage(INVITE) as SipRequest;

function answer(req: SipRequest, status: number, contact = '<sip:callee@192.0.2.50:5070>'): SipResponse {
  const res = createResponse(req, status, undefined, { toTag: 'to-9' });
  for (const rr of req.getAll('Record-Route')) res.appendHeader('Record-Route', rr);
  res.appendHeader('Contact', contact);
  return res;
}

describe('dialog state (RFC 3261 §12.1)', () => {
  test('UAS side: route set in order, remote target from the request Contact, remote CSeq noted', () => {
    const req = invite();
    const d = Dialog.asUas(req, answer(req, 200));
    assert.equal(d.callId, 'dlg-test-1@caller.example.org', 'Call-ID');
    assert.equal(d.localTag, 'to-9', 'local tag is the To tag we chose');
    assert.equal(d.remoteTag, 'from-1', 'remote tag is the From tag');
    assert.deepEqual(
      d.routeSet.map((r) => r.uri.toString()),
      ['sip:p2.example.net;lr', 'sip:p1.example.org;lr'],
      'Record-Route order kept',
    );
    assert.equal(d.remoteTarget.toString(), 'sip:caller@198.51.100.2:5062', 'remote target');
    assert.equal(d.remoteSeq, 20, 'remote CSeq');
    assert.equal(d.state, 'confirmed', '2xx confirms');
    assert.equal(d.key, dialogKey('dlg-test-1@caller.example.org', 'to-9', 'from-1'), 'key');
  });

  test('UAC side: route set reversed, remote target from the response Contact; a 1xx makes an early dialog', () => {
    const req = invite();
    const early = Dialog.asUac(req, answer(req, 180));
    assert.equal(early.state, 'early', 'early on 180');
    assert.equal(early.localTag, 'from-1', 'local tag is our From tag');
    assert.equal(early.remoteTag, 'to-9', 'remote tag from the response');
    assert.deepEqual(
      early.routeSet.map((r) => r.uri.toString()),
      ['sip:p1.example.org;lr', 'sip:p2.example.net;lr'],
      'reversed',
    );
    assert.equal(early.localSeq, 20, 'local CSeq is the INVITE CSeq');
    early.confirm(answer(req, 200, '<sip:callee@192.0.2.51:5070>'));
    assert.equal(early.state, 'confirmed', 'confirmed by the 2xx');
    assert.equal(early.remoteTarget.toString(), 'sip:callee@192.0.2.51:5070', 'the 2xx Contact wins');
  });
});

describe('requests within a dialog (RFC 3261 §12.2.1.1)', () => {
  test('loose routing: the Request-URI is the remote target and Route the whole route set; CSeq grows', () => {
    const req = invite();
    const d = Dialog.asUac(req, answer(req, 200));
    const bye = d.createRequest('BYE');
    assert.equal(bye.uri.toString(), 'sip:callee@192.0.2.50:5070', 'Request-URI');
    assert.deepEqual(bye.getAll('Route'), ['<sip:p1.example.org;lr>', '<sip:p2.example.net;lr>'], 'Route');
    assert.equal(bye.cseq?.seq, 21, 'CSeq one more than the INVITE');
    assert.equal(bye.from?.tag, 'from-1', 'From tag');
    assert.equal(bye.to?.tag, 'to-9', 'To tag');
    assert.equal(bye.callId, 'dlg-test-1@caller.example.org', 'Call-ID');
    assert.equal(d.createRequest('INFO').cseq?.seq, 22, 'and grows again');
    assert.equal(d.createRequest('ACK', { cseq: 20 }).cseq?.seq, 20, 'ACK takes the INVITE number');
    assert.equal(d.localSeq, 22, 'ACK did not move the local CSeq');
  });

  test('strict routing: the first route goes in the Request-URI, the remote target at the end of Route', () => {
    const req = parseMessage(INVITE.replace(/Record-Route: <sip:p2.example.net;lr>\r\n/, '')) as SipRequest;
    req.removeHeader('Record-Route');
    req.appendHeader('Record-Route', '<sip:strict.example.com;maddr=192.0.2.9>');
    const res = answer(req, 200);
    const d = Dialog.asUac(req, res);
    const bye = d.createRequest('BYE');
    assert.equal(bye.uri.toString(), 'sip:strict.example.com', 'the strict router, maddr removed');
    assert.deepEqual(bye.getAll('Route'), ['<sip:callee@192.0.2.50:5070>'], 'remote target last');
  });

  test('no route set: straight to the remote target', () => {
    const req = parseMessage(INVITE.replace(/Record-Route: [^\r]*\r\n/g, '')) as SipRequest;
    const d = Dialog.asUac(req, answer(req, 200));
    const info = d.createRequest('INFO', {
      headers: [['Content-Type', 'application/dtmf-relay']],
      body: 'Signal=5',
    });
    assert.equal(info.uri.toString(), 'sip:callee@192.0.2.50:5070', 'Request-URI');
    assert.equal(info.has('Route'), false, 'no Route');
    assert.equal(info.body.toString(), 'Signal=5', 'body');
  });
});

describe('requests received in a dialog (RFC 3261 §12.2.2)', () => {
  test('a lower CSeq is 500; a re-INVITE refreshes the remote target; ACK keeps the CSeq', () => {
    const req = invite();
    const d = Dialog.asUas(req, answer(req, 200));
    const inDialog = (method: string, seq: number, contact?: string) => {
      const m = parseMessage(
        crlf(
          `${method} sip:callee@192.0.2.50:5070 SIP/2.0`,
          'Via: SIP/2.0/UDP caller.example.org:5062;branch=z9hG4bKnext',
          'From: <sip:caller@example.org>;tag=from-1',
          'To: <sip:callee@example.net>;tag=to-9',
          'Call-ID: dlg-test-1@caller.example.org',
          `CSeq: ${seq} ${method}`,
          ...(contact ? [`Contact: ${contact}`] : []),
          'Content-Length: 0',
        ),
      ) as SipRequest;
      return d.receiveRequest(m);
    };
    assert.equal(inDialog('ACK', 20), null, 'ACK with the INVITE CSeq');
    assert.deepEqual(
      inDialog('INFO', 19),
      { status: 500, reason: 'Server Internal Error (CSeq out of order)' },
      '500',
    );
    assert.equal(inDialog('INVITE', 21, '<sip:caller@198.51.100.3:5062>'), null, 're-INVITE accepted');
    assert.equal(d.remoteTarget.toString(), 'sip:caller@198.51.100.3:5062', 'target refreshed');
    assert.equal(inDialog('INFO', 22, '<sip:elsewhere@198.51.100.4>'), null, 'INFO accepted');
    assert.equal(
      d.remoteTarget.toString(),
      'sip:caller@198.51.100.3:5062',
      'INFO does not refresh the target',
    );
    assert.equal(d.remoteSeq, 22, 'remote CSeq follows');
  });
});
