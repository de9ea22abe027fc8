// What AWS requires of a SAML assertion it exchanges for credentials: the names AWS documents for
// "Configuring SAML assertions for the authentication response". Shared by the relying-party profile
// that mints such assertions and the AssumeRoleWithSAML action that reads them.

const ATTRIBUTE_PREFIX = 'https://aws.amazon.com/SAML/Attributes/';

export const AWS_SAML = {
  /** AD FS's AppliesTo for the AWS relying party trust. */
  appliesTo: 'urn:amazon:webservices',
  /** The Audience and bearer Recipient AWS sign-in expects. */
  signinUrl: 'https://signin.aws.amazon.com/saml',
  attributePrefix: ATTRIBUTE_PREFIX,
  role: `${ATTRIBUTE_PREFIX}Role`,
  roleSessionName: `${ATTRIBUTE_PREFIX}RoleSessionName`,
  sessionDuration: `${ATTRIBUTE_PREFIX}SessionDuration`,
  principalTagPrefix: `${ATTRIBUTE_PREFIX}PrincipalTag:`,
  transitiveTagKeys: `${ATTRIBUTE_PREFIX}TransitiveTagKeys`,
  sourceIdentity: `${ATTRIBUTE_PREFIX}SourceIdentity`,
} as const;

/** The audiences AWS accepts: the sign-in URL, or AD FS's AppliesTo for AWS. */
export const AWS_AUDIENCES: readonly string[] = [AWS_SAML.signinUrl, AWS_SAML.appliesTo];

/** True for the sign-in endpoints AWS accepts as a bearer confirmation's Recipient (global or regional). */
export function isAwsSigninRecipient(url: string): boolean {
  return url === AWS_SAML.signinUrl || /^https:\/\/[a-z0-9-]+\.signin\.aws\.amazon\.com\/saml$/.test(url);
}

/** The value of a Role attribute as AWS reads it: "role ARN,provider ARN" (either order). */
export const roleAttributeValue = (roleArn: string, providerArn: string): string => `${roleArn},${providerArn}`;
