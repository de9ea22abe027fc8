import { createHash, timingSafeEqual } from 'node:crypto';
import { quotedClaimedUserName } from '../audit/claimed-user-name';
import { FailedAuthenticationError } from '../core/errors';
import { open } from '../keys/sealed-box';
import type { UserRecord, UserRepository } from '../store/store';
import { SAML2 } from '../xml/namespaces';
import { hashPassword, verifyPassword } from './password-hash';
import type { AuthenticatedSubject } from './subject';
import type { UserDirectory } from './user-directory';
import { PasswordCheckLimiter } from './password-check-limiter';
import { DEFAULT_PASSWORD_LOCKOUT, PasswordLockout, type PasswordLockoutPolicy } from './password-lockout';
import { VerifiedPasswordCache } from './verified-password-cache';

/** The associated data under which a digest-enabled user's password is sealed. */
export const sealedPasswordContext = (userName: string): string => `trustbridge:user-password:${userName}`;

export interface EmbeddedUserDirectoryOptions {
  /** Passwords that verified, so a user's next check skips the scrypt. */
  readonly verified?: VerifiedPasswordCache;
  /** The extranet lockout (default: AD FS's 10 wrong passwords, 30 minutes). */
  readonly lockout?: PasswordLockoutPolicy;
  /** How many scrypt checks run at once and wait (default 2 and 100). */
  readonly limiter?: PasswordCheckLimiter;
  readonly now?: () => Date;
  /** The scrypt check itself; tests count the checks through it. */
  readonly verify?: (password: string, storedHash: string) => Promise<boolean>;
}

/**
 * Users kept in the store, checked with their scrypt hash (PasswordText) or, for users allowed
 * PasswordDigest, with their sealed password (the digest needs the password itself). Wrong passwords
 * lock a user out for a while (password-lockout.ts), and scrypt checks take turns (password-check-limiter.ts).
 */
export class EmbeddedUserDirectory implements UserDirectory {
  // Hashing something for an unknown user keeps the answer time from telling which names exist.
  private readonly decoyHash: Promise<string> = hashPassword('decoy-password-for-unknown-users');
  private readonly verified: VerifiedPasswordCache;
  private readonly lockout: PasswordLockout;
  private readonly limiter: PasswordCheckLimiter;
  private readonly verify: (password: string, storedHash: string) => Promise<boolean>;
  private readonly now: () => Date;

  constructor(
    private readonly users: UserRepository,
    private readonly masterKey: Buffer,
    options: EmbeddedUserDirectoryOptions = {},
  ) {
    this.verified = options.verified ?? new VerifiedPasswordCache();
    this.now = options.now ?? (() => new Date());
    this.lockout = new PasswordLockout(users, options.lockout ?? DEFAULT_PASSWORD_LOCKOUT, this.now);
    this.limiter = options.limiter ?? new PasswordCheckLimiter();
    this.verify = options.verify ?? verifyPassword;
  }

  async authenticateWithPassword(userName: string, password: string, stillWanted?: () => boolean): Promise<AuthenticatedSubject> {
    // The user is read every time: a deleted user, changed claims, a new password or a lockout count at once.
    const user = await this.users.get(userName);
    if (!user) {
      const decoy = await this.decoyHash;
      await this.limiter.run(() => this.verify(password, decoy), stillWanted);
      throw new FailedAuthenticationError(`unknown user ${quotedClaimedUserName(userName)}`);
    }
    this.lockout.refuseIfLockedOut(user);
    if (this.verified.has(user.name, user.passwordHash, password)) return this.accept(user);
    const checked = await this.limiter.run((waited) => this.checkInTurn(user, password, waited), stillWanted);
    this.verified.remember(checked.name, checked.passwordHash, password);
    return this.accept(checked);
  }

  /** WS-Security UsernameToken profile: Password = Base64(SHA-1(nonce + created + password)). */
  async authenticateWithDigest(
    userName: string,
    digestBase64: string,
    nonce: Buffer,
    created: string,
  ): Promise<AuthenticatedSubject> {
    const user = await this.users.get(userName);
    if (!user) throw new FailedAuthenticationError(`unknown user ${quotedClaimedUserName(userName)}`);
    this.lockout.refuseIfLockedOut(user);
    if (user.sealedPassword === null) {
      throw new FailedAuthenticationError(`user ${quotedClaimedUserName(userName)} is not allowed PasswordDigest`);
    }
    const password = open(user.sealedPassword, this.masterKey, sealedPasswordContext(user.name));
    const expected = createHash('sha1').update(nonce).update(created, 'utf8').update(password).digest();
    password.fill(0);
    const given = Buffer.from(digestBase64, 'base64');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      const alert = await this.lockout.failed(user);
      throw new FailedAuthenticationError(`wrong password digest for user ${quotedClaimedUserName(userName)}`, alert);
    }
    return this.accept(user);
  }

  // One turn of the limiter. A check that waited for it reads the user again: wrong passwords checked
  // meanwhile may have locked them out, or the user changed. A wrong password is counted before the
  // turn ends, so the next check in the queue reads the count: a burst sent all at once stops at the
  // threshold too, not after the whole queue has been hashed.
  private async checkInTurn(user: UserRecord, password: string, waited: boolean): Promise<UserRecord> {
    let current = user;
    if (waited) {
      const reread = await this.users.get(user.name);
      if (!reread) throw new FailedAuthenticationError(`unknown user "${user.name}" (removed while its check waited)`);
      this.lockout.refuseIfLockedOut(reread);
      current = reread;
    }
    if (await this.verify(password, current.passwordHash)) return current;
    const alert = await this.lockout.failed(current);
    throw new FailedAuthenticationError(`wrong password for user "${current.name}"`, alert);
  }

  private async accept(user: UserRecord): Promise<AuthenticatedSubject> {
    await this.lockout.succeeded(user);
    return subjectOf(user, this.now());
  }
}

function subjectOf(user: UserRecord, authenticatedAt: Date): AuthenticatedSubject {
  return {
    name: user.name,
    claims: user.claims,
    authenticatedAt,
    authnContextClassRef: SAML2.passwordProtectedTransport,
  };
}
