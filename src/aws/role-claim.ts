import { AWS_SAML, roleAttributeValue } from '../core/aws-saml';
import type { Claim } from '../store/store';
import { parseIamArn, roleArn, samlProviderArn } from './arn';

/**
 * The claim that grants a user an AWS role: a Role attribute value pairing the role with
 * Trustbridge's own SAML provider. `role` is a name in the instance's account or a full role ARN.
 */
export function awsRoleClaim(aws: { readonly accountId: string; readonly providerName: string }, role: string): Claim {
  const arn = role.startsWith('arn:') ? role : roleArn(aws.accountId, role);
  const parsed = parseIamArn(arn);
  if (!parsed || parsed.resourceType !== 'role') throw new Error(`"${role}" is neither a role name nor a role ARN`);
  return { name: AWS_SAML.role, value: roleAttributeValue(arn, samlProviderArn(parsed.accountId, aws.providerName)) };
}

/** One (role, provider) pair of a Role attribute value, read as AWS reads it: either order; undefined when malformed. */
export function parseRoleAttributeValue(value: string): { roleArn: string; providerArn: string } | undefined {
  const parts = value.split(',').map((p) => p.trim());
  if (parts.length !== 2) return undefined;
  const kinds = parts.map((p) => parseIamArn(p)?.resourceType);
  const roleArn = parts[kinds.indexOf('role')];
  const providerArn = parts[kinds.indexOf('saml-provider')];
  return roleArn !== undefined && providerArn !== undefined ? { roleArn, providerArn } : undefined;
}
