import { closeSync, openSync, writeSync } from 'node:fs';
import type { Logger } from '../server/log';
import { describeError } from '../server/log';
import type { AuditEvent, AuditRepository } from '../store/store';
import { auditEvent, auditEventJson, type AuditFacts } from './audit-event';

// Events are written off the request's path: they wait here for a short while and go to the store
// in one transaction (CloudTrail, too, delivers within minutes, not before the reply).
const FLUSH_AFTER_MS = 200;
const FLUSH_AT_EVENTS = 500;
// If the store cannot take them (it is down), at most this many wait; beyond, the oldest are
// dropped from the store's copy (they are in the JSON lines file already), and the drop is logged.
const MAX_WAITING = 20_000;

export interface AuditTrailOptions {
  readonly repository: AuditRepository;
  /** The JSON lines file every event is appended to (one line each); null for none. */
  readonly file: string | null;
  readonly logger: Logger;
  readonly now: () => Date;
}

/**
 * The audit trail of one process: events are batched (a fraction of a second) and each batch is
 * appended to the JSON lines file and written to the store, where `sts audit` queries it. Alerts are
 * also error-level log lines at once, for whatever reads the logs.
 */
export class AuditTrail {
  private waiting: AuditEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private readonly fd: number | null;
  // Events put back after a failed store write are in the file already.
  private readonly filed = new WeakSet<AuditEvent>();
  private readonly listeners: Array<(event: AuditEvent) => void> = [];

  constructor(private readonly options: AuditTrailOptions) {
    this.fd = options.file === null ? null : openSync(options.file, 'a', 0o600);
  }

  /** Tells `listener` of every event recorded from now on (metrics count alerts this way, whoever raised them). */
  subscribe(listener: (event: AuditEvent) => void): void {
    this.listeners.push(listener);
  }

  record(facts: AuditFacts): AuditEvent {
    const event = auditEvent(facts, this.options.now());
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.options.logger.log('error', 'audit listener failed', describeError(err));
      }
    }
    if (event.alert !== null) {
      this.options.logger.log('error', 'alert', {
        alert: event.alert,
        severity: event.severity,
        eventName: event.eventName,
        requestId: event.requestId,
        principal: event.principal,
        sourceAddress: event.sourceAddress,
        ...event.additionalEventData,
      });
    }
    this.waiting.push(event);
    if (this.waiting.length > MAX_WAITING) {
      const dropped = this.waiting.splice(0, this.waiting.length - MAX_WAITING);
      this.options.logger.log('error', 'audit events dropped from the store (kept in the audit file)', { dropped: dropped.length });
    }
    if (this.waiting.length >= FLUSH_AT_EVENTS) void this.flush();
    else if (this.timer === undefined) this.timer = setTimeout(() => void this.flush(), FLUSH_AFTER_MS).unref();
    return event;
  }

  /** Writes what is waiting to the store; resolves once it is there (or failed and was put back). */
  flush(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.flushing = this.flushing.then(async () => {
      const batch = this.waiting;
      if (batch.length === 0) return;
      this.waiting = [];
      this.appendToFile(batch);
      try {
        await this.options.repository.append(batch);
      } catch (err) {
        // Put back in front, to be tried with the next flush; the file already has them.
        this.waiting = batch.concat(this.waiting);
        this.options.logger.log('warn', 'audit events not yet stored', { waiting: this.waiting.length, ...describeError(err) });
        if (this.timer === undefined) this.timer = setTimeout(() => void this.flush(), FLUSH_AFTER_MS * 10).unref();
      }
    });
    return this.flushing;
  }

  // One write per batch: on the hot path an event costs an object, not a system call. Lines of a
  // batch are whole, and O_APPEND keeps processes sharing the file from overwriting one another.
  private appendToFile(batch: readonly AuditEvent[]): void {
    if (this.fd === null || batch.length === 0) return;
    let text = '';
    for (const event of batch) {
      if (this.filed.has(event)) continue;
      this.filed.add(event);
      text += auditEventJson(event) + '\n';
    }
    if (text !== '') writeSync(this.fd, text);
  }

  async close(): Promise<void> {
    await this.flush();
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.fd !== null) closeSync(this.fd);
  }
}
