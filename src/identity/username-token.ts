import { createHash } from 'node:crypto';
import { InvalidSecurityError, MessageExpiredError } from '../core/errors';
import type { ReplayCache } from '../store/store';
import type { AuthenticatedSubject } from './subject';
import type { UserDirectory } from './user-directory';

/** A WS-Security UsernameToken as the SOAP layer read it. */
export interface UsernameToken {
  readonly username: string;
  readonly password: string;
  readonly passwordType: 'text' | 'digest';
  readonly nonce: Buffer | undefined;
  /** Created exactly as sent: the digest is computed over these characters. */
  readonly createdText: string | undefined;
  readonly created: Date | undefined;
}

export interface UsernameTokenPolicy {
  readonly clockSkewMs: number;
  readonly maxAgeMs: number;
}

/**
 * Authenticates a UsernameToken: a Created must be fresh, a Nonce must never have been seen
 * (across every node sharing the store) while its Created could still pass, then the password.
 */
export class UsernameTokenAuthenticator {
  constructor(
    private readonly directory: UserDirectory,
    private readonly replay: ReplayCache,
    private readonly policy: UsernameTokenPolicy,
  ) {}

  /** `stillWanted`: whether the request's client is still there (see UserDirectory). */
  async authenticate(token: UsernameToken, now: Date, stillWanted?: () => boolean): Promise<AuthenticatedSubject> {
    if (token.created) this.checkFreshness(token.created, now);
    if (token.nonce) {
      const created = token.created ?? now;
      const rememberUntil = new Date(created.getTime() + this.policy.maxAgeMs + this.policy.clockSkewMs);
      const key = createHash('sha256').update(token.username).update('\0').update(token.nonce).digest('base64');
      if (!(await this.replay.rememberOnce('username-token-nonce', key, rememberUntil))) {
        throw new InvalidSecurityError('The UsernameToken nonce has been used before: the message is a replay.');
      }
    }
    if (token.passwordType === 'digest') {
      return this.directory.authenticateWithDigest(
        token.username,
        token.password,
        token.nonce as Buffer,
        token.createdText as string,
      );
    }
    return this.directory.authenticateWithPassword(token.username, token.password, stillWanted);
  }

  private checkFreshness(created: Date, now: Date): void {
    const age = now.getTime() - created.getTime();
    if (age < -this.policy.clockSkewMs) {
      throw new MessageExpiredError('The UsernameToken Created is in the future beyond the allowed clock skew.');
    }
    if (age > this.policy.maxAgeMs + this.policy.clockSkewMs) {
      throw new MessageExpiredError('The UsernameToken Created is too old.');
    }
  }
}
