import { asLastChild, beforeSignature, insideSignature, rootId, withoutSignature, withRootId } from './token-text';

// The eight XML signature wrapping attacks of Somorovsky et al., "On Breaking SAML: Be Whoever You
// Want to Be" (USENIX Security 2012), in the shapes SAML Raider gives them. O is the genuine signed
// element, E the attacker's copy with `evil` applied (another subject, say). XSW1 and XSW2 wrap a
// signed samlp:Response; XSW3 to XSW8 wrap a signed Assertion inside its container, whatever that
// container is: a samlp:Response for AWS, the RequestSecurityToken around a WS-Trust token slot.

export type ResponseWrapping = 'XSW1' | 'XSW2';
export type AssertionWrapping = 'XSW3' | 'XSW4' | 'XSW5' | 'XSW6' | 'XSW7' | 'XSW8';

const EVIL_RESPONSE_ID = '_evil_response_ID';
const EVIL_ASSERTION_ID = '_evil_assertion_ID';

/** How each wrapping is built, for test names. */
export const WRAPPING_SHAPES: Record<ResponseWrapping | AssertionWrapping, string> = {
  XSW1: 'evil Response (new ID) carrying the signature, the genuine Response appended inside that signature',
  XSW2: 'evil Response (new ID), the genuine Response inserted before the signature (detached)',
  XSW3: 'unsigned evil copy (new ID) before the signed assertion',
  XSW4: 'unsigned evil copy (new ID) wrapping the signed assertion as its last child',
  XSW5: 'evil copy (new ID) keeping the signature, the genuine assertion unsigned after it',
  XSW6: 'evil copy (new ID) keeping the signature, the genuine assertion unsigned inside that signature',
  XSW7: 'unsigned evil copy (same ID) in an Extensions block before the signed assertion',
  XSW8: 'evil copy (same ID) keeping the signature, the genuine assertion unsigned in an Object inside it',
};

/**
 * A wrapped assertion laid out in its container: `token` is what takes the token's place (the element
 * a receiver processes), `before` and `after` are its siblings in the container.
 */
export interface WrappedAssertion {
  readonly before: string;
  readonly token: string;
  readonly after: string;
}

/** Applies XSW3–XSW8 to a signed assertion. */
export function wrapAssertion(variant: AssertionWrapping, signed: string, evil: (xml: string) => string): WrappedAssertion {
  const original = signed;
  const originalUnsigned = withoutSignature(signed);
  const evilUnsigned = evil(originalUnsigned);
  const evilSigned = evil(signed);
  switch (variant) {
    case 'XSW3':
      return { before: '', token: withRootId(evilUnsigned, EVIL_ASSERTION_ID), after: original };
    case 'XSW4':
      return { before: '', token: asLastChild(withRootId(evilUnsigned, EVIL_ASSERTION_ID), original), after: '' };
    case 'XSW5':
      return { before: '', token: withRootId(evilSigned, EVIL_ASSERTION_ID), after: originalUnsigned };
    case 'XSW6':
      return { before: '', token: insideSignature(withRootId(evilSigned, EVIL_ASSERTION_ID), originalUnsigned), after: '' };
    case 'XSW7':
      // SAML Raider's Extensions element carries no namespace; neither does this one.
      return { before: `<Extensions xmlns="">${evilUnsigned}</Extensions>`, token: original, after: '' };
    case 'XSW8':
      return { before: '', token: insideSignature(evilSigned, `<Object xmlns="">${originalUnsigned}</Object>`), after: '' };
  }
}

/** Applies XSW1 or XSW2 to a signed samlp:Response; the result is the whole document. */
export function wrapResponse(variant: ResponseWrapping, signedResponse: string, evil: (xml: string) => string): string {
  const { id } = rootId(signedResponse);
  if (id === EVIL_RESPONSE_ID) throw new Error('the Response already has the evil ID');
  const originalUnsigned = withoutSignature(signedResponse);
  const evilResponse = withRootId(evil(signedResponse), EVIL_RESPONSE_ID);
  return variant === 'XSW1' ? insideSignature(evilResponse, originalUnsigned) : beforeSignature(evilResponse, originalUnsigned);
}
