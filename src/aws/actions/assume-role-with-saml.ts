import type { AwsRoleRecord, Store } from '../../store/store';
import { MalformedTokenError } from '../../saml/token-view';
import { verifySaml2ResponseOrAssertion, type VerifiedSamlAssertion } from '../../saml/verify-response';
import { decodeStrictBase64 } from '../../xml/base64';
import { parseXmlSafely, XmlRejectedError, type XmlLimits } from '../../xml/safe-parse';
import { SignatureRejectedError } from '../../xml/verify-signature';
import { assumedRoleArn, parseIamArn } from '../arn';
import { AwsError, awsErrors } from '../aws-error';
import type { SessionTokenSealer } from '../credentials/session-token';
import { newTemporaryCredentials } from '../credentials/temporary-credentials';
import { readFederatedAssertion, type FederatedAssertion } from '../federated-assertion';
import { evaluateTrustPolicy } from '../policy/evaluate-trust-policy';
import { parsePolicyDocument } from '../policy/parse-policy';
import type { TrustPolicyDocument } from '../policy/policy-document';
import { checkSessionPolicyParameter, packedPolicySizePercent } from '../policy/session-policy-size';
import { memberList, optionalInteger, requiredString } from '../query/parameter-checks';
import type { SamlProvider, SamlProviderDirectory } from '../saml-provider-directory';
import { trustPolicyContext } from '../trust-context';
import type { ActionFacts, ActionRequest, AwsAction } from './action';
import type { TokenAlert } from '../../core/token-forensics';
import { ownSignatureVerdict, verifiedByWithheldKey, type OwnSignatureLookups } from '../../core/own-signature-verdict';
import { NOT_REGISTERED, requireProviderCertificatesAccepted } from '../provider-certificate-check';

export interface AssumeRoleWithSamlOptions {
  readonly store: Store;
  readonly accountId: string;
  readonly providers: SamlProviderDirectory;
  readonly sealer: SessionTokenSealer;
  readonly xmlLimits: XmlLimits;
  readonly clockSkewMs: number;
  readonly now: () => Date;
}

const DEFAULT_DURATION_SECONDS = 3600;
const POLICY_ARN = /^arn:aws:iam::(aws|\d{12}):policy\/[\w+=,.@/-]{1,512}$/;
// A role's trust policy is parsed once per distinct text, not per call; bounded, as roles are few.
const parsedTrustPolicies = new Map<string, TrustPolicyDocument>();
const MAX_PARSED_TRUST_POLICIES = 256;

/** InvalidIdentityToken for a signature by a key the provider does not have (yet, in the cached list: a fresh one may have it). */
class UnknownSignerError extends AwsError {
  constructor(
    message: string,
    detail: string,
    /** The thumbprint of the certificate KeyInfo named, if it named one. */
    readonly keyInfoThumbprint: string | undefined,
  ) {
    super('InvalidIdentityToken', 400, message, detail);
  }
}

const notAuthorized = (detail: string) => awsErrors.accessDenied('Not authorized to perform sts:AssumeRoleWithSAML', detail);
const invalidToken = (message: string, detail?: string) => new AwsError('InvalidIdentityToken', 400, message, detail);

/** AssumeRoleWithSAML: a verified SAML assertion and a role's trust policy in, temporary credentials out. */
export function assumeRoleWithSaml(options: AssumeRoleWithSamlOptions): AwsAction {
  const ownLookups = ownIssuanceLookups(options.store);
  return {
    name: 'AssumeRoleWithSAML',
    requiresSignature: false,
    async run(request, facts) {
      const params = readParameters(request);
      facts.roleArn = params.roleArn;
      facts.principalArn = params.principalArn;
      const now = options.now();

      const role = await findRole(options, params.roleArn);
      const provider = await findProvider(options, params.principalArn);
      const verified = await verifyWithFreshKeys(options, params.samlAssertion, provider);
      facts.assertionId = verified.token.id;
      facts.keyThumbprint = verified.keyThumbprint;
      if (provider.isSelf) await requireOwnIssuance(ownLookups, verified, now, request.raiseAlert);
      else {
        const signers = [verified.keyThumbprint, ...(verified.responseKeyThumbprint === undefined ? [] : [verified.responseKeyThumbprint])];
        await requireProviderCertificatesAccepted(
          options.store,
          provider,
          { token: verified.token, signerThumbprints: signers },
          now,
          options.clockSkewMs,
          request.raiseAlert,
        );
      }
      const assertion = readFederatedAssertion(verified, provider, options.accountId, now, options.clockSkewMs);
      facts.subject = assertion.subject;
      facts.roleSessionName = assertion.roleSessionName;

      if (!assertion.roles.some((r) => r.roleArn === params.roleArn && r.providerArn === params.principalArn)) {
        throw notAuthorized('the assertion\'s Role attribute does not pair this RoleArn with this PrincipalArn');
      }
      authorise(role, provider, assertion, request, now, params.principalArn);

      const durationSeconds = sessionSeconds(params.durationSeconds, role, assertion, now);
      if (params.policy !== undefined) {
        checkSessionPolicyParameter(params.policy);
        parsePolicyDocument(params.policy, 'session');
      }
      const packedPolicySize =
        params.policy !== undefined || params.policyArns.length > 0 || assertion.tags.length > 0
          ? packedPolicySizePercent(params.policy, assertion.tags)
          : undefined;

      await refuseReplay(options.store, provider, assertion, params.roleArn, facts);

      const expiration = new Date(now.getTime() + durationSeconds * 1000);
      const { claims, sessionToken } = newTemporaryCredentials(options.sealer, {
        accountId: options.accountId,
        roleArn: params.roleArn,
        roleId: role.roleId,
        roleSessionName: assertion.roleSessionName,
        providerArn: provider.arn,
        issuedAt: now,
        expiration,
        sourceIdentity: assertion.sourceIdentity ?? null,
        tags: assertion.tags,
        transitiveTagKeys: assertion.transitiveTagKeys,
        sessionPolicy: params.policy ?? null,
        policyArns: params.policyArns,
      });
      facts.accessKeyId = claims.accessKeyId;
      facts.durationSeconds = durationSeconds;
      return {
          Credentials: {
            AccessKeyId: claims.accessKeyId,
            SecretAccessKey: claims.secretAccessKey,
            SessionToken: sessionToken,
            Expiration: isoSeconds(expiration),
          },
          AssumedRoleUser: {
            AssumedRoleId: `${role.roleId}:${assertion.roleSessionName}`,
            Arn: assumedRoleArn(options.accountId, role.name, assertion.roleSessionName),
          },
          PackedPolicySize: packedPolicySize,
          Subject: assertion.subject,
          SubjectType: assertion.subjectType,
          Issuer: assertion.issuer,
          Audience: assertion.recipient,
          NameQualifier: assertion.nameQualifier,
          SourceIdentity: assertion.sourceIdentity,
      };
    },
  };
}

interface AssumeRoleWithSamlParameters {
  readonly roleArn: string;
  readonly principalArn: string;
  readonly samlAssertion: string;
  readonly durationSeconds: number | undefined;
  readonly policy: string | undefined;
  readonly policyArns: readonly string[];
}

function readParameters({ params }: ActionRequest): AssumeRoleWithSamlParameters {
  const policyArns = memberList(params, 'PolicyArns', 'arn', 10);
  for (const arn of policyArns) {
    if (!POLICY_ARN.test(arn)) throw awsErrors.invalidParameterValue('Each PolicyArns member must be an IAM managed policy ARN.');
  }
  return {
    roleArn: requiredString(params, 'RoleArn', 20, 2048),
    principalArn: requiredString(params, 'PrincipalArn', 20, 2048),
    samlAssertion: requiredString(params, 'SAMLAssertion', 4, 100000),
    durationSeconds: optionalInteger(params, 'DurationSeconds', 900, 43200),
    policy: params.get('Policy'),
    policyArns,
  };
}

async function findRole(options: AssumeRoleWithSamlOptions, arn: string): Promise<AwsRoleRecord> {
  const parsed = parseIamArn(arn);
  if (!parsed || parsed.resourceType !== 'role') throw awsErrors.validationError('RoleArn is not a valid IAM role ARN.');
  // Roles here have no IAM path, so an ARN with one names a role that does not exist.
  const role = parsed.accountId === options.accountId && parsed.path === '/' ? await options.store.awsRoles.get(parsed.name) : undefined;
  if (!role) throw notAuthorized(`no role ${arn} in account ${options.accountId}`);
  return role;
}

async function findProvider(options: AssumeRoleWithSamlOptions, arn: string): Promise<SamlProvider> {
  const parsed = parseIamArn(arn);
  if (!parsed || parsed.resourceType !== 'saml-provider') {
    throw awsErrors.validationError('PrincipalArn is not a valid IAM SAML provider ARN.');
  }
  const provider = parsed.accountId === options.accountId ? await options.providers.byName(parsed.name) : undefined;
  if (!provider) throw invalidToken('The SAML provider named by PrincipalArn does not exist in this account.');
  return provider;
}

function verifyAssertion(
  base64: string,
  provider: SamlProvider,
  limits: XmlLimits,
): VerifiedSamlAssertion {
  const bytes = decodeStrictBase64(base64);
  if (!bytes) throw invalidToken('SAMLAssertion is not valid base64.');
  let root: Element | undefined;
  try {
    const document = parseXmlSafely(bytes, limits);
    if (!document.documentElement) throw new MalformedTokenError('the SAML document is empty');
    root = document.documentElement;
    return verifySaml2ResponseOrAssertion(root, provider.trustedKeys);
  } catch (err) {
    if (err instanceof XmlRejectedError) throw invalidToken(`The SAML document was refused: ${err.message}.`);
    // Our own provider: one of our other keys may have signed it; requireOwnIssuance then reads the
    // key's state in the store (a revoked key is an alert; one promoted meanwhile is fine).
    if (err instanceof SignatureRejectedError && err.rejection === 'untrusted-key' && root) {
      const parsed = root;
      const byWithheld = verifiedByWithheldKey(provider.withheldKeys, (keys) => verifySaml2ResponseOrAssertion(parsed, keys));
      if (byWithheld) return byWithheld;
    }
    if (err instanceof SignatureRejectedError) {
      const detail = `signature rejected (${err.rejection}): ${err.message}`;
      if (err.rejection === 'untrusted-key') {
        throw new UnknownSignerError(NOT_REGISTERED, detail, err.keyInfoThumbprint);
      }
      throw invalidToken(`The SAML assertion's signature is not valid: ${err.message}.`, detail);
    }
    if (err instanceof MalformedTokenError) throw invalidToken(`The SAML assertion is malformed: ${err.message}.`);
    throw err;
  }
}

/**
 * Providers' keys are listed from a cache a few seconds old: a signature by a key the list lacks (one
 * of ours generated or promoted moments ago, or a certificate just added to a provider, maybe on
 * another node) is checked once more against a fresh list, as Validate does, so a genuine token
 * verifies and a forgery with a new key of ours is named.
 */
async function verifyWithFreshKeys(options: AssumeRoleWithSamlOptions, base64: string, provider: SamlProvider): Promise<VerifiedSamlAssertion> {
  try {
    return verifyAssertion(base64, provider, options.xmlLimits);
  } catch (err) {
    if (!(err instanceof UnknownSignerError)) throw err;
    const fresh = await options.providers.afterMiss(provider, err.keyInfoThumbprint);
    if (!fresh) throw err;
    return verifyAssertion(base64, fresh, options.xmlLimits);
  }
}

/** What the own-issuance check reads, from the store: built once per action, not per request. */
function ownIssuanceLookups(store: Store): OwnSignatureLookups {
  return {
    // The provider's key list may be seconds old: the store's record decides (a revocation bites at once).
    signingKey: (thumbprint) => store.signingKeys.get(thumbprint),
    ledgerEntry: (tokenId) => store.ledger.get(tokenId),
    // The ledger records the relying party's AppliesTo; its tokens may carry another Audience (AWS's sign-in URL).
    tokenAudience: async (appliesTo) => (await store.relyingParties.get(appliesTo))?.audience ?? undefined,
  };
}

/**
 * Trustbridge's own assertions must be in its issuance ledger with the digest they were signed with:
 * one signed with our key but never issued is a forgery made with a stolen key (Golden SAML).
 */
async function requireOwnIssuance(lookups: OwnSignatureLookups, verified: VerifiedSamlAssertion, now: Date, raiseAlert: (alert: TokenAlert) => void): Promise<void> {
  const verdict = await ownSignatureVerdict(
    { token: verified.token, keyThumbprint: verified.keyThumbprint, digest: verified.assertionDigest },
    lookups,
    now,
  );
  if (verdict.issued) {
    if (verdict.ledger.cancelledAt !== null) throw invalidToken('The SAML assertion was cancelled.');
    return;
  }
  raiseAlert(verdict.alert);
  if (verdict.refusal === 'withheld-key') {
    throw invalidToken('The SAML assertion is signed by a key this STS no longer signs with.', `signing key state ${verdict.storedKeyState ?? 'unknown'}`);
  }
  throw invalidToken('The SAML assertion was not issued by this STS.', 'signed by our key but not in the issuance ledger');
}

function authorise(
  role: AwsRoleRecord,
  provider: SamlProvider,
  assertion: FederatedAssertion,
  request: ActionRequest,
  now: Date,
  principalArn: string,
): void {
  let policy = parsedTrustPolicies.get(role.trustPolicy);
  if (!policy) {
    policy = parsePolicyDocument(role.trustPolicy, 'trust');
    if (parsedTrustPolicies.size >= MAX_PARSED_TRUST_POLICIES) parsedTrustPolicies.clear();
    parsedTrustPolicies.set(role.trustPolicy, policy);
  }
  const actions = [
    'sts:AssumeRoleWithSAML',
    ...(assertion.tags.length > 0 ? ['sts:TagSession'] : []),
    ...(assertion.sourceIdentity !== undefined ? ['sts:SetSourceIdentity'] : []),
  ];
  const context = trustPolicyContext(assertion, { now, sourceIp: request.sourceIp, userAgent: request.userAgent, principalArn });
  const decision = evaluateTrustPolicy(policy, { principal: { federated: provider.arn }, actions, context });
  if (decision.effect === 'explicit-deny') throw notAuthorized(`explicitly denied by the trust policy of ${role.name} for ${decision.action}`);
  if (decision.effect === 'implicit-deny') throw notAuthorized(`the trust policy of ${role.name} does not allow ${decision.action}`);
}

/** DurationSeconds (default one hour) within the role's maximum; the assertion may only shorten it. */
function sessionSeconds(requested: number | undefined, role: AwsRoleRecord, assertion: FederatedAssertion, now: Date): number {
  const seconds = requested ?? DEFAULT_DURATION_SECONDS;
  if (seconds > role.maxSessionDurationSeconds) {
    throw awsErrors.validationError('The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
  }
  let limit = Math.min(seconds, assertion.sessionDurationSeconds ?? seconds);
  if (assertion.sessionNotOnOrAfter) {
    // Rounded up: the session may end with the IdP's, never yield credentials that are already over.
    limit = Math.min(limit, Math.ceil((assertion.sessionNotOnOrAfter.getTime() - now.getTime()) / 1000));
  }
  return limit;
}

async function refuseReplay(
  store: Store,
  provider: SamlProvider,
  assertion: FederatedAssertion,
  roleArn: string,
  facts: ActionFacts,
): Promise<void> {
  if (provider.replay === 'off') return;
  const key = provider.replay === 'once' ? assertion.assertionId : `${assertion.assertionId} ${roleArn}`;
  if (!(await store.replay.rememberOnce(`aws-saml:${provider.name}`, key, assertion.usableUntil))) {
    facts.replay = true;
    throw invalidToken(
      provider.replay === 'once'
        ? 'This SAML assertion has already been exchanged for credentials.'
        : 'This SAML assertion has already been exchanged for credentials for this role.',
    );
  }
}

// AWS writes credential expirations as ISO 8601 without fractional seconds.
const isoSeconds = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
