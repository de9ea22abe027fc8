import { X509Certificate } from 'node:crypto';
import { certificateThumbprintSha256 } from '../keys/signing-key';
import { readIdpMetadata } from '../saml/idp-metadata';
import {
  AlreadyExistsError,
  MAX_SAML_PROVIDER_CERTIFICATES,
  type AddCertificateResult,
  type AwsRoleRecord,
  type CertificatePin,
  type PinState,
  type SamlReplayMode,
  type Store,
} from '../store/store';
import { roleArn, samlProviderArn } from './arn';
import { AwsError } from './aws-error';
import { newRoleId } from './credentials/temporary-credentials';
import { parsePolicyDocument } from './policy/parse-policy';

// IAM's limits: ten signing certificates per SAML provider (MAX_SAML_PROVIDER_CERTIFICATES, kept by the
// store); a role's maximum session from one to twelve hours.
const IAM_NAME = /^[\w+=,.@-]{1,64}$/;
const PROVIDER_NAME = /^[\w._-]{1,128}$/;

export interface NewSamlProvider {
  readonly name: string;
  readonly metadataXml: string;
  readonly replay: SamlReplayMode;
}

/** A provider as registered: its ARN and its certificates' thumbprints (for the audit trail). */
export interface AddedSamlProvider {
  readonly arn: string;
  readonly entityId: string;
  readonly thumbprints: readonly string[];
}

/**
 * Registers a SAML identity provider from its metadata. Its certificates start active, as IAM
 * trusts every certificate of the metadata it is given.
 */
export async function addSamlProvider(store: Store, accountId: string, selfName: string, provider: NewSamlProvider): Promise<AddedSamlProvider> {
  if (!PROVIDER_NAME.test(provider.name)) throw new Error('a SAML provider name is 1 to 128 letters, digits, . _ or -');
  if (provider.name === selfName) throw new Error(`${selfName} is Trustbridge's own provider name and is registered already`);
  const metadata = readIdpMetadata(provider.metadataXml);
  if (metadata.signingCertificatesPem.length > MAX_SAML_PROVIDER_CERTIFICATES) {
    throw new Error(`the metadata names ${metadata.signingCertificatesPem.length} signing certificates; IAM allows at most ${MAX_SAML_PROVIDER_CERTIFICATES}`);
  }
  const createdAt = new Date();
  const certificates = metadata.signingCertificatesPem.map((pem) => providerCertificate(pem, { state: 'active', activateAt: null, retireAt: null }, createdAt));
  await store.samlProviders.add({ name: provider.name, entityId: metadata.entityId, certificates, replay: provider.replay, createdAt });
  return { arn: samlProviderArn(accountId, provider.name), entityId: metadata.entityId, thumbprints: certificates.map((c) => c.thumbprint) };
}

export interface NewProviderCertificate {
  readonly certificatePem: string;
  readonly state: Extract<PinState, 'pending' | 'active'>;
  readonly activateAt: Date | null;
  readonly retireAt: Date | null;
}

/**
 * Adds a signing certificate to a registered provider (a partner's next certificate ahead of its
 * rollover, typically pending); resolves to what was stored. The store checks that the provider
 * exists and is under IAM's limit in the same transaction as the insert: no read ahead of it, which
 * another node or CLI run could make stale.
 */
export async function addSamlProviderCertificate(store: Store, providerName: string, certificate: NewProviderCertificate): Promise<CertificatePin> {
  const pin = providerCertificate(certificate.certificatePem, certificate, new Date());
  let result: AddCertificateResult;
  try {
    result = await store.samlProviders.addCertificate(providerName, pin);
  } catch (err) {
    if (err instanceof AlreadyExistsError) throw new Error(`SAML provider ${providerName} has certificate ${pin.thumbprint} already`);
    throw err;
  }
  if (result.outcome === 'no-provider') throw new Error(`no SAML provider ${providerName}: see "sts aws provider list"`);
  if (result.outcome === 'limit-reached') {
    throw new Error(
      `SAML provider ${providerName} has ${result.certificates} certificates; IAM allows at most ${MAX_SAML_PROVIDER_CERTIFICATES}: ` +
        'remove a retired or revoked one first (sts aws provider cert remove)',
    );
  }
  return pin;
}

function providerCertificate(certificatePem: string, lifecycle: Pick<CertificatePin, 'state' | 'activateAt' | 'retireAt'>, createdAt: Date): CertificatePin {
  const thumbprint = certificateThumbprintSha256(new X509Certificate(certificatePem).raw);
  return { thumbprint, certificatePem, createdAt, stateChangedAt: createdAt, ...lifecycle };
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
