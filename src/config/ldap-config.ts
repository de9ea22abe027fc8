// The `identity.ldap` section: where the LDAP / Active Directory server is, how users bind, and
// which attributes and groups become claims. Parsed once at start-up into a typed value with
// its defaults; every problem names its key.

import { ConfigError } from './config-error';

export type LdapBindConfig =
  /** Bind as the user at a DN built from a template (`uid={user},ou=people,dc=example,dc=org`). */
  | { readonly mode: 'direct'; readonly userDnTemplate: string }
  /** Bind as a service account, find the user's entry with a filter, then bind as that entry. */
  | {
      readonly mode: 'search';
      readonly serviceAccountDn: string;
      /** The service account's password is read from this file (relative to the instance directory)... */
      readonly serviceAccountPasswordFile: string | null;
      /** ...or from this environment variable; exactly one of the two is set. */
      readonly serviceAccountPasswordEnv: string | null;
      readonly userSearchBase: string;
      /** An RFC 4515 filter with `{user}` where the escaped user name goes. */
      readonly userSearchFilter: string;
    };

/** A group whose members get a claim: an AWS role (the Role attribute) or any claim and value. */
export type LdapGroupMapping =
  | { readonly group: string; readonly awsRole: string }
  | { readonly group: string; readonly claim: string; readonly value: string };

export interface LdapConfig {
  /** `ldaps://host[:port]` or `ldap://host[:port]` (with startTls unless the host is loopback). */
  readonly url: string;
  readonly startTls: boolean;
  /** PEM CA certificates trusted for the directory's TLS certificate; none: Node's default roots. */
  readonly caFiles: readonly string[];
  readonly bind: LdapBindConfig;
  /** Bounds opening the connection: TCP, the TLS handshake, StartTLS. */
  readonly connectTimeoutMs: number;
  /** Bounds everything after: every bind and search of one authentication together. */
  readonly operationTimeoutMs: number;
  /** The attribute whose value becomes the subject's name (NameID); null: the name as the user typed it. */
  readonly subjectNameAttribute: string | null;
  /** Attribute name → claim name, e.g. mail → http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress. */
  readonly claims: Readonly<Record<string, string>>;
  /** Where groups are searched for users whose entry has no memberOf; null: no search. */
  readonly groupSearchBase: string | null;
  /** An RFC 4515 filter with `{dn}` where the escaped user DN goes. */
  readonly groupSearchFilter: string;
  readonly groups: readonly LdapGroupMapping[];
}

const DEFAULTS = {
  startTls: false,
  caFiles: [] as string[],
  connectTimeoutMs: 3000,
  operationTimeoutMs: 5000,
  subjectNameAttribute: null,
  claims: {},
  groupSearchBase: null,
  groupSearchFilter: '(|(member={dn})(uniqueMember={dn}))',
  groups: [] as LdapGroupMapping[],
};

const LDAP_URL = /^ldaps?:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?\/?$/;
// An attribute description: a name (letters, digits, hyphens) or an OID.
const ATTRIBUTE = /^([A-Za-z][A-Za-z0-9-]*|\d+(\.\d+)+)$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// What awsRoleClaim accepts: an IAM role name, or a role ARN (checked fully when the claim is built).
const AWS_ROLE = /^([\w+=,.@-]{1,64}|arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512})$/;
const CONTROL = /[\u0000-\u001F\u007F]/;
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function onlyKeys(key: string, value: Record<string, unknown>, allowed: readonly string[]): void {
  for (const k of Object.keys(value)) {
    if (!allowed.includes(k)) throw new ConfigError(`${key}.${k}`, 'is not a known setting');
  }
}

function text(key: string, v: unknown): string {
  if (typeof v !== 'string' || v.trim() === '' || CONTROL.test(v)) {
    throw new ConfigError(key, 'must be a non-empty string without control characters');
  }
  return v;
}

function optionalText(key: string, v: unknown): string | null {
  return v === undefined || v === null ? null : text(key, v);
}

function withPlaceholder(key: string, v: unknown, placeholder: string, what: string): string {
  const s = text(key, v);
  if (!s.includes(placeholder)) throw new ConfigError(key, `must contain ${placeholder} (${what})`);
  return s;
}

function filterTemplate(key: string, v: unknown, placeholder: string): string {
  const s = withPlaceholder(key, v, placeholder, 'where the escaped value goes');
  if (!s.startsWith('(') || !s.endsWith(')')) throw new ConfigError(key, `must be an LDAP filter in parentheses (found ${JSON.stringify(s)})`);
  return s;
}

function milliseconds(key: string, v: unknown, fallback: number): number {
  const value = v ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 100 || value > 60000) {
    throw new ConfigError(key, `must be an integer from 100 to 60000 (found ${JSON.stringify(value)})`);
  }
  return value;
}

function attribute(key: string, v: unknown): string {
  if (typeof v !== 'string' || !ATTRIBUTE.test(v)) throw new ConfigError(key, `must be an LDAP attribute name (found ${JSON.stringify(v)})`);
  return v;
}

function parseBind(key: string, v: unknown): LdapBindConfig {
  if (!isObject(v)) throw new ConfigError(key, 'must be an object with mode "direct" or "search"');
  if (v['mode'] === 'direct') {
    onlyKeys(key, v, ['mode', 'userDnTemplate']);
    const template = withPlaceholder(`${key}.userDnTemplate`, v['userDnTemplate'], '{user}', 'where the escaped user name goes');
    if (!/^[A-Za-z0-9.-]+=/.test(template)) {
      throw new ConfigError(`${key}.userDnTemplate`, 'must be a DN such as uid={user},ou=people,dc=example,dc=org (for Active Directory use mode "search")');
    }
    return { mode: 'direct', userDnTemplate: template };
  }
  if (v['mode'] === 'search') {
    onlyKeys(key, v, ['mode', 'serviceAccountDn', 'serviceAccountPasswordFile', 'serviceAccountPasswordEnv', 'userSearchBase', 'userSearchFilter']);
    const passwordFile = optionalText(`${key}.serviceAccountPasswordFile`, v['serviceAccountPasswordFile']);
    const passwordEnv = optionalText(`${key}.serviceAccountPasswordEnv`, v['serviceAccountPasswordEnv']);
    if ((passwordFile === null) === (passwordEnv === null)) {
      throw new ConfigError(`${key}.serviceAccountPasswordFile`, 'or serviceAccountPasswordEnv must be set, and not both: the service account password is read from one of them');
    }
    if (passwordEnv !== null && !ENV_NAME.test(passwordEnv)) {
      throw new ConfigError(`${key}.serviceAccountPasswordEnv`, `must be an environment variable name (found ${JSON.stringify(passwordEnv)})`);
    }
    return {
      mode: 'search',
      serviceAccountDn: text(`${key}.serviceAccountDn`, v['serviceAccountDn']),
      serviceAccountPasswordFile: passwordFile,
      serviceAccountPasswordEnv: passwordEnv,
      userSearchBase: text(`${key}.userSearchBase`, v['userSearchBase']),
      userSearchFilter: filterTemplate(`${key}.userSearchFilter`, v['userSearchFilter'], '{user}'),
    };
  }
  throw new ConfigError(`${key}.mode`, `must be one of direct, search (found ${JSON.stringify(v['mode'])})`);
}

function parseClaims(key: string, v: unknown): Record<string, string> {
  if (v === undefined) return {};
  if (!isObject(v)) throw new ConfigError(key, 'must be an object mapping attribute names to claim names');
  const out: Record<string, string> = {};
  for (const [name, claim] of Object.entries(v)) out[attribute(`${key}.${name}`, name)] = text(`${key}.${name}`, claim);
  return out;
}

function parseGroups(key: string, v: unknown): LdapGroupMapping[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new ConfigError(key, 'must be a list of { group, awsRole } or { group, claim, value }');
  return v.map((entry, i): LdapGroupMapping => {
    const at = `${key}[${i}]`;
    if (!isObject(entry)) throw new ConfigError(at, 'must be an object { group, awsRole } or { group, claim, value }');
    const group = text(`${at}.group`, entry['group']);
    if (entry['awsRole'] !== undefined) {
      onlyKeys(at, entry, ['group', 'awsRole']);
      const role = entry['awsRole'];
      if (typeof role !== 'string' || !AWS_ROLE.test(role)) {
        throw new ConfigError(`${at}.awsRole`, `must be an IAM role name or role ARN (found ${JSON.stringify(role)})`);
      }
      return { group, awsRole: role };
    }
    onlyKeys(at, entry, ['group', 'claim', 'value']);
    return { group, claim: text(`${at}.claim`, entry['claim']), value: text(`${at}.value`, entry['value']) };
  });
}

/** Checks `identity.ldap` (null when LDAP is not configured) and fills in its defaults. */
export function parseLdapConfig(key: string, v: unknown): LdapConfig | null {
  if (v === null) return null;
  if (!isObject(v)) throw new ConfigError(key, 'must be an object or null');
  onlyKeys(key, v, [
    'url', 'startTls', 'caFiles', 'bind', 'connectTimeoutMs', 'operationTimeoutMs',
    'subjectNameAttribute', 'claims', 'groupSearchBase', 'groupSearchFilter', 'groups',
  ]);
  const url = v['url'];
  if (typeof url !== 'string' || !LDAP_URL.test(url)) {
    throw new ConfigError(`${key}.url`, `must be ldap://host[:port] or ldaps://host[:port] (found ${JSON.stringify(url)})`);
  }
  const startTls = v['startTls'] ?? DEFAULTS.startTls;
  if (typeof startTls !== 'boolean') throw new ConfigError(`${key}.startTls`, `must be true or false (found ${JSON.stringify(startTls)})`);
  const parsedUrl = new URL(url);
  if (parsedUrl.protocol === 'ldaps:' && startTls) {
    throw new ConfigError(`${key}.startTls`, 'must be false with an ldaps:// URL (the connection is TLS from the start)');
  }
  // A simple bind carries the user's password: in clear text only over loopback.
  if (parsedUrl.protocol === 'ldap:' && !startTls && !LOOPBACK.has(parsedUrl.hostname)) {
    throw new ConfigError(`${key}.startTls`, 'must be true for an ldap:// URL to another host (or use ldaps://): passwords would cross the network in clear text');
  }
  const caFiles = v['caFiles'] ?? DEFAULTS.caFiles;
  if (!Array.isArray(caFiles)) throw new ConfigError(`${key}.caFiles`, 'must be a list of PEM file names');
  const groupSearchBase = optionalText(`${key}.groupSearchBase`, v['groupSearchBase']);
  return {
    url,
    startTls,
    caFiles: caFiles.map((f, i) => text(`${key}.caFiles[${i}]`, f)),
    bind: parseBind(`${key}.bind`, v['bind']),
    connectTimeoutMs: milliseconds(`${key}.connectTimeoutMs`, v['connectTimeoutMs'], DEFAULTS.connectTimeoutMs),
    operationTimeoutMs: milliseconds(`${key}.operationTimeoutMs`, v['operationTimeoutMs'], DEFAULTS.operationTimeoutMs),
    subjectNameAttribute:
      v['subjectNameAttribute'] === undefined || v['subjectNameAttribute'] === null
        ? DEFAULTS.subjectNameAttribute
        : attribute(`${key}.subjectNameAttribute`, v['subjectNameAttribute']),
    claims: parseClaims(`${key}.claims`, v['claims']),
    groupSearchBase,
    groupSearchFilter:
      v['groupSearchFilter'] === undefined ? DEFAULTS.groupSearchFilter : filterTemplate(`${key}.groupSearchFilter`, v['groupSearchFilter'], '{dn}'),
    groups: parseGroups(`${key}.groups`, v['groups']),
  };
}
