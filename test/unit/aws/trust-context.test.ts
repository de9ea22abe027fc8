import { strict as assert } from 'node:assert';
import type { FederatedAssertion } from '../../../src/aws/federated-assertion';
import { trustPolicyContext } from '../../../src/aws/trust-context';

const NOW = new Date('2030-06-01T12:34:56.789Z');
const PROVIDER_ARN = 'arn:aws:iam::123456789012:saml-provider/PartnerIdP';

function assertion(extra: Partial<FederatedAssertion> = {}): FederatedAssertion {
  return {
    assertionId: '_a1',
    issuer: 'https://idp.partner.example/saml',
    subject: 'alice',
    subjectType: 'persistent',
    recipient: 'https://signin.aws.amazon.com/saml',
    nameQualifier: 'Qm9ndXNRdWFsaWZpZXJWYWx1ZTE=',
    roles: [],
    roleSessionName: 'alice-session',
    sessionDurationSeconds: undefined,
    sessionNotOnOrAfter: undefined,
    tags: [],
    transitiveTagKeys: [],
    sourceIdentity: undefined,
    attributes: [],
    usableUntil: NOW,
    ...extra,
  };
}

const facts = { now: NOW, sourceIp: '192.0.2.10', userAgent: 'aws-cli/2.15', principalArn: PROVIDER_ARN };

describe('aws/trust-context trustPolicyContext', () => {
  it('has the SAML keys, the session name and the global keys, keyed in lower case', () => {
    const context = trustPolicyContext(assertion(), facts);
    assert.deepEqual(Object.fromEntries(context), {
      'saml:aud': ['https://signin.aws.amazon.com/saml'],
      'saml:iss': ['https://idp.partner.example/saml'],
      'saml:sub': ['alice'],
      'saml:sub_type': ['persistent'],
      'saml:namequalifier': ['Qm9ndXNRdWFsaWZpZXJWYWx1ZTE='],
      'saml:doc': ['123456789012/PartnerIdP'],
      'sts:rolesessionname': ['alice-session'],
      'aws:currenttime': ['2030-06-01T12:34:56Z'],
      'aws:epochtime': [String(Math.floor(NOW.getTime() / 1000))],
      'aws:securetransport': ['true'],
      'aws:sourceip': ['192.0.2.10'],
      'aws:useragent': ['aws-cli/2.15'],
      'aws:federatedprovider': [PROVIDER_ARN],
    });
  });

  it('every attribute is a saml: key by its Name (lower-cased), with all its values; documented OIDs also by their friendly name', () => {
    const context = trustPolicyContext(
      assertion({
        attributes: [
          { name: 'https://idp.example/Department', values: ['Eng', 'Ops'] },
          { name: 'urn:oid:0.9.2342.19200300.100.1.3', values: ['alice@partner.example'] },
          { name: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.7', values: ['urn:entitlement:a'] },
          { name: 'https://idp.example/Department', values: ['QA'] },
        ],
      }),
      facts,
    );
    assert.deepEqual(context.get('saml:https://idp.example/department'), ['Eng', 'Ops', 'QA']);
    assert.deepEqual(context.get('saml:urn:oid:0.9.2342.19200300.100.1.3'), ['alice@partner.example']);
    assert.deepEqual(context.get('saml:mail'), ['alice@partner.example']);
    assert.deepEqual(context.get('saml:edupersonentitlement'), ['urn:entitlement:a']);
    assert.equal(context.get('saml:https://idp.example/Department'), undefined, 'keys are lower case');
  });

  it('session tags give aws:PrincipalTag/, aws:RequestTag/ and aws:TagKeys; transitive keys and SourceIdentity their sts: keys', () => {
    const context = trustPolicyContext(
      assertion({
        tags: [
          { key: 'Dept', value: 'eng' },
          { key: 'Project', value: 'apollo' },
        ],
        transitiveTagKeys: ['Dept'],
        sourceIdentity: 'alice@partner.example',
      }),
      facts,
    );
    assert.deepEqual(context.get('aws:principaltag/dept'), ['eng']);
    assert.deepEqual(context.get('aws:requesttag/project'), ['apollo']);
    assert.deepEqual(context.get('aws:tagkeys'), ['Dept', 'Project']);
    assert.deepEqual(context.get('sts:transitivetagkeys'), ['Dept']);
    assert.deepEqual(context.get('sts:sourceidentity'), ['alice@partner.example']);
  });

  it('without tags, transitive keys or a source identity, those keys are absent (not empty)', () => {
    const context = trustPolicyContext(assertion(), facts);
    for (const key of ['aws:tagkeys', 'sts:transitivetagkeys', 'sts:sourceidentity']) assert.equal(context.has(key), false, key);
  });
});
