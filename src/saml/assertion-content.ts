export interface SamlAttribute {
  readonly name: string;
  readonly values: readonly string[];
}

/** Everything an assertion we mint states, whatever its SAML version; the policy that chose these values lives in the core. */
export interface AssertionContent {
  readonly id: string;
  readonly issueInstant: Date;
  readonly issuer: string;
  readonly nameId: string;
  readonly nameIdFormat: string;
  readonly confirmationNotOnOrAfter: Date;
  /** The relying party's endpoint URL; SAML 2.0 service providers require it on bearer confirmations. */
  readonly recipient?: string;
  readonly notBefore: Date;
  readonly notOnOrAfter: Date;
  readonly audience: string;
  readonly authnInstant: Date;
  readonly authnContextClassRef: string;
  readonly attributes: readonly SamlAttribute[];
  /** A canonical ds:KeyInfo (declaring ds itself) for a holder-of-key confirmation; bearer when absent. */
  readonly holderOfKey?: string;
}
