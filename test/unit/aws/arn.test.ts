import { strict as assert } from 'node:assert';
import { assumedRoleArn, parseIamArn, roleArn, samlProviderArn } from '../../../src/aws/arn';

describe('aws/arn', () => {
  it('parses a role ARN, with or without a path, to its account and name', () => {
    assert.deepEqual(parseIamArn('arn:aws:iam::123456789012:role/Developers'), { accountId: '123456789012', resourceType: 'role', path: '/', name: 'Developers' });
    assert.deepEqual(parseIamArn('arn:aws:iam::123456789012:role/teams/eng/Dev+Ops=1,a.b@c-d_e'), {
      accountId: '123456789012',
      resourceType: 'role',
      path: '/teams/eng/',
      name: 'Dev+Ops=1,a.b@c-d_e',
    });
  });

  it('parses a SAML provider ARN', () => {
    assert.deepEqual(parseIamArn('arn:aws:iam::000000000001:saml-provider/PartnerIdP'), {
      accountId: '000000000001',
      resourceType: 'saml-provider',
      path: '/',
      name: 'PartnerIdP',
    });
  });

  it('names of 128 characters are accepted, 129 are not', () => {
    assert.equal(parseIamArn(`arn:aws:iam::123456789012:role/${'r'.repeat(128)}`)?.name.length, 128);
    assert.equal(parseIamArn(`arn:aws:iam::123456789012:role/${'r'.repeat(129)}`), undefined);
  });

  for (const arn of [
    'arn:aws:iam::123456789012:user/alice',
    'arn:aws:iam::123456789012:policy/P',
    'arn:aws:sts::123456789012:assumed-role/R/s',
    'arn:aws-cn:iam::123456789012:role/R',
    'arn:aws:iam::12345678901:role/R',
    'arn:aws:iam::1234567890123:role/R',
    'arn:aws:iam:us-east-1:123456789012:role/R',
    'arn:aws:iam::123456789012:role/',
    'arn:aws:iam::123456789012:role/a b',
    'arn:aws:iam::123456789012:role/path//R',
    'arn:aws:iam::123456789012:role/R/',
    ' arn:aws:iam::123456789012:role/R',
    'arn:aws:iam::123456789012:role/R\n',
    'ARN:AWS:IAM::123456789012:ROLE/R',
    '',
  ]) {
    it(`refuses ${JSON.stringify(arn)}`, () => {
      assert.equal(parseIamArn(arn), undefined);
    });
  }

  it('formats role, provider and assumed-role ARNs', () => {
    assert.equal(roleArn('123456789012', 'R'), 'arn:aws:iam::123456789012:role/R');
    assert.equal(samlProviderArn('123456789012', 'trustbridge'), 'arn:aws:iam::123456789012:saml-provider/trustbridge');
    assert.equal(assumedRoleArn('123456789012', 'R', 'alice@example.com'), 'arn:aws:sts::123456789012:assumed-role/R/alice@example.com');
    assert.deepEqual(parseIamArn(roleArn('123456789012', 'R')), { accountId: '123456789012', resourceType: 'role', path: '/', name: 'R' });
  });
});
