import type { SamlTokenView } from '../../src/saml/token-view';

/** The fields a test names itself: what identifies the token and when it expires. */
type NamedFields = Pick<SamlTokenView, 'id' | 'issuer' | 'nameId' | 'issueInstant' | 'notOnOrAfter'>;

/**
 * A SAML 2.0 token view as a reader gives it for a plain assertion: restricted to `audience` alone,
 * valid from its issueInstant, with no NameID format, confirmation method, authentication statement
 * or attribute. `fields` names the token and may override any of those.
 */
export function samlTokenView(audience: string, fields: NamedFields & Partial<SamlTokenView>): SamlTokenView {
  return {
    version: '2.0',
    nameIdFormat: undefined,
    notBefore: fields.issueInstant,
    audiences: [audience],
    audienceRestrictions: [[audience]],
    confirmationMethods: [],
    authnInstant: undefined,
    authnContextClassRef: undefined,
    attributes: [],
    ...fields,
  };
}
