// IAM and STS ARNs for the one account an instance serves.

export interface IamArn {
  readonly accountId: string;
  /** `role` or `saml-provider`. */
  readonly resourceType: string;
  /** The IAM path between the type and the name, `/` when none (`/division/` for role/division/Name). */
  readonly path: string;
  readonly name: string;
}

// arn:aws:iam::123456789012:role/path/Name: IAM names are [\w+=,.@-], paths are /-separated.
const IAM_ARN = /^arn:aws:iam::(\d{12}):(role|saml-provider)\/((?:[\w+=,.@-]+\/)*)([\w+=,.@-]{1,128})$/;

/** Parses a role or SAML-provider ARN; undefined for anything else. */
export function parseIamArn(arn: string): IamArn | undefined {
  const m = IAM_ARN.exec(arn);
  if (!m) return undefined;
  return { accountId: m[1] as string, resourceType: m[2] as string, path: `/${m[3] ?? ''}`, name: m[4] as string };
}

export const roleArn = (accountId: string, name: string): string => `arn:aws:iam::${accountId}:role/${name}`;
export const samlProviderArn = (accountId: string, name: string): string => `arn:aws:iam::${accountId}:saml-provider/${name}`;
export const assumedRoleArn = (accountId: string, roleName: string, sessionName: string): string =>
  `arn:aws:sts::${accountId}:assumed-role/${roleName}/${sessionName}`;
