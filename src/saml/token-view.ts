import type { SamlAttribute } from './assertion-content';

/** What a verified SAML assertion says, whatever its version: read only from the signed element. */
export interface SamlTokenView {
  readonly version: '2.0' | '1.1';
  readonly id: string;
  readonly issuer: string;
  readonly issueInstant: Date;
  readonly nameId: string;
  readonly nameIdFormat: string | undefined;
  readonly notBefore: Date | undefined;
  readonly notOnOrAfter: Date | undefined;
  readonly audiences: readonly string[];
  readonly confirmationMethods: readonly string[];
  readonly authnInstant: Date | undefined;
  readonly authnContextClassRef: string | undefined;
  readonly attributes: readonly SamlAttribute[];
}

export class MalformedTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedTokenError';
  }
}
