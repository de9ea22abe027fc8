import { createHash, timingSafeEqual } from 'node:crypto';
import { FailedAuthenticationError } from '../core/errors';
import { open } from '../keys/sealed-box';
import type { UserRecord, UserRepository } from '../store/store';
import { SAML2 } from '../xml/namespaces';
import { hashPassword, verifyPassword } from './password-hash';
import type { AuthenticatedSubject } from './subject';
import type { UserDirectory } from './user-directory';
import { VerifiedPasswordCache } from './verified-password-cache';

/** The associated data under which a digest-enabled user's password is sealed. */
export const sealedPasswordContext = (userName: string): string => `trustbridge:user-password:${userName}`;

/**
 * Users kept in the store, checked with their scrypt hash (PasswordText) or, for users allowed
 * PasswordDigest, with their sealed password (the digest needs the password itself).
 */
export class EmbeddedUserDirectory implements UserDirectory {
  // Hashing something for an unknown user keeps the answer time from telling which names exist.
  private readonly decoyHash: Promise<string> = hashPassword('decoy-password-for-unknown-users');

  constructor(
    private readonly users: UserRepository,
    private readonly masterKey: Buffer,
    private readonly verified: VerifiedPasswordCache = new VerifiedPasswordCache(),
  ) {}

  async authenticateWithPassword(userName: string, password: string): Promise<AuthenticatedSubject> {
    // The user is read every time: a deleted user, changed claims or a new password count at once.
    const user = await this.users.get(userName);
    if (!user) {
      await verifyPassword(password, await this.decoyHash);
      throw new FailedAuthenticationError(`unknown user "${userName}"`);
    }
    if (this.verified.has(user.name, user.passwordHash, password)) return subjectOf(user);
    if (!(await verifyPassword(password, user.passwordHash))) {
      throw new FailedAuthenticationError(`wrong password for user "${userName}"`);
    }
    this.verified.remember(user.name, user.passwordHash, password);
    return subjectOf(user);
  }

  /** WS-Security UsernameToken profile: Password = Base64(SHA-1(nonce + created + password)). */
  async authenticateWithDigest(
    userName: string,
    digestBase64: string,
    nonce: Buffer,
    created: string,
  ): Promise<AuthenticatedSubject> {
    const user = await this.users.get(userName);
    if (!user) throw new FailedAuthenticationError(`unknown user "${userName}"`);
    if (user.sealedPassword === null) {
      throw new FailedAuthenticationError(`user "${userName}" is not allowed PasswordDigest`);
    }
    const password = open(user.sealedPassword, this.masterKey, sealedPasswordContext(user.name));
    const expected = createHash('sha1').update(nonce).update(created, 'utf8').update(password).digest();
    password.fill(0);
    const given = Buffer.from(digestBase64, 'base64');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new FailedAuthenticationError(`wrong password digest for user "${userName}"`);
    }
    return subjectOf(user);
  }
}

function subjectOf(user: UserRecord): AuthenticatedSubject {
  return {
    name: user.name,
    claims: user.claims,
    authenticatedAt: new Date(),
    authnContextClassRef: SAML2.passwordProtectedTransport,
  };
}
