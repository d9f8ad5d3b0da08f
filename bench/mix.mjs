// The realistic message mix used by the parser benchmarks: an INVITE with
// SDP, a 180, a 200 with Record-Route and SDP, a REGISTER with credentials,
// and a BYE with Route. Written for sipwire's benchmarks.

const crlf = (lines) => lines.join('\r\n');

function withBody(head, body) {
  const b = `${crlf(body)}\r\n`;
  return `${crlf([...head, `Content-Length: ${Buffer.byteLength(b)}`])}\r\n\r\n${b}`;
}

const offer = [
  'v=0',
  'o=carol 28908764872 28908764872 IN IP4 198.51.100.17',
  's=-',
  'c=IN IP4 198.51.100.17',
  't=0 0',
  'm=audio 49170 RTP/AVP 0 8 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=sendrecv',
];

const answer = [
  'v=0',
  'o=dave 3344556677 3344556677 IN IP4 203.0.113.40',
  's=-',
  'c=IN IP4 203.0.113.40',
  't=0 0',
  'm=audio 30000 RTP/AVP 0 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=sendrecv',
];

export const INVITE = withBody(
  [
    'INVITE sip:dave@voip.example.org SIP/2.0',
    'Via: SIP/2.0/UDP 198.51.100.17:5060;branch=z9hG4bK3f9a6c21e07d;rport',
    'Max-Forwards: 70',
    'From: "Carol Ames" <sip:carol@example.net>;tag=7c1d90b2',
    'To: <sip:dave@voip.example.org>',
    'Call-ID: 5d0e8a8f3b2c4a17@198.51.100.17',
    'CSeq: 4711 INVITE',
    'Contact: <sip:carol@198.51.100.17:5060;transport=udp>',
    'Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO, REFER, NOTIFY',
    'Supported: replaces, timer, 100rel',
    'User-Agent: Deskphone 4.2.1',
    'Content-Type: application/sdp',
  ],
  offer,
);

export const RINGING = crlf([
  'SIP/2.0 180 Ringing',
  'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKp1a2b3c4d5e6.0',
  'Via: SIP/2.0/UDP 198.51.100.17:5060;received=198.51.100.17;branch=z9hG4bK3f9a6c21e07d;rport=5060',
  'Record-Route: <sip:192.0.2.10;lr>',
  'From: "Carol Ames" <sip:carol@example.net>;tag=7c1d90b2',
  'To: <sip:dave@voip.example.org>;tag=a94c0e31',
  'Call-ID: 5d0e8a8f3b2c4a17@198.51.100.17',
  'CSeq: 4711 INVITE',
  'Contact: <sip:dave@203.0.113.40:5062>',
  'Content-Length: 0',
  '',
  '',
]);

export const OK_INVITE = withBody(
  [
    'SIP/2.0 200 OK',
    'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKp1a2b3c4d5e6.0',
    'Via: SIP/2.0/UDP 198.51.100.17:5060;received=198.51.100.17;branch=z9hG4bK3f9a6c21e07d;rport=5060',
    'Record-Route: <sip:edge.voip.example.org;lr>, <sip:192.0.2.10;lr>',
    'From: "Carol Ames" <sip:carol@example.net>;tag=7c1d90b2',
    'To: <sip:dave@voip.example.org>;tag=a94c0e31',
    'Call-ID: 5d0e8a8f3b2c4a17@198.51.100.17',
    'CSeq: 4711 INVITE',
    'Contact: <sip:dave@203.0.113.40:5062>',
    'Allow: INVITE, ACK, CANCEL, BYE, OPTIONS',
    'Content-Type: application/sdp',
  ],
  answer,
);

export const REGISTER = crlf([
  'REGISTER sip:voip.example.org SIP/2.0',
  'Via: SIP/2.0/UDP 203.0.113.40:5062;branch=z9hG4bK77e1f0c3a8;rport',
  'Max-Forwards: 70',
  'From: <sip:dave@voip.example.org>;tag=1e5b7d33',
  'To: <sip:dave@voip.example.org>',
  'Call-ID: 0b7f3c9e11d24e6a@203.0.113.40',
  'CSeq: 22 REGISTER',
  'Contact: <sip:dave@203.0.113.40:5062>;expires=3600;+sip.instance="<urn:uuid:00000000-0000-1000-8000-00a0c91e6bf6>"',
  'Authorization: Digest username="dave", realm="voip.example.org", nonce="6d1a2b3c4d5e6f708192a3b4c5d6e7f8", uri="sip:voip.example.org", response="0f3e8a1c2b4d6e8f0a1b2c3d4e5f6a7b", algorithm=MD5, qop=auth, nc=00000001, cnonce="a1b2c3d4"',
  'Expires: 3600',
  'User-Agent: Softphone 2.0',
  'Content-Length: 0',
  '',
  '',
]);

export const BYE = crlf([
  'BYE sip:dave@203.0.113.40:5062 SIP/2.0',
  'Via: SIP/2.0/UDP 198.51.100.17:5060;branch=z9hG4bK9b8c7d6e5f4a;rport',
  'Max-Forwards: 70',
  'Route: <sip:192.0.2.10;lr>, <sip:edge.voip.example.org;lr>',
  'From: "Carol Ames" <sip:carol@example.net>;tag=7c1d90b2',
  'To: <sip:dave@voip.example.org>;tag=a94c0e31',
  'Call-ID: 5d0e8a8f3b2c4a17@198.51.100.17',
  'CSeq: 4712 BYE',
  'Content-Length: 0',
  '',
  '',
]);

export const MIX = [INVITE, RINGING, OK_INVITE, REGISTER, BYE];
