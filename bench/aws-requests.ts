import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

// The AWS Query API requests the benchmark replays: AssumeRoleWithSAML with one assertion (the
// bench instance turns replay protection off for its own provider, as AWS itself behaves), and
// GetCallerIdentity signed once with SigV4 by the SDK's own signer (valid for 15 minutes, and AWS
// accepts a signed request more than once within that window).

export const AWS_QUERY_PATH = '/';
export const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded; charset=utf-8';
export const ASSUME_ROLE_SUCCESS_MARKERS: readonly Buffer[] = [Buffer.from('<AssumeRoleWithSAMLResult>'), Buffer.from('<AccessKeyId>ASIA')];
export const CALLER_IDENTITY_SUCCESS_MARKERS: readonly Buffer[] = [Buffer.from('<GetCallerIdentityResult>')];

export interface BenchCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
}

export function buildAssumeRoleWithSamlBody(assertion: string, roleArn: string, principalArn: string): Buffer {
  return Buffer.from(
    new URLSearchParams({
      Action: 'AssumeRoleWithSAML',
      Version: '2011-06-15',
      RoleArn: roleArn,
      PrincipalArn: principalArn,
      SAMLAssertion: Buffer.from(assertion, 'utf8').toString('base64'),
    }).toString(),
  );
}

/** The credentials of an AssumeRoleWithSAML reply (read with patterns: the body is ours and small). */
export function readCredentials(reply: string): BenchCredentials {
  const field = (name: string): string => {
    const value = new RegExp(`<${name}>([^<]+)</${name}>`).exec(reply)?.[1];
    if (value === undefined) throw new Error(`the AssumeRoleWithSAML reply has no ${name}: ${reply.slice(0, 300)}`);
    return value;
  };
  return { accessKeyId: field('AccessKeyId'), secretAccessKey: field('SecretAccessKey'), sessionToken: field('SessionToken') };
}

/** GetCallerIdentity signed by @smithy/signature-v4 for `host:port`: its headers and body. */
export async function signedGetCallerIdentity(port: number, credentials: BenchCredentials): Promise<{ headers: Record<string, string>; body: Buffer }> {
  const body = 'Action=GetCallerIdentity&Version=2011-06-15';
  const signer = new SignatureV4({ service: 'sts', region: 'us-east-1', credentials, sha256: Hash.bind(null, 'sha256') });
  const signed = await signer.sign(
    new HttpRequest({
      method: 'POST',
      protocol: 'https:',
      hostname: 'localhost',
      port,
      path: AWS_QUERY_PATH,
      headers: { host: `localhost:${port}`, 'content-type': FORM_CONTENT_TYPE },
      body,
    }),
  );
  return { headers: signed.headers, body: Buffer.from(body) };
}
