import { strict as assert } from 'node:assert';
import { httpsRequest } from '../https-client';
import { recordLogs } from '../observed-traffic';
import { exchange, mintAssertion, startAwsTestSts, type AwsTestSts, type AwsTestStsOptions } from '../aws-sts';
import { postToSts, type PostResult } from '../sts-post';
import { attackReplayer, type ReplayAttack } from './replay-attack';

/** The AWS test STS (roles, the partner IdP whose key the test holds, Trustbridge itself as a provider) with the attack checks bound. */
export interface AwsAttackSts extends AwsTestSts {
  /** Replays an attack with the shared checks; AssumeRoleWithSAML must still work afterwards. */
  readonly attack: ReplayAttack;
  /** POSTs this exact body to `/` (default Content-Type: the form one). */
  postRaw(body: string | Buffer, o?: { readonly headers?: Record<string, string>; readonly chunked?: boolean }): Promise<PostResult>;
  /** GETs `/?<query>` as it is written (no re-encoding). */
  getQuery(query: string, headers?: Record<string, string>): Promise<PostResult>;
}

export const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded; charset=utf-8';

export async function startAwsAttackSts(options: AwsTestStsOptions = {}): Promise<AwsAttackSts> {
  const sts = await startAwsTestSts(options);
  recordLogs(sts.logs);
  const stillExchanges = async (): Promise<void> => {
    const res = await exchange(sts, mintAssertion({ key: sts.externalKey }).xml);
    assert.equal(res.status, 200, `AssumeRoleWithSAML no longer works: ${res.body.slice(0, 600)}`);
  };
  return {
    ...sts,
    attack: attackReplayer(sts, stillExchanges),
    postRaw: (body, o = {}) =>
      postToSts(`${sts.baseUrl}/`, {
        ca: sts.tlsCertificatePem,
        headers: o.headers ?? { 'Content-Type': FORM_CONTENT_TYPE },
        body,
        ...(o.chunked ? { chunked: true } : {}),
      }),
    getQuery: (query, headers = {}) => httpsRequest(`${sts.baseUrl}/?${query}`, { ca: sts.tlsCertificatePem, headers }),
  };
}

/** The message AssumeRoleWithSAML gives when a signature check refuses the document. */
export const signatureNotValid = (reason: string): string => `The SAML assertion's signature is not valid: ${reason}.`;
/** The message AssumeRoleWithSAML gives when the SAML document itself is refused. */
export const malformed = (reason: string): string => `The SAML assertion is malformed: ${reason}.`;
/** The message AssumeRoleWithSAML gives when the hardened parser refuses the decoded document. */
export const documentRefused = (reason: string): string => `The SAML document was refused: ${reason}.`;
