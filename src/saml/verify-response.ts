import { attribute, childElements, childrenNamed, singleChild, DuplicateElementError } from '../xml/dom';
import { NS } from '../xml/namespaces';
import { SignatureRejectedError, verifyEnvelopedSignature, type TrustedKey } from '../xml/verify-signature';
import { readSaml2Assertion } from './saml2-reader';
import { readSaml2BearerDetails, type Saml2BearerDetails } from './saml2-confirmations';
import { MalformedTokenError, optionalTokenDate, type SamlTokenView } from './token-view';

const STATUS_SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';

export interface VerifiedSamlAssertion {
  /** Read from the assertion, which a verified signature covers (its own, or the Response's). */
  readonly token: SamlTokenView;
  readonly bearer: Saml2BearerDetails;
  /** The Response's IssueInstant when the assertion came in a signed one (an unsigned Response's says nothing). */
  readonly responseIssueInstant: Date | undefined;
  /** The key whose signature covers the assertion (its own signature's, else the Response's). */
  readonly keyThumbprint: string;
  /** The key that signed the Response, when the Response is signed (it may differ from the assertion's). */
  readonly responseKeyThumbprint: string | undefined;
  /** The digest of the assertion's own signature when it has one (what an issuance ledger records). */
  readonly assertionDigest: string | undefined;
}

/**
 * Verifies what a SAML 2.0 service provider receives, a samlp:Response or a bare Assertion, against
 * keys the caller trusts. Every signature present must verify and at least one must cover the
 * assertion; only the assertion inside the verified element is read. Throws SignatureRejectedError or
 * MalformedTokenError.
 */
export function verifySaml2ResponseOrAssertion(root: Element, trusted: readonly TrustedKey[]): VerifiedSamlAssertion {
  const profile = { idAttribute: 'ID', allowSha1: false };
  try {
    let assertion = root;
    let responseIssueInstant: Date | undefined;
    let responseSignature: { keyThumbprint: string } | undefined;
    if (root.namespaceURI === NS.samlp2 && root.localName === 'Response') {
      requireSuccess(root);
      if (childrenNamed(root, NS.saml2, 'EncryptedAssertion').length > 0) {
        throw new MalformedTokenError('encrypted assertions are not accepted here: send the signed assertion in clear');
      }
      const assertions = childrenNamed(root, NS.saml2, 'Assertion');
      if (assertions.length !== 1) throw new MalformedTokenError('the Response must carry exactly one Assertion');
      assertion = assertions[0] as Element;
      if (hasSignature(root)) {
        responseSignature = verifyEnvelopedSignature(root, trusted, profile);
        responseIssueInstant = optionalTokenDate(attribute(root, 'IssueInstant'), 'Response IssueInstant');
      }
    } else if (root.namespaceURI !== NS.saml2 || root.localName !== 'Assertion') {
      throw new MalformedTokenError('the SAML document is neither a SAML 2.0 Response nor a SAML 2.0 Assertion');
    }
    const assertionSignature = hasSignature(assertion) ? verifyEnvelopedSignature(assertion, trusted, profile) : undefined;
    const verified = assertionSignature ?? responseSignature;
    if (!verified) throw new SignatureRejectedError('missing', 'neither the Response nor the Assertion is signed');
    return {
      token: readSaml2Assertion(assertion),
      bearer: readSaml2BearerDetails(assertion),
      responseIssueInstant,
      keyThumbprint: verified.keyThumbprint,
      responseKeyThumbprint: responseSignature?.keyThumbprint,
      assertionDigest: assertionSignature?.digest,
    };
  } catch (err) {
    if (err instanceof DuplicateElementError) throw new MalformedTokenError(`the SAML document repeats ${err.localName}`);
    throw err;
  }
}

function hasSignature(element: Element): boolean {
  return childElements(element).some((e) => e.namespaceURI === NS.ds && e.localName === 'Signature');
}

function requireSuccess(response: Element): void {
  const status = singleChild(response, NS.samlp2, 'Status');
  const code = status && singleChild(status, NS.samlp2, 'StatusCode');
  const value = code && attribute(code, 'Value');
  if (value !== STATUS_SUCCESS) throw new MalformedTokenError(`the Response's status is not Success (${value ?? 'none'})`);
}
