import { certificateNotAfter } from '../../keys/key-material';
import { PUBLISHED_STATES } from '../../keys/key-lifecycle';
import type { SigningKeyRepository } from '../../store/store';
import { describeError, type Logger } from '../log';
import { within } from '../within';
import type { MetricsRegistry } from './registry';

/** How long a scrape waits for the store's key list before it keeps the previous values. */
const KEY_LIST_TIMEOUT_MS = 1000;

/**
 * The age and remaining validity of every token-signing key that signs, verifies or is about to
 * (pending, active, retiring), read from the store at each scrape: what an alert on a rollover that
 * did not happen, or a certificate about to expire, needs. Thumbprints are ours, so bounded.
 */
export function registerKeyMetrics(registry: MetricsRegistry, keys: Pick<SigningKeyRepository, 'list'>, logger: Logger, now: () => Date = () => new Date()): void {
  const age = registry.gauge('trustbridge_signing_key_age_seconds', 'Time since the token-signing key was created.', ['thumbprint', 'state'], 'max');
  const expiresIn = registry.gauge(
    'trustbridge_signing_key_expires_in_seconds',
    'Time left until the token-signing certificate expires (negative once expired).',
    ['thumbprint', 'state'],
    'max',
  );
  registry.onCollect(async () => {
    try {
      const records = await within(KEY_LIST_TIMEOUT_MS, keys.list());
      const t = now().getTime();
      age.clear();
      expiresIn.clear();
      for (const r of records) {
        if (!PUBLISHED_STATES.includes(r.state)) continue;
        age.labels(r.thumbprint, r.state).set((t - r.createdAt.getTime()) / 1000);
        expiresIn.labels(r.thumbprint, r.state).set((certificateNotAfter(r).getTime() - t) / 1000);
      }
    } catch (err) {
      logger.log('warn', 'signing key metrics not refreshed', describeError(err));
    }
  });
}
