import { escapeAttribute as attr, escapeText as text } from '../xml/escape';
import type { CanonicalElement } from '../xml/enveloped-signature';
import { NS, SAML2 } from '../xml/namespaces';
import type { AssertionContent } from './assertion-content';

const iso = (d: Date): string => d.toISOString();

// A holder-of-key confirmation names its key with KeyInfoConfirmationDataType; the unprefixed QName
// resolves to the SAML namespace, the default one here.
function confirmation(c: AssertionContent, recipient: string): string {
  if (c.holderOfKey === undefined) {
    return (
      `<SubjectConfirmation Method="${SAML2.bearer}">` +
      `<SubjectConfirmationData NotOnOrAfter="${iso(c.confirmationNotOnOrAfter)}"${recipient}></SubjectConfirmationData>` +
      `</SubjectConfirmation>`
    );
  }
  return (
    `<SubjectConfirmation Method="${SAML2.holderOfKey}">` +
    `<SubjectConfirmationData xmlns:xsi="${NS.xsi}" NotOnOrAfter="${iso(c.confirmationNotOnOrAfter)}"${recipient} ` +
    `xsi:type="KeyInfoConfirmationDataType">${c.holderOfKey}</SubjectConfirmationData></SubjectConfirmation>`
  );
}

/**
 * Writes the assertion directly in exclusive-c14n canonical form: a default namespace declared once
 * on the root, attributes in canonical order (all unqualified, so alphabetical), every element
 * written with an explicit end tag and no whitespace between elements.
 */
export function buildSaml2Assertion(c: AssertionContent): CanonicalElement {
  const beforeSignature =
    `<Assertion xmlns="${NS.saml2}" ID="${c.id}" IssueInstant="${iso(c.issueInstant)}" Version="2.0">` +
    `<Issuer>${text(c.issuer)}</Issuer>`;
  const recipient = c.recipient === undefined ? '' : ` Recipient="${attr(c.recipient)}"`;
  const attributeStatement =
    c.attributes.length === 0
      ? ''
      : `<AttributeStatement>${c.attributes
          .map(
            (a) =>
              `<Attribute Name="${attr(a.name)}">${a.values
                .map((v) => `<AttributeValue>${text(v)}</AttributeValue>`)
                .join('')}</Attribute>`,
          )
          .join('')}</AttributeStatement>`;
  const afterSignature =
    `<Subject><NameID Format="${attr(c.nameIdFormat)}">${text(c.nameId)}</NameID>` +
    confirmation(c, recipient) +
    `</Subject>` +
    `<Conditions NotBefore="${iso(c.notBefore)}" NotOnOrAfter="${iso(c.notOnOrAfter)}">` +
    `<AudienceRestriction><Audience>${text(c.audience)}</Audience></AudienceRestriction></Conditions>` +
    attributeStatement +
    `<AuthnStatement AuthnInstant="${iso(c.authnInstant)}" SessionIndex="${c.id}">` +
    `<AuthnContext><AuthnContextClassRef>${text(c.authnContextClassRef)}</AuthnContextClassRef></AuthnContext>` +
    `</AuthnStatement></Assertion>`;
  return { id: c.id, beforeSignature, afterSignature };
}
