import type { LogRecord } from './test-sts';

// Everything the WS-Trust and security suites saw go over the wire or into the log, kept for the
// suite that checks no secret ever leaked. Each suite registers its log array and the passwords it used.

export const observed = {
  responseBodies: [] as string[],
  logArrays: [] as LogRecord[][],
  passwords: new Set<string>(),
};

export function recordResponse(body: string): void {
  observed.responseBodies.push(body);
}

export function recordLogs(logs: LogRecord[]): void {
  if (!observed.logArrays.includes(logs)) observed.logArrays.push(logs);
}

export function recordPassword(...passwords: string[]): void {
  for (const p of passwords) observed.passwords.add(p);
}
