import { problem, type Problem } from '../verdict';

/**
 * SAML core 2.5.1.4: every AudienceRestriction must name one of the relying party's audiences. An
 * assertion with none at all is refused too: one addressed to no one can be replayed to anyone.
 */
export function checkAudience(restrictions: readonly (readonly string[])[], audiences: readonly string[]): Problem[] {
  if (restrictions.length === 0) return [problem('audience', 'the assertion is not restricted to any audience')];
  return restrictions
    .filter((named) => !named.some((a) => audiences.includes(a)))
    .map((named) => problem('audience', `the assertion is for ${named.length ? named.join(', ') : 'no audience'}, not for ${audiences.join(', ')}`));
}
