import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { StsConfig } from '../config/config';
import { keyAtRestForm } from '../keys/key-custody';
import type { SigningKeyRecord } from '../store/store';
import { DEMO_CREDENTIALS_FILE, inHome } from './paths';
import { isEncryptedPem, TLS_PASSPHRASE_ENV } from './tls-credentials';

// What production mode refuses to start with: a secret that anyone who reads the disk (or the
// database) gets in clear. Each finding says exactly how to fix it.

/** Every secret of the instance that lies in clear, each as "what; how to fix it". */
export function findSecretsInClear(home: string, config: StsConfig, signingKeys: readonly SigningKeyRecord[]): string[] {
  const found: string[] = [];
  const masterKeyFile = inHome(home, config.masterKeyFile);
  if (readableByOthers(masterKeyFile)) {
    found.push(
      `the master key file ${masterKeyFile} is open to group or others (mode ${modeOf(masterKeyFile)}): run "chmod 600 ${masterKeyFile}", ` +
        `or keep the key out of the instance directory in STS_MASTER_KEY and delete the file`,
    );
  }
  for (const key of signingKeys) {
    if (keyAtRestForm(key.sealedPrivateKey) !== 'clear') continue;
    found.push(
      `token-signing key ${key.thumbprint} (${key.state}) is stored in clear in the database: its private key is neither sealed ` +
        `under the master key nor held in a PKCS#11 token. Treat it as exposed: ` +
        (key.state === 'active' ? `replace and revoke it with "sts keys rotate --emergency"` : key.state === 'revoked' ? 'it is revoked already' : `revoke it with "sts keys revoke ${key.thumbprint}"`) +
        `, then delete its row from the signing_keys table`,
    );
  }
  const tlsKeyFile = inHome(home, config.tls.privateKeyFile);
  if (!isEncryptedPem(readOrEmpty(tlsKeyFile))) {
    found.push(
      `the TLS private key ${tlsKeyFile} is not encrypted: encrypt it with ` +
        `"openssl pkcs8 -topk8 -v2 aes-256-cbc -in ${tlsKeyFile} -out ${tlsKeyFile}.enc && mv ${tlsKeyFile}.enc ${tlsKeyFile}", ` +
        `and give the passphrase in ${TLS_PASSPHRASE_ENV} or in a file (chmod 600) named by tls.privateKeyPassphraseFile`,
    );
  }
  const secretFiles: Array<[string, string]> = [];
  if (config.tls.privateKeyPassphraseFile !== '') secretFiles.push(['tls.privateKeyPassphraseFile', inHome(home, config.tls.privateKeyPassphraseFile)]);
  if (config.signingKeyCustody.kind === 'pkcs11' && config.signingKeyCustody.pinFile !== undefined) {
    secretFiles.push(['signingKeyCustody.pinFile', inHome(home, config.signingKeyCustody.pinFile)]);
  }
  for (const [setting, file] of secretFiles) {
    if (readableByOthers(file)) found.push(`${setting} names ${file}, which is open to group or others (mode ${modeOf(file)}): run "chmod 600 ${file}"`);
  }
  const demoCredentials = join(home, DEMO_CREDENTIALS_FILE);
  if (exists(demoCredentials)) {
    found.push(`${demoCredentials} holds the demo user's password in clear: delete it (and do not serve production from a --demo instance)`);
  }
  return found;
}

/** The refusal production mode gives at start-up. */
export function secretsInClearRefusal(found: readonly string[]): string {
  return (
    `"mode" is "production", which does not start while secrets lie in clear:\n` +
    found.map((f) => `  - ${f}\n`).join('') +
    `Fix each of these and start again (or set "mode": "development" in config.json on a development machine).`
  );
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function readableByOthers(path: string): boolean {
  try {
    return (statSync(path).mode & 0o077) !== 0;
  } catch {
    return false;
  }
}

const modeOf = (path: string): string => (statSync(path).mode & 0o777).toString(8);

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
