import { pino, type Logger } from 'pino';

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A logger that keeps its lines in memory, and can wait for a given message. */
export interface CapturedLog {
  logger: Logger;
  lines: LogLine[];
  messages(): string[];
  waitFor(msg: string): Promise<LogLine>;
}

export function captureLog(level = 'info'): CapturedLog {
  const lines: LogLine[] = [];
  const waiters: Array<{ msg: string; resolve: (line: LogLine) => void }> = [];
  const logger = pino(
    { level, base: undefined },
    {
      write(text: string) {
        const line = JSON.parse(text) as LogLine;
        lines.push(line);
        for (const waiter of waiters.filter((candidate) => candidate.msg === line.msg)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      },
    },
  );
  return {
    logger,
    lines,
    messages: () => lines.map((line) => line.msg),
    waitFor(msg) {
      const seen = lines.find((line) => line.msg === msg);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ msg, resolve }));
    },
  };
}
