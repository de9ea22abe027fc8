import { closeSync, openSync, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../server/log';
import { describeError } from '../server/log';
import type { AuditEvent, AuditRepository } from '../store/store';
import { auditEvent, auditEventJson, type AuditFacts } from './audit-event';

// Events are written off the request's path: they wait here for a short while, then go to the JSON
// lines file in one write and to the store in one transaction (CloudTrail, too, delivers within
// minutes, not before the reply). Not longer: an event waiting across two young-generation
// collections is promoted to the old one and dies there, and at 200 ms the waiting events were a
// fifth of what a busy worker promoted, so more full collections; at 20 ms a batch still holds
// some fifty events at 2,500 requests/s.
const FLUSH_AFTER_MS = 20;
const FLUSH_AT_EVENTS = 500;
// After the store refused a batch (it is down), it is tried again this much later; meanwhile events
// still reach the file on the usual schedule.
const RETRY_AFTER_MS = 2000;
// If the store cannot take them, at most this many wait for it; beyond, the oldest are dropped from
// the store's copy (they are in the JSON lines file already), and the drop is logged.
const MAX_WAITING = 20_000;

/** What closing the trail could not store: events in the JSON lines file only (or nowhere, without one). */
export interface UnstoredEvents {
  readonly events: readonly AuditEvent[];
  /** Why the store's last write failed. */
  readonly storeError: unknown;
}

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
  /** Recorded, not yet in the file. */
  private unfiled: AuditEvent[] = [];
  /** In the file, not yet in the store. */
  private unstored: AuditEvent[] = [];
  private batchTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** The store write in flight, if any (see flush). */
  private storing: Promise<void> | undefined;
  /** The last store write's failure, cleared by the next one that succeeds. */
  private storeError: unknown;
  /** The first close, which every later call answers with. */
  private closing: Promise<UnstoredEvents | undefined> | undefined;
  private readonly fd: number | null;
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
    this.unfiled.push(event);
    if (this.unfiled.length >= FLUSH_AT_EVENTS) this.flushOnSchedule();
    else this.batchTimer ??= setTimeout(() => this.flushOnSchedule(), FLUSH_AFTER_MS).unref();
    return event;
  }

  /**
   * Files what was recorded, then writes what waits to the store; resolves once everything filed so
   * far is stored, or a store write failed (those events wait for the retry).
   */
  flush(): Promise<void> {
    this.fileWaiting();
    // One store write at a time: one in flight takes what is filed meanwhile (storeWaiting loops
    // until nothing waits), so a flush during it joins it instead of queueing another behind it
    // (a store that hangs would otherwise collect one per batch).
    this.storing ??= this.storeWaiting().finally(() => {
      this.storing = undefined;
      // Filed after the write's last look (a few microtasks before this): still stored now, unless
      // the store failed and its retry is due.
      if (this.unstored.length > 0 && this.retryTimer === undefined) void this.flush();
    });
    return this.storing;
  }

  // While the store is down (a retry is due), a batch only goes to the file: a request must not
  // bring the next store attempt forward, and the file must not wait for the store.
  private flushOnSchedule(): void {
    if (this.retryTimer === undefined) void this.flush();
    else this.fileWaiting();
  }

  // One write per batch: on the hot path an event costs an object, not a system call. Lines of a
  // batch are whole, and O_APPEND keeps processes sharing the file from overwriting one another.
  private fileWaiting(): void {
    if (this.batchTimer !== undefined) {
      clearTimeout(this.batchTimer);
      this.batchTimer = undefined;
    }
    if (this.unfiled.length === 0) return;
    const batch = this.unfiled;
    this.unfiled = [];
    if (this.fd !== null) writeSync(this.fd, batch.map((e) => auditEventJson(e) + '\n').join(''));
    this.unstored.push(...batch);
    this.capUnstored();
  }

  private async storeWaiting(): Promise<void> {
    while (this.unstored.length > 0) {
      const batch = this.unstored;
      this.unstored = [];
      try {
        await this.options.repository.append(batch);
        this.storeError = undefined;
      } catch (err) {
        this.storeError = err;
        // Put back in front, to be tried again; the file already has them.
        this.unstored = batch.concat(this.unstored);
        this.capUnstored();
        this.options.logger.log('warn', 'audit events not yet stored', { waiting: this.unstored.length + this.unfiled.length, ...describeError(err) });
        this.retryTimer ??= setTimeout(() => {
          this.retryTimer = undefined;
          void this.flush();
        }, RETRY_AFTER_MS).unref();
        return;
      }
    }
  }

  private capUnstored(): void {
    if (this.unstored.length <= MAX_WAITING) return;
    const dropped = this.unstored.splice(0, this.unstored.length - MAX_WAITING);
    this.options.logger.log('error', 'audit events dropped from the store (kept in the audit file)', { dropped: dropped.length });
  }

  /**
   * Files what was recorded, stores what waits and closes the file; a second call waits for the first.
   * A store that refuses is tried again on the retry schedule while less than `storeWithinMs` has
   * passed (0: only the one try). Resolves to what the store still had not taken, if anything.
   */
  close(storeWithinMs = 0): Promise<UnstoredEvents | undefined> {
    return (this.closing ??= this.closeOnce(storeWithinMs));
  }

  private async closeOnce(storeWithinMs: number): Promise<UnstoredEvents | undefined> {
    const giveUpAt = performance.now() + storeWithinMs;
    await this.storeAll();
    while (this.unstored.length > 0 && performance.now() + RETRY_AFTER_MS < giveUpAt) {
      // On a timer of our own: the trail's retry timer is unref'd, and a process with nothing else
      // to do (a CLI command at its end) would exit under it.
      this.cancelRetry();
      await sleep(RETRY_AFTER_MS);
      await this.storeAll();
    }
    this.cancelRetry();
    if (this.fd !== null) closeSync(this.fd);
    return this.unstored.length === 0 ? undefined : { events: [...this.unstored], storeError: this.storeError };
  }

  private async storeAll(): Promise<void> {
    await this.flush();
    while (this.storing !== undefined) await this.storing;
  }

  private cancelRetry(): void {
    if (this.retryTimer === undefined) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }
}
