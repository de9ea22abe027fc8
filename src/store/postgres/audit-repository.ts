import type { Pool } from 'pg';
import type { AuditEvent, AuditQuery, AuditRepository } from '../store';

interface AuditRow {
  event_id: string;
  event_time: Date;
  event_name: string;
  event_source: AuditEvent['eventSource'];
  request_id: string | null;
  source_address: string | null;
  user_agent: string | null;
  principal: string | null;
  request_parameters: Record<string, unknown> | null;
  response_elements: Record<string, unknown> | null;
  additional_event_data: Record<string, unknown> | null;
  error_code: string | null;
  error_message: string | null;
  alert: string | null;
  severity: AuditEvent['severity'];
}

const COLUMNS = 15;

// One statement for a whole batch: the events go in as parallel arrays, in their order (position
// follows it, and orders events of the same millisecond).
const INSERT_EVENTS = {
  name: 'audit-insert',
  text: `INSERT INTO audit_events (event_id, event_time, event_name, event_source, request_id, source_address, user_agent,
           principal, request_parameters, response_elements, additional_event_data, error_code, error_message, alert, severity)
         SELECT event_id, event_time, event_name, event_source, request_id, source_address, user_agent,
           principal, request_parameters, response_elements, additional_event_data, error_code, error_message, alert, severity
         FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
           $8::text[], $9::json[], $10::json[], $11::json[], $12::text[], $13::text[], $14::text[], $15::text[]) WITH ORDINALITY
           AS e(event_id, event_time, event_name, event_source, request_id, source_address, user_agent, principal,
             request_parameters, response_elements, additional_event_data, error_code, error_message, alert, severity, n)
         ORDER BY n`,
};

/** The audit trail's table: appended in batches, read newest-first by time, principal, event name or alert. */
export function postgresAudit(pool: Pool): AuditRepository {
  return {
    append: async (events) => {
      if (events.length === 0) return;
      const columns: unknown[][] = Array.from({ length: COLUMNS }, () => []);
      for (const e of events) {
        const values = [
          e.eventId,
          e.eventTime,
          e.eventName,
          e.eventSource,
          e.requestId,
          e.sourceAddress,
          e.userAgent,
          e.principal,
          json(e.requestParameters),
          json(e.responseElements),
          json(e.additionalEventData),
          e.errorCode,
          e.errorMessage,
          e.alert,
          e.severity,
        ];
        values.forEach((v, i) => columns[i]?.push(typeof v === 'string' ? withoutNul(v) : v));
      }
      // One statement, so one transaction: the batch is stored whole or not at all.
      await pool.query({ ...INSERT_EVENTS, values: columns });
    },
    query: async (q) => {
      const { where, params } = auditFilter(q);
      // Newest `limit` first, then turned around so callers read them in time order.
      const { rows } = await pool.query<AuditRow>(
        `SELECT * FROM audit_events ${where} ORDER BY event_time DESC, position DESC LIMIT $${params.length + 1}`,
        [...params, q.limit],
      );
      return rows.reverse().map(toAuditEvent);
    },
  };
}

const json = (value: Readonly<Record<string, unknown>> | null): string | null => (value === null ? null : JSON.stringify(value));

// PostgreSQL text cannot hold U+0000, and an event a hostile request put one in must still be
// stored (or it would hold up every event batched with it). JSON text is unaffected: JSON.stringify
// writes the character as the escape \u0000, which the json type keeps.
const withoutNul = (s: string): string => (s.includes('\u0000') ? s.replace(/\u0000/g, '\uFFFD') : s);

function auditFilter(q: AuditQuery): { where: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  const add = (clause: (placeholder: string) => string, value: unknown): void => {
    params.push(value);
    clauses.push(clause(`$${params.length}`));
  };
  if (q.from) add((p) => `event_time >= ${p}`, q.from);
  if (q.to) add((p) => `event_time < ${p}`, q.to);
  if (q.principal !== undefined) add((p) => `principal = ${p}`, q.principal);
  // Matched in the JSON text as stored (the json type keeps it as JSON.stringify wrote it), not with
  // ->>, which fails the whole query on any row holding an escaped NUL (a hostile request's, in an
  // alert's facts). An unescaped quote only ever delimits, so "claimedUserName":"NAME" cannot be
  // forged inside another value. Unindexed, read row by row: bound it with --since on a large trail.
  if (q.claimedUserName !== undefined) {
    add((p) => `strpos(additional_event_data::text, '"claimedUserName":' || to_json(${p}::text)::text) > 0`, q.claimedUserName);
  }
  if (q.eventName !== undefined) add((p) => `event_name = ${p}`, q.eventName);
  if (q.alertsOnly) clauses.push('alert IS NOT NULL');
  return { where: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

const toAuditEvent = (r: AuditRow): AuditEvent => ({
  eventId: r.event_id,
  eventTime: r.event_time,
  eventName: r.event_name,
  eventSource: r.event_source,
  requestId: r.request_id,
  sourceAddress: r.source_address,
  userAgent: r.user_agent,
  principal: r.principal,
  requestParameters: r.request_parameters,
  responseElements: r.response_elements,
  additionalEventData: r.additional_event_data,
  errorCode: r.error_code,
  errorMessage: r.error_message,
  alert: r.alert,
  severity: r.severity,
});
