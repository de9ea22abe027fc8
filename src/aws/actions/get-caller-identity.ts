import { assumedRoleArn } from '../arn';
import { awsErrors } from '../aws-error';
import type { AwsAction } from './action';

/** GetCallerIdentity: who signed the request, read from its sealed session token (no store read). */
export const getCallerIdentity: AwsAction = {
  name: 'GetCallerIdentity',
  requiresSignature: true,
  async run({ caller }, facts) {
    if (!caller) throw awsErrors.missingAuthenticationToken();
    facts.principal = assumedRoleArn(caller.accountId, roleName(caller.roleArn), caller.roleSessionName);
    facts.accessKeyId = caller.accessKeyId;
    return {
      Arn: facts.principal,
      UserId: `${caller.roleId}:${caller.roleSessionName}`,
      Account: caller.accountId,
    };
  },
};

const roleName = (arn: string): string => arn.slice(arn.lastIndexOf('/') + 1);
