// Structured JSON lines on stdout. Callers pass facts, never secrets: no passwords, keys, tokens.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
}

export function createJsonLogger(minimum: LogLevel, write: (line: string) => void = (l) => process.stdout.write(l)): Logger {
  return {
    log(level, msg, fields) {
      if (RANK[level] < RANK[minimum]) return;
      write(JSON.stringify({ time: new Date().toISOString(), level, msg, pid: process.pid, ...fields }) + '\n');
    },
  };
}

/** A logger that writes nothing. */
export const SILENT_LOGGER: Logger = { log: () => undefined };

/** An error as a log may show it: its kind and message, without a stack (stacks go to debug only). */
export function describeError(err: unknown): Record<string, unknown> {
  if (err instanceof Error) return { errorName: err.name, errorMessage: err.message };
  return { errorName: typeof err };
}
