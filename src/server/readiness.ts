import type { SigningKeyRing } from '../keys/signing-key-ring';
import type { Store } from '../store/store';
import { describeError, type Logger } from './log';
import { TimedOutError, within } from './within';

// Readiness, as a load balancer or an orchestrator asks it: may this process be sent requests?
// Liveness (/healthz) only says the process answers; a process may be alive and not ready (its
// store is down, it is shutting down), and restarting it would not help.

/** How long the store has to answer a ping before the process counts as not ready. */
export const STORE_PING_TIMEOUT_MS = 1000;

export type CheckResult = 'ok' | 'unavailable' | 'timeout' | 'missing' | 'shutting down';

export interface ReadinessReport {
  readonly ready: boolean;
  readonly checks: { readonly store: CheckResult; readonly signingKey: CheckResult; readonly shutdown: CheckResult };
}

export interface ReadinessOptions {
  readonly store: Pick<Store, 'ping'>;
  readonly signingKeys: Pick<SigningKeyRing, 'current'>;
  readonly shuttingDown: () => boolean;
  readonly logger: Logger;
  readonly pingTimeoutMs?: number;
}

/**
 * The readiness check: the store answers a ping in time, a token-signing key is loaded, and the
 * process is not shutting down. The answer names each check's result and never an error's text
 * (that goes to the log, once each time readiness is lost).
 */
export function readinessCheck(options: ReadinessOptions): () => Promise<ReadinessReport> {
  let wasReady = true;
  return async () => {
    const store = await within(options.pingTimeoutMs ?? STORE_PING_TIMEOUT_MS, options.store.ping()).then(
      (): { result: CheckResult } => ({ result: 'ok' }),
      (err: unknown): { result: CheckResult; err: unknown } => ({ result: err instanceof TimedOutError ? 'timeout' : 'unavailable', err }),
    );
    let signingKey: CheckResult;
    try {
      signingKey = options.signingKeys.current() ? 'ok' : 'missing';
    } catch {
      signingKey = 'missing';
    }
    const shutdown: CheckResult = options.shuttingDown() ? 'shutting down' : 'ok';
    const checks = { store: store.result, signingKey, shutdown };
    const ready = store.result === 'ok' && signingKey === 'ok' && shutdown === 'ok';
    if (!ready && wasReady) {
      options.logger.log('warn', 'not ready', { checks, ...('err' in store ? describeError(store.err) : {}) });
    } else if (ready && !wasReady) {
      options.logger.log('info', 'ready again', {});
    }
    wasReady = ready;
    return { ready, checks };
  };
}
