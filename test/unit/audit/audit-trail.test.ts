import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditTrail } from '../../../src/audit/audit-trail';
import { burstDetector } from '../../../src/audit/burst-detector';
import type { RequestRecord } from '../../../src/audit/request-record';
import type { Logger } from '../../../src/server/log';
import type { AuditEvent, AuditRepository } from '../../../src/store/store';

interface LogLine {
  level: string;
  msg: string;
  fields: Record<string, unknown>;
}

/** A repository that refuses the first `failures` appends (a store that is down), then keeps what it is given. */
function flakyRepository(failures: number): AuditRepository & { stored: AuditEvent[]; calls: number } {
  const repo = {
    stored: [] as AuditEvent[],
    calls: 0,
    append: async (events: readonly AuditEvent[]) => {
      repo.calls += 1;
      if (repo.calls <= failures) throw new Error('database unavailable');
      repo.stored.push(...events);
    },
    query: async () => [],
  };
  return repo;
}

describe('audit trail (unit)', () => {
  let dir: string;
  let logs: LogLine[];
  let logger: Logger;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'audit-trail-'));
    logs = [];
    logger = { log: (level, msg, fields) => logs.push({ level, msg, fields: fields ?? {} }) };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a store that refuses a batch gets it again with the next flush: every event stored once, in order, and filed once', async () => {
    const repository = flakyRepository(1);
    const file = join(dir, 'audit.jsonl');
    const trail = new AuditTrail({ repository, file, logger, now: () => new Date() });
    trail.record({ eventName: 'Issue', eventSource: 'wstrust', principal: 'alice' });
    trail.record({ eventName: 'Validate', eventSource: 'wstrust', principal: 'alice' });
    await trail.flush();
    assert.equal(repository.stored.length, 0, 'the first write failed');
    assert.ok(logs.some((l) => l.level === 'warn' && l.msg === 'audit events not yet stored' && l.fields['waiting'] === 2));
    trail.record({ eventName: 'Renew', eventSource: 'wstrust', principal: 'alice' });
    await trail.close();
    assert.deepEqual(repository.stored.map((e) => e.eventName), ['Issue', 'Validate', 'Renew']);
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { eventName: string; eventId: string });
    assert.deepEqual(lines.map((l) => l.eventName), ['Issue', 'Validate', 'Renew'], 'the file has each event once, though the first batch was written twice to the store');
    assert.deepEqual(lines.map((l) => l.eventId), repository.stored.map((e) => e.eventId));
  });

  it('an alert is an error log line at once, with its facts, and a critical event; an ordinary event logs nothing', async () => {
    const repository = flakyRepository(0);
    const trail = new AuditTrail({ repository, file: null, logger, now: () => new Date() });
    trail.record({ eventName: 'Issue', eventSource: 'wstrust' });
    trail.record({ eventName: 'forged-token', eventSource: 'detector', alert: 'forged-token', additionalEventData: { tokenId: '_x' } });
    assert.deepEqual(logs.map((l) => [l.level, l.msg, l.fields['alert'], l.fields['tokenId']]), [['error', 'alert', 'forged-token', '_x']]);
    await trail.close();
    assert.deepEqual(repository.stored.map((e) => e.severity), ['info', 'critical']);
  });
});

describe('burst detector (unit)', () => {
  const record = (principal: string, operation = 'Issue'): RequestRecord => ({
    api: 'wstrust',
    operation,
    requestId: 'r',
    path: '/',
    sourceAddress: '192.0.2.1',
    userAgent: null,
    principal,
    status: 200,
    errorCode: null,
    errorMessage: null,
    internalError: false,
    durationMs: 1,
    issued: 1,
    requestParameters: null,
    responseElements: null,
    alerts: [],
  });

  it('alerts once per key and window, counts only Issue and AssumeRoleWithSAML, and starts over in the next window', async () => {
    const repository = flakyRepository(0);
    let t = Date.parse('2026-11-22T00:00:00Z');
    const now = () => new Date(t);
    const trail = new AuditTrail({ repository, file: null, logger: { log: () => undefined }, now });
    const detector = burstDetector({ windowSeconds: 60, maxPerPrincipal: 2, maxPerAddress: 0 }, trail, now);
    for (let i = 0; i < 5; i++) detector.observe(record('alice'));
    detector.observe(record('alice', 'Validate'));
    detector.observe(record('bob'));
    t += 60_000;
    for (let i = 0; i < 3; i++) detector.observe(record('alice'));
    await trail.close();
    assert.deepEqual(
      repository.stored.map((e) => [e.alert, e.principal, e.additionalEventData?.['windowStart']]),
      [
        ['request-burst', 'alice', '2026-11-22T00:00:00.000Z'],
        ['request-burst', 'alice', '2026-11-22T00:01:00.000Z'],
      ],
    );
  });
});
