import { awsErrors } from '../aws-error';
import type { SessionClaims } from '../credentials/session-claims';
import type { SessionTokenSealer } from '../credentials/session-token';
import type { CredentialResolver } from './verify-sigv4';

/**
 * The credential resolver for this service's temporary credentials: only ASIA keys exist here (AKIA
 * long-term keys are not issued), each needs its session token, and the token must have been
 * sealed for that very access key id. Expiry is the verifier's check.
 */
export function sessionCredentialResolver(sealer: SessionTokenSealer): CredentialResolver<SessionClaims> {
  return (accessKeyId, sessionToken) => {
    if (!accessKeyId.startsWith('ASIA')) throw awsErrors.invalidClientTokenId('sigv4: not a temporary access key id');
    if (sessionToken === undefined) throw awsErrors.invalidClientTokenId('sigv4: temporary access key id without a session token');
    const claims = sealer.open(sessionToken);
    if (claims.accessKeyId !== accessKeyId) {
      throw awsErrors.invalidClientTokenId('sigv4: the session token was issued for another access key id');
    }
    return claims;
  };
}
