import type { ClientCertificatePolicy } from '../identity/client-certificate';
import type { LdapDirectorySettings } from '../identity/ldap/ldap-settings';
import type { StsConfig } from '../config/config';
import type { SigningKeyCustody } from '../keys/key-custody';
import type { SigningKey } from '../keys/signing-key';
import { openConfiguredStore } from './open-configured-store';
import { deriveLedgerChainKey, type LedgerTrust } from '../store/ledger-chain';
import type { Store } from '../store/store';
import { readConfigFile } from './config-file';
import { loadLdapDirectorySettings } from './ldap-directory-settings';
import { loadMasterKey } from './master-key';
import { inHome } from './paths';
import { findSecretsInClear, secretsInClearRefusal } from './secrets-in-clear';
import { openSigningKeyCustody } from './signing-key-custody';
import { readCertificateFile } from './secret-file';
import { loadTlsCredentials, type TlsCredentials } from './tls-credentials';
import { SigningKeyRing, type SigningKeyRingOptions } from '../keys/signing-key-ring';
import { AuditTrail } from '../audit/audit-trail';
import { describeError, SILENT_LOGGER, type Logger } from '../server/log';

/** A running instance's parts: everything the server and the CLI act on. */
export interface Instance {
  readonly home: string;
  readonly config: StsConfig;
  readonly store: Store;
  readonly masterKey: Buffer;
  /** The issuance ledger's chain key, derived from the master key, and audit.unkeyedLedgerEntries: what the store appends and verifies under. */
  readonly ledgerTrust: LedgerTrust;
  /** Where this process records audit events (the JSON lines file and the store). */
  readonly audit: AuditTrail;
  /**
   * Where signing keys are generated and opened; opened on first use (for a PKCS#11 token, this
   * process's session and login) and closed with the instance.
   */
  signingKeyCustody(): SigningKeyCustody;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Where the audit trail logs its alerts; the CLI's default says nothing (its events are in the trail). */
  readonly logger?: Logger;
  /**
   * SQLite: copy the write-ahead log back on a thread of this process (src/store/sqlite/wal-checkpointer.ts),
   * so that no request waits for the copy. One process per host does it for all of them: the one
   * serving alone, or a cluster's primary for its workers (each thread costs its process some 7 MB).
   * A CLI command need not pay a thread.
   */
  readonly walCheckpointThread?: boolean;
}

export interface ServingInstance extends Instance {
  /** The active key and the published certificates, kept fresh from the store (rotation needs no restart). */
  readonly signingKeys: SigningKeyRing;
  /** The key that signs now: signingKeys.current(), read at each use. */
  readonly signingKey: SigningKey;
  readonly tls: TlsCredentials;
  readonly clientCertificates: ClientCertificatePolicy;
  /** The LDAP directory users come from (identity.source "ldap"); undefined: users are in the store. */
  readonly ldapDirectory: LdapDirectorySettings | undefined;
  /** In development mode, the secrets that production mode would refuse to start with (see secrets-in-clear). */
  readonly secretsInClear: readonly string[];
}

export async function openInstance(home: string, options: OpenOptions = {}): Promise<Instance> {
  const config = readConfigFile(home);
  const masterKey = loadMasterKey(inHome(home, config.masterKeyFile));
  const ledgerTrust: LedgerTrust = { chainKey: deriveLedgerChainKey(masterKey), unkeyedEntries: config.audit.unkeyedLedgerEntries };
  const logger = options.logger ?? SILENT_LOGGER;
  const store = await openConfiguredStore(config.store, {
    resolvePath: (path) => inHome(home, path),
    backgroundCheckpoints: options.walCheckpointThread === true,
    // The message alone: the error comes from SQLite, and its stack (the thread's) tells an operator nothing.
    onCheckpointError: (err) =>
      logger.log('error', 'the SQLite checkpoint thread failed; the write-ahead log grows until a commit copies it back, inside a request', {
        errorMessage: err.message,
      }),
    ledgerTrust,
    onIdleError: (err) => logger.log('warn', 'an idle database connection failed; another is opened when needed', describeError(err)),
    onUnlockError: (task, err) =>
      logger.log('warn', 'the lock of an exclusive task could not be released; its connection was closed, which releases it', { task, ...describeError(err) }),
  });
  let audit: AuditTrail;
  try {
    audit = new AuditTrail({
      repository: store.audit,
      file: config.audit.file === '' ? null : inHome(home, config.audit.file),
      logger,
      now: () => new Date(),
    });
  } catch (err) {
    await store.close();
    throw err;
  }
  let custody: SigningKeyCustody | undefined;
  return {
    home,
    config,
    store,
    masterKey,
    ledgerTrust,
    audit,
    signingKeyCustody: () => (custody ??= openSigningKeyCustody(home, config.signingKeyCustody, masterKey, logger)),
    close: async () => {
      try {
        custody?.close();
      } finally {
        custody = undefined;
      }
      await audit.close();
      await store.close();
    },
  };
}

/**
 * Opens an instance to serve: refuses in production mode while a secret lies in clear, opens the
 * signing-key custody and the active key, reads the TLS credentials.
 */
export async function openServingInstance(
  home: string,
  keyRing: SigningKeyRingOptions = {},
  options: OpenOptions = {},
): Promise<ServingInstance> {
  const instance = await openInstance(home, options);
  try {
    const secretsInClear = findSecretsInClear(home, instance.config, await instance.store.signingKeys.list());
    if (instance.config.mode === 'production' && secretsInClear.length > 0) throw new Error(secretsInClearRefusal(secretsInClear));
    const tls = loadTlsCredentials(home, instance.config);
    const signingKeys = await SigningKeyRing.open(instance.store.signingKeys, instance.signingKeyCustody(), keyRing);
    const clientCertificates = loadClientCertificatePolicy(home, instance.config);
    const ldapDirectory = instance.config.identity.source === 'ldap' ? loadLdapDirectorySettings(home, instance.config) : undefined;
    signingKeys.start();
    return {
      ...instance,
      signingKeys,
      get signingKey() {
        return signingKeys.current();
      },
      tls,
      clientCertificates,
      ldapDirectory,
      secretsInClear,
      close: () => {
        signingKeys.stop();
        return instance.close();
      },
    };
  } catch (err) {
    await instance.close();
    throw err;
  }
}

function loadClientCertificatePolicy(home: string, config: StsConfig): ClientCertificatePolicy {
  const authorities = config.clientCertificates.caFiles.map((file, i) => readCertificateFile(inHome(home, file), `clientCertificates.caFiles[${i}]`).certificate);
  return { authorities, pinned: new Set(config.clientCertificates.pinnedThumbprints.map((t) => t.toLowerCase())) };
}
