import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Creates the process logger: JSON lines on stderr, so a command's own output
 * on stdout (a score table, a JSON result) stays clean. The level comes from
 * `level`, else LOG_LEVEL, else info.
 */
export function createLogger(level?: string): Logger {
  return pino(
    { level: level ?? process.env.LOG_LEVEL ?? 'info', base: undefined },
    pino.destination({ fd: 2, sync: false }),
  );
}

/** A logger that drops everything, for tests and the evaluator. */
export const silentLogger: Logger = pino({ level: 'silent' });
