import { childrenNamed, singleChild, textOf } from '../xml/dom';
import { NS } from '../xml/namespaces';

/**
 * The Audiences of each audience restriction of a verified SAML 2.0 (AudienceRestriction) or 1.1
 * (AudienceRestrictionCondition) assertion: each restriction must be met on its own.
 */
export function readAudienceRestrictions(assertion: Element): string[][] {
  const saml2 = assertion.namespaceURI === NS.saml2;
  const ns = saml2 ? NS.saml2 : NS.saml1;
  const conditions = singleChild(assertion, ns, 'Conditions');
  if (!conditions) return [];
  return childrenNamed(conditions, ns, saml2 ? 'AudienceRestriction' : 'AudienceRestrictionCondition').map((r) =>
    childrenNamed(r, ns, 'Audience').map(textOf),
  );
}
