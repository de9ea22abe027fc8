import { readFileSync } from 'node:fs';

/**
 * The key that seals private keys and digest passwords at rest: STS_MASTER_KEY (base64 of 32 bytes)
 * if set, so production can keep it out of the instance directory, else the instance's key file.
 */
export function loadMasterKey(keyFile: string): Buffer {
  const fromEnv = process.env['STS_MASTER_KEY'];
  const encoded = fromEnv ?? readKeyFile(keyFile);
  const key = Buffer.from(encoded.trim(), 'base64');
  if (key.length !== 32) {
    throw new Error(
      `${fromEnv === undefined ? `the master key file ${keyFile}` : 'STS_MASTER_KEY'} must hold 32 bytes in base64`,
    );
  }
  return key;
}

function readKeyFile(keyFile: string): string {
  try {
    return readFileSync(keyFile, 'utf8');
  } catch {
    throw new Error(`the master key file ${keyFile} cannot be read; set STS_MASTER_KEY or restore the file`);
  }
}
