import { readFileSync } from 'node:fs';

/**
 * The secret in a file a config key names (a password, a passphrase): its first line, since the line
 * break a file ends with is not part of it. An unreadable file or an empty first line is refused with
 * a message naming the key and the path, never the content.
 */
export function readSecretFile(path: string, configKey: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new Error(`config key "${configKey}" names ${path}, which cannot be read`);
  }
  const secret = text.split(/\r?\n/, 1)[0] ?? '';
  if (secret === '') throw new Error(`config key "${configKey}" names ${path}, which holds no password on its first line`);
  return secret;
}
