import assert from 'node:assert/strict';
import { corpusFile } from './corpus.js';
import { readTar } from './tar.js';

// The PROTOS c07-sip test material: 4527 INVITE cases, each followed by a
// teardown request, with placeholders filled in.

/** Placeholder values; `<From-Address>` and `<Local-Port>` may be replaced to get the answers back. */
export const PROTOS_FILL: Record<string, string> = {
  '<To>': 'bob@example.com',
  '<From>': 'alice@example.net',
  '<From-Address>': '192.0.2.1',
  '<From-IP>': '192.0.2.1',
  '<Local-Port>': '5060',
  '<Branch-ID>': '7a3f9c',
  '<CSeq>': '1',
  '<Teardown-Method>': 'CANCEL',
};

function fillWith(values: Record<string, string>) {
  return (pdu: Buffer, caseNo: number): Buffer => {
    let text = pdu.toString('latin1');
    for (const [k, v] of Object.entries(values)) text = text.split(k).join(v);
    text = text.split('<Call-ID>').join(`protos${caseNo}`);
    const sep = text.indexOf('\r\n\r\n');
    const bodyLen = sep === -1 ? 0 : text.length - sep - 4;
    text = text.split('<Content-Length>').join(String(bodyLen));
    return Buffer.from(text, 'latin1');
  };
}

/** The two length-prefixed PDUs of a case file: "<len> <bytes><len> <bytes>". */
function pdus(file: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < file.length) {
    const sp = file.indexOf(0x20, pos);
    const len = Number(file.toString('latin1', pos, sp));
    assert.ok(Number.isInteger(len) && len >= 0, `bad length prefix at ${pos}`);
    out.push(file.subarray(sp + 1, sp + 1 + len));
    pos = sp + 1 + len;
  }
  return out;
}

/** The case archive, the case names in order, and the functions to cut and fill them. */
export function protosCases(fillValues: Partial<Record<string, string>> = {}) {
  const archive = readTar(corpusFile('protos-c07-sip', 'cases.tar.gz'));
  const names = [...archive.keys()].filter((n) => /cases\/\d{7}$/.test(n)).sort();
  const fill = fillWith({ ...PROTOS_FILL, ...fillValues } as Record<string, string>);
  return { archive, names, pdus, fill };
}
