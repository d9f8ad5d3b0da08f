import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runCheck } from './check.js';
import { runRegistrations, runServe, runUser } from './serve-commands.js';
import { runAnswer, runCall, runOptions, runRegister, UsageError } from './ua-commands.js';

const USAGE = `Usage: sipwire <command> [options]

Commands:
  serve             Run the SIP server: registrar, proxy and redirect server with digest
                    authentication, on SQLite.
      --listen ADDR (udp and tcp on 0.0.0.0:5060) --domain D --db FILE (sipwire.db)
      --config FILE.yaml --open --advertise HOST --log-level L --stats-interval S (60; 0: none)
      --digest-algorithms SHA-256,MD5 --min-expires S --max-expires S --tls-cert F --tls-key F
      --commit-interval MS  least time between two commits of the database (10; 0: at once)
      --routes FILE.ts   routing written in TypeScript (or JavaScript)
      --redirect         answer calls to our users with 302 and their contacts
      --stateless        relay without transactions (a front end)
      --follow-redirects recurse on 3xx from downstream
      --upstream URI     send requests for other domains through this proxy
      --max-transactions N  most live server transactions (200000, fewer on a small heap);
                         past it new requests get 503
      --max-transaction-mb N  most MiB of requests those transactions hold
                         (a quarter of the heap limit); past it, 503 too
  user add USER@DOMAIN --password P | remove USER@DOMAIN | list | import FILE   [--db FILE]
  registrations     The current bindings as a table [--db FILE].
  check FILE...     Parse and validate raw SIP messages; print one verdict per file.
      --role R      auto (default: requests as an endpoint, responses as a proxy),
                    endpoint, proxy or registrar
      --lenient     check only the headers the role needs (RFC 3261 §8.2.2, §16.3)
      --stream      the files were cut from a TCP/TLS stream (Content-Length required)
      --json        print the parsed message as JSON (one object per line)

  options URI       Ping a SIP element with OPTIONS; print the status and round-trip time.
      --count N --interval S
  call URI          Place a call, print each message as it goes, hang up after --duration S (5).
      --from URI --auth USER:PASSWORD --transport udp|tcp|tls|ws --timeout S
      --transfer-to URI --transfer-after S (1)   refer the callee to URI (REFER), print its reports
  answer            Listen and answer calls (a test UAS).
      --listen ADDR (udp:127.0.0.1:5090) --ring S --duration S --reject CODE --calls N
      --transfers   carry out REFERs (call the target); without it they are declined with 603
      --register AOR --registrar URI --auth USER:PASSWORD   register while answering
      --cert FILE --key FILE (for tls: and wss: listeners)
  register AOR      Register with a registrar, keep refreshing, unregister on Ctrl-C.
      --registrar URI --auth USER:PASSWORD --expires S --once

  Every command that talks to a peer takes --listen transport:host:port
  (repeatable; default an ephemeral port) and --target transport:host:port
  (where to send instead of the RFC 3263 lookup of the URI).

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
): number | Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    out(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === '-v' || command === '--version') {
    out(version());
    return 0;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    out(USAGE);
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
      case 'options':
      case 'call':
      case 'answer':
      case 'register':
      case 'serve':
      case 'user':
      case 'registrations': {
        const run = {
          options: runOptions,
          call: runCall,
          answer: runAnswer,
          register: runRegister,
          serve: runServe,
          user: runUser,
          registrations: runRegistrations,
        }[command];
        return run(rest, out, err).catch((e: unknown) => usage(command, e, err));
      }
      default:
        err(`sipwire: unknown command '${command}'\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    return usage(command, e, err);
  }
}

/** A usage mistake is exit status 2 with the reason; anything else is a failure (1) with its message. */
function usage(command: string, e: unknown, err: (s: string) => void): number {
  const code = (e as NodeJS.ErrnoException).code;
  if (
    e instanceof UsageError ||
    e instanceof RangeError ||
    (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))
  ) {
    err(`sipwire ${command}: ${(e as Error).message}`);
    return 2;
  }
  err(`sipwire ${command}: ${(e as Error).message ?? String(e)}`);
  return 1;
}
