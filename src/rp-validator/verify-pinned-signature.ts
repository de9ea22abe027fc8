import { trustedKeyFromCertificate } from '../keys/trusted-key';
import { MalformedTokenError, type SamlTokenView } from '../saml/token-view';
import { verifySaml2ResponseOrAssertion } from '../saml/verify-response';
import { verifySamlToken } from '../saml/verify-token';
import { childrenNamed } from '../xml/dom';
import { NS } from '../xml/namespaces';
import { SignatureRejectedError, type TrustedKey } from '../xml/verify-signature';
import type { RelyingPartyPin } from './relying-party-pin';
import { problem, type Problem } from './verdict';

/** An assertion whose signature verified under a pinned certificate, read from the signed element only. */
export interface PinnedAssertion {
  readonly element: Element;
  readonly token: SamlTokenView;
  readonly keyThumbprint: string;
}

export type SignatureOutcome = { readonly ok: true; readonly assertion: PinnedAssertion } | { readonly ok: false; readonly problem: Problem };

/**
 * Verifies a bare SAML 2.0 or 1.1 Assertion, or a samlp:Response, against every pinned certificate
 * whatever its state: a signature by a revoked pin is then reported as pin-revoked rather than as
 * an unknown key. Which pins may vouch, and for what, is decided afterwards.
 */
export function verifyAgainstPins(root: Element, pins: readonly RelyingPartyPin[]): SignatureOutcome {
  const keys = trustedKeys(pins);
  try {
    if (root.namespaceURI === NS.samlp2 && root.localName === 'Response') {
      const verified = verifySaml2ResponseOrAssertion(root, keys);
      // verifySaml2ResponseOrAssertion accepted exactly one Assertion child and read it.
      const element = childrenNamed(root, NS.saml2, 'Assertion')[0] as Element;
      return pinned(element, verified.token, verified.keyThumbprint);
    }
    const verified = verifySamlToken(root, keys);
    return pinned(root, verified.token, verified.keyThumbprint);
  } catch (err) {
    if (err instanceof SignatureRejectedError) {
      return { ok: false, problem: problem(err.rejection === 'untrusted-key' ? 'untrusted-key' : 'signature', err.message) };
    }
    if (err instanceof MalformedTokenError) return { ok: false, problem: problem('malformed', err.message) };
    throw err;
  }
}

function pinned(element: Element, token: SamlTokenView, keyThumbprint: string): SignatureOutcome {
  return { ok: true, assertion: { element, token, keyThumbprint } };
}

function trustedKeys(pins: readonly RelyingPartyPin[]): TrustedKey[] {
  const keys = new Map<string, TrustedKey>();
  for (const pin of pins) if (!keys.has(pin.thumbprint)) keys.set(pin.thumbprint, trustedKeyFromCertificate(pin.certificatePem));
  return [...keys.values()];
}
