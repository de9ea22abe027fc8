import { SignatureRejectedError, verifyEnvelopedSignature, type TrustedKey } from '../xml/verify-signature';
import { samlFormatOf } from './formats';
import { MalformedTokenError, type SamlTokenView } from './token-view';

export interface VerifiedSamlToken {
  /** Read from the signed element only, after its signature verified. */
  readonly token: SamlTokenView;
  readonly keyThumbprint: string;
  /** Base64 digest of the signed content, to compare with the issuance ledger. */
  readonly digest: string;
}

/**
 * Verifies a SAML 2.0 or 1.1 assertion against keys the caller trusts, then reads it. Throws
 * SignatureRejectedError or MalformedTokenError, whose messages say what is wrong with the token.
 */
export function verifySamlToken(assertion: Element, trusted: readonly TrustedKey[]): VerifiedSamlToken {
  const format = samlFormatOf(assertion);
  if (!format) throw new MalformedTokenError('the token is not a SAML 2.0 or SAML 1.1 assertion');
  const { keyThumbprint, digest } = verifyEnvelopedSignature(assertion, trusted, {
    idAttribute: format.idAttribute,
    allowSha1: false,
  });
  return { token: format.read(assertion), keyThumbprint, digest };
}

/** True for the refusals verifySamlToken raises about the token itself (as opposed to our own failures). */
export const isTokenRejection = (err: unknown): err is SignatureRejectedError | MalformedTokenError =>
  err instanceof SignatureRejectedError || err instanceof MalformedTokenError;
