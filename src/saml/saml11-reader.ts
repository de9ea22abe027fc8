import { attribute, childrenNamed, DuplicateElementError, singleChild, textOf } from '../xml/dom';
import { NS, SAML2 } from '../xml/namespaces';
import { joinClaimName, SAML11 } from './saml11-assertion';
import { MalformedTokenError, optionalTokenDate, requiredTokenDate, type SamlTokenView } from './token-view';

/** Reads a SAML 1.1 Assertion whose signature has been verified. */
export function readSaml11Assertion(assertion: Element): SamlTokenView {
  const ns = NS.saml1;
  try {
    if (attribute(assertion, 'MajorVersion') !== '1' || attribute(assertion, 'MinorVersion') !== '1') {
      throw new MalformedTokenError('the assertion is not SAML 1.1');
    }
    const statements = [...childrenNamed(assertion, ns, 'AttributeStatement'), ...childrenNamed(assertion, ns, 'AuthenticationStatement')];
    const subjects = statements.map((s) => singleChild(s, ns, 'Subject')).filter((s): s is Element => s !== undefined);
    const nameIds = subjects.map((s) => singleChild(s, ns, 'NameIdentifier')).filter((n): n is Element => n !== undefined);
    const first = nameIds[0];
    if (!first || nameIds.some((n) => textOf(n) !== textOf(first))) {
      throw new MalformedTokenError('the assertion must name one subject');
    }
    const conditions = singleChild(assertion, ns, 'Conditions');
    const audienceRestrictions = conditions
      ? childrenNamed(conditions, ns, 'AudienceRestrictionCondition').map((r) => childrenNamed(r, ns, 'Audience').map(textOf))
      : [];
    const authn = singleChild(assertion, ns, 'AuthenticationStatement');
    return {
      version: '1.1',
      id: attribute(assertion, 'AssertionID') ?? '',
      issuer: attribute(assertion, 'Issuer') ?? '',
      issueInstant: requiredTokenDate(attribute(assertion, 'IssueInstant'), 'IssueInstant'),
      nameId: textOf(first),
      nameIdFormat: attribute(first, 'Format'),
      notBefore: optionalTokenDate(conditions && attribute(conditions, 'NotBefore'), 'NotBefore'),
      notOnOrAfter: optionalTokenDate(conditions && attribute(conditions, 'NotOnOrAfter'), 'NotOnOrAfter'),
      audiences: audienceRestrictions.flat(),
      audienceRestrictions,
      confirmationMethods: subjects.flatMap((s) =>
        childrenNamed(s, ns, 'SubjectConfirmation').flatMap((c) => childrenNamed(c, ns, 'ConfirmationMethod').map(textOf)),
      ),
      authnInstant: optionalTokenDate(authn && attribute(authn, 'AuthenticationInstant'), 'AuthenticationInstant'),
      authnContextClassRef:
        authn && attribute(authn, 'AuthenticationMethod') === SAML11.passwordMethod ? SAML2.passwordProtectedTransport : undefined,
      attributes: childrenNamed(assertion, ns, 'AttributeStatement').flatMap((st) =>
        childrenNamed(st, ns, 'Attribute').map((a) => ({
          name: joinClaimName(attribute(a, 'AttributeNamespace') ?? '', attribute(a, 'AttributeName') ?? ''),
          values: childrenNamed(a, ns, 'AttributeValue').map(textOf),
        })),
      ),
    };
  } catch (err) {
    if (err instanceof DuplicateElementError) throw new MalformedTokenError(`the assertion repeats ${err.localName}`);
    throw err;
  }
}
