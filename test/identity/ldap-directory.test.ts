import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { Client } from 'ldapts';
import { awsRoleClaim } from '../../src/aws/role-claim';
import { DEFAULT_CONFIG } from '../../src/config/config';
import { DirectoryUnavailableError, FailedAuthenticationError, ProtocolError } from '../../src/core/errors';
import { LdapUserDirectory } from '../../src/identity/ldap/ldap-user-directory';
import type { LdapDirectorySettings } from '../../src/identity/ldap/ldap-settings';
import type { AuthenticatedSubject } from '../../src/identity/subject';
import type { Claim } from '../../src/store/store';
import { SAML2 } from '../../src/xml/namespaces';
import { GROUPS_DN, LDAP_USERS, PEOPLE_DN, SERVICE_ACCOUNT, startSlapd, startSilentServer, type Slapd } from '../support/slapd';

// LdapUserDirectory against a real OpenLDAP slapd: both bind modes, LDAPS and StartTLS, claims
// from attributes and groups, and every way a bind must fail (and fail for the right reason).

const EMAIL = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress';
const NAME = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name';
const ROLE = 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role';
const DEVELOPERS_ROLE = awsRoleClaim(DEFAULT_CONFIG.aws, 'Developers');
const AUDITORS_ROLE = awsRoleClaim(DEFAULT_CONFIG.aws, 'Auditors');
const { alice, bob, carol, dave, smith } = LDAP_USERS;

async function rejection(promise: Promise<unknown>): Promise<ProtocolError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ProtocolError, `expected a ProtocolError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

async function failedAuthentication(promise: Promise<unknown>): Promise<string> {
  const err = await rejection(promise);
  assert.ok(err instanceof FailedAuthenticationError, `expected FailedAuthentication, got ${err.name}: ${err.logDetail}`);
  assert.equal(err.message, 'The security token could not be authenticated or authorized.');
  return err.logDetail ?? '';
}

async function directoryUnavailable(promise: Promise<unknown>): Promise<string> {
  const err = await rejection(promise);
  assert.ok(err instanceof DirectoryUnavailableError, `expected DirectoryUnavailable, got ${err.name}: ${err.logDetail}`);
  assert.equal(err.message, 'The identity directory is unavailable; try again later.');
  assert.equal(err.receiver, true);
  return err.logDetail ?? '';
}

const sorted = (claims: readonly Claim[]): Claim[] => [...claims].sort((a, b) => `${a.name} ${a.value}`.localeCompare(`${b.name} ${b.value}`));
const sortClaims = (s: AuthenticatedSubject): Claim[] => sorted(s.claims);

describe('identity/ldap LdapUserDirectory against slapd', function () {
  this.timeout(60_000);
  let slapd: Slapd;
  let direct: LdapDirectorySettings;
  let search: LdapDirectorySettings;

  before(async () => {
    slapd = await startSlapd();
    direct = {
      url: slapd.ldapsUrl,
      startTls: false,
      caCertificates: [slapd.caPem],
      connectTimeoutMs: 3000,
      operationTimeoutMs: 3000,
      bind: { mode: 'direct', userDnTemplate: `uid={user},${PEOPLE_DN}` },
      subjectNameAttribute: 'uid',
      claims: { mail: EMAIL, displayName: NAME },
      groupSearchBase: GROUPS_DN,
      groupSearchFilter: '(|(member={dn})(uniqueMember={dn}))',
      groupClaims: [
        { group: `cn=developers,${GROUPS_DN}`, claim: DEVELOPERS_ROLE },
        { group: 'CN=Auditors, OU=Groups, DC=example, DC=org', claim: AUDITORS_ROLE },
        { group: 'staff', claim: { name: ROLE, value: 'Staff' } },
        { group: 'contractors', claim: { name: ROLE, value: 'Contractor' } },
      ],
    };
    search = {
      ...direct,
      url: slapd.ldapUrl,
      startTls: true,
      bind: {
        mode: 'search',
        serviceAccountDn: SERVICE_ACCOUNT.dn,
        serviceAccountPassword: SERVICE_ACCOUNT.password,
        userSearchBase: PEOPLE_DN,
        userSearchFilter: '(&(objectClass=inetOrgPerson)(uid={user}))',
      },
    };
  });
  after(async () => {
    await slapd?.destroy();
  });

  const aliceClaims = sorted([{ name: EMAIL, value: alice.mail }, DEVELOPERS_ROLE, { name: ROLE, value: 'Staff' }, { name: NAME, value: 'Alice Liddell' }]);

  describe('successful binds', () => {
    it('direct bind over LDAPS: the subject, its attribute claims and its groups (from memberOf) as claims', async () => {
      const subject = await new LdapUserDirectory(direct).authenticateWithPassword('alice', alice.password);
      assert.equal(subject.name, 'alice');
      assert.equal(subject.authnContextClassRef, SAML2.passwordProtectedTransport);
      assert.deepEqual(sortClaims(subject), aliceClaims);
    });

    it('search-then-bind with the service account over StartTLS gives the same subject', async () => {
      const subject = await new LdapUserDirectory(search).authenticateWithPassword('alice', alice.password);
      assert.equal(subject.name, 'alice');
      assert.deepEqual(sortClaims(subject), aliceClaims);
    });

    it('direct bind over StartTLS and search-then-bind over LDAPS work too', async () => {
      const a = await new LdapUserDirectory({ ...direct, url: slapd.ldapUrl, startTls: true }).authenticateWithPassword('alice', alice.password);
      const b = await new LdapUserDirectory({ ...search, url: slapd.ldapsUrl, startTls: false }).authenticateWithPassword('alice', alice.password);
      assert.deepEqual(sortClaims(a), aliceClaims);
      assert.deepEqual(sortClaims(b), aliceClaims);
    });

    it('a group named by DN matches however the DN is spelled (case, spaces): bob gets the Auditors role', async () => {
      const subject = await new LdapUserDirectory(search).authenticateWithPassword('bob', bob.password);
      assert.deepEqual(sortClaims(subject), sorted([{ name: EMAIL, value: bob.mail }, AUDITORS_ROLE, { name: ROLE, value: 'Staff' }]));
    });

    it('a user without memberOf (a groupOfUniqueNames member) has their groups found by searching groupSearchBase', async () => {
      for (const settings of [direct, search]) {
        const subject = await new LdapUserDirectory(settings).authenticateWithPassword('carol', carol.password);
        assert.deepEqual(sortClaims(subject), sorted([{ name: EMAIL, value: carol.mail }, { name: ROLE, value: 'Contractor' }]));
      }
      const noSearch = await new LdapUserDirectory({ ...direct, groupSearchBase: null }).authenticateWithPassword('carol', carol.password);
      assert.deepEqual(noSearch.claims, [{ name: EMAIL, value: carol.mail }], 'without groupSearchBase only memberOf counts');
    });

    it('a user in no group gets only their attribute claims', async () => {
      for (const settings of [direct, search]) {
        const subject = await new LdapUserDirectory(settings).authenticateWithPassword('dave', dave.password);
        assert.equal(subject.name, 'dave');
        assert.deepEqual(subject.claims, [{ name: EMAIL, value: dave.mail }]);
      }
    });

    it('the subject name is the directory\'s value of subjectNameAttribute, or the name as typed without one', async () => {
      const canonical = await new LdapUserDirectory(search).authenticateWithPassword('ALICE', alice.password);
      assert.equal(canonical.name, 'alice');
      const typed = await new LdapUserDirectory({ ...search, subjectNameAttribute: null }).authenticateWithPassword('ALICE', alice.password);
      assert.equal(typed.name, 'ALICE');
    });

    it('a name with DN specials (a comma) is escaped, not refused: "smith, jr" binds in both modes', async () => {
      for (const settings of [direct, search]) {
        const subject = await new LdapUserDirectory(settings).authenticateWithPassword(smith.uid, smith.password);
        assert.equal(subject.name, 'smith, jr');
        assert.deepEqual(subject.claims, [{ name: EMAIL, value: smith.mail }]);
      }
    });

    it('with nothing mapped, only the bind is checked', async () => {
      const bare = { ...search, subjectNameAttribute: null, claims: {}, groupClaims: [] };
      const subject = await new LdapUserDirectory(bare).authenticateWithPassword('alice', alice.password);
      assert.deepEqual(subject.claims, []);
    });
  });

  describe('refusals', () => {
    it('a wrong password is FailedAuthentication, in both modes', async () => {
      // Direct mode names the DN template (the filled DN repeats the caller's name); search mode the directory's own DN.
      for (const [settings, shownDn] of [[direct, `uid={user},${PEOPLE_DN}`], [search, alice.dn]] as const) {
        const detail = await failedAuthentication(new LdapUserDirectory(settings).authenticateWithPassword('alice', 'Alice-ldap-pw-2'));
        assert.ok(detail.startsWith(`the directory refused the bind of user "alice" as ${shownDn}: InvalidCredentialsError (result code 49)`), detail);
        assert.doesNotMatch(detail, /Alice-ldap-pw/);
      }
    });

    it('a hostile user name reaches the detail only quoted and escaped, in both modes (no raw line break to forge a log line)', async () => {
      for (const settings of [direct, search]) {
        const detail = await failedAuthentication(new LdapUserDirectory(settings).authenticateWithPassword('mallory\r\n{"level":"info"}', alice.password));
        assert.ok(detail.includes('"mallory\\u000d\\u000a{"level":"info"}"'), detail);
        assert.doesNotMatch(detail, /[\r\n]/);
      }
    });

    it('an unknown user is the same FailedAuthentication as a wrong password (only the log tells them apart)', async () => {
      const directDetail = await failedAuthentication(new LdapUserDirectory(direct).authenticateWithPassword('mallory', alice.password));
      assert.match(directDetail, /result code 49/);
      const searchDetail = await failedAuthentication(new LdapUserDirectory(search).authenticateWithPassword('mallory', alice.password));
      assert.equal(searchDetail, 'unknown user "mallory": no entry under ou=people,dc=example,dc=org matches (&(objectClass=inetOrgPerson)(uid={user}))');
    });

    it('an empty password is refused before the directory is asked, although slapd would accept its bind', async () => {
      // What the refusal prevents: slapd (like many directories) "accepts" a DN with an empty password.
      const raw = new Client({ url: slapd.ldapsUrl, tlsOptions: { ca: [slapd.caPem] } });
      await raw.bind(alice.dn, '');
      await raw.unbind();
      const silent = await startSilentServer();
      try {
        for (const settings of [direct, search, { ...direct, url: `ldap://127.0.0.1:${silent.port}` }]) {
          const detail = await failedAuthentication(new LdapUserDirectory(settings).authenticateWithPassword('alice', ''));
          assert.match(detail, /empty password .* refused before asking the directory: an LDAP simple bind with an empty password is an unauthenticated bind/);
        }
        assert.equal(silent.accepted(), 0, 'no connection was even opened');
      } finally {
        await silent.close();
      }
    });

    it('PasswordDigest is refused with FailedAuthentication: the directory never reveals the password', async () => {
      const detail = await failedAuthentication(
        new LdapUserDirectory(direct).authenticateWithDigest('alice', 'c29tZS1kaWdlc3Q=', Buffer.alloc(16), new Date().toISOString()),
      );
      assert.match(detail, /PasswordDigest .* refused: users come from an LDAP directory, which never reveals a password/);
    });

    it('a name matching several entries is refused (the search filter must find one)', async () => {
      const byMail = { ...search, bind: { ...search.bind, userSearchFilter: '(mail={user})' } } as LdapDirectorySettings;
      const detail = await failedAuthentication(new LdapUserDirectory(byMail).authenticateWithPassword('team@example.org', carol.password));
      assert.match(detail, /matches several entries/);
      // One match is fine.
      assert.equal((await new LdapUserDirectory(byMail).authenticateWithPassword(alice.mail, alice.password)).name, 'alice');
    });

    it('a name of more than 256 characters is refused without asking', async () => {
      await failedAuthentication(new LdapUserDirectory(direct).authenticateWithPassword('a'.repeat(257), alice.password));
    });
  });

  describe('injection', () => {
    // With alice's password each of these would authenticate as alice (or someone) if the name went into the
    // filter unescaped: `alic*` is a substring match, `*` matches everyone, and so on.
    const FILTER_ATTACKS = ['alic*', '*', 'a*e', 'alice)(uid=*', '*)(uid=alice', 'alice)(|(uid=*', 'alice\u0000', 'alice\\2a', '\\2a', 'alice)', '(alice'];

    it('the unescaped filter would find alice: the attack is real', async () => {
      const raw = new Client({ url: slapd.ldapsUrl, tlsOptions: { ca: [slapd.caPem] } });
      await raw.bind(SERVICE_ACCOUNT.dn, SERVICE_ACCOUNT.password);
      const { searchEntries } = await raw.search(PEOPLE_DN, { filter: '(&(objectClass=inetOrgPerson)(uid=alic*))' });
      await raw.unbind();
      assert.deepEqual(searchEntries.map((e) => e.dn), [alice.dn]);
    });

    for (const name of FILTER_ATTACKS) {
      it(`search filter: ${JSON.stringify(name)} with alice's password matches nobody (RFC 4515 escaping)`, async () => {
        const detail = await failedAuthentication(new LdapUserDirectory(search).authenticateWithPassword(name, alice.password));
        // The detail names the filter's template, not the filled filter (a forged name stays out of it); the escaping is
        // what the refusal itself proves: alice's password with a wildcard or a filter fragment finds nobody.
        assert.match(detail, /^unknown user .*: no entry under ou=people,dc=example,dc=org matches \(&\(objectClass=inetOrgPerson\)\(uid=\{user\}\)\)$/);
      });
    }

    // In a DN the user name must stay one attribute value: no extra RDN, no multi-valued RDN, no other subtree.
    const DN_ATTACKS = [
      'alice,ou=people,dc=example,dc=org',
      'alice,ou=services',
      'alice+cn=Alice Liddell',
      'trustbridge,ou=services,dc=example,dc=org',
      '*',
      'alice\u0000',
      '#616c696365',
      'alice;ou=people',
      'alice\\',
    ];
    for (const name of DN_ATTACKS) {
      it(`direct bind DN: ${JSON.stringify(name)} is refused as a bad bind, never a bind as someone (RFC 4514 escaping)`, async () => {
        for (const password of [alice.password, SERVICE_ACCOUNT.password]) {
          const detail = await failedAuthentication(new LdapUserDirectory(direct).authenticateWithPassword(name, password));
          assert.match(detail, /refused the bind of user/);
        }
      });
    }
  });

  describe('directory problems are DirectoryUnavailable, not FailedAuthentication', () => {
    it('a service account with a wrong password: a clear error at its first use (each authentication)', async () => {
      const wrong = { ...search, bind: { ...search.bind, serviceAccountPassword: 'not-the-service-password' } } as LdapDirectorySettings;
      const detail = await directoryUnavailable(new LdapUserDirectory(wrong).authenticateWithPassword('alice', alice.password));
      assert.match(detail, /the service account cn=trustbridge,ou=services,dc=example,dc=org was refused \(InvalidCredentialsError \(result code 49\)/);
      assert.doesNotMatch(detail, /not-the-service-password|Alice-ldap-pw/);
    });

    it('LDAPS with a CA that did not sign the server certificate is refused, not silently accepted', async () => {
      const other = readFileSync(slapd.otherCaFile, 'utf8');
      const detail = await directoryUnavailable(new LdapUserDirectory({ ...direct, caCertificates: [other] }).authenticateWithPassword('alice', alice.password));
      assert.match(detail, new RegExp(`^LDAP directory ${slapd.ldapsUrl} is unavailable: connect failed: self-signed certificate in certificate chain`));
    });

    it('StartTLS with a CA that did not sign the server certificate is refused before any password is sent', async () => {
      const other = readFileSync(slapd.otherCaFile, 'utf8');
      const detail = await directoryUnavailable(new LdapUserDirectory({ ...search, caCertificates: [other] }).authenticateWithPassword('alice', alice.password));
      assert.match(detail, /is unavailable: connect or StartTLS failed: self-signed certificate in certificate chain/);
    });

    it('no CA configured means Node\'s public roots, which do not include the test CA: refused', async () => {
      const detail = await directoryUnavailable(new LdapUserDirectory({ ...direct, caCertificates: [] }).authenticateWithPassword('alice', alice.password));
      assert.match(detail, /connect failed: (self-signed certificate in certificate chain|unable to get local issuer certificate)/);
    });

    it('a search base that does not exist is reported as a directory problem', async () => {
      const wrongBase = { ...search, bind: { ...search.bind, userSearchBase: 'ou=nobody,dc=example,dc=org' } } as LdapDirectorySettings;
      const detail = await directoryUnavailable(new LdapUserDirectory(wrongBase).authenticateWithPassword('alice', alice.password));
      assert.match(detail, /the user search failed: NoSuchObjectError \(result code 32\)/);
    });

    it('a group search that fails after the bind (its base does not exist) is DirectoryUnavailable, never a subject without its groups', async () => {
      const nowhere = 'ou=nowhere,dc=example,dc=org';
      for (const settings of [direct, search]) {
        const broken = new LdapUserDirectory({ ...settings, groupSearchBase: nowhere });
        // carol's groups are only found by searching; dave is in none, which only the search can tell.
        for (const [name, password] of [['carol', carol.password], ['dave', dave.password]] as const) {
          const started = Date.now();
          const detail = await directoryUnavailable(broken.authenticateWithPassword(name, password));
          assert.ok(Date.now() - started < settings.operationTimeoutMs, 'answered by the directory, not by the time bound');
          assert.equal(detail, `LDAP directory ${settings.url} is unavailable: the group search failed: NoSuchObjectError (result code 32)`);
          assert.doesNotMatch(detail, /Carol-ldap-pw|Dave-ldap-pw|Service-ldap-pw/);
        }
        // A user whose entry has memberOf needs no search: the broken base does not touch them.
        const subject = await broken.authenticateWithPassword('alice', alice.password);
        assert.deepEqual(sortClaims(subject), aliceClaims);
      }
    });
  });
});
