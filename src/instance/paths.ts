import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

/** The instance directory: --home, else STS_HOME, else ~/.trustbridge. */
export function resolveHome(explicit: string | undefined): string {
  return resolve(explicit ?? process.env['STS_HOME'] ?? join(homedir(), '.trustbridge'));
}

export const CONFIG_FILE = 'config.json';
export const DEMO_CREDENTIALS_FILE = 'demo-credentials.txt';
export const SIGNING_CERTIFICATE_EXPORT = 'token-signing.crt.pem';

/** Paths in the config are relative to the instance directory. */
export const inHome = (home: string, path: string): string => (isAbsolute(path) ? path : join(home, path));
