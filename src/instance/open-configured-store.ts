import type { StsConfig } from '../config/config';
import type { LedgerTrust } from '../store/ledger-chain';
import { parsePostgresUrl } from '../store/postgres/connection-settings';
import { openSqliteStore } from '../store/sqlite/sqlite-store';
import type { ExclusiveTask, Store } from '../store/store';
import { readSecretFile } from './secret-file';

export interface OpenStoreOptions {
  /** Resolves a path from the config (relative to the instance directory). */
  readonly resolvePath: (path: string) => string;
  /** Where STS_PG_PASSWORD is read from. */
  readonly env?: NodeJS.ProcessEnv;
  /** PostgreSQL: told when an idle pooled connection breaks (the pool replaces it). */
  readonly onIdleError?: (err: Error) => void;
  /** PostgreSQL: told when an exclusive task's lock could not be released (its connection is closed instead). */
  readonly onUnlockError?: (task: ExclusiveTask, err: Error) => void;
  /** SQLite: checkpoint the write-ahead log on a thread of its own (for a serving process). */
  readonly backgroundCheckpoints?: boolean;
  /** SQLite: told when that thread fails. */
  readonly onCheckpointError?: (err: Error) => void;
  /** Keys the issuance ledger's chain and bounds its unkeyed prefix; without it the store refuses to append to the ledger, and its lookups find nothing. */
  readonly ledgerTrust?: LedgerTrust;
}

/** Opens the store the config names: the SQLite file, or the PostgreSQL database (connected and migrated). */
export async function openConfiguredStore(settings: StsConfig['store'], options: OpenStoreOptions): Promise<Store> {
  if (settings.kind === 'sqlite') {
    return openSqliteStore(options.resolvePath(settings.path), {
      busyTimeoutMs: settings.busyTimeoutMs,
      backgroundCheckpoints: options.backgroundCheckpoints === true,
      onCheckpointError: options.onCheckpointError,
      ledgerTrust: options.ledgerTrust,
    });
  }
  // Loaded only for PostgreSQL: `pg` costs a SQLite node's every process some 3 MB of heap.
  const { openPostgresStore } = await import('../store/postgres/postgres-store.js');
  return openPostgresStore({
    connection: parsePostgresUrl(settings.url),
    password: postgresPassword(settings, options),
    poolSize: settings.poolSize,
    ledgerTrust: options.ledgerTrust,
    ...(options.onIdleError ? { onIdleError: options.onIdleError } : {}),
    ...(options.onUnlockError ? { onUnlockError: options.onUnlockError } : {}),
  });
}

/** STS_PG_PASSWORD, else the password file's first line, else none (the server may not ask for one). */
function postgresPassword(settings: StsConfig['store'], options: OpenStoreOptions): string | null {
  const fromEnv = (options.env ?? process.env)['STS_PG_PASSWORD'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (settings.passwordFile === '') return null;
  return readSecretFile(options.resolvePath(settings.passwordFile), 'store.passwordFile');
}
