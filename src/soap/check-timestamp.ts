import { InvalidSecurityError, MessageExpiredError } from '../core/errors';
import type { SecurityTimestamp } from './security-header';

/** A message Timestamp must have started (within the skew) and not yet expired (within the skew). */
export function checkTimestamp(ts: SecurityTimestamp, now: Date, skewMs: number): void {
  if (ts.expires && ts.expires.getTime() < ts.created.getTime()) {
    throw new InvalidSecurityError('The wsu:Timestamp expires before it was created.');
  }
  if (ts.created.getTime() > now.getTime() + skewMs) {
    throw new MessageExpiredError('The wsu:Timestamp Created is in the future beyond the allowed clock skew.');
  }
  if (ts.expires && ts.expires.getTime() <= now.getTime() - skewMs) {
    throw new MessageExpiredError('The message has expired: its wsu:Timestamp Expires has passed.');
  }
}
