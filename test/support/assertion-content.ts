import type { AssertionContent } from '../../src/saml/assertion-content';
import { SAML2 } from '../../src/xml/namespaces';

/** A plain SAML 2.0 assertion's content (alice, for https://rp.example/, at 2030-01-01), for tests that only need one to sign. */
export function sampleAssertionContent(id: string): AssertionContent {
  const now = new Date('2030-01-01T00:00:00Z');
  return {
    id,
    issueInstant: now,
    issuer: 'https://sts.example/',
    nameId: 'alice',
    nameIdFormat: SAML2.nameIdUnspecified,
    confirmationNotOnOrAfter: now,
    notBefore: now,
    notOnOrAfter: now,
    audience: 'https://rp.example/',
    authnInstant: now,
    authnContextClassRef: SAML2.passwordProtectedTransport,
    attributes: [{ name: 'role', values: ['staff'] }],
  };
}
