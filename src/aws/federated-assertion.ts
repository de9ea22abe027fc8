import { createHash } from 'node:crypto';
import { AWS_AUDIENCES, AWS_SAML, isAwsSigninRecipient } from '../core/aws-saml';
import type { SamlAttribute } from '../saml/assertion-content';
import { addressedTo } from '../saml/token-view';
import type { VerifiedSamlAssertion } from '../saml/verify-response';
import { AwsError } from './aws-error';
import { parseRoleAttributeValue } from './role-claim';
import type { SamlProvider } from './saml-provider-directory';

/** AWS's rule: a SAML response is redeemed within five minutes of its IssueInstant. */
const MAX_RESPONSE_AGE_MS = 5 * 60 * 1000;
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
const NAME_ID_FORMAT_PREFIX = 'urn:oasis:names:tc:SAML:2.0:nameid-format:';
const UNSPECIFIED_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified';
// IAM's patterns for a role session name and a source identity, and its session-tag limits.
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;
const MAX_SESSION_TAGS = 50;

export interface RolePair {
  readonly roleArn: string;
  readonly providerArn: string;
}

export interface SessionTag {
  readonly key: string;
  readonly value: string;
}

/** What AWS takes from a verified assertion: who, for which roles, for how long, with which tags. */
export interface FederatedAssertion {
  readonly assertionId: string;
  readonly issuer: string;
  readonly subject: string;
  readonly subjectType: string;
  /** The bearer confirmation's Recipient: AWS reports it as the Audience and as SAML:aud. */
  readonly recipient: string;
  readonly nameQualifier: string;
  readonly roles: readonly RolePair[];
  readonly roleSessionName: string;
  readonly sessionDurationSeconds: number | undefined;
  readonly sessionNotOnOrAfter: Date | undefined;
  readonly tags: readonly SessionTag[];
  readonly transitiveTagKeys: readonly string[];
  readonly sourceIdentity: string | undefined;
  readonly attributes: readonly SamlAttribute[];
  /** Until when the assertion could be presented: how long a replay must be remembered. */
  readonly usableUntil: Date;
}

const invalidToken = (message: string, detail?: string) => new AwsError('InvalidIdentityToken', 400, message, detail);
const expiredToken = (message: string) => new AwsError('ExpiredTokenException', 400, message);

/** Applies AWS's rules for a SAML assertion to one whose signature has been verified. */
export function readFederatedAssertion(
  verified: VerifiedSamlAssertion,
  provider: SamlProvider,
  accountId: string,
  now: Date,
  clockSkewMs: number,
): FederatedAssertion {
  const { token, bearer } = verified;
  const t = now.getTime();
  if (token.issuer !== provider.entityId) {
    throw invalidToken('The Issuer of the SAML assertion does not match the SAML provider named by PrincipalArn.');
  }
  // Only signed instants count: an unsigned Response's IssueInstant is the sender's say-so.
  const issueInstants = [token.issueInstant, verified.responseIssueInstant].filter((d): d is Date => d !== undefined);
  if (issueInstants.some((d) => d.getTime() - clockSkewMs > t)) throw invalidToken('The SAML response was issued in the future (IssueInstant).');
  if (token.notBefore && token.notBefore.getTime() - clockSkewMs > t) throw invalidToken('The SAML assertion is not yet valid (Conditions NotBefore).');
  if (token.notOnOrAfter && token.notOnOrAfter.getTime() <= t - clockSkewMs) throw expiredToken('The SAML assertion has expired (Conditions NotOnOrAfter).');
  // AWS's five minutes, with no skew added on the old side.
  if (issueInstants.some((d) => t - d.getTime() > MAX_RESPONSE_AGE_MS)) throw expiredToken('Token must be redeemed within 5 minutes of issuance');
  if (!addressedTo(token, AWS_AUDIENCES)) {
    throw invalidToken(`The SAML assertion's Audience must be ${AWS_AUDIENCES.join(' or ')}.`);
  }

  const bearers = bearer.subjectConfirmations.filter((c) => c.method === BEARER);
  if (bearers.length !== 1) throw invalidToken('The SAML assertion must have exactly one bearer SubjectConfirmation.');
  const confirmation = bearers[0]!;
  if (confirmation.recipient === undefined || !isAwsSigninRecipient(confirmation.recipient)) {
    throw invalidToken(`The bearer SubjectConfirmationData's Recipient must be ${AWS_SAML.signinUrl}.`);
  }
  if (!confirmation.notOnOrAfter) throw invalidToken('The bearer SubjectConfirmationData must have NotOnOrAfter.');
  if (confirmation.notOnOrAfter.getTime() <= t - clockSkewMs) throw expiredToken('The SAML assertion has expired (SubjectConfirmationData NotOnOrAfter).');
  if (confirmation.notBefore && confirmation.notBefore.getTime() - clockSkewMs > t) {
    throw invalidToken('The SAML assertion is not yet valid (SubjectConfirmationData NotBefore).');
  }
  if (bearer.sessionNotOnOrAfter && bearer.sessionNotOnOrAfter.getTime() <= t) {
    throw expiredToken('The SAML assertion\'s session has ended (SessionNotOnOrAfter).');
  }

  const attributes = token.attributes;
  const roleSessionName = singleValue(attributes, AWS_SAML.roleSessionName);
  if (roleSessionName === undefined) throw invalidToken('RoleSessionName is required in the SAML assertion (attribute ' + AWS_SAML.roleSessionName + ').');
  if (!SESSION_NAME.test(roleSessionName)) {
    throw invalidToken('The RoleSessionName attribute must be 2 to 64 characters of letters, digits and +=,.@_-.');
  }
  const tags = sessionTags(attributes);
  const transitiveTagKeys = allValues(attributes, AWS_SAML.transitiveTagKeys);
  const tagKeys = new Set(tags.map((tag) => tag.key.toLowerCase()));
  if (transitiveTagKeys.some((k) => !tagKeys.has(k.toLowerCase()))) {
    throw invalidToken('Every TransitiveTagKeys value must name a PrincipalTag of the assertion.');
  }
  const sourceIdentity = singleValue(attributes, AWS_SAML.sourceIdentity);
  if (sourceIdentity !== undefined && (!SESSION_NAME.test(sourceIdentity) || sourceIdentity.toLowerCase().startsWith('aws:'))) {
    throw invalidToken('The SourceIdentity attribute must be 2 to 64 characters of letters, digits and +=,.@_- and not begin with aws:.');
  }

  const usableUntil = Math.min(
    confirmation.notOnOrAfter.getTime(),
    token.notOnOrAfter?.getTime() ?? Number.POSITIVE_INFINITY,
  );
  return {
    assertionId: token.id,
    issuer: token.issuer,
    subject: token.nameId,
    subjectType: subjectType(token.nameIdFormat),
    recipient: confirmation.recipient,
    nameQualifier: createHash('sha1').update(`${token.issuer}${accountId}/${provider.name}`).digest('base64'),
    roles: rolePairs(attributes),
    roleSessionName,
    sessionDurationSeconds: sessionDuration(attributes),
    sessionNotOnOrAfter: bearer.sessionNotOnOrAfter,
    tags,
    transitiveTagKeys,
    sourceIdentity,
    attributes,
    usableUntil: new Date(usableUntil + clockSkewMs),
  };
}

/** AWS's SubjectType: the NameID Format with the SAML 2.0 prefix removed (persistent, transient), others as they are. */
function subjectType(format: string | undefined): string {
  const f = format ?? UNSPECIFIED_FORMAT;
  return f.startsWith(NAME_ID_FORMAT_PREFIX) ? f.slice(NAME_ID_FORMAT_PREFIX.length) : f;
}

function allValues(attributes: readonly SamlAttribute[], name: string): string[] {
  return attributes.filter((a) => a.name === name).flatMap((a) => a.values);
}

function singleValue(attributes: readonly SamlAttribute[], name: string): string | undefined {
  const values = allValues(attributes, name);
  if (values.length > 1) throw invalidToken(`The attribute ${name} must have one value.`);
  return values[0];
}

/** Role values are "role ARN,provider ARN" in either order; malformed pairs name no role. */
function rolePairs(attributes: readonly SamlAttribute[]): RolePair[] {
  return allValues(attributes, AWS_SAML.role).flatMap((value) => parseRoleAttributeValue(value) ?? []);
}

function sessionDuration(attributes: readonly SamlAttribute[]): number | undefined {
  const text = singleValue(attributes, AWS_SAML.sessionDuration);
  if (text === undefined) return undefined;
  const seconds = /^\d{1,6}$/.test(text) ? Number(text) : NaN;
  if (!(seconds >= 900 && seconds <= 43200)) throw invalidToken('The SessionDuration attribute must be whole seconds from 900 to 43200.');
  return seconds;
}

function sessionTags(attributes: readonly SamlAttribute[]): SessionTag[] {
  const tags: SessionTag[] = [];
  const seen = new Set<string>();
  for (const attribute of attributes) {
    if (!attribute.name.startsWith(AWS_SAML.principalTagPrefix)) continue;
    const key = attribute.name.slice(AWS_SAML.principalTagPrefix.length);
    if (attribute.values.length !== 1) throw invalidToken(`The session tag ${TAG_KEY.test(key) ? key : ''} must have one value.`);
    const value = attribute.values[0] as string;
    if (!TAG_KEY.test(key) || !TAG_VALUE.test(value)) throw invalidToken('A PrincipalTag attribute has a key or value that IAM does not allow.');
    // Tag keys are case-insensitive in IAM: two spellings of one key are one tag twice.
    if (seen.has(key.toLowerCase())) throw invalidToken(`The session tag ${key} appears more than once.`);
    seen.add(key.toLowerCase());
    tags.push({ key, value });
  }
  if (tags.length > MAX_SESSION_TAGS) throw invalidToken(`A session may carry at most ${MAX_SESSION_TAGS} tags.`);
  return tags;
}
