import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store';
import { MAX_SAML_PROVIDER_CERTIFICATES, type AddCertificateResult, type CertificatePin } from '../../src/store/store';
import { providerCertificate } from '../support/store-fixtures';

// IAM's limit of certificates per SAML provider, kept by the SQLite store when two processes on the
// host (two `sts` runs, or workers) add a provider's last certificate at once. A third connection
// holds the write lock while both are told to add, so both start before either can commit.

const PROVIDER = 'Partner';
const CONTENDER = join(__dirname, '..', 'support', 'add-provider-certificate-process.js');
/** Long enough for a process told to go to be waiting for the lock; what is asserted holds either way. */
const SETTLE_MS = 300;

interface Contender {
  /** Resolves once the process has opened the store; rejects if it ended before. */
  readonly ready: Promise<void>;
  /** Tells the process to add its certificate now. */
  go(): void;
  readonly result: Promise<AddCertificateResult>;
}

/** Starts a process that will add `thumbprint` to the provider when told to. */
function contender(dbPath: string, thumbprint: string): Contender {
  const child = spawn(process.execPath, [CONTENDER, dbPath, PROVIDER, thumbprint], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
  const failed = (code: number | null): Error => new Error(`the contender exited ${code}: ${stdout}${stderr}`);
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', () => stdout.startsWith('ready\n') && resolve());
    void closed.then((code) => reject(failed(code)));
  });
  const result = closed.then((code) => {
    const lines = stdout.split('\n');
    if (code !== 0 || lines[0] !== 'ready') throw failed(code);
    return JSON.parse(lines[1] ?? '') as AddCertificateResult;
  });
  return { ready, go: () => child.stdin.end('go\n'), result };
}

describe('store/sqlite: the certificate limit across processes', function () {
  this.timeout(30_000);
  let dir: string;
  let dbPath: string;
  const certificate = (thumbprint: string): CertificatePin => providerCertificate(thumbprint, { createdAt: new Date(), stateChangedAt: new Date() });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trustbridge-sqlite-limit-'));
    dbPath = join(dir, 'store.db');
    const store = openSqliteStore(dbPath);
    try {
      const certificates = Array.from({ length: MAX_SAML_PROVIDER_CERTIFICATES - 1 }, (_, i) => certificate(`${i}`.repeat(64)));
      await store.samlProviders.add({ name: PROVIDER, entityId: 'https://partner.example/saml', certificates, replay: 'once', createdAt: new Date() });
    } finally {
      await store.close();
    }
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it(`two processes adding the ${MAX_SAML_PROVIDER_CERTIFICATES}th certificate at once: one is added, the other is told limit-reached; ${MAX_SAML_PROVIDER_CERTIFICATES} stored`, async () => {
    const gate = new Database(dbPath);
    let results: AddCertificateResult[];
    try {
      const contenders = [contender(dbPath, 'a'.repeat(64)), contender(dbPath, 'b'.repeat(64))];
      await Promise.all(contenders.map((c) => c.ready));
      gate.exec('BEGIN IMMEDIATE');
      for (const c of contenders) c.go();
      await sleep(SETTLE_MS);
      gate.exec('COMMIT');
      results = await Promise.all(contenders.map((c) => c.result));
    } finally {
      if (gate.inTransaction) gate.exec('ROLLBACK');
      gate.close();
    }
    assert.deepEqual(
      results.map((r) => r.outcome).sort(),
      ['added', 'limit-reached'],
      JSON.stringify(results),
    );
    assert.deepEqual(results.find((r) => r.outcome === 'limit-reached'), { outcome: 'limit-reached', certificates: MAX_SAML_PROVIDER_CERTIFICATES });
    const store = openSqliteStore(dbPath);
    try {
      const stored = (await store.samlProviders.get(PROVIDER))?.certificates ?? [];
      assert.equal(stored.length, MAX_SAML_PROVIDER_CERTIFICATES);
      const added = results[0]?.outcome === 'added' ? 'a' : 'b';
      assert.equal(stored.at(-1)?.thumbprint, added.repeat(64), 'the one told "added" is the one stored, last');
    } finally {
      await store.close();
    }
  });
});
