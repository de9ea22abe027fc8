import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** The text of a file a config key names; an unreadable file is refused naming the key and the path. */
export function readRequired(path: string, configKey: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new Error(`config key "${configKey}" names ${path}, which cannot be read`);
  }
}

/** The PEM certificate in a file a config key names; unreadable, or not a certificate, is refused naming the key. */
export function readCertificateFile(path: string, configKey: string): string {
  const pem = readRequired(path, configKey);
  try {
    new X509Certificate(pem);
  } catch (err) {
    throw new Error(`config key "${configKey}" does not name a PEM certificate: ${(err as Error).message}`);
  }
  return pem;
}

/**
 * The secret in a file a config key names (a password, a passphrase, a PIN): its first line, since the
 * line break a file ends with (`echo secret > file`) is not part of it. An unreadable file or an empty
 * first line is refused with a message naming the key and the path, never the content.
 */
export function readSecretFile(path: string, configKey: string): string {
  const secret = readRequired(path, configKey).split(/\r?\n/, 1)[0] ?? '';
  if (secret === '') throw new Error(`config key "${configKey}" names ${path}, which holds no password on its first line`);
  return secret;
}
