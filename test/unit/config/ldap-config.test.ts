import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { awsRoleClaim } from '../../../src/aws/role-claim';
import { ConfigError, DEFAULT_CONFIG, validateConfig } from '../../../src/config/config';
import { loadLdapDirectorySettings } from '../../../src/instance/ldap-directory-settings';
import { generateSelfSignedCertificate } from '../../../src/keys/certificates';

// identity.source / identity.ldap: the checks that stop start-up with the offending key named,
// and the loading of the files and secrets the settings point at.

const DIRECT = { url: 'ldaps://ldap.example.org', bind: { mode: 'direct', userDnTemplate: 'uid={user},ou=people,dc=example,dc=org' } };
const SEARCH = {
  url: 'ldap://dc1.corp.example.com',
  startTls: true,
  bind: {
    mode: 'search',
    serviceAccountDn: 'CN=svc-trustbridge,OU=Service Accounts,DC=corp,DC=example,DC=com',
    serviceAccountPasswordEnv: 'TRUSTBRIDGE_LDAP_PASSWORD',
    userSearchBase: 'DC=corp,DC=example,DC=com',
    userSearchFilter: '(&(objectCategory=person)(objectClass=user)(sAMAccountName={user}))',
  },
};
const ldap = (ldapSection: unknown) => ({ identity: { source: 'ldap', ldap: ldapSection } });

function refusedNaming(raw: unknown, key: string, message?: RegExp): void {
  assert.throws(
    () => validateConfig(raw),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, `expected a ConfigError naming ${key}, got ${String(err)}`);
      assert.equal(err.key, key, err.message);
      if (message) assert.match(err.message, message);
      return true;
    },
  );
}

describe('config identity.ldap', () => {
  it('the default is the embedded store, with no LDAP settings', () => {
    assert.deepEqual(DEFAULT_CONFIG.identity, { source: 'embedded', ldap: null });
    assert.deepEqual(validateConfig({}).identity, { source: 'embedded', ldap: null });
  });

  it('a minimal direct-bind section gets its defaults', () => {
    const c = validateConfig(ldap(DIRECT)).identity.ldap;
    assert.deepEqual(c, {
      url: 'ldaps://ldap.example.org',
      startTls: false,
      caFiles: [],
      bind: { mode: 'direct', userDnTemplate: 'uid={user},ou=people,dc=example,dc=org' },
      connectTimeoutMs: 3000,
      operationTimeoutMs: 5000,
      subjectNameAttribute: null,
      claims: {},
      groupSearchBase: null,
      groupSearchFilter: '(|(member={dn})(uniqueMember={dn}))',
      groups: [],
    });
  });

  it('an Active Directory search section with claims and group mappings', () => {
    const c = validateConfig(
      ldap({
        ...SEARCH,
        caFiles: ['corp-root-ca.pem'],
        connectTimeoutMs: 2000,
        operationTimeoutMs: 4000,
        subjectNameAttribute: 'userPrincipalName',
        claims: { mail: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress' },
        groups: [
          { group: 'CN=AWS-Developers,OU=Groups,DC=corp,DC=example,DC=com', awsRole: 'Developers' },
          { group: 'Staff', claim: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role', value: 'Staff' },
        ],
      }),
    ).identity.ldap;
    assert.ok(c && c.bind.mode === 'search');
    assert.equal(c.bind.serviceAccountPasswordEnv, 'TRUSTBRIDGE_LDAP_PASSWORD');
    assert.equal(c.bind.serviceAccountPasswordFile, null);
    assert.equal(c.groups.length, 2);
    assert.equal(c.subjectNameAttribute, 'userPrincipalName');
  });

  it('identity.source "ldap" needs identity.ldap', () => {
    refusedNaming({ identity: { source: 'ldap' } }, 'identity.ldap', /must be set when identity.source is "ldap"/);
    refusedNaming({ identity: { source: 'kerberos' } }, 'identity.source');
  });

  it('the URL is ldap:// or ldaps:// with a host and at most a port', () => {
    for (const url of ['http://ldap.example.org', 'ldap://', 'ldaps://ldap.example.org/dc=example,dc=org', 'ldaps://user:pw@ldap.example.org', 'ldaps://ldap.example.org?x', 42]) {
      refusedNaming(ldap({ ...DIRECT, url }), 'identity.ldap.url');
    }
    assert.equal(validateConfig(ldap({ ...DIRECT, url: 'ldaps://10.0.0.5:3269/' })).identity.ldap?.url, 'ldaps://10.0.0.5:3269/');
  });

  it('passwords never cross a network in clear text: ldap:// to another host needs startTls; ldaps:// must not have it', () => {
    refusedNaming(ldap({ ...SEARCH, startTls: false }), 'identity.ldap.startTls', /clear text/);
    refusedNaming(ldap({ ...DIRECT, startTls: true }), 'identity.ldap.startTls', /ldaps/);
    for (const url of ['ldap://127.0.0.1:389', 'ldap://localhost', 'ldap://[::1]:1389']) {
      assert.equal(validateConfig(ldap({ ...DIRECT, url })).identity.ldap?.startTls, false, url);
    }
  });

  it('bind: a mode, a DN template with {user}, a filter with {user}, one password source', () => {
    refusedNaming(ldap({ ...DIRECT, bind: { mode: 'anonymous' } }), 'identity.ldap.bind.mode');
    refusedNaming(ldap({ ...DIRECT, bind: undefined }), 'identity.ldap.bind');
    refusedNaming(ldap({ ...DIRECT, bind: { mode: 'direct', userDnTemplate: 'uid=alice,dc=example,dc=org' } }), 'identity.ldap.bind.userDnTemplate', /\{user\}/);
    refusedNaming(ldap({ ...DIRECT, bind: { mode: 'direct', userDnTemplate: '{user}@corp.example.com' } }), 'identity.ldap.bind.userDnTemplate', /mode "search"/);
    refusedNaming(ldap({ ...SEARCH, bind: { ...SEARCH.bind, userSearchFilter: '(uid=alice)' } }), 'identity.ldap.bind.userSearchFilter', /\{user\}/);
    refusedNaming(ldap({ ...SEARCH, bind: { ...SEARCH.bind, userSearchFilter: 'uid={user}' } }), 'identity.ldap.bind.userSearchFilter', /parentheses/);
    refusedNaming(ldap({ ...SEARCH, bind: { ...SEARCH.bind, serviceAccountPasswordFile: 'ldap.pw' } }), 'identity.ldap.bind.serviceAccountPasswordFile', /not both/);
    const { serviceAccountPasswordEnv: _unused, ...noPassword } = SEARCH.bind;
    refusedNaming(ldap({ ...SEARCH, bind: noPassword }), 'identity.ldap.bind.serviceAccountPasswordFile', /must be set/);
    refusedNaming(ldap({ ...SEARCH, bind: { ...SEARCH.bind, serviceAccountPasswordEnv: 'NOT-A-NAME' } }), 'identity.ldap.bind.serviceAccountPasswordEnv');
    refusedNaming(ldap({ ...SEARCH, bind: { ...SEARCH.bind, serviceAccountDn: '' } }), 'identity.ldap.bind.serviceAccountDn');
    refusedNaming(ldap({ ...SEARCH, bind: { ...SEARCH.bind, userDnTemplate: 'uid={user}' } }), 'identity.ldap.bind.userDnTemplate', /not a known setting/);
  });

  it('timeouts are bounded: 100 ms to 60 s', () => {
    for (const bad of [0, 99, 60001, 1.5, '3000']) {
      refusedNaming(ldap({ ...DIRECT, connectTimeoutMs: bad }), 'identity.ldap.connectTimeoutMs');
      refusedNaming(ldap({ ...DIRECT, operationTimeoutMs: bad }), 'identity.ldap.operationTimeoutMs');
    }
  });

  it('claims map attribute names to claim names; groups map to an AWS role or a claim and value', () => {
    refusedNaming(ldap({ ...DIRECT, claims: { 'not an attribute': 'x' } }), 'identity.ldap.claims.not an attribute');
    refusedNaming(ldap({ ...DIRECT, claims: { mail: '' } }), 'identity.ldap.claims.mail');
    refusedNaming(ldap({ ...DIRECT, claims: ['mail'] }), 'identity.ldap.claims');
    refusedNaming(ldap({ ...DIRECT, subjectNameAttribute: 'user name' }), 'identity.ldap.subjectNameAttribute');
    refusedNaming(ldap({ ...DIRECT, groups: { group: 'x' } }), 'identity.ldap.groups');
    refusedNaming(ldap({ ...DIRECT, groups: [{ group: '', awsRole: 'Developers' }] }), 'identity.ldap.groups[0].group');
    refusedNaming(ldap({ ...DIRECT, groups: [{ group: 'g', awsRole: 'not a role!' }] }), 'identity.ldap.groups[0].awsRole');
    refusedNaming(ldap({ ...DIRECT, groups: [{ group: 'g', claim: 'role' }] }), 'identity.ldap.groups[0].value');
    refusedNaming(ldap({ ...DIRECT, groups: [{ group: 'g', awsRole: 'Developers', claim: 'role' }] }), 'identity.ldap.groups[0].claim', /not a known setting/);
    refusedNaming(ldap({ ...DIRECT, groupSearchFilter: '(member=x)' }), 'identity.ldap.groupSearchFilter', /\{dn\}/);
  });

  it('unknown keys are refused at every level', () => {
    refusedNaming({ identity: { source: 'embedded', directory: {} } }, 'identity.directory');
    refusedNaming(ldap({ ...DIRECT, insecure: true }), 'identity.ldap.insecure');
    refusedNaming(ldap({ ...DIRECT, bind: { ...DIRECT.bind, password: 'x' } }), 'identity.ldap.bind.password');
  });

  describe('loadLdapDirectorySettings (start-up)', () => {
    let home: string;
    beforeEach(() => {
      home = mkdtempSync(join(tmpdir(), 'trustbridge-ldap-config-'));
    });
    afterEach(() => rmSync(home, { recursive: true, force: true }));

    const load = (raw: unknown, env: NodeJS.ProcessEnv = {}) => loadLdapDirectorySettings(home, validateConfig(raw), env);

    it('reads the service account password from the environment or a file (one trailing line break dropped)', () => {
      const fromEnv = load(ldap(SEARCH), { TRUSTBRIDGE_LDAP_PASSWORD: 's3cret pw ' });
      assert.ok(fromEnv.bind.mode === 'search');
      assert.equal(fromEnv.bind.serviceAccountPassword, 's3cret pw ');
      writeFileSync(join(home, 'ldap.pw'), 'from-a-file\n');
      const { serviceAccountPasswordEnv: _unused, ...fileBind } = SEARCH.bind;
      const fromFile = load(ldap({ ...SEARCH, bind: { ...fileBind, serviceAccountPasswordFile: 'ldap.pw' } }));
      assert.ok(fromFile.bind.mode === 'search');
      assert.equal(fromFile.bind.serviceAccountPassword, 'from-a-file');
    });

    it('a missing or empty password stops start-up, naming the key (and never showing a password)', () => {
      assert.throws(() => load(ldap(SEARCH), {}), /"identity.ldap.bind.serviceAccountPasswordEnv" names the environment variable TRUSTBRIDGE_LDAP_PASSWORD, which holds no password/);
      writeFileSync(join(home, 'empty.pw'), '\n');
      const { serviceAccountPasswordEnv: _unused, ...fileBind } = SEARCH.bind;
      assert.throws(() => load(ldap({ ...SEARCH, bind: { ...fileBind, serviceAccountPasswordFile: 'empty.pw' } })), /serviceAccountPasswordFile" names .*empty.pw, which holds no password/);
      assert.throws(() => load(ldap({ ...SEARCH, bind: { ...fileBind, serviceAccountPasswordFile: 'missing.pw' } })), /missing.pw, which cannot be read/);
    });

    it('CA files must be readable PEM certificates', () => {
      const ca = generateSelfSignedCertificate({ commonName: 'corp root', validDays: 2 });
      writeFileSync(join(home, 'ca.pem'), ca.certificatePem);
      writeFileSync(join(home, 'junk.pem'), 'not a certificate');
      assert.deepEqual(load(ldap({ ...DIRECT, caFiles: ['ca.pem'] })).caCertificates, [ca.certificatePem]);
      assert.throws(() => load(ldap({ ...DIRECT, caFiles: ['ca.pem', 'junk.pem'] })), /"identity.ldap.caFiles\[1\]" does not name a PEM certificate/);
      assert.throws(() => load(ldap({ ...DIRECT, caFiles: ['nope.pem'] })), /"identity.ldap.caFiles\[0\]" names .*nope.pem, which cannot be read/);
    });

    it('an awsRole mapping becomes exactly the claim awsRoleClaim gives (the instance account and provider name)', () => {
      const raw = { ...ldap({ ...DIRECT, groups: [{ group: 'devs', awsRole: 'Developers' }, { group: 'ops', awsRole: 'arn:aws:iam::210987654321:role/Ops' }, { group: 'staff', claim: 'role', value: 'Staff' }] }), aws: { accountId: '111122223333', providerName: 'corp-sts' } };
      const config = validateConfig(raw);
      const settings = loadLdapDirectorySettings(home, config, {});
      assert.deepEqual(settings.groupClaims, [
        { group: 'devs', claim: awsRoleClaim(config.aws, 'Developers') },
        { group: 'ops', claim: awsRoleClaim(config.aws, 'arn:aws:iam::210987654321:role/Ops') },
        { group: 'staff', claim: { name: 'role', value: 'Staff' } },
      ]);
      assert.equal(settings.groupClaims[0]?.claim.value, 'arn:aws:iam::111122223333:role/Developers,arn:aws:iam::111122223333:saml-provider/corp-sts');
    });

    it('filters and DNs that LDAP cannot parse stop start-up', () => {
      assert.throws(() => load(ldap({ ...SEARCH, bind: { ...SEARCH.bind, userSearchFilter: '((uid={user})' } }), { TRUSTBRIDGE_LDAP_PASSWORD: 'x' }), /"identity.ldap.bind.userSearchFilter" is not an LDAP filter/);
      assert.throws(() => load(ldap({ ...SEARCH, bind: { ...SEARCH.bind, userSearchBase: 'corp.example.com' } }), { TRUSTBRIDGE_LDAP_PASSWORD: 'x' }), /"identity.ldap.bind.userSearchBase" is not a distinguished name/);
      assert.throws(() => load(ldap({ ...DIRECT, groupSearchBase: 'groups' })), /"identity.ldap.groupSearchBase" is not a distinguished name/);
    });
  });
});
