import { escapeAttribute as attr, escapeText as text } from '../xml/escape';
import type { CanonicalElement } from '../xml/enveloped-signature';
import { NS } from '../xml/namespaces';
import type { AssertionContent } from './assertion-content';

export const SAML11 = {
  bearer: 'urn:oasis:names:tc:SAML:1.0:cm:bearer',
  holderOfKey: 'urn:oasis:names:tc:SAML:1.0:cm:holder-of-key',
  passwordMethod: 'urn:oasis:names:tc:SAML:1.0:am:password',
  unspecifiedMethod: 'urn:oasis:names:tc:SAML:1.0:am:unspecified',
  /** AttributeNamespace for claim names that are not URIs. */
  defaultAttributeNamespace: 'urn:trustbridge:claims',
} as const;

const iso = (d: Date): string => d.toISOString();

/**
 * A SAML 1.1 assertion, written in exclusive-c14n canonical form with the `saml` prefix declared once
 * on the root; the signature goes last, as the 1.1 schema places it. Claim URIs are split at the last
 * slash into AttributeNamespace and AttributeName, as AD FS and WIF do.
 */
export function buildSaml11Assertion(c: AssertionContent): CanonicalElement {
  const subject =
    `<saml:Subject><saml:NameIdentifier Format="${attr(c.nameIdFormat)}">${text(c.nameId)}</saml:NameIdentifier>` +
    `<saml:SubjectConfirmation><saml:ConfirmationMethod>${c.holderOfKey === undefined ? SAML11.bearer : SAML11.holderOfKey}` +
    `</saml:ConfirmationMethod>${c.holderOfKey ?? ''}</saml:SubjectConfirmation></saml:Subject>`;
  const attributes = c.attributes
    .map((a) => {
      const { namespace, name } = splitClaimName(a.name);
      return (
        `<saml:Attribute AttributeName="${attr(name)}" AttributeNamespace="${attr(namespace)}">` +
        a.values.map((v) => `<saml:AttributeValue>${text(v)}</saml:AttributeValue>`).join('') +
        `</saml:Attribute>`
      );
    })
    .join('');
  const beforeSignature =
    `<saml:Assertion xmlns:saml="${NS.saml1}" AssertionID="${c.id}" IssueInstant="${iso(c.issueInstant)}" ` +
    `Issuer="${attr(c.issuer)}" MajorVersion="1" MinorVersion="1">` +
    `<saml:Conditions NotBefore="${iso(c.notBefore)}" NotOnOrAfter="${iso(c.notOnOrAfter)}">` +
    `<saml:AudienceRestrictionCondition><saml:Audience>${text(c.audience)}</saml:Audience></saml:AudienceRestrictionCondition>` +
    `</saml:Conditions>` +
    (attributes === '' ? '' : `<saml:AttributeStatement>${subject}${attributes}</saml:AttributeStatement>`) +
    `<saml:AuthenticationStatement AuthenticationInstant="${iso(c.authnInstant)}" ` +
    `AuthenticationMethod="${authenticationMethod(c.authnContextClassRef)}">${subject}</saml:AuthenticationStatement>`;
  return { id: c.id, beforeSignature, afterSignature: '</saml:Assertion>' };
}

export function splitClaimName(claim: string): { namespace: string; name: string } {
  const slash = claim.lastIndexOf('/');
  if (slash <= 0 || slash === claim.length - 1) return { namespace: SAML11.defaultAttributeNamespace, name: claim };
  return { namespace: claim.slice(0, slash), name: claim.slice(slash + 1) };
}

/** Joins a SAML 1.1 AttributeNamespace and AttributeName back into the claim name they came from. */
export function joinClaimName(namespace: string, name: string): string {
  return namespace === SAML11.defaultAttributeNamespace ? name : `${namespace}/${name}`;
}

function authenticationMethod(classRef: string): string {
  return classRef.endsWith(':PasswordProtectedTransport') || classRef.endsWith(':Password')
    ? SAML11.passwordMethod
    : SAML11.unspecifiedMethod;
}
