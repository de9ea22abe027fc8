import { InvalidCredentialsError, InvalidDNSyntaxError, ResultCodeError, type Entry } from 'ldapts';
import { quotedClaimedUserName } from '../../audit/claimed-user-name';
import { FailedAuthenticationError } from '../../core/errors';
import type { Claim } from '../../store/store';
import { SAML2 } from '../../xml/namespaces';
import type { AuthenticatedSubject } from '../subject';
import type { UserDirectory } from '../user-directory';
import { GroupClaims } from './group-claims';
import { escapeDnValue, escapeFilterValue, fillTemplate } from './ldap-escape';
import { LdapConnection, unavailable } from './ldap-connection';
import type { LdapDirectorySettings } from './ldap-settings';

// Longer names are refused before the directory is asked: no directory has such names, and
// a filter or DN built from one is only a way to make the server work.
const MAX_USER_NAME = 256;
// Characters XML 1.0 cannot carry: an attribute value with one would make the token unparsable.
const NOT_XML_CHARACTERS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

/**
 * Users in an LDAP / Active Directory server, checked by binding as them: directly at a DN built
 * from a template, or at the DN a service account's search finds. Their attributes and groups
 * become claims. One connection per authentication (see LdapConnection); a directory that cannot
 * be asked gives a DirectoryUnavailableError, a refused bind or an unknown name a
 * FailedAuthenticationError that reads the same either way.
 */
export class LdapUserDirectory implements UserDirectory {
  private readonly groups: GroupClaims;
  private readonly attributes: string[];

  constructor(private readonly settings: LdapDirectorySettings) {
    this.groups = new GroupClaims(settings.groupClaims);
    const wanted = [...Object.keys(settings.claims), ...(this.groups.empty ? [] : ['memberOf'])];
    if (settings.subjectNameAttribute !== null) wanted.push(settings.subjectNameAttribute);
    // With nothing to read, '1.1' asks for no attributes at all (RFC 4511 section 4.5.1.8).
    this.attributes = wanted.length > 0 ? [...new Set(wanted)] : ['1.1'];
  }

  async authenticateWithPassword(userName: string, password: string): Promise<AuthenticatedSubject> {
    if (password === '') {
      throw new FailedAuthenticationError(
        `empty password for user ${quotedClaimedUserName(userName)} refused before asking the directory: an LDAP simple bind with an empty password is an unauthenticated bind, which succeeds without checking anything`,
      );
    }
    if (userName === '' || userName.length > MAX_USER_NAME) {
      throw new FailedAuthenticationError(`a user name of ${userName.length} characters cannot be in the directory`);
    }
    const connection = await LdapConnection.open(this.settings);
    try {
      const { entry, groupDns } =
        this.settings.bind.mode === 'direct'
          ? await this.bindDirectly(connection, this.settings.bind.userDnTemplate, userName, password)
          : await this.searchThenBind(connection, this.settings.bind, userName, password);
      return {
        name: this.subjectName(entry, userName),
        claims: [...this.attributeClaims(entry), ...this.groups.claimsFor(groupDns)],
        authenticatedAt: new Date(),
        authnContextClassRef: SAML2.passwordProtectedTransport,
      };
    } finally {
      connection.close();
    }
  }

  async authenticateWithDigest(userName: string, _digest: string, _nonce: Buffer, _created: string): Promise<AuthenticatedSubject> {
    throw new FailedAuthenticationError(
      `PasswordDigest from user ${quotedClaimedUserName(userName)} refused: users come from an LDAP directory, which never reveals a password to check a digest against; the client must send PasswordText`,
    );
  }

  private async bindDirectly(
    connection: LdapConnection,
    template: string,
    userName: string,
    password: string,
  ): Promise<{ entry: Entry; groupDns: string[] }> {
    const dn = fillTemplate(template, '{user}', escapeDnValue(userName));
    // A refusal names the template, not the DN: the DN repeats the caller's name, escaped only for LDAP.
    await this.bindAsUser(connection, dn, password, userName, template);
    // Read as the user: the directory's ACL must let a user read their own entry (and the groups).
    const [entry] = await this.ask(`reading ${dn}`, () =>
      connection.search(dn, { scope: 'base', filter: '(objectClass=*)', attributes: this.attributes }),
    );
    if (!entry) throw unavailable(this.settings, `the entry ${dn} could not be read after its bind`);
    return { entry, groupDns: await this.groupsOf(connection, entry) };
  }

  private async searchThenBind(
    connection: LdapConnection,
    bind: Extract<LdapDirectorySettings['bind'], { mode: 'search' }>,
    userName: string,
    password: string,
  ): Promise<{ entry: Entry; groupDns: string[] }> {
    try {
      await connection.bind(bind.serviceAccountDn, bind.serviceAccountPassword);
    } catch (err) {
      if (!(err instanceof ResultCodeError)) throw err;
      throw unavailable(
        this.settings,
        `the service account ${bind.serviceAccountDn} was refused (${describe(err)}): check identity.ldap.bind and its password`,
      );
    }
    const filter = fillTemplate(bind.userSearchFilter, '{user}', escapeFilterValue(userName));
    // Two are enough to know the filter is ambiguous.
    const entries = await this.ask('the user search', () =>
      connection.search(bind.userSearchBase, { scope: 'sub', filter, attributes: this.attributes, sizeLimit: 2 }),
    );
    const [entry] = entries;
    if (!entry) throw new FailedAuthenticationError(`unknown user ${quotedClaimedUserName(userName)}: no entry under ${bind.userSearchBase} matches ${bind.userSearchFilter}`);
    if (entries.length > 1) {
      throw new FailedAuthenticationError(`user ${quotedClaimedUserName(userName)} matches several entries under ${bind.userSearchBase}; the search filter must find one`);
    }
    // Groups are read while still bound as the service account, which can read them.
    const groupDns = await this.groupsOf(connection, entry);
    await this.bindAsUser(connection, entry.dn, password, userName);
    return { entry, groupDns };
  }

  /** Binds as the user at `dn`; a refusal's detail shows `shownDn` (the directory's own DN, or the template it was made from). */
  private async bindAsUser(connection: LdapConnection, dn: string, password: string, userName: string, shownDn = dn): Promise<void> {
    try {
      await connection.bind(dn, password);
    } catch (err) {
      // 49 is a wrong password, an unknown DN or (Active Directory) a locked or expired account.
      if (err instanceof InvalidCredentialsError || err instanceof InvalidDNSyntaxError) {
        throw new FailedAuthenticationError(`the directory refused the bind of user ${quotedClaimedUserName(userName)} as ${shownDn}: ${describe(err)}`);
      }
      if (err instanceof ResultCodeError) throw unavailable(this.settings, `the bind of user ${quotedClaimedUserName(userName)} failed: ${describe(err)}`);
      throw err;
    }
  }

  /** memberOf when the entry has it (OpenLDAP's overlay, Active Directory); else a search for groups naming the user. */
  private async groupsOf(connection: LdapConnection, entry: Entry): Promise<string[]> {
    if (this.groups.empty) return [];
    const memberOf = valuesOf(entry, 'memberOf');
    if (memberOf.length > 0 || this.settings.groupSearchBase === null) return memberOf;
    const base = this.settings.groupSearchBase;
    const filter = fillTemplate(this.settings.groupSearchFilter, '{dn}', escapeFilterValue(entry.dn));
    const groups = await this.ask('the group search', () => connection.search(base, { scope: 'sub', filter, attributes: ['1.1'] }));
    return groups.map((g) => g.dn);
  }

  /** Runs a search; an LDAP error result (a missing base, no access) means the directory is not usable as configured. */
  private async ask<T>(what: string, search: () => Promise<T>): Promise<T> {
    try {
      return await search();
    } catch (err) {
      if (!(err instanceof ResultCodeError)) throw err;
      throw unavailable(this.settings, `${what} failed: ${describe(err)}`);
    }
  }

  private subjectName(entry: Entry, typed: string): string {
    if (this.settings.subjectNameAttribute === null) return typed;
    return valuesOf(entry, this.settings.subjectNameAttribute)[0] ?? typed;
  }

  private attributeClaims(entry: Entry): Claim[] {
    return Object.entries(this.settings.claims).flatMap(([attribute, claim]) =>
      valuesOf(entry, attribute).map((value) => ({ name: claim, value })),
    );
  }
}

/** An attribute's text values, found case-insensitively (servers return their own spelling); binary values are left out. */
function valuesOf(entry: Entry, attribute: string): string[] {
  const wanted = attribute.toLowerCase();
  const key = Object.keys(entry).find((k) => k !== 'dn' && k.toLowerCase() === wanted);
  if (key === undefined) return [];
  const raw = entry[key];
  const values = Array.isArray(raw) ? raw : [raw];
  return values.filter((v): v is string => typeof v === 'string' && v !== '' && !NOT_XML_CHARACTERS.test(v));
}

function describe(err: ResultCodeError): string {
  // ldapts appends " Code: 0x31" to the server's diagnostic message; the code is given already.
  const diagnostic = err.message.replace(/\s*Code: 0x[0-9a-f]+$/i, '').trim();
  return `${err.name} (result code ${err.code})${diagnostic ? `: ${diagnostic}` : ''}`;
}
