import { ALERTS } from './alerts';
import type { AuditTrail } from './audit-trail';
import type { RequestObserver, RequestRecord } from './request-record';

export interface BurstLimits {
  readonly windowSeconds: number;
  /** 0: not checked. */
  readonly maxPerPrincipal: number;
  readonly maxPerAddress: number;
}

// The operations that mint tokens or credentials: what a Golden SAML or password-spraying run floods.
const WATCHED = new Set(['Issue', 'AssumeRoleWithSAML']);

/**
 * Counts Issue and AssumeRoleWithSAML requests per principal and per source address in fixed
 * windows, and raises request-burst once per key and window when a count passes its limit. Failed
 * requests count too (a spray fails). Counts are per process: with N workers behind one port, each
 * sees about 1/N of the traffic, so the limits apply per worker.
 */
export function burstDetector(limits: BurstLimits, trail: AuditTrail, now: () => Date): RequestObserver {
  const windowMs = limits.windowSeconds * 1000;
  let windowStart = now().getTime();
  // Cleared at each new window, so memory is bounded by the distinct keys seen in one window.
  let counts = new Map<string, number>();
  const count = (key: string, limit: number, record: RequestRecord, facts: Record<string, unknown>): void => {
    const n = (counts.get(key) ?? 0) + 1;
    counts.set(key, n);
    if (n !== limit + 1) return;
    trail.record({
      eventName: ALERTS.requestBurst,
      eventSource: 'detector',
      requestId: record.requestId,
      sourceAddress: record.sourceAddress,
      userAgent: record.userAgent,
      principal: record.principal,
      alert: ALERTS.requestBurst,
      additionalEventData: { ...facts, limit, windowSeconds: limits.windowSeconds, windowStart: new Date(windowStart).toISOString() },
    });
  };
  return {
    observe(record) {
      if (!WATCHED.has(record.operation)) return;
      const t = now().getTime();
      if (t - windowStart >= windowMs) {
        windowStart = t;
        counts = new Map();
      }
      if (limits.maxPerPrincipal > 0 && record.principal !== null) {
        count(`p\0${record.principal}`, limits.maxPerPrincipal, record, { burstOf: 'principal', principal: record.principal });
      }
      if (limits.maxPerAddress > 0 && record.sourceAddress !== null) {
        count(`a\0${record.sourceAddress}`, limits.maxPerAddress, record, { burstOf: 'sourceAddress', sourceAddress: record.sourceAddress });
      }
    },
  };
}
