// Readers for each parser in the comparison: each parses the message and
// reads the fields a proxy reads (method or status, top Via branch, From tag,
// To tag, Call-ID, CSeq, Max-Forwards, first Contact URI) and returns a
// number so the work cannot be optimised away.
import { createRequire } from 'node:module';
import { parseMessage } from '../dist/index.js';

const require = createRequire(import.meta.url);
const quiet = { warn() {}, error() {}, log() {}, debug() {} };

export function sipwireReader() {
  return (buf) => {
    const m = parseMessage(buf);
    const first = m.isRequest ? m.method.length : m.status;
    const via = m.topVia.branch;
    const fromTag = m.from.tag;
    const toTag = m.to.tag;
    const callId = m.callId;
    const cseq = m.cseq;
    const mf = m.maxForwards;
    const contact = m.contact[0];
    const uri = contact === undefined ? undefined : contact.uri;
    return (
      first +
      via.length +
      (fromTag?.length ?? 0) +
      (toTag?.length ?? 0) +
      callId.length +
      cseq.seq +
      cseq.method.length +
      (mf ?? 0) +
      (uri === undefined ? 0 : 1)
    );
  };
}

export function sipReader() {
  const sip = require('sip');
  return (text) => {
    const m = sip.parse(text);
    const h = m.headers;
    const first = m.method ? m.method.length : m.status;
    const contact = h.contact?.[0];
    const uri = contact === undefined ? undefined : sip.parseUri(contact.uri);
    return (
      first +
      h.via[0].params.branch.length +
      (h.from.params.tag?.length ?? 0) +
      (h.to.params.tag?.length ?? 0) +
      h['call-id'].length +
      h.cseq.seq +
      h.cseq.method.length +
      (Number(h['max-forwards']) || 0) +
      (uri === undefined ? 0 : 1)
    );
  };
}

export function jssipReader() {
  const Parser = require('jssip/lib/Parser.js');
  return (text) => {
    const m = Parser.parseMessage(text, null);
    const first = m.method ? m.method.length : m.status_code;
    const uri = m.hasHeader('contact') ? m.parseHeader('contact').uri : undefined;
    return (
      first +
      m.via_branch.length +
      (m.from_tag?.length ?? 0) +
      (m.to_tag?.length ?? 0) +
      m.call_id.length +
      m.cseq +
      m.method?.length +
      (Number(m.getHeader('max-forwards')) || 0) +
      (uri === undefined ? 0 : 1)
    );
  };
}

export function sipjsReader() {
  const { Parser } = require('sip.js/lib/core/messages/parser.js');
  return (text) => {
    const m = Parser.parseMessage(text, quiet);
    const first = m.method ? m.method.length : m.statusCode;
    const uri = m.hasHeader('contact') ? m.parseHeader('contact').uri : undefined;
    return (
      first +
      m.viaBranch.length +
      (m.fromTag?.length ?? 0) +
      (m.toTag?.length ?? 0) +
      m.callId.length +
      m.cseq +
      (Number(m.getHeader('max-forwards')) || 0) +
      (uri === undefined ? 0 : 1)
    );
  };
}
