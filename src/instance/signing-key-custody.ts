import { readSecretFile } from './secret-file';
import type { SigningKeyCustodyConfig } from '../config/config';
import type { SigningKeyCustody } from '../keys/key-custody';
import type { Pkcs11SessionEvent } from '../keys/pkcs11/pkcs11-token';
import { tokenCustody } from '../keys/pkcs11/token-custody';
import { sealedCustody } from '../keys/sealed-custody';
import { SILENT_LOGGER, type Logger } from '../server/log';
import { inHome } from './paths';

/**
 * Opens the configured custody: for a token, this process's own session (C_Initialize, C_OpenSession,
 * C_Login), whose loss and re-establishment `logger` tells the operator about.
 */
export function openSigningKeyCustody(home: string, config: SigningKeyCustodyConfig, masterKey: Buffer, logger: Logger = SILENT_LOGGER): SigningKeyCustody {
  if (config.kind === 'sealed') return sealedCustody(masterKey);
  const { pin, pinSource } = readPin(home, config);
  // Loaded here, not with this module: pkcs11js (a native addon) costs every process that imports it
  // some 1.7 MB, and only an instance whose keys are in a token uses it.
  const { Pkcs11Token } = require('../keys/pkcs11/pkcs11-token') as typeof import('../keys/pkcs11/pkcs11-token');
  const token = Pkcs11Token.open({ module: config.module, tokenLabel: config.tokenLabel, pin, pinSource }, { onEvent: (e) => logSessionEvent(logger, e) });
  return tokenCustody(token, masterKey);
}

function logSessionEvent(logger: Logger, event: Pkcs11SessionEvent): void {
  switch (event.kind) {
    case 'session-lost':
      logger.log('warn', 'the PKCS#11 token session was lost; reconnecting', { tokenLabel: event.tokenLabel, reason: event.reason });
      break;
    case 'session-restored':
      logger.log('info', 'the PKCS#11 token session was re-established', { tokenLabel: event.tokenLabel });
      break;
    case 'reconnect-failed':
      logger.log(
        'error',
        event.retryAfterMs === null
          ? 'reconnecting to the PKCS#11 token failed, and will not be tried again: token signatures fail until a restart with the PIN it takes'
          : 'reconnecting to the PKCS#11 token failed; token signatures fail until it succeeds',
        { tokenLabel: event.tokenLabel, errorMessage: event.reason, retryAfterMs: event.retryAfterMs },
      );
      break;
  }
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
