import { attribute, childrenNamed, DuplicateElementError, singleChild } from '../xml/dom';
import { NS } from '../xml/namespaces';
import { MalformedTokenError, optionalTokenDate } from './token-view';

/** One SAML 2.0 SubjectConfirmation with its SubjectConfirmationData, as a service provider checks it. */
export interface SubjectConfirmation {
  readonly method: string;
  readonly recipient: string | undefined;
  readonly notBefore: Date | undefined;
  readonly notOnOrAfter: Date | undefined;
}

/** What a SAML 2.0 service provider reads beyond the common token view: confirmations and session end. */
export interface Saml2BearerDetails {
  readonly subjectConfirmations: readonly SubjectConfirmation[];
  /** AuthnStatement's SessionNotOnOrAfter: when the IdP wants the session to end. */
  readonly sessionNotOnOrAfter: Date | undefined;
  /** NameID's SPNameQualifier/NameQualifier, for the SAML:namequalifier policy keys. */
  readonly nameQualifier: string | undefined;
}

/** Reads the confirmations of a SAML 2.0 assertion whose signature has been verified. */
export function readSaml2BearerDetails(assertion: Element): Saml2BearerDetails {
  const ns = NS.saml2;
  try {
    const subject = singleChild(assertion, ns, 'Subject');
    const confirmations = subject ? childrenNamed(subject, ns, 'SubjectConfirmation') : [];
    const nameId = subject && singleChild(subject, ns, 'NameID');
    const authn = singleChild(assertion, ns, 'AuthnStatement');
    return {
      subjectConfirmations: confirmations.map((c) => {
        const data = singleChild(c, ns, 'SubjectConfirmationData');
        return {
          method: attribute(c, 'Method') ?? '',
          recipient: data && attribute(data, 'Recipient'),
          notBefore: optionalTokenDate(data && attribute(data, 'NotBefore'), 'SubjectConfirmationData NotBefore'),
          notOnOrAfter: optionalTokenDate(data && attribute(data, 'NotOnOrAfter'), 'SubjectConfirmationData NotOnOrAfter'),
        };
      }),
      sessionNotOnOrAfter: optionalTokenDate(authn && attribute(authn, 'SessionNotOnOrAfter'), 'SessionNotOnOrAfter'),
      nameQualifier: nameId && attribute(nameId, 'NameQualifier'),
    };
  } catch (err) {
    if (err instanceof DuplicateElementError) throw new MalformedTokenError(`the assertion repeats ${err.localName}`);
    throw err;
  }
}
