import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { AwsCredentials } from './aws-sts-client';

/**
 * Writes credentials to one profile of the AWS CLI's credentials file (an INI file), replacing that
 * profile's section and keeping every other one. Resolves to the file written.
 */
export function writeAwsProfile(profile: string, credentials: AwsCredentials, file?: string): string {
  if (!/^[\w.-]{1,64}$/.test(profile)) throw new Error('a profile name is 1 to 64 letters, digits, . _ or -');
  const path = file ?? process.env['AWS_SHARED_CREDENTIALS_FILE'] ?? join(homedir(), '.aws', 'credentials');
  const existing = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const section =
    `[${profile}]\n` +
    `aws_access_key_id = ${credentials.accessKeyId}\n` +
    `aws_secret_access_key = ${credentials.secretAccessKey}\n` +
    `aws_session_token = ${credentials.sessionToken}\n` +
    `x_security_token_expires = ${credentials.expiration}\n`;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, replaceSection(existing, profile, section), { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}

function replaceSection(ini: string, profile: string, section: string): string {
  const lines = ini.split(/\r?\n/);
  const kept: string[] = [];
  let skipping = false;
  for (const line of lines) {
    const header = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (header) skipping = header[1]?.trim() === profile;
    if (!skipping) kept.push(line);
  }
  const rest = kept.join('\n').trim();
  return `${rest === '' ? '' : `${rest}\n\n`}${section}`;
}
