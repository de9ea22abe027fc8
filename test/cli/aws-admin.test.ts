import { strict as assert } from 'node:assert';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { STACK_TRACE } from '../support/ext-trust';
import { idpMetadata } from '../support/aws-sts';
import { quickCertificate } from '../support/quick-certificate';
import { runStsInProcess as sts, type InProcessRun as CliRun } from '../support/in-process-cli';
import { temporaryHome } from '../support/temporary-home';
import { generateSelfSignedCertificate } from '../../src/keys/certificates';

// `sts aws provider add|list`, `sts aws role add|list`, `sts user add --aws-role` and `sts rp add
// --profile aws`, run in-process through main(argv, io) on a fresh instance.

const ACCOUNT = '123456789012';
const ROLE_CLAIM = 'https://aws.amazon.com/SAML/Attributes/Role';
const SELF_ARN = `arn:aws:iam::${ACCOUNT}:saml-provider/trustbridge`;
const TRUST_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Federated: SELF_ARN }, Action: 'sts:AssumeRoleWithSAML' }],
});

describe('cli: sts aws provider / role, user add --aws-role, rp add --profile aws', function () {
  this.timeout(60_000);
  const { dir, home } = temporaryHome('trustbridge-cli-aws-');
  const file = (name: string, content: string): string => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  const expectFailure = (r: CliRun, code: number, stderr: RegExp | string) => {
    assert.equal(r.code, code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
    if (typeof stderr === 'string') assert.equal(r.stderr, stderr);
    else assert.match(r.stderr, stderr);
    assert.doesNotMatch(r.stderr, STACK_TRACE);
    assert.equal(r.stdout, '');
  };
  const providers = async () => (await sts(['aws', 'provider', 'list', '--home', home])).stdout;
  const roles = async () => (await sts(['aws', 'role', 'list', '--home', home])).stdout;

  before(async () => {
    const init = await sts(['init', '--home', home]);
    assert.equal(init.code, 0, init.stderr);
  });

  describe('sts aws provider add / list', () => {
    it('a fresh instance lists Trustbridge itself only', async () => {
      const r = await sts(['aws', 'provider', 'list', '--home', home]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${SELF_ARN}\n  issuer http://trustbridge.localhost/adfs/services/trust (Trustbridge itself), replay once-per-role\n`);
    });

    it('adds a provider from its metadata (default replay once-per-role) and lists it', async () => {
      const cert = generateSelfSignedCertificate({ commonName: 'cli-partner', validDays: 2 }).certificatePem;
      const r = await sts(['aws', 'provider', 'add', 'PartnerIdP', '--home', home, '--metadata', file('partner.xml', idpMetadata('https://idp.partner.example/saml', cert))]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `added SAML provider arn:aws:iam::${ACCOUNT}:saml-provider/PartnerIdP\n`);
      const thumbprint = new X509Certificate(cert).fingerprint256.replace(/:/g, '').toLowerCase();
      assert.ok(
        (await providers()).endsWith(
          `arn:aws:iam::${ACCOUNT}:saml-provider/PartnerIdP\n  issuer https://idp.partner.example/saml, 1 certificate(s), replay once-per-role\n` +
            `    ${thumbprint}  CN=cli-partner  valid to ${new X509Certificate(cert).validTo}\n      active\n`,
        ),
        await providers(),
      );
    });

    it('--replay once and --replay off are kept; providers list in name order after Trustbridge', async () => {
      const metadata = file('other.xml', idpMetadata('https://other.example/idp', quickCertificate('other').pem));
      assert.equal((await sts(['aws', 'provider', 'add', 'OnceIdP', '--home', home, '--metadata', metadata, '--replay', 'once'])).code, 0);
      assert.equal((await sts(['aws', 'provider', 'add', 'AnyIdP', '--home', home, '--metadata', metadata, '--replay=off'])).code, 0);
      const list = await providers();
      const names = [...list.matchAll(/saml-provider\/(\S+)\n/g)].map((m) => m[1]);
      assert.deepEqual(names, ['trustbridge', 'AnyIdP', 'OnceIdP', 'PartnerIdP']);
      assert.match(list, /saml-provider\/OnceIdP\n  issuer https:\/\/other\.example\/idp, 1 certificate\(s\), replay once\n/);
      assert.match(list, /saml-provider\/AnyIdP\n  issuer https:\/\/other\.example\/idp, 1 certificate\(s\), replay off\n/);
    });

    it('a bad --replay is a usage error (exit 2) and adds nothing', async () => {
      const before = await providers();
      const r = await sts(['aws', 'provider', 'add', 'BadReplay', '--home', home, '--metadata', file('m.xml', idpMetadata('https://x.example/', quickCertificate('x').pem)), '--replay', 'twice']);
      expectFailure(r, 2, /^sts aws provider add: --replay must be one of off, once-per-role, once\n/);
      assert.equal(await providers(), before);
    });

    it('metadata that is not an EntityDescriptor, or not XML, is refused (exit 1) naming the problem', async () => {
      const before = await providers();
      expectFailure(
        await sts(['aws', 'provider', 'add', 'Bad', '--home', home, '--metadata', file('bad.xml', '<Assertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion"/>')]),
        1,
        'sts aws provider add: the metadata is not a SAML 2.0 md:EntityDescriptor\n',
      );
      expectFailure(
        await sts(['aws', 'provider', 'add', 'Bad', '--home', home, '--metadata', file('dtd.xml', '<!DOCTYPE x [<!ENTITY a "b">]><x/>')]),
        1,
        'sts aws provider add: the metadata is not acceptable XML: a DOCTYPE or entity declaration is not allowed\n',
      );
      assert.equal(await providers(), before);
    });

    it('metadata with 11 signing certificates is refused: IAM allows 10', async () => {
      const descriptors = Array.from({ length: 11 }, (_, i) => {
        const b64 = quickCertificate(`c${i}`).pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
        return `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`;
      }).join('');
      const xml =
        `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://many.example/">` +
        `<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${descriptors}</md:IDPSSODescriptor></md:EntityDescriptor>`;
      expectFailure(
        await sts(['aws', 'provider', 'add', 'Many', '--home', home, '--metadata', file('many.xml', xml)]),
        1,
        'sts aws provider add: the metadata names 11 signing certificates; IAM allows at most 10\n',
      );
      assert.doesNotMatch(await providers(), /Many/);
    });

    it('Trustbridge\'s own provider name, a duplicate and an invalid name are refused (exit 1)', async () => {
      const metadata = file('dup.xml', idpMetadata('https://dup.example/', quickCertificate('dup').pem));
      expectFailure(
        await sts(['aws', 'provider', 'add', 'trustbridge', '--home', home, '--metadata', metadata]),
        1,
        "sts aws provider add: trustbridge is Trustbridge's own provider name and is registered already\n",
      );
      expectFailure(await sts(['aws', 'provider', 'add', 'PartnerIdP', '--home', home, '--metadata', metadata]), 1, 'sts aws provider add: SAML provider PartnerIdP already exists\n');
      expectFailure(
        await sts(['aws', 'provider', 'add', 'bad name', '--home', home, '--metadata', metadata]),
        1,
        'sts aws provider add: a SAML provider name is 1 to 128 letters, digits, . _ or -\n',
      );
      assert.match(await providers(), /issuer https:\/\/idp\.partner\.example\/saml/, 'the first PartnerIdP is unchanged');
    });

    it('no NAME or no --metadata is a usage error (exit 2)', async () => {
      expectFailure(await sts(['aws', 'provider', 'add', '--home', home, '--metadata', 'x.xml']), 2, /give one NAME and --metadata/);
      expectFailure(await sts(['aws', 'provider', 'add', 'P', '--home', home]), 2, /give one NAME and --metadata/);
    });
  });

  describe('sts aws role add / list', () => {
    it('adds a role with a trust policy (max session 1 hour by default) and lists it with its id', async () => {
      const r = await sts(['aws', 'role', 'add', 'Developers', '--home', home, '--trust-policy', file('trust.json', TRUST_POLICY)]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `added role arn:aws:iam::${ACCOUNT}:role/Developers\n`);
      assert.match(await roles(), new RegExp(`^arn:aws:iam::${ACCOUNT}:role/Developers\\n  id AROA[A-Z2-7]{17}, max session 3600 s\\n$`));
    });

    it('--max-session-duration and --policy are kept', async () => {
      const permissions = file('perm.json', JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] }));
      const r = await sts(['aws', 'role', 'add', 'Auditors', '--home', home, '--trust-policy', file('trust.json', TRUST_POLICY), '--max-session-duration', '43200', '--policy', permissions]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(await roles(), new RegExp(`^arn:aws:iam::${ACCOUNT}:role/Auditors\\n  id AROA[A-Z2-7]{17}, max session 43200 s\\narn:aws:iam::${ACCOUNT}:role/Developers\\n`));
      const ids = [...(await roles()).matchAll(/id (AROA\w+)/g)].map((m) => m[1]);
      assert.equal(new Set(ids).size, 2, 'each role has its own id');
    });

    it('a trust policy that is not JSON is refused naming the problem', async () => {
      expectFailure(
        await sts(['aws', 'role', 'add', 'Broken', '--home', home, '--trust-policy', file('broken.json', '{"Version": "2012-10-17",')]),
        1,
        'sts aws role add: the trust policy is not valid: Syntax errors in policy.\n',
      );
    });

    it('a trust policy with a misspelt field is refused naming the field (it would not be silently ignored)', async () => {
      const misspelt = JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Federated: SELF_ARN }, Action: 'sts:AssumeRoleWithSAML', Condtion: { StringEquals: { 'SAML:sub': 'x' } } }],
      });
      expectFailure(
        await sts(['aws', 'role', 'add', 'Broken', '--home', home, '--trust-policy', file('misspelt.json', misspelt)]),
        1,
        'sts aws role add: the trust policy is not valid: Statement 1 has an unknown field "Condtion".\n',
      );
      assert.doesNotMatch(await roles(), /Broken/);
    });

    it('a permissions policy that is not valid is refused naming it', async () => {
      expectFailure(
        await sts(['aws', 'role', 'add', 'Broken', '--home', home, '--trust-policy', file('trust.json', TRUST_POLICY), '--policy', file('bad-perm.json', '[]')]),
        1,
        'sts aws role add: the permissions policy is not valid: The policy must be a JSON object.\n',
      );
    });

    for (const seconds of ['3599', '43201', '0']) {
      it(`--max-session-duration ${seconds} is refused (3600 to 43200)`, async () => {
        expectFailure(
          await sts(['aws', 'role', 'add', 'Odd', '--home', home, '--trust-policy', file('trust.json', TRUST_POLICY), '--max-session-duration', seconds]),
          1,
          'sts aws role add: the maximum session duration must be whole seconds from 3600 to 43200, as IAM allows\n',
        );
        assert.doesNotMatch(await roles(), /Odd/);
      });
    }

    it('a --max-session-duration that is not a number is a usage error (exit 2)', async () => {
      expectFailure(
        await sts(['aws', 'role', 'add', 'Odd', '--home', home, '--trust-policy', file('trust.json', TRUST_POLICY), '--max-session-duration', '1h']),
        2,
        /^sts aws role add: --max-session-duration must be a whole number\n/,
      );
    });

    it('a duplicate role and an invalid name are refused', async () => {
      expectFailure(await sts(['aws', 'role', 'add', 'Developers', '--home', home, '--trust-policy', file('trust.json', TRUST_POLICY)]), 1, 'sts aws role add: role Developers already exists\n');
      expectFailure(
        await sts(['aws', 'role', 'add', 'has space', '--home', home, '--trust-policy', file('trust.json', TRUST_POLICY)]),
        1,
        'sts aws role add: a role name is 1 to 64 letters, digits or +=,.@_-\n',
      );
    });
  });

  describe('sts user add --aws-role', () => {
    it('grants roles by name or ARN as Role claims paired with Trustbridge\'s own provider', async () => {
      const r = await sts(['user', 'add', 'alice', '--home', home, '--aws-role', 'Developers', '--aws-role', `arn:aws:iam::${ACCOUNT}:role/teams/Auditors`], 'pw-alice-1\n');
      assert.equal(r.code, 0, r.stderr);
      const list = await sts(['user', 'list', '--home', home]);
      assert.ok(
        list.stdout.includes(
          `alice\n` +
            `  ${ROLE_CLAIM} = arn:aws:iam::${ACCOUNT}:role/Developers,${SELF_ARN}\n` +
            `  ${ROLE_CLAIM} = arn:aws:iam::${ACCOUNT}:role/teams/Auditors,${SELF_ARN}\n`,
        ),
        list.stdout,
      );
    });

    it('an --aws-role that is neither a role name nor a role ARN is refused and adds no user', async () => {
      const arn = `arn:aws:iam::${ACCOUNT}:user/bob`;
      expectFailure(await sts(['user', 'add', 'bob', '--home', home, '--aws-role', arn], 'pw\n'), 1, `sts user add: "${arn}" is neither a role name nor a role ARN\n`);
      assert.doesNotMatch((await sts(['user', 'list', '--home', home])).stdout, /^bob/m);
    });
  });

  describe('sts rp add --profile aws', () => {
    it('adds an AWS relying party with an audience and a session duration, and lists them', async () => {
      const r = await sts([
        'rp', 'add', 'urn:amazon:webservices:govcloud', '--home', home,
        '--profile', 'aws', '--audience', 'https://signin.amazonaws-us-gov.com/saml', '--session-duration', '1800',
        '--endpoint', 'https://signin.amazonaws-us-gov.com/saml',
      ]);
      assert.equal(r.code, 0, r.stderr);
      const list = (await sts(['rp', 'list', '--home', home])).stdout;
      assert.ok(
        list.includes(
          'urn:amazon:webservices:govcloud  (urn:amazon:webservices:govcloud)\n' +
            '  lifetime 3600s, NameID format urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified\n' +
            '  endpoint https://signin.amazonaws-us-gov.com/saml\n' +
            '  audience https://signin.amazonaws-us-gov.com/saml\n' +
            '  profile aws, session 1800s\n',
        ),
        list,
      );
    });

    it('the AWS relying party sts init creates is listed with the aws profile', async () => {
      const list = (await sts(['rp', 'list', '--home', home])).stdout;
      assert.ok(list.includes('urn:amazon:webservices  (Amazon Web Services)\n'), list);
      assert.match(list, /urn:amazon:webservices  \(Amazon Web Services\)\n(  .*\n)*  audience https:\/\/signin\.aws\.amazon\.com\/saml\n  profile aws\n/);
    });

    it('--profile other than generic or aws is a usage error; a session duration out of range is refused', async () => {
      expectFailure(await sts(['rp', 'add', 'urn:x:1', '--home', home, '--profile', 'gcp']), 2, /^sts rp add: --profile must be generic or aws\n/);
      for (const seconds of ['899', '43201']) {
        expectFailure(
          await sts(['rp', 'add', 'urn:x:2', '--home', home, '--profile', 'aws', '--session-duration', seconds]),
          1,
          'sts rp add: the session duration must be whole seconds from 900 to 43200, as AWS accepts\n',
        );
      }
      assert.doesNotMatch((await sts(['rp', 'list', '--home', home])).stdout, /urn:x:/);
    });
  });
});
