import type { Claim, RelyingPartyRecord } from '../store/store';
import { AWS_SAML } from './aws-saml';

export interface ReleasedAttribute {
  readonly name: string;
  readonly values: readonly string[];
}

/** The subject's claims a relying party may see, grouped into one attribute per claim name. */
export function releasedClaims(claims: readonly Claim[], rp: RelyingPartyRecord): ReleasedAttribute[] {
  const releaseAll = rp.releasedClaims.includes('*');
  const byName = new Map<string, string[]>();
  for (const claim of claims) {
    const released =
      releaseAll ||
      rp.releasedClaims.includes(claim.name) ||
      // The AWS profile always releases the user's AWS attributes (Role, PrincipalTag:…, SourceIdentity).
      (rp.profile === 'aws' && claim.name.startsWith(AWS_SAML.attributePrefix));
    if (!released) continue;
    const values = byName.get(claim.name);
    if (values) values.push(claim.value);
    else byName.set(claim.name, [claim.value]);
  }
  return [...byName].map(([name, values]) => ({ name, values }));
}
