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

/** A certificate file as read: its text, and the certificate parsed from it. */
export interface CertificateFile {
  /** The file's PEM text as it stands (what a TLS `ca` option takes). */
  readonly pem: string;
  /** Its (first) certificate, parsed once here: checking the file and using it take the same object. */
  readonly certificate: X509Certificate;
}

/** The PEM certificate in a file a config key names; unreadable, or not a certificate, is refused naming the key. */
export function readCertificateFile(path: string, configKey: string): CertificateFile {
  const pem = readRequired(path, configKey);
  try {
    return { pem, certificate: new X509Certificate(pem) };
  } catch (err) {
    throw new Error(`config key "${configKey}" does not name a PEM certificate: ${(err as Error).message}`);
  }
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
