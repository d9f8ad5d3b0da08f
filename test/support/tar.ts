import { gunzipSync } from 'node:zlib';

/** Reads the regular files of a (gzipped) ustar archive: name -> bytes. Test support only. */
export function readTar(data: Buffer): Map<string, Buffer> {
  const tar = data[0] === 0x1f && data[1] === 0x8b ? gunzipSync(data) : data;
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos + 512 <= tar.length) {
    const header = tar.subarray(pos, pos + 512);
    if (header.every((b) => b === 0)) break;
    const name = header.toString('latin1', 0, 100).replace(/\0.*$/s, '');
    const prefix = header.toString('latin1', 345, 500).replace(/\0.*$/s, '');
    const size = Number.parseInt(header.toString('latin1', 124, 136).replace(/\0.*$/s, '').trim() || '0', 8);
    const type = header[156];
    pos += 512;
    if (type === 0x30 || type === 0)
      out.set(prefix ? `${prefix}/${name}` : name, tar.subarray(pos, pos + size));
    pos += Math.ceil(size / 512) * 512;
  }
  return out;
}
