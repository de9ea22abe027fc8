import { readFileSync } from 'node:fs';

/**
 * The key that seals private keys and digest passwords at rest: STS_MASTER_KEY (base64 of 32 bytes)
 * if set, so production can keep it out of the instance directory, else the instance's key file.
 */
export function loadMasterKey(keyFile: string): Buffer {
  return masterKeyFromEnvironment() ?? decodeMasterKey(readKeyFile(keyFile), `the master key file ${keyFile}`);
}

/** STS_MASTER_KEY decoded, or undefined when it is not set; throws when it is set but is no key. */
export function masterKeyFromEnvironment(): Buffer | undefined {
  const fromEnv = process.env['STS_MASTER_KEY'];
  return fromEnv === undefined ? undefined : decodeMasterKey(fromEnv, 'STS_MASTER_KEY');
}

function decodeMasterKey(encoded: string, source: string): Buffer {
  const key = Buffer.from(encoded.trim(), 'base64');
  if (key.length !== 32) throw new Error(`${source} must hold 32 bytes in base64`);
  return key;
}

function readKeyFile(keyFile: string): string {
  try {
    return readFileSync(keyFile, 'utf8');
  } catch {
    throw new Error(`the master key file ${keyFile} cannot be read; set STS_MASTER_KEY or restore the file`);
  }
}
