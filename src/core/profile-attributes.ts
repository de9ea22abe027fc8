import type { AuthenticatedSubject } from '../identity/subject';
import type { RelyingPartyRecord } from '../store/store';
import { AWS_SAML } from './aws-saml';
import type { ReleasedAttribute } from './released-claims';

/**
 * Attributes a relying-party profile adds beyond the released claims. AWS requires RoleSessionName
 * (the user's name, which AWS shows in CloudTrail) and takes SessionDuration from the trust's setting.
 */
export function profileAttributes(rp: RelyingPartyRecord, subject: AuthenticatedSubject): ReleasedAttribute[] {
  if (rp.profile !== 'aws') return [];
  return [
    { name: AWS_SAML.roleSessionName, values: [subject.name] },
    ...(rp.sessionDurationSeconds === null ? [] : [{ name: AWS_SAML.sessionDuration, values: [String(rp.sessionDurationSeconds)] }]),
  ];
}
