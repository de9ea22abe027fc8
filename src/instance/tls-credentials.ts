import { createPrivateKey } from 'node:crypto';
import { readRequired, readSecretFile } from './secret-file';
import type { StsConfig } from '../config/config';
import { inHome } from './paths';

export interface TlsCredentials {
  readonly cert: string;
  readonly key: string;
  /** For an encrypted private key: its passphrase, from STS_TLS_KEY_PASSPHRASE or tls.privateKeyPassphraseFile. */
  readonly passphrase?: string;
}

export const TLS_PASSPHRASE_ENV = 'STS_TLS_KEY_PASSPHRASE';

// The PEM label of PKCS#8 EncryptedPrivateKeyInfo (RFC 7468): only the label, so this file holds no
// PEM boundary line that a secret scanner would take for a key.
export const ENCRYPTED_PKCS8_LABEL = 'ENCRYPTED PRIVATE KEY';

/** Whether a PEM private key is encrypted (PKCS#8 EncryptedPrivateKeyInfo, or OpenSSL's legacy Proc-Type form). */
export function isEncryptedPem(pem: string): boolean {
  return pem.includes(`-----BEGIN ${ENCRYPTED_PKCS8_LABEL}-----`) || /^Proc-Type: 4,ENCRYPTED$/m.test(pem);
}

/** Reads the HTTPS certificate and key; an encrypted key must open with the configured passphrase. */
export function loadTlsCredentials(home: string, config: StsConfig): TlsCredentials {
  const keyFile = inHome(home, config.tls.privateKeyFile);
  const cert = readRequired(inHome(home, config.tls.certificateFile), 'tls.certificateFile');
  const key = readRequired(keyFile, 'tls.privateKeyFile');
  const given = tlsPassphrase(home, config);
  if (!isEncryptedPem(key)) return { cert, key };
  if (given === undefined) {
    throw new Error(`the TLS private key ${keyFile} is encrypted: give its passphrase in ${TLS_PASSPHRASE_ENV} or in a file named by tls.privateKeyPassphraseFile`);
  }
  try {
    createPrivateKey({ key, passphrase: given.passphrase });
  } catch {
    throw new Error(`the TLS private key ${keyFile} does not open with the passphrase from ${given.source}`);
  }
  return { cert, key, passphrase: given.passphrase };
}

function tlsPassphrase(home: string, config: StsConfig): { passphrase: string; source: string } | undefined {
  const fromEnv = process.env[TLS_PASSPHRASE_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return { passphrase: fromEnv, source: TLS_PASSPHRASE_ENV };
  if (config.tls.privateKeyPassphraseFile === '') return undefined;
  const file = inHome(home, config.tls.privateKeyPassphraseFile);
  return { passphrase: readSecretFile(file, 'tls.privateKeyPassphraseFile'), source: `the file ${file}` };
}
