import { escapeAttribute as attr, escapeText as text } from '../xml/escape';
import type { CanonicalElement } from '../xml/enveloped-signature';
import { NS, SAML2 } from '../xml/namespaces';

export interface SamlAttribute {
  readonly name: string;
  readonly values: readonly string[];
}

/** Everything a SAML 2.0 bearer assertion states; the policy that chose these values lives in the core. */
export interface Saml2AssertionContent {
  readonly id: string;
  readonly issueInstant: Date;
  readonly issuer: string;
  readonly nameId: string;
  readonly nameIdFormat: string;
  readonly confirmationNotOnOrAfter: Date;
  /** The relying party's endpoint URL; SAML service providers require it on bearer confirmations. */
  readonly recipient?: string;
  readonly notBefore: Date;
  readonly notOnOrAfter: Date;
  readonly audience: string;
  readonly authnInstant: Date;
  readonly authnContextClassRef: string;
  readonly attributes: readonly SamlAttribute[];
}

const iso = (d: Date): string => d.toISOString();

/**
 * Writes the assertion directly in exclusive-c14n canonical form: a default namespace declared once
 * on the root, attributes in canonical order (all unqualified, so alphabetical), every element
 * written with an explicit end tag and no whitespace between elements.
 */
export function buildSaml2Assertion(c: Saml2AssertionContent): CanonicalElement {
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
    `<SubjectConfirmation Method="${SAML2.bearer}">` +
    `<SubjectConfirmationData NotOnOrAfter="${iso(c.confirmationNotOnOrAfter)}"${recipient}></SubjectConfirmationData>` +
    `</SubjectConfirmation></Subject>` +
    `<Conditions NotBefore="${iso(c.notBefore)}" NotOnOrAfter="${iso(c.notOnOrAfter)}">` +
    `<AudienceRestriction><Audience>${text(c.audience)}</Audience></AudienceRestriction></Conditions>` +
    attributeStatement +
    `<AuthnStatement AuthnInstant="${iso(c.authnInstant)}" SessionIndex="${c.id}">` +
    `<AuthnContext><AuthnContextClassRef>${text(c.authnContextClassRef)}</AuthnContextClassRef></AuthnContext>` +
    `</AuthnStatement></Assertion>`;
  return { id: c.id, beforeSignature, afterSignature };
}
