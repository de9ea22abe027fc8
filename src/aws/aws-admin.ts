import { readIdpMetadata } from '../saml/idp-metadata';
import type { AwsRoleRecord, SamlReplayMode, Store } from '../store/store';
import { roleArn, samlProviderArn } from './arn';
import { AwsError } from './aws-error';
import { newRoleId } from './credentials/temporary-credentials';
import { parsePolicyDocument } from './policy/parse-policy';

// IAM's limits: ten signing certificates per SAML provider; a role's maximum session from one to twelve hours.
const MAX_PROVIDER_CERTIFICATES = 10;
const IAM_NAME = /^[\w+=,.@-]{1,64}$/;
const PROVIDER_NAME = /^[\w._-]{1,128}$/;

export interface NewSamlProvider {
  readonly name: string;
  readonly metadataXml: string;
  readonly replay: SamlReplayMode;
}

/** Registers a SAML identity provider from its metadata; resolves to its ARN. */
export async function addSamlProvider(store: Store, accountId: string, selfName: string, provider: NewSamlProvider): Promise<string> {
  if (!PROVIDER_NAME.test(provider.name)) throw new Error('a SAML provider name is 1 to 128 letters, digits, . _ or -');
  if (provider.name === selfName) throw new Error(`${selfName} is Trustbridge's own provider name and is registered already`);
  const metadata = readIdpMetadata(provider.metadataXml);
  if (metadata.signingCertificatesPem.length > MAX_PROVIDER_CERTIFICATES) {
    throw new Error(`the metadata names ${metadata.signingCertificatesPem.length} signing certificates; IAM allows at most ${MAX_PROVIDER_CERTIFICATES}`);
  }
  await store.samlProviders.add({
    name: provider.name,
    entityId: metadata.entityId,
    certificatesPem: metadata.signingCertificatesPem,
    replay: provider.replay,
    createdAt: new Date(),
  });
  return samlProviderArn(accountId, provider.name);
}

export interface NewAwsRole {
  readonly name: string;
  readonly trustPolicy: string;
  readonly maxSessionDurationSeconds?: number;
  readonly permissionsPolicy?: string;
}

/** Creates a role after checking its policies as IAM would; resolves to its ARN. */
export async function addAwsRole(store: Store, accountId: string, role: NewAwsRole): Promise<string> {
  if (!IAM_NAME.test(role.name)) throw new Error('a role name is 1 to 64 letters, digits or +=,.@_-');
  const maxSession = role.maxSessionDurationSeconds ?? 3600;
  if (!Number.isInteger(maxSession) || maxSession < 3600 || maxSession > 43200) {
    throw new Error('the maximum session duration must be whole seconds from 3600 to 43200, as IAM allows');
  }
  policyOrExplain('trust policy', role.trustPolicy, 'trust');
  if (role.permissionsPolicy !== undefined) policyOrExplain('permissions policy', role.permissionsPolicy, 'session');
  const record: AwsRoleRecord = {
    name: role.name,
    roleId: newRoleId(),
    trustPolicy: role.trustPolicy,
    maxSessionDurationSeconds: maxSession,
    permissionsPolicy: role.permissionsPolicy ?? null,
    createdAt: new Date(),
  };
  await store.awsRoles.add(record);
  return roleArn(accountId, role.name);
}

function policyOrExplain(what: string, json: string, kind: 'trust' | 'session'): void {
  try {
    parsePolicyDocument(json, kind);
  } catch (err) {
    if (err instanceof AwsError) throw new Error(`the ${what} is not valid: ${err.message}`);
    throw err;
  }
}

/** A trust policy that lets one SAML provider's users assume a role, as the IAM console writes it. */
export function samlTrustPolicy(providerArn: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: providerArn },
        Action: ['sts:AssumeRoleWithSAML', 'sts:TagSession', 'sts:SetSourceIdentity'],
        Condition: { StringEquals: { 'SAML:aud': 'https://signin.aws.amazon.com/saml' } },
      },
    ],
  });
}
