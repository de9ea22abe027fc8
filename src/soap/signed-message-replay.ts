import { InvalidSecurityError, MessageExpiredError } from '../core/errors';
import type { ReplayCache } from '../store/store';
import type { SecurityTimestamp } from './security-header';

export interface SignedMessageFreshnessPolicy {
  readonly clockSkewMs: number;
  /** How old a signed message's wsu:Timestamp Created may be; each message is remembered this long. */
  readonly maxAgeMs: number;
}

/**
 * The replay defence of message signatures (certificatemixed), as nonces are for UsernameTokens: a
 * signature proves the signer made the message once, not that the sender is the signer, so a captured
 * message must not be accepted again. A message is accepted only while its Timestamp is fresh (Created
 * at most maxAgeMs old, and Expires not passed), and only once within that time, across every node
 * sharing the store. Without this, a signed Issue request, once seen by anyone (a proxy, a log),
 * could be replayed for fresh bearer tokens until its Expires, or for ever when it had none.
 */
export class SignedMessageReplayGuard {
  constructor(
    private readonly replay: ReplayCache,
    private readonly policy: SignedMessageFreshnessPolicy,
  ) {}

  /** Refuses a Timestamp too old to have been remembered; call before any cryptographic work. */
  checkFreshness(timestamp: SecurityTimestamp, now: Date): void {
    if (now.getTime() - timestamp.created.getTime() > this.policy.maxAgeMs + this.policy.clockSkewMs) {
      throw new MessageExpiredError(
        `The wsu:Timestamp Created is too old: a signed message must arrive within ${Math.round(this.policy.maxAgeMs / 1000)} seconds.`,
      );
    }
  }

  /**
   * Remembers an authenticated message by `signedContent` (what its signature covers) until it could
   * no longer pass checkFreshness or its Expires; refuses it if it was remembered already.
   */
  async admitOnce(timestamp: SecurityTimestamp, signedContent: string): Promise<void> {
    const { clockSkewMs, maxAgeMs } = this.policy;
    const freshUntil = timestamp.created.getTime() + maxAgeMs + clockSkewMs;
    const until = timestamp.expires ? Math.min(freshUntil, timestamp.expires.getTime() + clockSkewMs) : freshUntil;
    if (!(await this.replay.rememberOnce('signed-message', signedContent, new Date(until)))) {
      throw new InvalidSecurityError('The signed message has been received before: it is a replay.');
    }
  }
}
