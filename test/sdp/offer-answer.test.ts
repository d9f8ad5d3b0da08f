import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type Codec,
  createAnswer,
  createOffer,
  type Direction,
  direction,
  ErrorCode,
  fmtp,
  type LocalMedia,
  negotiated,
  OfferAnswer,
  parseSdp,
  rtpMap,
  SdpNegotiationError,
  type SessionDescription,
  serializeSdp,
  withDirection,
} from '../../src/index.js';

const crlf = (...lines: string[]) => `${lines.join('\r\n')}\r\n`;

const PCMU: Codec = { name: 'PCMU', clockRate: 8000 };
const PCMA: Codec = { name: 'PCMA', clockRate: 8000 };
const G722: Codec = { name: 'G722', clockRate: 8000 };
const OPUS: Codec = { name: 'opus', clockRate: 48000, channels: 2, fmtp: 'useinbandfec=1' };
const EVENTS: Codec = { name: 'telephone-event', clockRate: 8000, fmtp: '0-15' };

const alice: LocalMedia = { address: '192.0.2.10', port: 20000, codecs: [OPUS, PCMU, PCMA, EVENTS] };
const bob: LocalMedia = { address: '198.51.100.20', port: 30000, codecs: [PCMA, PCMU, EVENTS] };

/** An offer from a peer: audio with PT numbers of its own choosing, then video. */
const PEER_OFFER = crlf(
  'v=0',
  'o=gw 4411 4411 IN IP4 203.0.113.7',
  's=-',
  'c=IN IP4 203.0.113.7',
  't=0 0',
  'm=audio 16400 RTP/AVP 18 0 8 110',
  'a=rtpmap:18 G729/8000',
  'a=rtpmap:110 telephone-event/8000',
  'a=fmtp:110 0-16',
  'a=fmtp:18 annexb=no',
  'm=video 16402 RTP/AVP 99',
  'a=rtpmap:99 H264/90000',
);

function negotiationError(pattern: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof SdpNegotiationError, `expected SdpNegotiationError, got ${String(err)}`);
    assert.equal(err.code, ErrorCode.SDP_NEGOTIATION, 'code');
    assert.equal(err.name, 'SdpNegotiationError', 'name');
    assert.match(err.message, pattern, 'message');
    return true;
  };
}

function directionAttributes(sd: SessionDescription, index = 0): string[] {
  return sd.media[index]!.attributes.filter((a) =>
    ['sendrecv', 'sendonly', 'recvonly', 'inactive'].includes(a.name),
  ).map((a) => a.name);
}

describe('createOffer', () => {
  test('builds one RTP/AVP audio stream with static and dynamic payload types', () => {
    const offer = createOffer(alice);
    assert.equal(offer.media.length, 1, 'one stream');
    const m = offer.media[0]!;
    assert.equal(m.type, 'audio', 'audio');
    assert.equal(m.port, 20000, 'port');
    assert.equal(m.proto, 'RTP/AVP', 'proto');
    assert.deepEqual(m.formats, ['96', '0', '8', '97'], 'opus and events dynamic from 96, PCMU 0, PCMA 8');
    assert.deepEqual(
      m.attributes,
      [
        { name: 'rtpmap', value: '96 opus/48000/2' },
        { name: 'rtpmap', value: '0 PCMU/8000' },
        { name: 'rtpmap', value: '8 PCMA/8000' },
        { name: 'rtpmap', value: '97 telephone-event/8000' },
        { name: 'fmtp', value: '96 useinbandfec=1' },
        { name: 'fmtp', value: '97 0-15' },
        { name: 'sendrecv' },
      ],
      'rtpmap for each format, fmtp when given, direction',
    );
    assert.deepEqual(offer.connection, { netType: 'IN', addrType: 'IP4', address: '192.0.2.10' }, 'c=');
    assert.deepEqual(offer.timing, [{ start: 0n, stop: 0n, repeats: [] }], 't=0 0');
    assert.equal(offer.origin.sessionVersion, 1n, 'version 1');
    assert.match(offer.origin.sessionId, /^[0-9]+$/, 'numeric session id');
    assert.ok(BigInt(offer.origin.sessionId) < 2n ** 63n, 'fits a signed 64-bit integer (RFC 3264 §5)');
    assert.equal(offer.origin.username, '-', 'default username');
    assert.notEqual(createOffer(alice).origin.sessionId, offer.origin.sessionId, 'random per offer');
  });

  test('serializes to a description that parses back to the same thing', () => {
    const offer = createOffer({ ...alice, username: 'alice', sessionId: '77' });
    const text = serializeSdp(offer);
    assert.match(
      text,
      /^v=0\r\no=alice 77 1 IN IP4 192\.0\.2\.10\r\ns=-\r\nc=IN IP4 192\.0\.2\.10\r\nt=0 0\r\nm=audio 20000 RTP\/AVP 96 0 8 97\r\n/,
      'text',
    );
    assert.deepEqual(parseSdp(text), offer, 'round trip');
  });

  test('uses IP6 for an IPv6 address, the wanted direction, and given payload types', () => {
    const offer = createOffer({
      address: '2001:db8::42',
      port: 5004,
      direction: 'recvonly',
      codecs: [
        { name: 'G729', clockRate: 8000 },
        { ...EVENTS, payloadType: 101 },
        { name: 'L16', clockRate: 16000 },
      ],
    });
    assert.equal(offer.connection?.addrType, 'IP6', 'c= IP6');
    assert.equal(offer.origin.addrType, 'IP6', 'o= IP6');
    assert.deepEqual(offer.media[0]!.formats, ['18', '101', '96'], 'G729 static 18, given 101, L16 dynamic');
    assert.deepEqual(directionAttributes(offer), ['recvonly'], 'direction');
    assert.doesNotThrow(() => parseSdp(serializeSdp(offer)), 'valid SDP');
  });

  test('refuses an offer it cannot build', () => {
    assert.throws(() => createOffer({ ...alice, codecs: [] }), RangeError, 'no codecs');
    assert.throws(() => createOffer({ ...alice, port: 70000 }), RangeError, 'port');
    assert.throws(() => createOffer({ ...alice, sessionId: 'abc' }), RangeError, 'session id');
    assert.throws(
      () =>
        createOffer({
          ...alice,
          codecs: [
            { ...PCMU, payloadType: 5 },
            { ...PCMA, payloadType: 5 },
          ],
        }),
      RangeError,
      'duplicate payload type',
    );
  });
});

describe('createAnswer', () => {
  test('keeps the offer payload type numbers and order; keeps telephone-event both sides have', () => {
    const offer = parseSdp(PEER_OFFER);
    const answer = createAnswer(offer, bob);
    const m = answer.media[0]!;
    assert.equal(m.port, 30000, 'accepted on our port');
    assert.deepEqual(m.formats, ['0', '8', '110'], 'offer order, offer numbers; G729 dropped');
    assert.deepEqual(
      m.attributes,
      [
        { name: 'rtpmap', value: '0 PCMU/8000' },
        { name: 'rtpmap', value: '8 PCMA/8000' },
        { name: 'rtpmap', value: '110 telephone-event/8000' },
        { name: 'fmtp', value: '110 0-15' },
        { name: 'sendrecv' },
      ],
      'rtpmap for static types too (RFC 3264 §6.1), our fmtp, direction',
    );
    assert.deepEqual(
      answer.connection,
      { netType: 'IN', addrType: 'IP4', address: '198.51.100.20' },
      'our address',
    );
    assert.equal(answer.media.length, 2, 'one m= line per offered one');
    assert.doesNotThrow(() => parseSdp(serializeSdp(answer)), 'valid SDP');
  });

  test('rejects video with port 0, keeping type and proto', () => {
    const answer = createAnswer(parseSdp(PEER_OFFER), bob);
    const video = answer.media[1]!;
    assert.equal(video.type, 'video', 'same media type');
    assert.equal(video.port, 0, 'port 0');
    assert.equal(video.proto, 'RTP/AVP', 'same proto');
    assert.ok(video.formats.length > 0, 'at least one format (RFC 3264 §6)');
  });

  test('drops telephone-event when we do not have it, echoes offer fmtp when we have none', () => {
    const answer = createAnswer(parseSdp(PEER_OFFER), {
      ...bob,
      codecs: [{ name: 'g729', clockRate: 8000 }, PCMU],
    });
    const m = answer.media[0]!;
    assert.deepEqual(m.formats, ['18', '0'], 'no 110; encoding names compared without case');
    assert.equal(fmtp(m, '18'), 'annexb=no', 'offer fmtp kept');
    assert.deepEqual(rtpMap(m).get('18'), { encoding: 'G729', clockRate: 8000 }, 'offer spelling');
  });

  test('accepts static payload types offered without rtpmap', () => {
    const offer = parseSdp(
      crlf(
        'v=0',
        'o=- 5 5 IN IP4 203.0.113.7',
        's=-',
        'c=IN IP4 203.0.113.7',
        't=0 0',
        'm=audio 16400 RTP/AVP 9 3 0',
      ),
    );
    const answer = createAnswer(offer, { ...bob, codecs: [PCMU, G722, { name: 'GSM', clockRate: 8000 }] });
    assert.deepEqual(answer.media[0]!.formats, ['9', '3', '0'], 'all three, offer order');
  });

  test('rejects unknown media, other transports, multicast and a second audio stream with port 0', () => {
    const offer = parseSdp(
      crlf(
        'v=0',
        'o=- 5 5 IN IP4 203.0.113.7',
        's=-',
        'c=IN IP4 203.0.113.7',
        't=0 0',
        'm=hologram 7000 RTP/AVP 0',
        'm=audio 7002 RTP/SAVP 0',
        'm=audio 7004 RTP/AVP 0',
        'c=IN IP4 233.252.0.5/16',
        'm=audio 7006 RTP/AVP 0',
        'm=audio 7008 RTP/AVP 0',
        'm=audio 0 RTP/AVP 0',
      ),
    );
    const answer = createAnswer(offer, bob);
    assert.deepEqual(
      answer.media.map((m) => m.port),
      [0, 0, 0, 30000, 0, 0],
      'only the first unicast RTP/AVP audio stream',
    );
    assert.deepEqual(
      answer.media.map((m) => m.type),
      ['hologram', 'audio', 'audio', 'audio', 'audio', 'audio'],
      'types kept',
    );
  });

  test('a stream without a common voice codec gets port 0 while another is taken', () => {
    const offer = parseSdp(
      crlf(
        'v=0',
        'o=- 5 5 IN IP4 203.0.113.7',
        's=-',
        'c=IN IP4 203.0.113.7',
        't=0 0',
        'm=audio 7000 RTP/AVP 18 101',
        'a=rtpmap:101 telephone-event/8000',
        'm=audio 7002 RTP/AVP 8',
      ),
    );
    const answer = createAnswer(offer, bob);
    assert.equal(answer.media[0]!.port, 0, 'telephone-event alone is not enough');
    assert.equal(answer.media[1]!.port, 30000, 'second stream taken');
  });

  test('no common codec at all: SdpNegotiationError (488)', () => {
    const offer = parseSdp(
      crlf(
        'v=0',
        'o=- 5 5 IN IP4 203.0.113.7',
        's=-',
        'c=IN IP4 203.0.113.7',
        't=0 0',
        'm=audio 7000 RTP/AVP 18 96',
        'a=rtpmap:96 AMR/8000',
        'm=video 7002 RTP/AVP 31',
      ),
    );
    assert.throws(
      () => createAnswer(offer, bob),
      negotiationError(
        /stream 1 \(audio RTP\/AVP\): no codec in common; stream 2 \(video RTP\/AVP\): not audio/,
      ),
      'nothing acceptable',
    );
  });

  test('an offer with no streams, or only disabled ones, gets a matching answer', () => {
    const none = parseSdp(crlf('v=0', 'o=- 5 5 IN IP4 203.0.113.7', 's=-', 'c=IN IP4 203.0.113.7', 't=0 0'));
    assert.equal(createAnswer(none, bob).media.length, 0, 'no m= lines (RFC 3264 §6)');
    const disabled = parseSdp(
      crlf(
        'v=0',
        'o=- 5 6 IN IP4 203.0.113.7',
        's=-',
        'c=IN IP4 203.0.113.7',
        't=0 0',
        'm=audio 0 RTP/AVP 0',
      ),
    );
    assert.deepEqual(
      createAnswer(disabled, bob).media.map((m) => m.port),
      [0],
      'disabled stream stays disabled (RFC 3264 §8.2)',
    );
  });

  test('copies the t= line of the offer (RFC 3264 §6)', () => {
    const offer = parseSdp(PEER_OFFER.replace('t=0 0', 't=3900000000 0'));
    assert.deepEqual(createAnswer(offer, bob).timing, [{ start: 3900000000n, stop: 0n, repeats: [] }], 't=');
  });

  test('direction table (RFC 3264 §6.1)', () => {
    const table: [Direction | undefined, Direction | undefined, Direction][] = [
      [undefined, undefined, 'sendrecv'],
      ['sendrecv', undefined, 'sendrecv'],
      ['sendonly', undefined, 'recvonly'],
      ['recvonly', undefined, 'sendonly'],
      ['inactive', undefined, 'inactive'],
      ['sendrecv', 'sendonly', 'sendonly'],
      ['sendrecv', 'recvonly', 'recvonly'],
      ['sendrecv', 'inactive', 'inactive'],
      ['sendonly', 'sendonly', 'inactive'],
      ['recvonly', 'recvonly', 'inactive'],
      ['sendonly', 'recvonly', 'recvonly'],
      ['recvonly', 'sendonly', 'sendonly'],
      ['inactive', 'sendrecv', 'inactive'],
    ];
    for (const [offered, wanted, expected] of table) {
      const text =
        offered === undefined
          ? PEER_OFFER
          : PEER_OFFER.replace('a=fmtp:18 annexb=no', `a=fmtp:18 annexb=no\r\na=${offered}`);
      const local: LocalMedia = wanted === undefined ? bob : { ...bob, direction: wanted };
      const answer = createAnswer(parseSdp(text), local);
      assert.deepEqual(
        directionAttributes(answer),
        [expected],
        `offer ${offered ?? '(none)'}, we want ${wanted ?? '(default)'}`,
      );
    }
  });

  test('a session-level direction in the offer counts', () => {
    const text = PEER_OFFER.replace('t=0 0\r\n', 't=0 0\r\na=sendonly\r\n');
    assert.deepEqual(directionAttributes(createAnswer(parseSdp(text), bob)), ['recvonly'], 'recvonly');
  });
});

describe('negotiated', () => {
  test('offerer side: first codec of the answer we both list, with the remote address', () => {
    const offer = createOffer(alice);
    const answer = createAnswer(parseSdp(serializeSdp(offer)), bob);
    const mine = negotiated(offer, answer);
    assert.deepEqual(
      mine,
      {
        codec: { name: 'PCMU', clockRate: 8000, payloadType: 0 },
        remoteAddress: '198.51.100.20',
        remotePort: 30000,
        direction: 'sendrecv',
      },
      'PCMU, the first voice codec of the answer',
    );
    const theirs = negotiated(answer, offer);
    assert.deepEqual(
      theirs,
      {
        codec: { name: 'PCMU', clockRate: 8000, payloadType: 0 },
        remoteAddress: '192.0.2.10',
        remotePort: 20000,
        direction: 'sendrecv',
      },
      'answerer side: the most preferred offered codec it answered with',
    );
  });

  test('carries the remote payload type and fmtp; skips telephone-event', () => {
    const answer = parseSdp(
      crlf(
        'v=0',
        'o=- 9 9 IN IP6 2001:db8::9',
        's=-',
        't=0 0',
        'm=audio 40000 RTP/AVP 101 111',
        'c=IN IP6 2001:db8::9',
        'a=rtpmap:101 telephone-event/8000',
        'a=rtpmap:111 OPUS/48000/2',
        'a=fmtp:111 stereo=0',
        'a=recvonly',
      ),
    );
    const offer = withDirection(createOffer(alice), 'sendonly');
    assert.deepEqual(
      negotiated(offer, answer),
      {
        codec: { name: 'OPUS', clockRate: 48000, channels: 2, payloadType: 111, fmtp: 'stereo=0' },
        remoteAddress: '2001:db8::9',
        remotePort: 40000,
        direction: 'sendonly',
      },
      'opus at the answer PT; our direction',
    );
  });

  test('undefined when the stream was rejected', () => {
    const offer = createOffer(alice);
    const answer = createAnswer(offer, bob);
    answer.media[0]!.port = 0;
    assert.equal(negotiated(offer, answer), undefined, 'port 0');
  });
});

describe('hold and resume', () => {
  test('withDirection changes only the audio direction, on a copy', () => {
    const offer = createOffer(alice);
    const held = withDirection(offer, 'sendonly');
    assert.deepEqual(directionAttributes(held), ['sendonly'], 'held');
    assert.deepEqual(directionAttributes(offer), ['sendrecv'], 'original untouched');
    assert.equal(direction(held, held.media[0]!), 'sendonly', 'read back');
    const bare = createOffer(alice);
    bare.media[0]!.attributes = bare.media[0]!.attributes.filter((a) => a.name !== 'sendrecv');
    assert.deepEqual(directionAttributes(withDirection(bare, 'inactive')), ['inactive'], 'added when absent');
  });

  test('a peer at 0.0.0.0 (RFC 2543 hold, RFC 3264 §8.4): nothing is sent to it, whatever the direction says', () => {
    for (const [held, from, expected] of [
      ['IN IP4 0.0.0.0', 'sendrecv', 'recvonly'],
      ['IN IP6 ::', 'sendrecv', 'recvonly'],
      ['IN IP4 0.0.0.0', 'sendonly', 'inactive'],
      ['IN IP4 203.0.113.7', 'sendrecv', 'sendrecv'],
    ] as const) {
      const remote = parseSdp(Buffer.from(PEER_OFFER.replace('c=IN IP4 203.0.113.7', `c=${held}`)));
      const local = withDirection(createAnswer(remote, bob), from);
      const n = negotiated(local, remote);
      assert.equal(n?.direction, expected, `${held}, ${from}`);
    }
  });

  test('hold (RFC 3264 §8.4) and resume with o= versions one higher each time', () => {
    const oa = new OfferAnswer();
    const offer = oa.nextVersion(createOffer(alice));
    assert.equal(offer.origin.sessionVersion, 1n, 'first offer as built');
    oa.setLocalOffer(offer);
    oa.setRemoteAnswer(createAnswer(offer, bob));

    const hold = oa.nextVersion(withDirection(oa.local!, 'sendonly'));
    assert.equal(hold.origin.sessionVersion, 2n, 'hold: version 2');
    assert.equal(hold.origin.sessionId, offer.origin.sessionId, 'same session id');
    oa.setLocalOffer(hold);
    const heldAnswer = createAnswer(hold, bob);
    assert.deepEqual(directionAttributes(heldAnswer), ['recvonly'], 'peer answers recvonly');
    oa.setRemoteAnswer(heldAnswer);
    assert.equal(negotiated(oa.local!, oa.remote!)?.direction, 'sendonly', 'we only send');

    const same = oa.nextVersion(withDirection(oa.local!, 'sendonly'));
    assert.equal(same.origin.sessionVersion, 2n, 'unchanged description keeps its version');

    // A fresh offer from createOffer has a new session id: nextVersion puts back the o= line.
    const resume = oa.nextVersion(withDirection(createOffer(alice), 'sendrecv'));
    assert.equal(resume.origin.sessionVersion, 3n, 'resume: version 3');
    assert.equal(
      resume.origin.sessionId,
      offer.origin.sessionId,
      'o= identical but the version (RFC 3264 §8)',
    );
    oa.setLocalOffer(resume);
    oa.setRemoteAnswer(createAnswer(resume, bob));
    assert.equal(negotiated(oa.local!, oa.remote!)?.direction, 'sendrecv', 'both ways again');
  });
});

describe('OfferAnswer', () => {
  const offer = () => createOffer(alice);

  test('offer then answer, both ways', () => {
    const oa = new OfferAnswer();
    assert.equal(oa.state, 'stable', 'initial state');
    const o = offer();
    oa.setLocalOffer(o);
    assert.equal(oa.state, 'have-local-offer', 'after local offer');
    assert.equal(oa.pending, o, 'pending offer');
    assert.equal(oa.local, undefined, 'nothing agreed yet');
    const a = createAnswer(o, bob);
    oa.setRemoteAnswer(a);
    assert.equal(oa.state, 'stable', 'after answer');
    assert.equal(oa.local, o, 'local agreed');
    assert.equal(oa.remote, a, 'remote agreed');

    const peer = new OfferAnswer();
    peer.setRemoteOffer(o);
    assert.equal(peer.state, 'have-remote-offer', 'after remote offer');
    peer.setLocalAnswer(a);
    assert.equal(peer.state, 'stable', 'after local answer');
    assert.equal(peer.local, a, 'local is the answer');
    assert.equal(peer.remote, o, 'remote is the offer');
  });

  test('calls in the wrong state throw SdpNegotiationError', () => {
    const oa = new OfferAnswer();
    assert.throws(
      () => oa.setRemoteAnswer(offer()),
      negotiationError(/cannot take an answer in state 'stable': no offer is in progress/),
      'answer without offer',
    );
    assert.throws(
      () => oa.setLocalAnswer(offer()),
      negotiationError(/cannot send an answer in state 'stable'/),
      'local answer without offer',
    );
    oa.setLocalOffer(offer());
    assert.throws(
      () => oa.setLocalOffer(offer()),
      negotiationError(/cannot send an offer in state 'have-local-offer': our offer has not been answered/),
      'second offer',
    );
    assert.throws(
      () => oa.setRemoteOffer(offer()),
      negotiationError(/cannot take an offer in state 'have-local-offer'/),
      'glare',
    );
    assert.throws(
      () => oa.setLocalAnswer(offer()),
      negotiationError(/cannot send an answer/),
      'answer to our own offer',
    );
    assert.equal(oa.state, 'have-local-offer', 'state unchanged by refused calls');

    const peer = new OfferAnswer();
    peer.setRemoteOffer(offer());
    assert.throws(
      () => peer.setLocalOffer(offer()),
      negotiationError(/the peer offer has not been answered yet/),
      'offer before answering',
    );
    assert.throws(
      () => peer.setRemoteAnswer(offer()),
      negotiationError(/cannot take an answer in state 'have-remote-offer'/),
      'remote answer',
    );
    assert.throws(
      () => peer.setRemoteOffer(offer()),
      negotiationError(/cannot take an offer/),
      'second remote offer',
    );
  });

  test('an answer must have as many m= lines as the offer; a new offer no fewer than before', () => {
    const oa = new OfferAnswer();
    const o = offer();
    oa.setLocalOffer(o);
    const short = createAnswer(o, bob);
    short.media = [];
    assert.throws(
      () => oa.setRemoteAnswer(short),
      negotiationError(/0 m= lines for an offer with 1/),
      'answer count',
    );
    oa.setRemoteAnswer(createAnswer(o, bob));
    const empty = offer();
    empty.media = [];
    assert.throws(
      () => oa.setLocalOffer(empty),
      negotiationError(/fewer than the 1 before/),
      'shrinking offer',
    );
  });

  test('rollback returns to stable and keeps the last agreed descriptions', () => {
    const oa = new OfferAnswer();
    const o = offer();
    const a = createAnswer(o, bob);
    oa.setLocalOffer(o);
    oa.setRemoteAnswer(a);

    oa.setLocalOffer(oa.nextVersion(withDirection(o, 'sendonly')));
    oa.rollback();
    assert.equal(oa.state, 'stable', 'stable after a rejected re-offer (488)');
    assert.equal(oa.pending, undefined, 'no pending offer');
    assert.equal(oa.local, o, 'local kept');
    assert.equal(oa.remote, a, 'remote kept');
    assert.equal(
      oa.nextVersion(withDirection(o, 'sendonly')).origin.sessionVersion,
      2n,
      'the rejected offer is forgotten (RFC 3264 §4)',
    );

    oa.setRemoteOffer(offer());
    oa.rollback();
    assert.equal(oa.state, 'stable', 'stable after refusing a peer offer (491)');
    assert.equal(oa.remote, a, 'remote kept');
    assert.doesNotThrow(() => oa.setLocalOffer(offer()), 'can offer again');
  });
});
