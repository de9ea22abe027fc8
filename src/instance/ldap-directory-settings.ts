import { readCertificateFile, readSecretFile } from './secret-file';
import { awsRoleClaim } from '../aws/role-claim';
import type { StsConfig } from '../config/config';
import type { LdapConfig } from '../config/ldap-config';
import { parseDn } from '../identity/ldap/distinguished-name';
import { fillTemplate } from '../identity/ldap/ldap-escape';
import type { GroupClaim, LdapBind, LdapDirectorySettings } from '../identity/ldap/ldap-settings';
import { inHome } from './paths';

/**
 * Turns `identity.ldap` into what the directory needs: CA certificates and the service account
 * password read, group mappings turned into claims (an AWS role into exactly the Role value
 * `sts user add --aws-role` grants), filters and DNs checked. Fails at start-up, naming the key.
 */
export function loadLdapDirectorySettings(home: string, config: StsConfig, env: NodeJS.ProcessEnv = process.env): LdapDirectorySettings {
  const ldap = config.identity.ldap;
  if (ldap === null) throw new Error('config key "identity.ldap" must be set when identity.source is "ldap"');
  return {
    url: ldap.url,
    startTls: ldap.startTls,
    caCertificates: ldap.caFiles.map((file, i) => readCertificateFile(inHome(home, file), `identity.ldap.caFiles[${i}]`).pem),
    connectTimeoutMs: ldap.connectTimeoutMs,
    operationTimeoutMs: ldap.operationTimeoutMs,
    bind: bindOf(home, ldap, env),
    subjectNameAttribute: ldap.subjectNameAttribute,
    claims: ldap.claims,
    groupSearchBase: ldap.groupSearchBase === null ? null : checkedDn(ldap.groupSearchBase, 'identity.ldap.groupSearchBase'),
    groupSearchFilter: checkedFilter(ldap.groupSearchFilter, '{dn}', 'identity.ldap.groupSearchFilter'),
    groupClaims: ldap.groups.map((mapping, i): GroupClaim => {
      if (!('awsRole' in mapping)) return { group: mapping.group, claim: { name: mapping.claim, value: mapping.value } };
      try {
        return { group: mapping.group, claim: awsRoleClaim(config.aws, mapping.awsRole) };
      } catch (err) {
        throw new Error(`config key "identity.ldap.groups[${i}].awsRole" ${(err as Error).message}`);
      }
    }),
  };
}

function bindOf(home: string, ldap: LdapConfig, env: NodeJS.ProcessEnv): LdapBind {
  const bind = ldap.bind;
  if (bind.mode === 'direct') {
    checkedDn(fillTemplate(bind.userDnTemplate, '{user}', 'x'), 'identity.ldap.bind.userDnTemplate');
    return bind;
  }
  return {
    mode: 'search',
    serviceAccountDn: checkedDn(bind.serviceAccountDn, 'identity.ldap.bind.serviceAccountDn'),
    serviceAccountPassword: servicePassword(home, bind.serviceAccountPasswordFile, bind.serviceAccountPasswordEnv, env),
    userSearchBase: checkedDn(bind.userSearchBase, 'identity.ldap.bind.userSearchBase'),
    userSearchFilter: checkedFilter(bind.userSearchFilter, '{user}', 'identity.ldap.bind.userSearchFilter'),
  };
}

function servicePassword(home: string, file: string | null, variable: string | null, env: NodeJS.ProcessEnv): string {
  // An empty password would make the service account's bind an unauthenticated one: both refuse it.
  if (file !== null) return readSecretFile(inHome(home, file), 'identity.ldap.bind.serviceAccountPasswordFile');
  const password = env[variable as string];
  if (!password) throw new Error(`config key "identity.ldap.bind.serviceAccountPasswordEnv" names the environment variable ${variable}, which holds no password`);
  return password;
}

function checkedDn(dn: string, key: string): string {
  if (!parseDn(dn)) throw new Error(`config key "${key}" is not a distinguished name (found ${JSON.stringify(dn)})`);
  return dn;
}

function checkedFilter(template: string, placeholder: string, key: string): string {
  try {
    filterParser().parseString(fillTemplate(template, placeholder, 'x'));
  } catch (err) {
    throw new Error(`config key "${key}" is not an LDAP filter: ${(err as Error).message}`);
  }
  return template;
}

// ldapts is loaded when a directory is configured, not with this module, which every instance's opening imports.
const filterParser = (): typeof import('ldapts').FilterParser => (require('ldapts') as typeof import('ldapts')).FilterParser;
