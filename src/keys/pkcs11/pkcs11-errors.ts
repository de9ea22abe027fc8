import * as pkcs11 from 'pkcs11js';

// The errors of PKCS#11 custody, and how a Cryptoki error is read: shared by the token's session
// (pkcs11-token.ts) and the process-wide module and login bookkeeping (pkcs11-module.ts).

export class Pkcs11TokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Pkcs11TokenError';
  }
}

/** The token refused the PIN: no later login with the same PIN can succeed, so a reconnect is not tried again. */
export class Pkcs11PinRefusedError extends Pkcs11TokenError {}

/** The CKR_ name of a Cryptoki error, or the message of any other (pkcs11js puts only the name in its messages). */
export function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export const codeOf = (err: unknown): number | undefined => (err instanceof pkcs11.Pkcs11Error ? err.code : undefined);
