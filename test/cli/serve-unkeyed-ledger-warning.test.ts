import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { insertLedgerRows, unkeyedChain } from '../support/ledger-chain-key';
import { ledgerEntry } from '../support/store-fixtures';
import { temporaryHome } from '../support/temporary-home';
import { freePort, killAllStsProcesses, runStsAsync, SERVE_READY, StsProcess } from '../support/unit-cli';

const WARNING = '"msg":"the issuance ledger starts with more entries chained without the key than audit.unkeyedLedgerEntries accepts"';

// An instance upgraded from before the ledger was keyed has unkeyed entries at its start, and so has
// one whose database someone rewrote without the key. Either way the serving process says so once at
// start-up, with what follows and what to do, until the config accepts that many.
describe('cli: sts serve warns about unkeyed ledger entries the config does not accept', function () {
  this.timeout(90_000);
  const { home } = temporaryHome('trustbridge-serve-unkeyed-');

  const serve = async (): Promise<StsProcess> => {
    const sts = new StsProcess(['serve', '--home', home, '--workers', '1', '--port', String(await freePort())]);
    await sts.waitForOutput(SERVE_READY, 30_000);
    // Logged before the server listens; "token signing" comes after it, so once it is out, so is the warning.
    await sts.waitForLines('"msg":"token signing"', 1);
    return sts;
  };
  const setAccepted = (n: number): void => {
    const path = join(home, 'config.json');
    const config = JSON.parse(readFileSync(path, 'utf8')) as { audit: Record<string, unknown> };
    writeFileSync(path, JSON.stringify({ ...config, audit: { ...config.audit, unkeyedLedgerEntries: n } }, null, 2));
  };

  before(async () => {
    const init = await runStsAsync(['init', '--home', home]);
    assert.equal(init.status, 0, init.stderr);
    const db = new Database(join(home, 'trustbridge.db'));
    try {
      insertLedgerRows(db, unkeyedChain([ledgerEntry('_old1'), ledgerEntry('_old2')]), 'sha256');
    } finally {
      db.close();
    }
  });
  afterEach(async () => {
    await killAllStsProcesses();
  });

  it('2 unkeyed entries, none accepted (the default): one warning naming both counts, what follows and what to do', async () => {
    const sts = await serve();
    const [line, ...more] = await sts.waitForLines(WARNING, 1);
    assert.deepEqual(more, []);
    const fields = JSON.parse(line as string) as Record<string, unknown>;
    assert.deepEqual(
      [fields['level'], fields['unkeyedEntries'], fields['accepted'], fields['consequence'], fields['action']],
      [
        'warn',
        2,
        0,
        'entries 1 to 2 count as never issued: their tokens raise forged-token',
        'if they were written before the chain was keyed (sts audit verify), set audit.unkeyedLedgerEntries to their number',
      ],
    );
  });

  it('1 accepted: still a warning, for entry 2; 2 accepted: none', async () => {
    setAccepted(1);
    let sts = await serve();
    const [line] = await sts.waitForLines(WARNING, 1);
    assert.equal((JSON.parse(line as string) as Record<string, unknown>)['consequence'], 'entry 2 counts as never issued: its token raises forged-token');
    await killAllStsProcesses();

    setAccepted(2);
    sts = await serve();
    assert.equal(sts.stdout.includes(WARNING), false, sts.stdout);
  });
});
