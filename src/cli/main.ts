import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runCheck } from './check.js';

const USAGE = `Usage: sipwire <command> [options]

Commands:
  check FILE...     Parse and validate raw SIP messages; print one verdict per file.
      --role R      auto (default: requests as an endpoint, responses as a proxy),
                    endpoint, proxy or registrar
      --lenient     check only the headers the role needs (RFC 3261 §8.2.2, §16.3)
      --stream      the files were cut from a TCP/TLS stream (Content-Length required)
      --json        print the parsed message as JSON (one object per line)

Options:
  -h, --help        show this help
  -v, --version     show the version
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export function main(
  argv: string[],
  out: (s: string) => void = console.log,
  err: (s: string) => void = console.error,
): number {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    out(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === '-v' || command === '--version') {
    out(version());
    return 0;
  }
  try {
    switch (command) {
      case 'check': {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: {
            role: { type: 'string', default: 'auto' },
            lenient: { type: 'boolean', default: false },
            stream: { type: 'boolean', default: false },
            json: { type: 'boolean', default: false },
          },
        });
        const role = values.role as string;
        if (role !== 'auto' && role !== 'endpoint' && role !== 'proxy' && role !== 'registrar') {
          err(`sipwire check: --role must be auto, endpoint, proxy or registrar, not '${role}'`);
          return 2;
        }
        if (positionals.length === 0) {
          err('sipwire check: no files given (usage: sipwire check FILE...)');
          return 2;
        }
        return runCheck(
          positionals,
          { role, strict: !values.lenient, stream: values.stream as boolean, json: values.json as boolean },
          out,
        );
      }
      default:
        err(`sipwire: unknown command '${command}'\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      err(`sipwire ${command}: ${(e as Error).message}`);
      return 2;
    }
    throw e;
  }
}
