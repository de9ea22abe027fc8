import { readFileSync } from 'node:fs';
import type { StsConfig } from '../config/config';
import { parsePostgresUrl } from './postgres/connection-settings';
import { openPostgresStore } from './postgres/postgres-store';
import { openSqliteStore } from './sqlite/sqlite-store';
import type { Store } from './store';

export interface OpenStoreOptions {
  /** Resolves a path from the config (relative to the instance directory). */
  readonly resolvePath: (path: string) => string;
  /** Where STS_PG_PASSWORD is read from. */
  readonly env?: NodeJS.ProcessEnv;
  /** PostgreSQL: told when an idle pooled connection breaks (the pool replaces it). */
  readonly onIdleError?: (err: Error) => void;
  /** SQLite: checkpoint the write-ahead log on a thread of its own (for a serving process). */
  readonly backgroundCheckpoints?: boolean;
}

/** Opens the store the config names: the SQLite file, or the PostgreSQL database (connected and migrated). */
export async function openConfiguredStore(settings: StsConfig['store'], options: OpenStoreOptions): Promise<Store> {
  if (settings.kind === 'sqlite') return openSqliteStore(options.resolvePath(settings.path), { backgroundCheckpoints: options.backgroundCheckpoints === true });
  return openPostgresStore({
    connection: parsePostgresUrl(settings.url),
    password: postgresPassword(settings, options),
    poolSize: settings.poolSize,
    ...(options.onIdleError ? { onIdleError: options.onIdleError } : {}),
  });
}

/** STS_PG_PASSWORD, else the password file's first line, else none (the server may not ask for one). */
function postgresPassword(settings: StsConfig['store'], options: OpenStoreOptions): string | null {
  const fromEnv = (options.env ?? process.env)['STS_PG_PASSWORD'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (settings.passwordFile === '') return null;
  const path = options.resolvePath(settings.passwordFile);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new Error(`config key "store.passwordFile" names ${path}, which cannot be read`);
  }
  const password = text.split(/\r?\n/)[0] ?? '';
  if (password === '') throw new Error(`config key "store.passwordFile" names ${path}, which holds no password on its first line`);
  return password;
}
