import { readSecretFile } from './secret-file';
import type { SigningKeyCustodyConfig } from '../config/config';
import type { SigningKeyCustody } from '../keys/key-custody';
import { Pkcs11Token } from '../keys/pkcs11/pkcs11-token';
import { tokenCustody } from '../keys/pkcs11/token-custody';
import { sealedCustody } from '../keys/sealed-custody';
import { inHome } from './paths';

/** Opens the configured custody: for a token, this process's own session (C_Initialize, C_OpenSession, C_Login). */
export function openSigningKeyCustody(home: string, config: SigningKeyCustodyConfig, masterKey: Buffer): SigningKeyCustody {
  if (config.kind === 'sealed') return sealedCustody(masterKey);
  const { pin, pinSource } = readPin(home, config);
  return tokenCustody(Pkcs11Token.open({ module: config.module, tokenLabel: config.tokenLabel, pin, pinSource }), masterKey);
}

function readPin(home: string, config: Extract<SigningKeyCustodyConfig, { kind: 'pkcs11' }>): { pin: string; pinSource: string } {
  if (config.pinEnv !== undefined) {
    const pin = process.env[config.pinEnv];
    if (pin === undefined || pin === '') {
      throw new Error(`signingKeyCustody.pinEnv names ${config.pinEnv}, which is not set: export ${config.pinEnv} with the PKCS#11 token's user PIN`);
    }
    return { pin, pinSource: `the environment variable ${config.pinEnv}` };
  }
  const file = inHome(home, config.pinFile as string);
  const pin = readSecretFile(file, 'signingKeyCustody.pinFile');
  return { pin, pinSource: `the file ${file}` };
}
