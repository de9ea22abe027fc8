import type Database from 'better-sqlite3';
import type { AuditEvent, AuditQuery, AuditRepository } from '../store';
import { immediateWrite } from './immediate-write';

interface AuditRow {
  event_id: string;
  event_time: number;
  event_name: string;
  event_source: AuditEvent['eventSource'];
  request_id: string | null;
  source_address: string | null;
  user_agent: string | null;
  principal: string | null;
  request_parameters: string | null;
  response_elements: string | null;
  additional_event_data: string | null;
  error_code: string | null;
  error_message: string | null;
  alert: string | null;
  severity: AuditEvent['severity'];
}

/** The audit trail's table: appended in batches, read newest-first by time, principal, event name or alert. */
export function sqliteAudit(db: Database.Database): AuditRepository {
  const insert = db.prepare(
    `INSERT INTO audit_events (event_id, event_time, event_name, event_source, request_id, source_address, user_agent,
       principal, request_parameters, response_elements, additional_event_data, error_code, error_message, alert, severity)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const appendAll = immediateWrite(db, (events: readonly AuditEvent[]) => {
    for (const e of events) {
      insert.run(
        e.eventId,
        e.eventTime.getTime(),
        e.eventName,
        e.eventSource,
        e.requestId,
        e.sourceAddress,
        e.userAgent,
        e.principal,
        e.requestParameters === null ? null : JSON.stringify(e.requestParameters),
        e.responseElements === null ? null : JSON.stringify(e.responseElements),
        e.additionalEventData === null ? null : JSON.stringify(e.additionalEventData),
        e.errorCode,
        e.errorMessage,
        e.alert,
        e.severity,
      );
    }
  });
  return {
    append: async (events) => {
      if (events.length > 0) await appendAll(events);
    },
    query: async (q) => {
      const { where, params } = auditFilter(q);
      // Newest `limit` first, then turned around so callers read them in time order.
      const rows = db
        .prepare<unknown[], AuditRow>(
          `SELECT * FROM audit_events ${where} ORDER BY event_time DESC, rowid DESC LIMIT ?`,
        )
        .all(...params, q.limit);
      return rows.reverse().map(toAuditEvent);
    },
  };
}

function auditFilter(q: AuditQuery): { where: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (q.from) {
    clauses.push('event_time >= ?');
    params.push(q.from.getTime());
  }
  if (q.to) {
    clauses.push('event_time < ?');
    params.push(q.to.getTime());
  }
  if (q.principal !== undefined) {
    clauses.push('principal = ?');
    params.push(q.principal);
  }
  if (q.claimedUserName !== undefined) {
    // Unindexed, read row by row: bound it with --since on a large trail.
    clauses.push("json_extract(additional_event_data, '$.claimedUserName') = ?");
    params.push(q.claimedUserName);
  }
  if (q.eventName !== undefined) {
    clauses.push('event_name = ?');
    params.push(q.eventName);
  }
  if (q.alertsOnly) clauses.push('alert IS NOT NULL');
  return { where: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

const toAuditEvent = (r: AuditRow): AuditEvent => ({
  eventId: r.event_id,
  eventTime: new Date(r.event_time),
  eventName: r.event_name,
  eventSource: r.event_source,
  requestId: r.request_id,
  sourceAddress: r.source_address,
  userAgent: r.user_agent,
  principal: r.principal,
  requestParameters: r.request_parameters === null ? null : (JSON.parse(r.request_parameters) as Record<string, unknown>),
  responseElements: r.response_elements === null ? null : (JSON.parse(r.response_elements) as Record<string, unknown>),
  additionalEventData: r.additional_event_data === null ? null : (JSON.parse(r.additional_event_data) as Record<string, unknown>),
  errorCode: r.error_code,
  errorMessage: r.error_message,
  alert: r.alert,
  severity: r.severity,
});
