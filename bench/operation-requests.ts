import { AWS_SAML } from '../src/core/aws-saml';
import {
  ASSUME_ROLE_SUCCESS_MARKERS,
  AWS_QUERY_PATH,
  buildAssumeRoleWithSamlBody,
  CALLER_IDENTITY_SUCCESS_MARKERS,
  FORM_CONTENT_TYPE,
  readCredentials,
  signedGetCallerIdentity,
} from './aws-requests';
import type { BenchInstance } from './instance';
import {
  buildIssueRequest,
  buildRenewRequest,
  buildValidateRequest,
  cutAssertion,
  ISSUE_PATH,
  RENEW_SUCCESS_MARKERS,
  SUCCESS_MARKER,
  VALID_STATUS_MARKER,
  type CallerInput,
} from './issue-request';
import type { BenchOperation } from './report';
import { loopbackTarget, postOnce, type BenchRequest, type Target } from './request-sender';

// The request each benchmarked operation replays against one running server, built once up front
// so the load generators only write Buffers.

export interface OperationRequests<Op extends BenchOperation> {
  readonly requests: Readonly<Record<Op, BenchRequest>>;
  /** The assertion Validate and Renew present, when either was asked for. */
  readonly presentedAssertion: string | undefined;
}

/** The instance's user asking the server at `port` for a token for the instance's relying party. */
export function issueRequest(port: number, inst: BenchInstance): BenchRequest {
  return soapRequest(buildIssueRequest({ ...callerOf(port, inst), appliesTo: inst.appliesTo }), [SUCCESS_MARKER]);
}

/**
 * The requests of `operations`. Validate and Renew present one token this server issued; the AWS
 * operations exchange one token issued for urn:amazon:webservices, and GetCallerIdentity is signed
 * by the credentials of one such exchange. Only the tokens the operations need are fetched.
 */
export async function operationRequests<Op extends BenchOperation>(port: number, inst: BenchInstance, operations: readonly Op[]): Promise<OperationRequests<Op>> {
  const wanted = (op: BenchOperation): boolean => (operations as readonly BenchOperation[]).includes(op);
  const caller = callerOf(port, inst);
  const target = loopbackTarget(port, inst.tlsCertificatePem);
  const issue = issueRequest(port, inst);
  const requests: Partial<Record<BenchOperation, BenchRequest>> = { Issue: issue };
  let presentedAssertion: string | undefined;
  if (wanted('Validate') || wanted('Renew')) {
    presentedAssertion = await issueOneToken(target, issue.body);
    requests.Validate = soapRequest(buildValidateRequest(caller, presentedAssertion), [VALID_STATUS_MARKER]);
    requests.Renew = soapRequest(buildRenewRequest(caller, presentedAssertion), RENEW_SUCCESS_MARKERS);
  }
  if (wanted('AssumeRoleWithSAML') || wanted('GetCallerIdentity')) {
    const awsToken = await issueOneToken(target, buildIssueRequest({ ...caller, appliesTo: AWS_SAML.appliesTo }));
    const assumeRole: BenchRequest = {
      path: AWS_QUERY_PATH,
      headers: { 'content-type': FORM_CONTENT_TYPE },
      body: buildAssumeRoleWithSamlBody(awsToken, inst.awsRoleArn, inst.awsProviderArn),
      markers: ASSUME_ROLE_SUCCESS_MARKERS,
    };
    requests.AssumeRoleWithSAML = assumeRole;
    if (wanted('GetCallerIdentity')) requests.GetCallerIdentity = await getCallerIdentityRequest(target, assumeRole);
  }
  return { requests: requests as Record<Op, BenchRequest>, presentedAssertion };
}

/** GetCallerIdentity signed with the credentials `assumeRole` returns. */
async function getCallerIdentityRequest(target: Target, assumeRole: BenchRequest): Promise<BenchRequest> {
  const reply = await postOnce(target, assumeRole);
  if (reply.status !== 200) throw new Error(`AssumeRoleWithSAML for the GetCallerIdentity credentials failed with HTTP ${reply.status}: ${reply.body.slice(0, 500)}`);
  const signed = await signedGetCallerIdentity(target.port, readCredentials(reply.body));
  return { path: AWS_QUERY_PATH, headers: signed.headers, body: signed.body, markers: CALLER_IDENTITY_SUCCESS_MARKERS };
}

/** One Issue outside the measured runs; its assertion, exactly as the server sent it. */
async function issueOneToken(target: Target, issueBody: Buffer): Promise<string> {
  const reply = await postOnce(target, { path: ISSUE_PATH, body: issueBody });
  if (reply.status !== 200) throw new Error(`the Issue for a token to present failed with HTTP ${reply.status}: ${reply.body.slice(0, 500)}`);
  return cutAssertion(reply.body);
}

function callerOf(port: number, inst: BenchInstance): CallerInput {
  return { to: `https://localhost:${port}${ISSUE_PATH}`, userName: inst.userName, password: inst.password };
}

function soapRequest(body: Buffer, markers: readonly Buffer[]): BenchRequest {
  return { path: ISSUE_PATH, body, markers };
}
