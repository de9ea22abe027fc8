import type { Instance } from '../instance/open-instance';
import { exportActiveCertificate } from '../instance/signing-keys';
import { runRolloverCheck } from '../keys/key-rollover';
import { describeError, type Logger } from './log';

export const ROLLOVER_CHECK_MS = 3600 * 1000;

// The audit event names of the rollover's steps, as `sts keys` names the same steps done by hand.
const ROLLOVER_EVENT = { generate: 'GenerateSigningKey', promote: 'PromoteSigningKey', retire: 'RetireSigningKey' } as const;

export interface KeyRolloverTask {
  /** Waits for a check under way, and runs no more. */
  stop(): Promise<void>;
  check(): Promise<void>;
}

/**
 * The automatic key rollover of `sts serve`: a check at start and every hour, run by one process per
 * host (the one serving alone, or the primary) on that process's instance, which its caller closes
 * after stop(). Workers pick up what it changes through their key rings.
 */
export function startKeyRolloverTask(
  instance: Instance,
  logger: Logger,
  intervalMs = ROLLOVER_CHECK_MS,
): KeyRolloverTask {
  let running: Promise<void> = Promise.resolve();
  const check = (): Promise<void> => {
    running = running.then(async () => {
      try {
        const outcomes = await runRolloverCheck({
          store: instance.store,
          custody: instance.signingKeyCustody,
          settings: instance.config.keyRollover,
          clockSkewSeconds: instance.config.clockSkewSeconds,
          now: new Date(),
        });
        for (const o of outcomes) {
          logger.log('info', `key rollover: ${o.action.kind}${o.done ? '' : ' (already done elsewhere)'}`, {
            thumbprint: o.thumbprint,
            reason: o.action.reason,
            ...(o.previous ? { previous: o.previous } : {}),
          });
          if (o.done) {
            instance.audit.record({
              eventName: ROLLOVER_EVENT[o.action.kind],
              eventSource: 'admin',
              principal: 'trustbridge:key-rollover',
              requestParameters: { thumbprint: o.thumbprint, reason: o.action.reason, previous: o.previous ?? null },
            });
          }
        }
        if (outcomes.some((o) => o.action.kind === 'promote' && o.done)) await exportActiveCertificate(instance.home, instance.store);
      } catch (err) {
        logger.log('error', 'key rollover check failed', describeError(err));
      }
    });
    return running;
  };
  void check();
  const timer = setInterval(() => void check(), intervalMs);
  timer.unref();
  return {
    check,
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
