import Database from 'better-sqlite3';
import {
  AlreadyExistsError,
  type Claim,
  type RelyingPartyProfile,
  type RelyingPartyRecord,
  type Store,
  type UserRecord,
} from '../store';
import type { LedgerTrust } from '../ledger-chain';
import { awsRepositories } from './aws-repositories';
import { sqliteRemoveInitRecords } from './init-records';
import { sqliteAudit } from './audit-repository';
import { sqliteLedger } from './ledger-repository';
import { signingKeyRepository } from './signing-key-repository';
import { sqliteTrustedIssuers } from './trusted-issuer-repository';
import { immediateWrite } from './immediate-write';
import { migrateSqlite } from './migrations';
import { startWalCheckpointer } from './wal-checkpointer';
import { DEFAULT_CONFIG } from '../../config/config';

// Expired replay entries are swept now and then rather than on every insert, to keep the hot path
// to one statement.
const REPLAY_SWEEP_EVERY = 500;

interface UserRow {
  name: string;
  password_hash: string;
  sealed_password: string | null;
  claims: string;
  created_at: number;
  failed_logins: number;
  last_failed_at: number | null;
}
interface RelyingPartyRow {
  applies_to: string;
  display_name: string;
  token_lifetime_seconds: number;
  released_claims: string;
  endpoint_url: string | null;
  name_id_format: string;
  expired_renewal_window_seconds: number;
  encryption_certificate_pem: string | null;
  token_encryption: 'aes256-cbc' | 'aes256-gcm';
  delegates: string;
  audience: string | null;
  profile: RelyingPartyProfile;
  session_duration_seconds: number | null;
  created_at: number;
}

export interface SqliteStoreOptions {
  /**
   * Copy the write-ahead log back on a thread of its own (wal-checkpointer.ts), so that no request
   * waits for the copy: for the one process per host that does it for every serving connection to
   * the file. A CLI command need not pay a thread.
   */
  readonly backgroundCheckpoints?: boolean;
  /** Told when the checkpointing thread fails (see WalCheckpointerOptions.onError). */
  readonly onCheckpointError?: (err: Error) => void;
  /** Keys the issuance ledger's chain and bounds its unkeyed prefix; without it the store refuses to append to the ledger, and its lookups find nothing. */
  readonly ledgerTrust?: LedgerTrust;
  /**
   * How long a write waits for another process's write lock before it fails SQLITE_BUSY: SQLite's
   * busy_timeout, which immediateWrite also waits by (off the event loop). By default the config's
   * (store.busyTimeoutMs).
   */
  readonly busyTimeoutMs?: number;
}

/** The embedded store: one SQLite file in WAL mode, shared safely by the worker processes of one host. */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): Store {
  // better-sqlite3 sets busy_timeout from `timeout`, and refuses a value that is not a whole number of ms.
  const db = new Database(path, { timeout: options.busyTimeoutMs ?? DEFAULT_CONFIG.store.busyTimeoutMs });
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL mode is durable against process crashes (what we guard against: SIGKILL of a
  // worker); only an OS crash could lose the last transactions.
  db.pragma('synchronous = NORMAL');
  // Checkpoint every ~40 MB of WAL rather than SQLite's 4 MB: a page the ledger's small group
  // commits rewrite over and over (the table's last leaf, its index leaves) is then copied back
  // and synced once per checkpoint, not ten times; measured at about a third of a ledger row's CPU.
  // While a node serves, the copying is done ahead by one checkpointer thread per host
  // (wal-checkpointer.ts), and this is only the backstop that lets the log restart from its beginning.
  db.pragma('wal_autocheckpoint = 10000');
  db.pragma('foreign_keys = ON');
  migrateSqlite(db);
  const checkpointer =
    options.backgroundCheckpoints === true && !db.memory ? startWalCheckpointer(path, { onError: options.onCheckpointError }) : undefined;

  const st = {
    addUser: db.prepare(
      'INSERT INTO users (name, password_hash, sealed_password, claims, created_at) VALUES (?, ?, ?, ?, ?)',
    ),
    getUser: db.prepare<[string], UserRow>('SELECT * FROM users WHERE name = ?'),
    listUsers: db.prepare<[], UserRow>('SELECT * FROM users ORDER BY name'),
    // One statement, so concurrent counts from other processes cannot be lost between a read and a
    // write; the latest time is kept, as two failures may be written in the other order.
    recordFailedLogin: db.prepare<[{ at: number; windowStart: number; name: string }], { failed_logins: number }>(
      `UPDATE users SET failed_logins = CASE WHEN last_failed_at <= @windowStart THEN 1 ELSE failed_logins + 1 END,
         last_failed_at = max(coalesce(last_failed_at, @at), @at)
         WHERE name = @name RETURNING failed_logins`,
    ),
    clearFailedLogins: db.prepare('UPDATE users SET failed_logins = 0, last_failed_at = NULL WHERE name = ? AND failed_logins <> 0'),
    addRp: db.prepare(
      `INSERT INTO relying_parties (applies_to, display_name, token_lifetime_seconds, released_claims,
         endpoint_url, name_id_format, expired_renewal_window_seconds, encryption_certificate_pem, token_encryption,
         delegates, audience, profile, session_duration_seconds, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    getRp: db.prepare<[string], RelyingPartyRow>('SELECT * FROM relying_parties WHERE applies_to = ?'),
    listRps: db.prepare<[], RelyingPartyRow>('SELECT * FROM relying_parties ORDER BY applies_to'),
    remember: db.prepare('INSERT OR IGNORE INTO replay_cache (scope, key, expires_at) VALUES (?, ?, ?)'),
    sweepReplay: db.prepare('DELETE FROM replay_cache WHERE expires_at < ?'),
    ping: db.prepare('SELECT 1'),
  };
  let insertsSinceSweep = 0;

  const explain = (what: string, err: unknown): unknown => {
    const code = (err as { code?: string }).code;
    return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE' ? new AlreadyExistsError(what) : err;
  };
  const insertOrExplain = (what: string, run: () => void): void => {
    try {
      run();
    } catch (err) {
      throw explain(what, err);
    }
  };
  const ledger = sqliteLedger(db, explain, options.ledgerTrust);
  // Every AssumeRoleWithSAML and every nonce-bearing UsernameToken writes here before its reply.
  const rememberOnce = immediateWrite(db, (scope: string, key: string, expiresAt: number): boolean => {
    if (++insertsSinceSweep >= REPLAY_SWEEP_EVERY) {
      insertsSinceSweep = 0;
      st.sweepReplay.run(Date.now());
    }
    return st.remember.run(scope, key, expiresAt).changes === 1;
  });

  return {
    users: {
      add: async (u) =>
        insertOrExplain(`user ${u.name}`, () =>
          st.addUser.run(u.name, u.passwordHash, u.sealedPassword, JSON.stringify(u.claims), u.createdAt.getTime()),
        ),
      get: async (name) => {
        const row = st.getUser.get(name);
        return row && toUser(row);
      },
      list: async () => st.listUsers.all().map(toUser),
      recordFailedLogin: async (name, at, windowStart) =>
        st.recordFailedLogin.get({ at: at.getTime(), windowStart: windowStart.getTime(), name })?.failed_logins,
      clearFailedLogins: async (name) => {
        st.clearFailedLogins.run(name);
      },
    },
    relyingParties: {
      add: async (rp) =>
        insertOrExplain(`relying party ${rp.appliesTo}`, () =>
          st.addRp.run(
            rp.appliesTo,
            rp.displayName,
            rp.tokenLifetimeSeconds,
            JSON.stringify(rp.releasedClaims),
            rp.endpointUrl,
            rp.nameIdFormat,
            rp.expiredRenewalWindowSeconds,
            rp.encryptionCertificatePem,
            rp.tokenEncryption,
            JSON.stringify(rp.delegates),
            rp.audience,
            rp.profile,
            rp.sessionDurationSeconds,
            rp.createdAt.getTime(),
          ),
        ),
      get: async (appliesTo) => {
        const row = st.getRp.get(appliesTo);
        return row && toRelyingParty(row);
      },
      list: async () => st.listRps.all().map(toRelyingParty),
    },
    ledger,
    replay: {
      rememberOnce: (scope, key, expiresAt) => rememberOnce(scope, key, expiresAt.getTime()),
    },
    signingKeys: signingKeyRepository(db, insertOrExplain),
    trustedIssuers: sqliteTrustedIssuers(db, insertOrExplain),
    audit: sqliteAudit(db),
    ...awsRepositories(db, insertOrExplain),
    ping: async () => {
      st.ping.get();
    },
    exclusive: async (_name, task) => {
      await task();
      return true;
    },
    // The durability settings are this file's own (WAL, synchronous=NORMAL above), not a DBA's.
    durabilityRisks: async () => [],
    removeInitRecords: sqliteRemoveInitRecords(db),
    close: async () => {
      await ledger.flush();
      await checkpointer?.stop();
      db.close();
    },
  };
}

const toUser = (r: UserRow): UserRecord => ({
  name: r.name,
  passwordHash: r.password_hash,
  sealedPassword: r.sealed_password,
  claims: JSON.parse(r.claims) as Claim[],
  createdAt: new Date(r.created_at),
  failedLogins: r.failed_logins,
  lastFailedAt: r.last_failed_at === null ? null : new Date(r.last_failed_at),
});

const toRelyingParty = (r: RelyingPartyRow): RelyingPartyRecord => ({
  appliesTo: r.applies_to,
  displayName: r.display_name,
  tokenLifetimeSeconds: r.token_lifetime_seconds,
  releasedClaims: JSON.parse(r.released_claims) as string[],
  endpointUrl: r.endpoint_url,
  nameIdFormat: r.name_id_format,
  expiredRenewalWindowSeconds: r.expired_renewal_window_seconds,
  encryptionCertificatePem: r.encryption_certificate_pem,
  tokenEncryption: r.token_encryption,
  delegates: JSON.parse(r.delegates) as string[],
  audience: r.audience,
  profile: r.profile,
  sessionDurationSeconds: r.session_duration_seconds,
  createdAt: new Date(r.created_at),
});
