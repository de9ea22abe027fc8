import type { AuthenticatedSubject } from './subject';

/**
 * Where UsernameToken users are checked: the store (EmbeddedUserDirectory) or an LDAP / Active
 * Directory server (LdapUserDirectory). A wrong password or an unknown user is a
 * FailedAuthenticationError that reads the same for both; a directory that cannot answer is a
 * DirectoryUnavailableError.
 */
export interface UserDirectory {
  authenticateWithPassword(userName: string, password: string): Promise<AuthenticatedSubject>;
  /** WS-Security UsernameToken profile: Password = Base64(SHA-1(nonce + created + password)). */
  authenticateWithDigest(userName: string, digestBase64: string, nonce: Buffer, created: string): Promise<AuthenticatedSubject>;
}
