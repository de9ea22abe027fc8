import { parseDateTime } from '../xml/datetime';
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
  /** Every Audience of every restriction, in document order. */
  readonly audiences: readonly string[];
  /**
   * The Audiences of each SAML 2.0 AudienceRestriction (1.1: AudienceRestrictionCondition), one list per
   * element: each restriction must be met on its own (SAML core 2.5.1.4), so they are not merged.
   */
  readonly audienceRestrictions: readonly (readonly string[])[];
  readonly confirmationMethods: readonly string[];
  readonly authnInstant: Date | undefined;
  readonly authnContextClassRef: string | undefined;
  readonly attributes: readonly SamlAttribute[];
}

/**
 * Whether a token is addressed to one of `ours`: it has at least one audience restriction, and each
 * names one of ours (SAML core 2.5.1.4: every restriction must be met on its own). A token with none
 * would be valid for any audience, which is what a forwarded or captured token relies on.
 */
export function addressedTo(token: SamlTokenView, ours: readonly string[]): boolean {
  const restrictions = token.audienceRestrictions;
  return restrictions.length > 0 && restrictions.every((audiences) => audiences.some((a) => ours.includes(a)));
}

export class MalformedTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedTokenError';
  }
}

/** Reading helpers shared by the SAML 2.0 and 1.1 readers: each refusal says what is wrong with the token. */
export function optionalTokenDate(value: string | undefined, name: string): Date | undefined {
  if (value === undefined) return undefined;
  const d = parseDateTime(value);
  if (!d) throw new MalformedTokenError(`the assertion's ${name} is not a UTC dateTime`);
  return d;
}

export function requiredTokenDate(value: string | undefined, name: string): Date {
  const d = optionalTokenDate(value, name);
  if (!d) throw new MalformedTokenError(`the assertion has no ${name}`);
  return d;
}
