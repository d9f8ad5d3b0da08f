import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The shared test corpus lives beside the repository (../shared/corpus) or
 * where SIPWIRE_CORPUS points. The conformance tier cannot run without it:
 * when it is missing this says so loudly and the tier fails.
 */
export function corpusDir(): string {
  const dir =
    process.env.SIPWIRE_CORPUS ?? join(new URL('../../..', import.meta.url).pathname, 'shared', 'corpus');
  if (!existsSync(join(dir, 'rfc4475', 'INDEX.md'))) {
    const banner = [
      '',
      '*****************************************************************',
      '*  The conformance corpus is missing.                            *',
      `*  Looked in: ${dir}`,
      '*  Put the shared corpus at ../shared/corpus beside the repo, or *',
      '*  set SIPWIRE_CORPUS to its path. Conformance tests cannot run. *',
      '*****************************************************************',
      '',
    ].join('\n');
    process.stderr.write(banner);
    throw new Error(`conformance corpus not found at ${dir}`);
  }
  return dir;
}

export function corpusFile(...parts: string[]): Buffer {
  return readFileSync(join(corpusDir(), ...parts));
}
