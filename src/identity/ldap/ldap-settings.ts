import type { Claim } from '../../store/store';

/** How to reach the directory: the URL, its TLS trust and the two time bounds. */
export interface LdapConnectionSettings {
  /** `ldap://host[:port]` or `ldaps://host[:port]`. */
  readonly url: string;
  /** Upgrade an ldap:// connection with StartTLS before anything else is sent. */
  readonly startTls: boolean;
  /** PEM CA certificates trusted for the server's certificate; empty: Node's default roots. */
  readonly caCertificates: readonly string[];
  /** Bounds opening the connection: TCP, the TLS handshake, StartTLS. */
  readonly connectTimeoutMs: number;
  /** Bounds every bind and search of one authentication together. */
  readonly operationTimeoutMs: number;
}

export type LdapBind =
  | { readonly mode: 'direct'; readonly userDnTemplate: string }
  | {
      readonly mode: 'search';
      readonly serviceAccountDn: string;
      readonly serviceAccountPassword: string;
      readonly userSearchBase: string;
      readonly userSearchFilter: string;
    };

/** Members of `group` (a DN, or a bare common name) get `claim`. */
export interface GroupClaim {
  readonly group: string;
  readonly claim: Claim;
}

/** Everything LdapUserDirectory needs, with files and secrets already read. */
export interface LdapDirectorySettings extends LdapConnectionSettings {
  readonly bind: LdapBind;
  readonly subjectNameAttribute: string | null;
  /** Attribute name → claim name. */
  readonly claims: Readonly<Record<string, string>>;
  readonly groupSearchBase: string | null;
  readonly groupSearchFilter: string;
  readonly groupClaims: readonly GroupClaim[];
}
