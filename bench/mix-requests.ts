import { AWS_SAML } from '../src/core/aws-saml';
import { ASSUME_ROLE_SUCCESS_MARKERS, AWS_QUERY_PATH, buildAssumeRoleWithSamlBody, FORM_CONTENT_TYPE } from './aws-requests';
import type { BenchInstance } from './instance';
import { buildIssueRequest, buildValidateRequest, cutAssertion, ISSUE_PATH, SUCCESS_MARKER, VALID_STATUS_MARKER } from './issue-request';
import { postOnce } from './load';
import type { MixRequest } from './open-loop';

// The sustained load's mix: WS-Trust 1.3 Issue, Validate of a token this server issued, and
// AssumeRoleWithSAML with one of its assertions (the bench instance turns AWS replay protection off,
// as AWS itself has none, so one assertion serves the whole run). Bodies are built once.

export type MixOperation = 'Issue' | 'Validate' | 'AssumeRoleWithSAML';
export const MIX_OPERATIONS: readonly MixOperation[] = ['Issue', 'Validate', 'AssumeRoleWithSAML'];
/** Present in each Issue reply's assertion, as its signature. */
export const SIGNATURE_VALUE_MARKER = Buffer.from('SignatureValue>');

const HOST = '127.0.0.1';

/** The three requests, each weighted 1 unless `weights` says otherwise; fetches the two tokens they present. */
export async function buildMix(port: number, inst: BenchInstance, weights: Partial<Record<MixOperation, number>> = {}): Promise<MixRequest[]> {
  const caller = { to: `https://localhost:${port}${ISSUE_PATH}`, userName: inst.userName, password: inst.password };
  const issueBody = buildIssueRequest({ ...caller, appliesTo: inst.appliesTo });
  const token = await issueOneToken(port, inst, issueBody);
  const awsToken = await issueOneToken(port, inst, buildIssueRequest({ ...caller, appliesTo: AWS_SAML.appliesTo }));
  const weight = (op: MixOperation): number => weights[op] ?? 1;
  return [
    { operation: 'Issue', path: ISSUE_PATH, body: issueBody, markers: [SUCCESS_MARKER, SIGNATURE_VALUE_MARKER], weight: weight('Issue') },
    { operation: 'Validate', path: ISSUE_PATH, body: buildValidateRequest(caller, token), markers: [VALID_STATUS_MARKER], weight: weight('Validate') },
    {
      operation: 'AssumeRoleWithSAML',
      path: AWS_QUERY_PATH,
      headers: { 'content-type': FORM_CONTENT_TYPE },
      body: buildAssumeRoleWithSamlBody(awsToken, inst.awsRoleArn, inst.awsProviderArn),
      markers: ASSUME_ROLE_SUCCESS_MARKERS,
      weight: weight('AssumeRoleWithSAML'),
    },
  ].filter((m) => m.weight > 0);
}

/** One Issue outside the run; its assertion exactly as the server sent it. */
async function issueOneToken(port: number, inst: BenchInstance, body: Buffer): Promise<string> {
  const reply = await postOnce({ host: HOST, port, path: ISSUE_PATH, body, ca: inst.tlsCertificatePem, requestTimeoutMs: 10_000 });
  if (reply.status !== 200) throw new Error(`an Issue for the mix's tokens failed with HTTP ${reply.status}: ${reply.body.slice(0, 500)}`);
  return cutAssertion(reply.body);
}
