import { type Logger, pino } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/**
 * The server's logger: JSON lines (pino), or readable lines when writing to
 * a terminal.
 */
export function createLogger(options: { level?: LogLevel; pretty?: boolean } = {}): Logger {
  const level = options.level ?? 'info';
  const readable = options.pretty ?? process.stdout.isTTY === true;
  if (!readable) return pino({ level, base: { name: 'sipwire' } });
  return pino(
    { level, base: undefined },
    pretty({ colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname', sync: true }),
  );
}
