import { readFileSync } from 'node:fs';
import { Pool, type PoolConfig } from 'pg';
import type { DurabilityRisk, ExclusiveTask, ReplayCache, Store } from '../store';
import type { LedgerTrust } from '../ledger-chain';
import { EXCLUSIVE_TASK_LOCKS, withTryAdvisoryLock } from './advisory-locks';
import { postgresAudit } from './audit-repository';
import { postgresAwsRepositories } from './aws-repositories';
import { describePostgres, type PostgresConnectionSettings } from './connection-settings';
import { postgresRelyingParties, postgresUsers } from './directory-repositories';
import { postgresRemoveInitRecords } from './init-records';
import { postgresLedger, readUnkeyedLedgerPrefix } from './ledger-repository';
import { migratePostgres } from './migrations';
import { postgresSigningKeys } from './signing-key-repository';
import { postgresTrustedIssuers } from './trusted-issuer-repository';

export interface PostgresStoreOptions {
  readonly connection: PostgresConnectionSettings;
  /** From STS_PG_PASSWORD or store.passwordFile; null when the server needs none (trust, certificates). */
  readonly password: string | null;
  /** Connections this process keeps open at most. */
  readonly poolSize: number;
  /** Told when an idle pooled connection breaks (PostgreSQL restarted); the pool opens another when next needed. */
  readonly onIdleError?: (err: Error) => void;
  /** Told when the lock of an exclusive task could not be released (see withTryAdvisoryLock); the task's outcome stands. */
  readonly onUnlockError?: (task: ExclusiveTask, err: Error) => void;
  /** Keys the issuance ledger's chain and bounds its unkeyed prefix; without it the store refuses to append to the ledger, and its lookups find nothing. */
  readonly ledgerTrust?: LedgerTrust;
}

// Expired replay entries are swept now and then rather than on every insert, to keep the hot path
// to one statement.
const REPLAY_SWEEP_EVERY = 500;
const CONNECT_TIMEOUT_MS = 10_000;
// A transaction of ours is never idle for long (the ledger's holds the append lock across a few
// round trips); one that is belongs to a node that froze or lost its network, and would hold every
// other node's appends up until TCP gave up. PostgreSQL ends such a session after this time.
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 10_000;

/**
 * The shared store: PostgreSQL, for several nodes serving as one STS. Connects, brings the schema up
 * to date (migrations, once, whichever node starts first) and returns the store.
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  const cannotOpen = (err: unknown): Error =>
    new Error(`cannot open the PostgreSQL store ${describePostgres(options.connection)}: ${(err as Error).message}`);
  let pool: Pool;
  try {
    pool = new Pool(poolConfig(options));
  } catch (err) {
    throw cannotOpen(err);
  }
  // Without a listener an idle connection's error would end the process.
  pool.on('error', (err) => options.onIdleError?.(err));
  // The pool listens to a connection only while it is idle. One that PostgreSQL ends while checked
  // out (inside a transaction, when the server stops) also emits 'error', after failing the query in
  // flight: that failure reaches the caller, and the pool drops the connection when it comes back.
  pool.on('connect', (client) => client.on('error', () => undefined));
  let unkeyedAtOpen: number;
  try {
    await migratePostgres(pool);
    unkeyedAtOpen = await readUnkeyedLedgerPrefix(pool);
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw cannotOpen(err);
  }
  const ledger = postgresLedger(pool, options.ledgerTrust, unkeyedAtOpen);
  return {
    users: postgresUsers(pool),
    relyingParties: postgresRelyingParties(pool),
    ledger,
    replay: postgresReplayCache(pool),
    signingKeys: postgresSigningKeys(pool),
    trustedIssuers: postgresTrustedIssuers(pool),
    audit: postgresAudit(pool),
    ...postgresAwsRepositories(pool),
    ping: async () => {
      await pool.query('SELECT 1');
    },
    exclusive: (name, task) => withTryAdvisoryLock(pool, EXCLUSIVE_TASK_LOCKS[name], task, (err) => options.onUnlockError?.(name, err)),
    durabilityRisks: () => postgresDurabilityRisks(pool),
    removeInitRecords: postgresRemoveInitRecords(pool),
    close: async () => {
      await ledger.flush();
      await pool.end();
    },
  };
}

function poolConfig(options: PostgresStoreOptions): PoolConfig {
  const c = options.connection;
  return {
    host: c.host,
    port: c.port,
    database: c.database,
    user: c.user,
    ...(options.password === null ? {} : { password: options.password }),
    max: options.poolSize,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
    keepAlive: true,
    application_name: 'trustbridge',
    ssl:
      c.sslMode === 'disable'
        ? false
        : c.sslMode === 'require'
          ? // libpq's "require": encrypted, the certificate not checked.
            { rejectUnauthorized: false }
          : { rejectUnauthorized: true, servername: c.host, ...(c.sslRootCertFile === null ? {} : { ca: readFileSync(c.sslRootCertFile, 'utf8') }) },
  };
}

// Server settings that trade durability for speed, and what each can lose. synchronous_commit is read
// as our sessions see it, so a per-database or per-role setting counts too.
const DURABILITY_SETTINGS: Readonly<Record<string, { unsafe: string; risk: string }>> = {
  synchronous_commit: { unsafe: 'off', risk: 'a PostgreSQL crash loses the last commits, which clients were already told had succeeded' },
  fsync: { unsafe: 'off', risk: 'an operating-system crash or power loss can corrupt the database' },
  full_page_writes: { unsafe: 'off', risk: 'an operating-system crash or power loss can corrupt the database' },
};

async function postgresDurabilityRisks(pool: Pool): Promise<DurabilityRisk[]> {
  const names = Object.keys(DURABILITY_SETTINGS);
  const { rows } = await pool.query<{ name: string; setting: string }>('SELECT name, setting FROM pg_settings WHERE name = ANY($1) ORDER BY name', [names]);
  return rows.flatMap(({ name, setting }) => {
    const known = DURABILITY_SETTINGS[name];
    return known !== undefined && setting === known.unsafe ? [{ setting: name, value: setting, risk: known.risk }] : [];
  });
}

/**
 * rememberOnce is one INSERT: the primary key decides, so two nodes racing on one key see one true.
 * An entry that has expired but not yet been swept is taken over as if it were not there.
 */
function postgresReplayCache(pool: Pool): ReplayCache {
  let insertsSinceSweep = 0;
  return {
    rememberOnce: async (scope, key, expiresAt) => {
      const now = new Date();
      if (++insertsSinceSweep >= REPLAY_SWEEP_EVERY) {
        insertsSinceSweep = 0;
        await pool.query('DELETE FROM replay_cache WHERE expires_at < $1', [now]);
      }
      const result = await pool.query({
        name: 'replay-remember',
        text: `INSERT INTO replay_cache (scope, key, expires_at) VALUES ($1, $2, $3)
               ON CONFLICT (scope, key) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE replay_cache.expires_at < $4`,
        values: [scope, key, expiresAt, now],
      });
      return result.rowCount === 1;
    },
  };
}
