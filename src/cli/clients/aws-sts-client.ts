import { request, type Agent } from 'node:https';
import { singleChild, textOf } from '../../xml/dom';
import { parseXmlSafely } from '../../xml/safe-parse';

const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const LIMITS = { maxBytes: 1024 * 1024, maxDepth: 16, maxElements: 500, maxAttributesPerElement: 8 };

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: string;
  readonly assumedRoleArn: string;
}

/** An AWS ErrorResponse, as the service sent it. */
export class AwsServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'AwsServiceError';
  }
}

/** Calls AssumeRoleWithSAML on an AWS-compatible STS (unsigned, as AWS takes it) and reads the credentials. */
export async function assumeRoleWithSaml(
  endpoint: string,
  agent: Agent,
  params: { roleArn: string; principalArn: string; samlAssertion: string; durationSeconds?: number },
): Promise<AwsCredentials> {
  const form = new URLSearchParams({
    Action: 'AssumeRoleWithSAML',
    Version: '2011-06-15',
    RoleArn: params.roleArn,
    PrincipalArn: params.principalArn,
    SAMLAssertion: params.samlAssertion,
    ...(params.durationSeconds === undefined ? {} : { DurationSeconds: String(params.durationSeconds) }),
  }).toString();
  const root = parseXmlSafely(await post(endpoint, agent, form), LIMITS).documentElement;
  if (!root) throw new Error('the STS sent an empty answer');
  if (root.localName === 'ErrorResponse') {
    const error = singleChild(root, STS_NS, 'Error');
    const field = (name: string): string => {
      const el = error && singleChild(error, STS_NS, name);
      return el ? textOf(el) : '';
    };
    throw new AwsServiceError(field('Code') || 'UnknownError', field('Message'));
  }
  const result = singleChild(root, STS_NS, 'AssumeRoleWithSAMLResult');
  const credentials = result && singleChild(result, STS_NS, 'Credentials');
  const user = result && singleChild(result, STS_NS, 'AssumedRoleUser');
  if (!credentials || !user) throw new Error('the STS answer holds no credentials');
  const value = (parent: Element, name: string): string => {
    const el = singleChild(parent, STS_NS, name);
    if (!el) throw new Error(`the STS answer has no ${name}`);
    return textOf(el);
  };
  return {
    accessKeyId: value(credentials, 'AccessKeyId'),
    secretAccessKey: value(credentials, 'SecretAccessKey'),
    sessionToken: value(credentials, 'SessionToken'),
    expiration: value(credentials, 'Expiration'),
    assumedRoleArn: value(user, 'Arn'),
  };
}

function post(endpoint: string, agent: Agent, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${endpoint.replace(/\/$/, '')}/`,
      { method: 'POST', agent, headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
