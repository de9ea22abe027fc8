import { attribute, childrenNamed, DuplicateElementError, singleChild, textOf } from '../xml/dom';
import { NS } from '../xml/namespaces';
import { MalformedTokenError, optionalTokenDate, requiredTokenDate, type SamlTokenView } from './token-view';

/** Reads a SAML 2.0 Assertion whose signature has been verified; refuses repeated singletons. */
export function readSaml2Assertion(assertion: Element): SamlTokenView {
  try {
    const ns = NS.saml2;
    const issuer = required(singleChild(assertion, ns, 'Issuer'), 'Issuer');
    const subject = required(singleChild(assertion, ns, 'Subject'), 'Subject');
    const nameId = required(singleChild(subject, ns, 'NameID'), 'NameID');
    const conditions = singleChild(assertion, ns, 'Conditions');
    const audienceRestrictions = conditions
      ? childrenNamed(conditions, ns, 'AudienceRestriction').map((r) => childrenNamed(r, ns, 'Audience').map(textOf))
      : [];
    const authn = singleChild(assertion, ns, 'AuthnStatement');
    const classRef = authn && singleChild(singleChild(authn, ns, 'AuthnContext') ?? authn, ns, 'AuthnContextClassRef');
    const attributes = childrenNamed(assertion, ns, 'AttributeStatement').flatMap((statement) =>
      childrenNamed(statement, ns, 'Attribute').map((a) => ({
        name: attribute(a, 'Name') ?? '',
        values: childrenNamed(a, ns, 'AttributeValue').map(textOf),
      })),
    );
    return {
      version: '2.0',
      id: attribute(assertion, 'ID') ?? '',
      issuer: textOf(issuer),
      issueInstant: requiredTokenDate(attribute(assertion, 'IssueInstant'), 'IssueInstant'),
      nameId: textOf(nameId),
      nameIdFormat: attribute(nameId, 'Format'),
      notBefore: optionalTokenDate(conditions && attribute(conditions, 'NotBefore'), 'NotBefore'),
      notOnOrAfter: optionalTokenDate(conditions && attribute(conditions, 'NotOnOrAfter'), 'NotOnOrAfter'),
      audiences: audienceRestrictions.flat(),
      audienceRestrictions,
      confirmationMethods: childrenNamed(subject, ns, 'SubjectConfirmation').map((c) => attribute(c, 'Method') ?? ''),
      authnInstant: optionalTokenDate(authn && attribute(authn, 'AuthnInstant'), 'AuthnInstant'),
      authnContextClassRef: classRef && textOf(classRef),
      attributes,
    };
  } catch (err) {
    if (err instanceof DuplicateElementError) throw new MalformedTokenError(`the assertion repeats ${err.localName}`);
    throw err;
  }
}

function required(el: Element | undefined, name: string): Element {
  if (!el) throw new MalformedTokenError(`the assertion has no ${name}`);
  return el;
}
