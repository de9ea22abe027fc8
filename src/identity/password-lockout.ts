import { ALERTS } from '../audit/alerts';
import { FailedAuthenticationError } from '../core/errors';
import type { TokenAlert } from '../core/token-forensics';
import type { UserRecord, UserRepository } from '../store/store';

// AD FS's extranet soft lockout (ExtranetLockoutThreshold, ExtranetObservationWindow) for users in
// the store: once a user's wrong passwords reach the threshold, their password is not checked at all
// (no scrypt) until the observation window after the last wrong one has passed. A wrong password that
// comes a whole window after the one before starts the count again (AD's "reset account lockout
// counter after", taken equal to the window, as both default to 30 minutes): an attacker gets at most
// `threshold` guesses per window, and a user's old typos do not add up to a lockout months later.
// A right password forgets the count.
// The count lives on the user's row, so every node sees every node's failures, and the row is the one
// the check reads anyway: a lockout costs no extra read, and a good login with no failures no write.
// A locked-out user is refused with the same fault as a wrong password, so the answer itself tells
// an attacker nothing (only the log says why); its speed does, as AD FS's does: a locked-out refusal
// hashes nothing, where an unknown name pays for a decoy hash.

export interface PasswordLockoutPolicy {
  /** Wrong passwords that lock a user out; 0 turns the lockout off (nothing is counted). */
  readonly threshold: number;
  readonly observationWindowSeconds: number;
}

export const DEFAULT_PASSWORD_LOCKOUT: PasswordLockoutPolicy = { threshold: 10, observationWindowSeconds: 1800 };

export class PasswordLockout {
  constructor(
    private readonly users: UserRepository,
    private readonly policy: PasswordLockoutPolicy,
    private readonly now: () => Date,
  ) {}

  /** Throws the wrong-password fault, with the reason in its log detail, while the user is locked out. */
  refuseIfLockedOut(user: UserRecord): void {
    const until = lockedOutUntil(user, this.policy, this.now());
    if (until === undefined) return;
    throw new FailedAuthenticationError(
      `user "${user.name}" is locked out: ${user.failedLogins} wrong passwords, the last at ${user.lastFailedAt?.toISOString()}; ` +
        `no password is checked before ${until.toISOString()}`,
    );
  }

  /** Counts a wrong password; returns the password-lockout alert when this one reached the threshold (once per lockout). */
  async failed(user: UserRecord): Promise<TokenAlert | undefined> {
    if (this.policy.threshold === 0) return undefined;
    const at = this.now();
    const failures = await this.users.recordFailedLogin(user.name, at, new Date(at.getTime() - this.policy.observationWindowSeconds * 1000));
    if (failures !== this.policy.threshold) return undefined;
    return {
      name: ALERTS.passwordLockout,
      facts: { user: user.name, failures, lockedOutUntil: windowEnd(at, this.policy).toISOString() },
    };
  }

  /** A right password: forgets the user's wrong ones, writing only when there were some. */
  async succeeded(user: UserRecord): Promise<void> {
    if (this.policy.threshold === 0 || user.failedLogins === 0) return;
    await this.users.clearFailedLogins(user.name);
  }
}

/** When the user's lockout ends, as of `now`; undefined when their password may be checked. */
export function lockedOutUntil(user: UserRecord, policy: PasswordLockoutPolicy, now: Date): Date | undefined {
  if (policy.threshold === 0 || user.failedLogins < policy.threshold || user.lastFailedAt === null) return undefined;
  const until = windowEnd(user.lastFailedAt, policy);
  return now.getTime() < until.getTime() ? until : undefined;
}

const windowEnd = (lastFailedAt: Date, policy: PasswordLockoutPolicy): Date =>
  new Date(lastFailedAt.getTime() + policy.observationWindowSeconds * 1000);
