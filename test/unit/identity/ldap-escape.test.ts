import { strict as assert } from 'node:assert';
import { normalizeDn, parseDn, readDn } from '../../../src/identity/ldap/distinguished-name';
import { GroupClaims } from '../../../src/identity/ldap/group-claims';
import { escapeDnValue, escapeFilterValue, fillTemplate } from '../../../src/identity/ldap/ldap-escape';

describe('identity/ldap escaping and DNs', () => {
  describe('escapeFilterValue (RFC 4515)', () => {
    it('escapes the RFC 4515 section 4 examples', () => {
      assert.equal(escapeFilterValue('Parens R Us (for all your parenthetical needs)'), 'Parens R Us \\28for all your parenthetical needs\\29');
      assert.equal(escapeFilterValue('*'), '\\2a');
      assert.equal(escapeFilterValue('C:\\MyFile'), 'C:\\5cMyFile');
      assert.equal(escapeFilterValue('\u0000\u0000\u0000\u0004'), '\\00\\00\\00\u0004');
    });

    it('turns injection attempts into plain values and leaves UTF-8 and other characters alone', () => {
      assert.equal(escapeFilterValue('*)(uid=*'), '\\2a\\29\\28uid=\\2a');
      assert.equal(escapeFilterValue('alice)(|(objectClass=*'), 'alice\\29\\28|\\28objectClass=\\2a');
      assert.equal(escapeFilterValue('\\2a'), '\\5c2a');
      assert.equal(escapeFilterValue('Lučić & Søn <x@y>'), 'Lučić & Søn <x@y>');
    });
  });

  describe('escapeDnValue (RFC 4514)', () => {
    it('escapes the specials, a leading space or #, a trailing space and NUL', () => {
      assert.equal(escapeDnValue('Sue, Grabbit and Runn'), 'Sue\\, Grabbit and Runn');
      assert.equal(escapeDnValue('a+b"c;d<e>f=g\\h'), 'a\\+b\\"c\\;d\\<e\\>f\\=g\\\\h');
      assert.equal(escapeDnValue('#hash'), '\\#hash');
      assert.equal(escapeDnValue('mid#hash'), 'mid#hash');
      assert.equal(escapeDnValue(' lead and trail '), '\\ lead and trail\\ ');
      assert.equal(escapeDnValue(' '), '\\ ');
      assert.equal(escapeDnValue('back\\ '), 'back\\\\\\ ');
      assert.equal(escapeDnValue('nul\u0000'), 'nul\\00');
      assert.equal(escapeDnValue('Lučić'), 'Lučić');
    });

    it('every escaped value reads back as exactly itself, as one attribute value', () => {
      const values = ['smith, jr', 'a+cn=b', 'x,ou=admins,dc=example,dc=org', ' #x ', '\\', '"quoted"', 'semi;colon', 'nul\u0000end', 'Lučić', '  ', '=', '#'];
      for (const value of values) {
        const rdns = parseDn(fillTemplate('uid={user},ou=people,dc=example,dc=org', '{user}', escapeDnValue(value)));
        assert.ok(rdns, `a DN for ${JSON.stringify(value)}`);
        assert.equal(rdns.length, 4, JSON.stringify(value));
        assert.deepEqual(rdns[0], [{ type: 'uid', value }], JSON.stringify(value));
      }
    });
  });

  describe('fillTemplate', () => {
    it('replaces every placeholder, and $ patterns in the value stay literal', () => {
      assert.equal(fillTemplate('(|(uid={user})(mail={user}))', '{user}', "a$&b$'"), "(|(uid=a$&b$')(mail=a$&b$'))");
    });
  });

  describe('parseDn / normalizeDn / readDn', () => {
    it('DNs that name the same entry normalise alike', () => {
      const same = [
        'cn=Developers,ou=Groups,dc=example,dc=org',
        'CN=developers, OU=groups , DC=Example,DC=ORG',
        'cn = developers;ou=groups;dc=example;dc=org',
        'cn=\\64evelopers,ou=groups,dc=example,dc=org',
      ];
      const keys = same.map(normalizeDn);
      for (const key of keys) assert.equal(key, keys[0]);
      assert.notEqual(normalizeDn('cn=developers,ou=other,dc=example,dc=org'), keys[0]);
      assert.equal(normalizeDn('cn=dev\\2Cops,dc=x'), normalizeDn('cn=dev\\,ops,dc=x'));
      assert.equal(normalizeDn('cn=a+sn=b,dc=x'), normalizeDn('sn=B+cn=A,dc=x'));
      assert.equal(normalizeDn('cn=caf\\C3\\A9,dc=x'), normalizeDn('cn=café,dc=x'));
    });

    it('an escaped trailing space is kept, an unescaped one is not', () => {
      assert.deepEqual(parseDn('cn=a\\ ,dc=x')?.[0], [{ type: 'cn', value: 'a ' }]);
      assert.deepEqual(parseDn('cn=a ,dc=x')?.[0], [{ type: 'cn', value: 'a' }]);
    });

    it('what is not a DN is undefined', () => {
      for (const bad of ['developers', 'cn=a,', ',cn=a', 'cn=a\\', '=a', 'cn=a,b']) assert.equal(parseDn(bad), undefined, bad);
    });

    it('the common name is the first RDN\'s cn only', () => {
      assert.equal(readDn('CN=Domain Admins,CN=Users,DC=corp,DC=example,DC=com')?.commonName, 'Domain Admins');
      assert.equal(readDn('ou=groups,cn=x,dc=org')?.commonName, undefined);
    });

    it('readDn gives both from one parse, and nothing for a malformed DN', () => {
      const dn = 'CN=Domain Admins,CN=Users,DC=corp,DC=example,DC=com';
      assert.deepEqual(readDn(dn), { normalized: normalizeDn(dn), commonName: 'Domain Admins' });
      assert.deepEqual(readDn('ou=groups,dc=org'), { normalized: normalizeDn('ou=groups,dc=org'), commonName: undefined });
      assert.equal(readDn('cn=unterminated\\'), undefined);
      assert.equal(readDn('no equals sign'), undefined);
    });
  });

  describe('GroupClaims', () => {
    const role = (value: string) => ({ name: 'role', value });
    const claims = new GroupClaims([
      { group: 'cn=developers,ou=groups,dc=example,dc=org', claim: role('Dev') },
      { group: 'Staff', claim: role('Staff') },
      { group: 'CN=Staff,OU=Groups,DC=example,DC=org', claim: role('Staff') },
      { group: 'cn=staff,ou=groups,dc=example,dc=org', claim: role('Employee') },
    ]);

    it('matches by DN and by common name, each claim once', () => {
      assert.deepEqual(claims.claimsFor(['CN=Developers,OU=Groups,DC=example,DC=org', 'cn=staff,ou=groups,dc=example,dc=org']), [
        role('Dev'),
        role('Staff'),
        role('Employee'),
      ]);
    });

    it('a common name matches a group of that name anywhere; a DN only itself', () => {
      assert.deepEqual(claims.claimsFor(['cn=staff,ou=elsewhere,dc=example,dc=org']), [role('Staff')]);
      assert.deepEqual(claims.claimsFor(['cn=developers,ou=elsewhere,dc=example,dc=org']), []);
      assert.deepEqual(claims.claimsFor(['not a dn', 'ou=staff,dc=org']), []);
    });

    it('knows when nothing is mapped (no group lookup needed)', () => {
      assert.equal(new GroupClaims([]).empty, true);
      assert.equal(claims.empty, false);
    });
  });
});
