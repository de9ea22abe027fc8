import { strict as assert } from 'node:assert';
import { recordLogs } from '../observed-traffic';
import { exchange, mintAssertion, startAwsTestSts, type AwsTestSts, type AwsTestStsOptions } from '../aws-sts';
import { attackReplayer, type ReplayAttack } from './replay-attack';

/** The AWS test STS (roles, the partner IdP whose key the test holds, Trustbridge itself as a provider) with the attack checks bound. */
export interface AwsAttackSts extends AwsTestSts {
  /** Replays an attack with the shared checks; AssumeRoleWithSAML must still work afterwards. */
  readonly attack: ReplayAttack;
}

export async function startAwsAttackSts(options: AwsTestStsOptions = {}): Promise<AwsAttackSts> {
  const sts = await startAwsTestSts(options);
  recordLogs(sts.logs);
  const stillExchanges = async (): Promise<void> => {
    const res = await exchange(sts, mintAssertion({ key: sts.externalKey }).xml);
    assert.equal(res.status, 200, `AssumeRoleWithSAML no longer works: ${res.body.slice(0, 600)}`);
  };
  return { ...sts, attack: attackReplayer(sts, stillExchanges) };
}

/** The message AssumeRoleWithSAML gives when a signature check refuses the document. */
export const signatureNotValid = (reason: string): string => `The SAML assertion's signature is not valid: ${reason}.`;
/** The message AssumeRoleWithSAML gives when the SAML document itself is refused. */
export const malformed = (reason: string): string => `The SAML assertion is malformed: ${reason}.`;
