import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ClientCertificatePolicy } from '../identity/client-certificate';
import type { StsConfig } from '../config/config';
import type { SigningKey } from '../keys/signing-key';
import { openConfiguredStore } from '../store/open-store';
import type { Store } from '../store/store';
import { readConfigFile } from './config-file';
import { loadMasterKey } from './master-key';
import { inHome } from './paths';
import { SigningKeyRing, type SigningKeyRingOptions } from '../keys/signing-key-ring';
import { AuditTrail } from '../audit/audit-trail';
import { describeError, SILENT_LOGGER, type Logger } from '../server/log';

/** A running instance's parts: everything the server and the CLI act on. */
export interface Instance {
  readonly home: string;
  readonly config: StsConfig;
  readonly store: Store;
  readonly masterKey: Buffer;
  /** Where this process records audit events (the JSON lines file and the store). */
  readonly audit: AuditTrail;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Where the audit trail logs its alerts; the CLI's default says nothing (its events are in the trail). */
  readonly logger?: Logger;
}

export interface ServingInstance extends Instance {
  /** The active key and the published certificates, kept fresh from the store (rotation needs no restart). */
  readonly signingKeys: SigningKeyRing;
  /** The key that signs now: signingKeys.current(), read at each use. */
  readonly signingKey: SigningKey;
  readonly tls: { readonly key: string; readonly cert: string };
  readonly clientCertificates: ClientCertificatePolicy;
}

export async function openInstance(home: string, options: OpenOptions = {}): Promise<Instance> {
  const config = readConfigFile(home);
  const masterKey = loadMasterKey(inHome(home, config.masterKeyFile));
  const logger = options.logger ?? SILENT_LOGGER;
  const store = await openConfiguredStore(config.store, {
    resolvePath: (path) => inHome(home, path),
    onIdleError: (err) => logger.log('warn', 'an idle database connection failed; another is opened when needed', describeError(err)),
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
  return {
    home,
    config,
    store,
    masterKey,
    audit,
    close: async () => {
      await audit.close();
      await store.close();
    },
  };
}

export async function openServingInstance(
  home: string,
  keyRing: SigningKeyRingOptions = {},
  options: OpenOptions = {},
): Promise<ServingInstance> {
  const instance = await openInstance(home, options);
  try {
    const signingKeys = await SigningKeyRing.open(instance.store.signingKeys, instance.masterKey, keyRing);
    const tls = {
      cert: readRequired(inHome(home, instance.config.tls.certificateFile), 'tls.certificateFile'),
      key: readRequired(inHome(home, instance.config.tls.privateKeyFile), 'tls.privateKeyFile'),
    };
    const clientCertificates = loadClientCertificatePolicy(home, instance.config);
    signingKeys.start();
    return {
      ...instance,
      signingKeys,
      get signingKey() {
        return signingKeys.current();
      },
      tls,
      clientCertificates,
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

function readRequired(path: string, key: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new Error(`config key "${key}" names ${path}, which cannot be read`);
  }
}

function loadClientCertificatePolicy(home: string, config: StsConfig): ClientCertificatePolicy {
  const authorities = config.clientCertificates.caFiles.map((file, i) => {
    const key = `clientCertificates.caFiles[${i}]`;
    try {
      return new X509Certificate(readRequired(inHome(home, file), key));
    } catch (err) {
      throw new Error(`config key "${key}" does not name a PEM certificate: ${(err as Error).message}`);
    }
  });
  return { authorities, pinned: new Set(config.clientCertificates.pinnedThumbprints.map((t) => t.toLowerCase())) };
}

