import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { serveTwoWorkers } from '../support/serve-two-workers';
import { childPids, freePort, killAllStsProcesses, runStsAsync, SERVE_READY, StsProcess } from '../support/unit-cli';

const WARNING = '"msg":"a database setting lets acknowledged writes be lost"';

// The durability warning is the host's, not each worker's: one line per risky setting per start,
// however many workers serve. The test cluster runs with fsync, full_page_writes and
// synchronous_commit off, so an instance on it has three risks to name.
describe('cli: sts serve warns once per start about the database\'s durability', function () {
  this.timeout(90_000);
  let parent: string;
  let home: string;
  let db: TestDatabase;

  before(async () => {
    parent = mkdtempSync(join(tmpdir(), 'trustbridge-serve-durability-'));
    home = join(parent, 'instance');
    db = await createTestDatabase();
    const passwordFile = join(parent, 'pg.password');
    writeFileSync(passwordFile, `${db.password}\n`, { mode: 0o600 });
    const init = await runStsAsync(['init', '--home', home, '--store', 'postgres', '--store-url', db.url, '--store-password-file', passwordFile]);
    assert.equal(init.status, 0, init.stderr);
  });
  afterEach(async () => {
    await killAllStsProcesses();
  });
  after(async () => {
    await db.drop();
    rmSync(parent, { recursive: true, force: true });
  });

  const expected = ['fsync', 'full_page_writes', 'synchronous_commit'];
  const settingsOf = (lines: string[]): string[] => lines.map((l) => (JSON.parse(l) as { setting: string }).setting).sort();

  it('--workers 1: the serving process names each risky setting once', async () => {
    const sts = new StsProcess(['serve', '--home', home, '--workers', '1', '--port', String(await freePort())]);
    await sts.waitForOutput(SERVE_READY, 30_000);
    // Logged before the server listens; "token signing" comes after it, so once it is out, so is every warning.
    await sts.waitForLines('"msg":"token signing"', 1);
    const warnings = await sts.waitForLines(WARNING, expected.length);
    assert.deepEqual(settingsOf(warnings), expected, `warnings:\n${warnings.join('\n')}`);
    assert.deepEqual(warnings.map((l) => (JSON.parse(l) as { level?: string }).level), Array(expected.length).fill('warn'));
  });

  it('--workers 2: the supervisor names each once, from its own pid, and no worker repeats it', async () => {
    const { sts } = await serveTwoWorkers(home);
    // Each worker logs "token signing" after the point where it used to warn: with both out, a
    // worker's warning would be too.
    assert.equal((await sts.waitForLines('"msg":"token signing"', 2)).length, 2);
    const warnings = await sts.waitForLines(WARNING, expected.length);
    assert.deepEqual(settingsOf(warnings), expected, `warnings:\n${warnings.join('\n')}`);
    assert.equal(childPids(sts.pid).length, 2);
    assert.deepEqual(
      warnings.map((l) => (JSON.parse(l) as { pid?: number }).pid),
      Array(expected.length).fill(sts.pid),
      'a worker logged the warning',
    );
  });
});
