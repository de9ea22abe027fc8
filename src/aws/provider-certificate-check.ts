import { partnerKeyAlert, type TokenAlert } from '../core/token-forensics';
import { pinVerdictAt, type PinRefusal } from '../keys/pin-policy';
import type { SamlTokenView } from '../saml/token-view';
import type { Store } from '../store/store';
import { AwsError } from './aws-error';
import type { SamlProvider } from './saml-provider-directory';

/** What IAM-style messages say of a certificate each verdict refuses. */
const REFUSED_BECAUSE: Record<PinRefusal['reason'], string> = {
  pending: 'pending (not yet active)',
  retired: 'retired',
  revoked: 'revoked',
  'certificate-not-yet-valid': 'not yet valid (its validity period has not begun)',
  'certificate-expired': 'expired',
};

export const NOT_REGISTERED = 'The SAML assertion is not signed by a certificate registered for this SAML provider.';

/**
 * An external provider's signatures count only while the certificate that made each one is the
 * provider's and its lifecycle allows it at `now` (pinVerdictAt, the rule of trusted issuers' pins).
 * The state is read from the store here, uncached: a revoke or a removal on any node bites at the
 * next request, whatever the provider directory's cache holds. partnerKeyAlert says which refusals
 * raise an alert.
 */
export async function requireProviderCertificatesAccepted(
  store: Store,
  provider: SamlProvider,
  signed: { readonly token: SamlTokenView; readonly signerThumbprints: readonly string[] },
  now: Date,
  clockSkewMs: number,
  raiseAlert: (alert: TokenAlert) => void,
): Promise<void> {
  const { token, signerThumbprints } = signed;
  for (const thumbprint of new Set(signerThumbprints)) {
    const certificate = await store.samlProviders.getCertificate(provider.name, thumbprint);
    if (!certificate) {
      throw new AwsError('InvalidIdentityToken', 400, NOT_REGISTERED, `certificate ${thumbprint} is no longer registered for ${provider.name}`);
    }
    const verdict = pinVerdictAt(certificate, now, clockSkewMs);
    if (!verdict.accepted) {
      const alert = partnerKeyAlert(token, thumbprint, verdict, { samlProvider: provider.name });
      if (alert) raiseAlert(alert);
      throw new AwsError(
        'InvalidIdentityToken',
        400,
        `The signing certificate of SAML provider ${provider.name} is ${REFUSED_BECAUSE[verdict.reason]}.`,
        `certificate ${thumbprint} of ${provider.name}: ${verdict.reason}`,
      );
    }
  }
}
