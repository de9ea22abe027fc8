// How each protocol's outcome reads as a request record: who, what was asked, what was answered.
// Only named fields are copied, so a secret added to an outcome later cannot reach the audit trail.

import type { AwsQueryOutcome } from '../aws/query/endpoint';
import type { WsTrustOutcome } from '../wstrust/endpoint';
import type { RequestRecord } from './request-record';

type ProtocolFields = Pick<
  RequestRecord,
  | 'api'
  | 'operation'
  | 'principal'
  | 'errorCode'
  | 'errorMessage'
  | 'issued'
  | 'requestParameters'
  | 'responseElements'
  | 'additionalEventData'
  | 'alerts'
>;

const ISSUING = new Set(['Issue', 'Renew']);

export function wsTrustRecordFields(o: WsTrustOutcome): ProtocolFields {
  const failed = o.fault !== undefined;
  return {
    api: 'wstrust',
    operation: o.operation ?? 'unknown',
    principal: o.subject ?? null,
    errorCode: o.fault?.code ?? null,
    errorMessage: o.fault?.reason ?? null,
    issued: !failed && o.operation !== undefined && ISSUING.has(o.operation) ? 1 : 0,
    requestParameters: defined({ appliesTo: o.appliesTo, targetTokenId: o.targetTokenId }),
    responseElements: failed ? null : defined({ tokenId: o.tokenId, status: o.status }),
    // CloudTrail's failed ConsoleLogin and AD FS's event 411 name the user tried; so does this, beside a null principal.
    // Only a refused login has one: every other request builds nothing here.
    additionalEventData:
      o.claimedUserName === undefined ? null : defined({ claimedUserName: o.claimedUserName.name, claimedUserNameLength: o.claimedUserName.truncatedFrom }),
    alerts: o.alerts ?? [],
  };
}

export function awsRecordFields(o: AwsQueryOutcome): ProtocolFields {
  const f = o.facts;
  const failed = o.error !== undefined || o.internalError !== undefined;
  const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  return {
    api: 'aws',
    operation: o.action ?? 'unknown',
    principal: text(f['principal']) ?? text(f['subject']) ?? null,
    errorCode: o.error?.code ?? (o.internalError !== undefined ? 'InternalFailure' : null),
    errorMessage: o.error?.message ?? null,
    issued: !failed && o.action === 'AssumeRoleWithSAML' ? 1 : 0,
    requestParameters: defined({
      roleArn: f['roleArn'],
      principalArn: f['principalArn'],
      durationSeconds: f['requestedDurationSeconds'],
      assertionId: f['assertionId'],
    }),
    responseElements: failed
      ? null
      : defined({ accessKeyId: f['accessKeyId'], roleSessionName: f['roleSessionName'], durationSeconds: f['durationSeconds'] }),
    additionalEventData: null,
    alerts: o.alerts,
  };
}

function defined(fields: Record<string, unknown>): Record<string, unknown> | null {
  const kept = Object.entries(fields).filter(([, v]) => v !== undefined);
  return kept.length === 0 ? null : Object.fromEntries(kept);
}
