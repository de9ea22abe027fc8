import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditTrail } from '../../../src/audit/audit-trail';
import { burstDetector } from '../../../src/audit/burst-detector';
import type { RequestRecord } from '../../../src/audit/request-record';
import type { Logger } from '../../../src/server/log';
import type { AuditEvent, AuditRepository } from '../../../src/store/store';
import { flakyRepository } from '../../support/flaky-audit-repository';

interface LogLine {
  level: string;
  msg: string;
  fields: Record<string, unknown>;
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

  it('a store write that hangs does not hold the file back: later events reach the file on the usual schedule', async () => {
    let release: () => void = () => undefined;
    const stored: string[] = [];
    let calls = 0;
    const repository: AuditRepository = {
      append: async (events) => {
        if (++calls === 1) await new Promise<void>((r) => (release = r));
        stored.push(...events.map((e) => e.eventName));
      },
      query: async () => [],
    };
    const file = join(dir, 'audit.jsonl');
    const filed = (): string[] => readFileSync(file, 'utf8').trim().split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { eventName: string }).eventName);
    const trail = new AuditTrail({ repository, file, logger, now: () => new Date() });
    trail.record({ eventName: 'Issue', eventSource: 'wstrust' });
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(filed(), ['Issue']);
    trail.record({ eventName: 'Validate', eventSource: 'wstrust' });
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(filed(), ['Issue', 'Validate'], 'filed while the first store write still hangs');
    assert.deepEqual(stored, []);
    release();
    await trail.close();
    assert.deepEqual(stored, ['Issue', 'Validate']);
  });

  it('while a store write hangs, later flushes join it: one write in flight at a time, and the events filed meanwhile follow in one more', async () => {
    let release: () => void = () => undefined;
    const writes: string[][] = [];
    let inFlight = 0;
    let mostInFlight = 0;
    const repository: AuditRepository = {
      append: async (events) => {
        mostInFlight = Math.max(mostInFlight, ++inFlight);
        if (writes.length === 0) await new Promise<void>((r) => (release = r));
        writes.push(events.map((e) => e.eventName));
        inFlight--;
      },
      query: async () => [],
    };
    const trail = new AuditTrail({ repository, file: null, logger, now: () => new Date() });
    trail.record({ eventName: 'Issue', eventSource: 'wstrust' });
    const first = trail.flush();
    const joined: Promise<void>[] = [];
    for (const eventName of ['Validate', 'Renew', 'Cancel']) {
      trail.record({ eventName, eventSource: 'wstrust' });
      joined.push(trail.flush());
    }
    assert.ok(joined.every((p) => p === first), 'each flush during the write returns the write in flight');
    release();
    await trail.close();
    assert.equal(mostInFlight, 1);
    assert.deepEqual(writes, [['Issue'], ['Validate', 'Renew', 'Cancel']]);
  });

  it('while the store is down, a flood of events is filed but does not bring the next store attempt forward', async () => {
    const repository = flakyRepository(Number.MAX_SAFE_INTEGER);
    const file = join(dir, 'audit.jsonl');
    const trail = new AuditTrail({ repository, file, logger, now: () => new Date() });
    trail.record({ eventName: 'Issue', eventSource: 'wstrust' });
    await trail.flush();
    assert.equal(repository.calls, 1);
    for (let i = 0; i < 1200; i++) trail.record({ eventName: 'Issue', eventSource: 'wstrust' });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(readFileSync(file, 'utf8').trim().split('\n').length, 1201, 'every event is in the file');
    assert.equal(repository.calls, 1, 'no store attempt before the retry is due');
    assert.equal(logs.filter((l) => l.msg === 'audit events not yet stored').length, 1);
  });

  it('beyond 20,000 events waiting for the store, the oldest are dropped from its copy, logged, and kept in the file', async () => {
    let down = true;
    const stored: AuditEvent[] = [];
    const repository: AuditRepository = {
      append: async (events) => {
        if (down) throw new Error('database unavailable');
        stored.push(...events);
      },
      query: async () => [],
    };
    const file = join(dir, 'audit.jsonl');
    const trail = new AuditTrail({ repository, file, logger, now: () => new Date() });
    trail.record({ eventName: 'first', eventSource: 'wstrust' });
    await trail.flush();
    for (let i = 0; i < 20_100; i++) trail.record({ eventName: `e${i}`, eventSource: 'wstrust' });
    down = false;
    await trail.close();
    const dropped = logs.filter((l) => l.level === 'error' && l.msg === 'audit events dropped from the store (kept in the audit file)');
    assert.equal(dropped.reduce((n, l) => n + (l.fields['dropped'] as number), 0), 101);
    assert.equal(stored.length, 20_000);
    assert.deepEqual([stored[0]?.eventName, stored.at(-1)?.eventName], ['e100', 'e20099'], 'the newest kept');
    assert.equal(readFileSync(file, 'utf8').trim().split('\n').length, 20_101, 'the file has every event');
  });

  it('close(ms) tries a refusing store again on the retry schedule (2 s) while within ms: stored at the retry, filed once, nothing left', async function () {
    this.timeout(10_000);
    const repository = flakyRepository(1);
    const file = join(dir, 'audit.jsonl');
    const trail = new AuditTrail({ repository, file, logger, now: () => new Date() });
    const event = trail.record({ eventName: 'UnlockUser', eventSource: 'admin' });
    const started = Date.now();
    assert.equal(await trail.close(5_000), undefined);
    const tookMs = Date.now() - started;
    assert.ok(tookMs >= 1_900 && tookMs < 4_000, `took ${tookMs} ms`);
    assert.equal(repository.calls, 2);
    assert.deepEqual(repository.stored.map((e) => e.eventId), [event.eventId]);
    assert.equal(readFileSync(file, 'utf8').trim().split('\n').length, 1);
  });

  it('close(ms) stops trying once another retry would start past ms: resolves to the events left (filed once) and the store\'s last error; closing again answers the same', async function () {
    this.timeout(10_000);
    const repository = flakyRepository(Number.MAX_SAFE_INTEGER);
    const file = join(dir, 'audit.jsonl');
    const trail = new AuditTrail({ repository, file, logger, now: () => new Date() });
    const events = ['GenerateSigningKey', 'PromoteSigningKey'].map((eventName) => trail.record({ eventName, eventSource: 'admin' }));
    const started = Date.now();
    const unstored = await trail.close(3_000);
    const tookMs = Date.now() - started;
    // Tried at once and 2 s later; a third try would start at 4 s.
    assert.equal(repository.calls, 2);
    assert.ok(tookMs >= 1_900 && tookMs < 3_000, `took ${tookMs} ms`);
    assert.deepEqual(unstored?.events.map((e) => e.eventId), events.map((e) => e.eventId));
    assert.equal((unstored?.storeError as Error).message, 'database unavailable');
    assert.deepEqual(readFileSync(file, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { eventId: string }).eventId), events.map((e) => e.eventId));
    assert.equal(await trail.close(3_000), unstored);
    assert.equal(repository.calls, 2, 'the second close tried nothing');
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
    additionalEventData: null,
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
