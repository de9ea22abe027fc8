import { readIdpMetadata } from '../saml/idp-metadata';
import { thumbprintOfPem, type RelyingPartyPin } from './relying-party-pin';

/**
 * Pins for every signing certificate a FederationMetadata document publishes, all active, for its
 * entityID. Metadata has no lifecycle states (Trustbridge publishes its pending, active and retiring
 * certificates alike), so states come only from a pins file; the document is trusted as given.
 */
export function pinsFromFederationMetadata(xml: string): RelyingPartyPin[] {
  const metadata = readIdpMetadata(xml);
  return metadata.signingCertificatesPem.map((certificatePem) => ({
    issuer: metadata.entityId,
    thumbprint: thumbprintOfPem(certificatePem),
    certificatePem,
    state: 'active',
    activateAt: null,
    retireAt: null,
  }));
}
