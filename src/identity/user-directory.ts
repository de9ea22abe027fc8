import type { AuthenticatedSubject } from './subject';

/**
 * Where UsernameToken users are checked: the store (EmbeddedUserDirectory) or an LDAP / Active
 * Directory server (LdapUserDirectory). A wrong password or an unknown user is a
 * FailedAuthenticationError that reads the same for both; a directory that cannot answer is a
 * DirectoryUnavailableError.
 */
export interface UserDirectory {
  /**
   * `stillWanted`, when given, says whether the request's client is still there: a check that had to
   * wait for its turn is dropped (AbandonedWhileWaitingError) rather than run for nobody.
   */
  authenticateWithPassword(userName: string, password: string, stillWanted?: () => boolean): Promise<AuthenticatedSubject>;
  /** WS-Security UsernameToken profile: Password = Base64(SHA-1(nonce + created + password)). */
  authenticateWithDigest(userName: string, digestBase64: string, nonce: Buffer, created: string): Promise<AuthenticatedSubject>;
}
