import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { awsRoleClaim } from '../../src/aws/role-claim';
import { AWS_SAML } from '../../src/core/aws-saml';
import { NS } from '../../src/xml/namespaces';
import {
  OTHER_ROLE,
  OTHER_ROLE_ARN,
  ROLE,
  ROLE_ARN,
  SELF_PROVIDER_ARN,
  exchange,
  expectAwsRefusal,
  expectCredentials,
  startAwsTestSts,
  USER as EMBEDDED_USER,
  PASSWORD as EMBEDDED_PASSWORD,
  type AwsTestSts,
} from '../support/aws-sts';
import { storedEvents } from '../support/golden-saml';
import { recordLogs, recordPassword } from '../support/observed-traffic';
import { children, parseFault, parseIssueResponse, text } from '../support/soap-reply';
import { GROUPS_DN, LDAP_USERS, PEOPLE_DN, SERVICE_ACCOUNT, startSlapd, type Slapd } from '../support/slapd';
import { postToSts, type PostResult } from '../support/sts-post';
import { buildRst, type RstSpec } from '../support/wstrust-request';
import { SAML2_ASSERTION_ID_ATTRIBUTE, verifyWithXmlsec1 } from '../support/xmlsec1';

// End to end with identity.source "ldap": a WS-Trust Issue authenticated against slapd gives a
// signed assertion carrying the claims mapped from the directory, and a group mapped to an AWS
// role gives the Role attribute that AssumeRoleWithSAML accepts.

const RP = 'https://ldap-rp.example.com/';
const EMAIL = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress';
const NAME = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name';
const ROLE_CLAIM = 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role';
const { alice, bob, dave } = LDAP_USERS;

/** The assertion's attributes, name → values, read from the signed element. */
function attributesOf(assertion: Element): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const statement = children(assertion, NS.saml2, 'AttributeStatement')[0];
  if (!statement) return out;
  for (const attribute of children(statement, NS.saml2, 'Attribute')) {
    out[attribute.getAttribute('Name') ?? ''] = children(attribute, NS.saml2, 'AttributeValue').map(text);
  }
  return out;
}

describe('wstrust with users from LDAP (slapd): Issue and AssumeRoleWithSAML', function () {
  this.timeout(60_000);
  let slapd: Slapd;
  let sts: AwsTestSts;

  before(async () => {
    slapd = await startSlapd();
    const passwordFile = join(slapd.dir, 'service-account.pw');
    writeFileSync(passwordFile, `${SERVICE_ACCOUNT.password}\n`, { mode: 0o600 });
    sts = await startAwsTestSts({
      config: {
        identity: {
          source: 'ldap',
          ldap: {
            url: slapd.ldapUrl,
            startTls: true,
            caFiles: [slapd.caFile],
            bind: {
              mode: 'search',
              serviceAccountDn: SERVICE_ACCOUNT.dn,
              serviceAccountPasswordFile: passwordFile,
              userSearchBase: PEOPLE_DN,
              userSearchFilter: '(&(objectClass=inetOrgPerson)(uid={user}))',
            },
            subjectNameAttribute: 'uid',
            claims: { mail: EMAIL, displayName: NAME },
            groupSearchBase: GROUPS_DN,
            groups: [
              { group: `cn=developers,${GROUPS_DN}`, awsRole: ROLE },
              { group: 'auditors', awsRole: OTHER_ROLE },
              { group: 'staff', claim: ROLE_CLAIM, value: 'Staff' },
            ],
          },
        },
      },
    });
    await sts.addRelyingParty({ appliesTo: RP, releasedClaims: ['*'] });
    recordLogs(sts.logs);
    recordPassword(alice.password, bob.password, dave.password, SERVICE_ACCOUNT.password);
  });
  after(async () => {
    await sts?.stop();
    await slapd?.destroy();
  });

  const send = (spec: RstSpec): Promise<PostResult> => {
    const req = buildRst({ appliesTo: RP, ...spec });
    return postToSts(`${sts.baseUrl}${req.path}`, { ca: sts.tlsCertificatePem, headers: req.headers, body: req.body });
  };

  it('Issue with a directory user\'s UsernameToken: a signed assertion with the mapped claims, recorded in the ledger', async () => {
    const before = await sts.instance.store.ledger.count();
    const res = await send({ usernameToken: { username: 'alice', password: alice.password } });
    assert.equal(res.status, 200, res.body.slice(0, 600));
    const reply = parseIssueResponse(res.body, '1.3');
    const xmlsec = verifyWithXmlsec1(reply.assertionXml, sts.signingCertificatePem, SAML2_ASSERTION_ID_ATTRIBUTE);
    assert.ok(xmlsec.ok, xmlsec.output);
    const subject = children(reply.assertion, NS.saml2, 'Subject')[0] as Element;
    assert.equal(text(children(subject, NS.saml2, 'NameID')[0] as Element), 'alice');
    assert.deepEqual(attributesOf(reply.assertion), {
      [EMAIL]: [alice.mail],
      [NAME]: ['Alice Liddell'],
      [AWS_SAML.role]: [awsRoleClaim(sts.instance.config.aws, ROLE).value],
      [ROLE_CLAIM]: ['Staff'],
    });
    assert.equal(await sts.instance.store.ledger.count(), before + 1);
  });

  it('WS-Trust February 2005 over SOAP 1.1 works the same; a user in no group gets only attribute claims', async () => {
    const res = await send({ soap: '1.1', trust: '2005', usernameToken: { username: 'dave', password: dave.password } });
    assert.equal(res.status, 200, res.body.slice(0, 600));
    const reply = parseIssueResponse(res.body, '2005');
    assert.deepEqual(attributesOf(reply.assertion), { [EMAIL]: [dave.mail] });
  });

  describe('refusals are FailedAuthentication and write nothing but the audit event naming the user tried', () => {
    const cases: Array<{ name: string; spec: RstSpec }> = [
      { name: 'a wrong password', spec: { usernameToken: { username: 'alice', password: bob.password } } },
      { name: 'an unknown user', spec: { usernameToken: { username: 'mallory', password: alice.password } } },
      { name: 'a filter injection', spec: { usernameToken: { username: 'alic*', password: alice.password } } },
      { name: 'a PasswordDigest (the directory cannot check one)', spec: { usernameToken: { username: 'alice', password: alice.password, passwordType: 'digest' } } },
      { name: 'a user of the embedded store (not the configured source)', spec: { usernameToken: { username: EMBEDDED_USER, password: EMBEDDED_PASSWORD } } },
    ];
    for (const { name, spec } of cases) {
      it(name, async () => {
        const before = await sts.instance.store.ledger.count();
        const res = await send(spec);
        assert.equal(res.status, 400, res.body.slice(0, 600));
        const fault = parseFault(res.body);
        assert.deepEqual(fault.code, { ns: NS.soap12, local: 'Sender' });
        assert.deepEqual(fault.subcode, { ns: NS.wsse, local: 'FailedAuthentication' });
        assert.equal(fault.reason, 'The security token could not be authenticated or authorized.');
        assert.equal(await sts.instance.store.ledger.count(), before);
        const log = sts.logs.find((r) => r.fields['requestId'] === res.requestId);
        assert.equal(log?.level, 'warn');
        assert.equal(log?.fields['fault'], 'wsse:FailedAuthentication');
        const events = await storedEvents(sts.instance, res.requestId);
        assert.deepEqual(
          events.map((e) => [e.principal, e.errorCode, e.additionalEventData]),
          [[null, 'wsse:FailedAuthentication', { claimedUserName: spec.usernameToken?.username }]],
        );
      });
    }

    it('the log says why (operators only), without the password', async () => {
      const res = await send({ usernameToken: { username: 'alice', password: alice.password, passwordType: 'digest' } });
      const log = sts.logs.find((r) => r.fields['requestId'] === res.requestId);
      assert.match(String(log?.fields['detail']), /PasswordDigest from user "alice" refused: users come from an LDAP directory/);
      assert.doesNotMatch(JSON.stringify(sts.logs), /Alice-ldap-pw-1|Service-ldap-pw-6/);
    });
  });

  describe('AWS: a group mapped to a role', () => {
    it('the assertion for urn:amazon:webservices carries exactly the Role value awsRoleClaim gives, and AssumeRoleWithSAML accepts it', async () => {
      const token = await sts.issueAwsToken('alice', alice.password);
      assert.ok(token.includes(`<AttributeValue>${awsRoleClaim(sts.instance.config.aws, ROLE).value}</AttributeValue>`), token);
      assert.ok(!token.includes(`role/${OTHER_ROLE},`), 'alice is not an auditor');
      const credentials = expectCredentials(await exchange(sts, token, { principalArn: SELF_PROVIDER_ARN, roleArn: ROLE_ARN }));
      assert.equal(credentials.assumedRoleArn, `arn:aws:sts::123456789012:assumed-role/${ROLE}/alice`);
    });

    it('a role the user\'s groups do not grant is AccessDenied; bob\'s group grants the other role', async () => {
      const aliceToken = await sts.issueAwsToken('alice', alice.password);
      const { log } = expectAwsRefusal(sts, await exchange(sts, aliceToken, { principalArn: SELF_PROVIDER_ARN, roleArn: OTHER_ROLE_ARN }), {
        status: 403,
        code: 'AccessDenied',
        message: 'Not authorized to perform sts:AssumeRoleWithSAML',
      });
      assert.match(String(log['detail']), /Role attribute does not pair this RoleArn with this PrincipalArn/);
      const bobToken = await sts.issueAwsToken('bob', bob.password);
      const credentials = expectCredentials(await exchange(sts, bobToken, { principalArn: SELF_PROVIDER_ARN, roleArn: OTHER_ROLE_ARN }));
      assert.equal(credentials.assumedRoleArn, `arn:aws:sts::123456789012:assumed-role/${OTHER_ROLE}/bob`);
    });
  });
});
