import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { LEDGER_GENESIS_HASH, ledgerEntryHash, unkeyedLedgerEntryHash } from '../../src/store/ledger-chain';
import type { ChainedLedgerEntry } from '../../src/store/store';
import type { Combo } from '../support/ext-trust';
import { alertLogLines, idOf, statusOf, storedAlerts, stsCli, target, trustCall, withoutTrigger, withStoreDatabase } from '../support/golden-saml';
import { recordLogs, recordPassword } from '../support/observed-traffic';
import { startTestSts, type TestSts } from '../support/test-sts';
import { appliesTo, assertionText } from '../support/trust-messages';
import { unkeyedChain } from '../support/ledger-chain-key';

// The issuance ledger is hash-chained under a key derived from the master key, and append-only:
// `sts audit verify` walks the chain; the database itself refuses to delete a row or change a
// recorded field; an attacker who lifts the triggers still cannot alter or remove a row, nor
// recompute the chain without the key, without verify naming where; a ledger written before the
// chain existed is linked when the store opens, unkeyed, which verify reports, and counts only once
// the config says how many entries predate keying; so the whole ledger rewritten without the key,
// an entry for a forged token in it, counts for nothing.

const COMBO: Combo = { version: '1.3', soap: '1.2' };
const USER = 'ledger@golden-saml.example';
const PASSWORD = 'Ledger-Golden-Secret-9';
const RP = 'https://rp.ledger.golden-saml.example/';
const NO_DELETE = 'issuance_ledger_no_delete';
const IMMUTABLE = 'issuance_ledger_immutable';
const INTACT = /^ledger chain intact: (\d+) entries, head sequence (\d+), head hash ([0-9a-f]{64})\n/;
const unkeyedLine = (n: number): string =>
  `ledger chain: ${n} entries (sequences 1..${n}) written before the chain was keyed are chained without a key and could have been ` +
  'rewritten by anyone able to write the store\n';

async function setUp(sts: TestSts): Promise<void> {
  await sts.addUser({ name: USER, password: PASSWORD, claims: [] });
  await sts.addRelyingParty({ appliesTo: RP, releasedClaims: [] });
}

async function issueTokens(sts: TestSts, n: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < n; i++) {
    const sent = await trustCall(sts, COMBO, { user: USER, password: PASSWORD, op: 'Issue', rstBody: appliesTo(RP) });
    assert.equal(sent.res.status, 200, sent.res.body.slice(0, 500));
    tokens.push(assertionText(sent.res.body));
  }
  return tokens;
}

const issue = async (sts: TestSts, n: number): Promise<string[]> => (await issueTokens(sts, n)).map(idOf);

/** The message `sts audit verify` gives when entry 1 is unkeyed and the config accepts no unkeyed entry. */
const unacceptedFirstEntry = (tokenId: string, unkeyedAtStart: number): string =>
  `ledger chain BROKEN: entry 1 (token ${tokenId}) is chained without the key, but audit.unkeyedLedgerEntries accepts 0 (the ledger ` +
  `starts with ${unkeyedAtStart} unkeyed entries): it was written ` +
  `by someone without the key, unless the instance wrote it before the chain was keyed and the setting says too few; the 0 entries ` +
  `before it verify (head hash ${LEDGER_GENESIS_HASH})\n`;

/** The instance's config with audit.unkeyedLedgerEntries set, for startTestSts to write over its config.json. */
function acceptingUnkeyed(home: string, n: number): Record<string, unknown> {
  const config = JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')) as { audit: Record<string, unknown> };
  return { audit: { ...config.audit, unkeyedLedgerEntries: n } };
}

const chain = (sts: TestSts): Promise<ChainedLedgerEntry[]> => sts.instance.store.ledger.chain(0, 100_000);

/** `sts audit verify` says intact with this many entries, `unkeyed` of them unkeyed; returns the head hash it printed. */
async function expectIntact(sts: TestSts, entries: number, unkeyed = 0): Promise<string> {
  const r = await stsCli(['audit', 'verify', '--home', sts.home]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const m = INTACT.exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.equal(Number(m[1]), entries);
  assert.equal(Number(m[2]), entries);
  assert.equal(r.stdout.slice(m[0].length), unkeyed === 0 ? '' : unkeyedLine(unkeyed));
  return m[3] as string;
}

/** `sts audit verify` exits 1 with this message on stderr and nothing on stdout. */
async function expectBroken(sts: TestSts, message: string): Promise<void> {
  const r = await stsCli(['audit', 'verify', '--home', sts.home]);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, message);
}

describe('golden-saml: the issuance ledger\'s hash chain', function () {
  this.timeout(120_000);
  let sts: TestSts;
  let ids: string[];

  before(async () => {
    sts = await startTestSts();
    recordLogs(sts.logs);
    recordPassword(PASSWORD);
    await setUp(sts);
  });
  after(async () => {
    await sts?.stop();
  });

  it('after N issues, sts audit verify says intact with N entries (exit 0); the entries link in issue order', async () => {
    assert.equal(await sts.instance.store.ledger.count(), 0);
    ids = await issue(sts, 6);
    const head = await expectIntact(sts, 6);
    const entries = await chain(sts);
    assert.deepEqual(entries.map((e) => [e.sequence, e.tokenId]), ids.map((id, i) => [i + 1, id]));
    assert.equal(entries[0]?.previousHash, LEDGER_GENESIS_HASH);
    for (let i = 1; i < entries.length; i++) assert.equal(entries[i]?.previousHash, entries[i - 1]?.entryHash);
    assert.equal(head, entries.at(-1)?.entryHash);
  });

  it('the database refuses a raw DELETE, and a raw UPDATE of any recorded field; a cancellation (beside the chain) is allowed', async () => {
    withStoreDatabase(sts, (db) => {
      assert.throws(() => db.prepare('DELETE FROM issuance_ledger WHERE token_id = ?').run(ids[1]), /the issuance ledger is append-only/);
      assert.throws(() => db.prepare('DELETE FROM issuance_ledger').run(), /the issuance ledger is append-only/);
      for (const [column, value] of [
        ['subject', 'administrator'],
        ['audience', 'https://evil.example/'],
        ['digest', 'AAAA'],
        ['key_thumbprint', 'ab'.repeat(32)],
        ['not_on_or_after', Date.now() + 10 * 365 * 86_400_000],
        ['actor', 'someone'],
        ['sequence', 99],
        ['previous_hash', '0'.repeat(64)],
        ['entry_hash', 'f'.repeat(64)],
        ['hash_scheme', 'sha256'],
      ] as const) {
        assert.throws(
          () => db.prepare(`UPDATE issuance_ledger SET ${column} = ? WHERE token_id = ?`).run(value, ids[2]),
          /issuance ledger entries cannot be changed/,
          column,
        );
      }
      assert.equal(db.prepare('UPDATE issuance_ledger SET cancelled_at = ? WHERE token_id = ?').run(Date.now(), ids[5]).changes, 1);
    });
    assert.equal(await sts.instance.store.ledger.count(), 6);
    assert.equal((await sts.instance.store.ledger.get(ids[2] as string))?.subject, USER);
    await expectIntact(sts, 6);
  });

  it('with the trigger lifted, an altered row makes verify exit 1 naming its sequence; put back, the chain verifies again', async () => {
    withStoreDatabase(sts, (db) =>
      withoutTrigger(db, IMMUTABLE, () => {
        assert.equal(db.prepare('UPDATE issuance_ledger SET subject = ? WHERE sequence = 3').run('administrator').changes, 1);
      }),
    );
    await expectBroken(
      sts,
      `ledger chain BROKEN: entry 3 (token ${ids[2]}) does not match its hash: its recorded fields were changed; the 2 entries before it verify (head hash ${(await chain(sts))[1]?.entryHash})\n`,
    );
    withStoreDatabase(sts, (db) =>
      withoutTrigger(db, IMMUTABLE, () => {
        db.prepare('UPDATE issuance_ledger SET subject = ? WHERE sequence = 3').run(USER);
      }),
    );
    await expectIntact(sts, 6);
  });

  it('a row altered with its own hash recomputed (even under the chain key) breaks the link from the next entry, which verify names', async () => {
    const entries = await chain(sts);
    const fourth = entries[3] as ChainedLedgerEntry;
    const extended = new Date(fourth.notOnOrAfter.getTime() + 10 * 365 * 86_400_000);
    // What an attacker who holds the master key writes: entry 4 is consistent in itself again.
    const rehashed = ledgerEntryHash(sts.instance.ledgerTrust.chainKey, fourth.previousHash, { ...fourth, notOnOrAfter: extended });
    withStoreDatabase(sts, (db) =>
      withoutTrigger(db, IMMUTABLE, () => {
        db.prepare('UPDATE issuance_ledger SET not_on_or_after = ?, entry_hash = ? WHERE sequence = 4').run(extended.getTime(), rehashed);
      }),
    );
    await expectBroken(
      sts,
      `ledger chain BROKEN: entry 5 (token ${ids[4]}) does not link to the entry before it; the 4 entries before it verify (head hash ${rehashed})\n`,
    );
    withStoreDatabase(sts, (db) =>
      withoutTrigger(db, IMMUTABLE, () => {
        db.prepare('UPDATE issuance_ledger SET not_on_or_after = ?, entry_hash = ? WHERE sequence = 4').run(fourth.notOnOrAfter.getTime(), fourth.entryHash);
      }),
    );
    await expectIntact(sts, 6);
  });

  it('a row altered and every hash from it recomputed in plain SHA-256 (marked sha256): verify names a downgrade at that row', async () => {
    const entries = await chain(sts);
    const rewrite = (rows: ReadonlyArray<{ sequence: number; subject: string; previousHash: string; entryHash: string; hashScheme: string }>): void =>
      withStoreDatabase(sts, (db) =>
        withoutTrigger(db, IMMUTABLE, () => {
          const update = db.prepare('UPDATE issuance_ledger SET subject = ?, previous_hash = ?, entry_hash = ?, hash_scheme = ? WHERE sequence = ?');
          for (const r of rows) update.run(r.subject, r.previousHash, r.entryHash, r.hashScheme, r.sequence);
        }),
      );
    // What an attacker who writes the database but lacks the key does: the chain is consistent again from entry 4 on.
    let previousHash = entries[2]?.entryHash as string;
    const forged = entries.slice(3).map((e) => {
      const subject = e.sequence === 4 ? 'administrator' : e.subject;
      const row = { sequence: e.sequence, subject, previousHash, entryHash: unkeyedLedgerEntryHash(previousHash, { ...e, subject }), hashScheme: 'sha256' };
      previousHash = row.entryHash;
      return row;
    });
    rewrite(forged);
    await expectBroken(
      sts,
      `ledger chain BROKEN: entry 4 (token ${ids[3]}) is chained without the key after keyed entries: it was written by someone without ` +
        `the key; the 3 entries before it verify (head hash ${entries[2]?.entryHash})\n`,
    );
    rewrite(entries.slice(3));
    await expectIntact(sts, 6);
  });

  it('a row whose hash scheme is unknown: verify names the scheme it records', async () => {
    const entries = await chain(sts);
    const setScheme = (scheme: string): void =>
      withStoreDatabase(sts, (db) =>
        withoutTrigger(db, IMMUTABLE, () => {
          db.prepare('UPDATE issuance_ledger SET hash_scheme = ? WHERE sequence = 2').run(scheme);
        }),
      );
    setScheme('md5');
    await expectBroken(
      sts,
      `ledger chain BROKEN: entry 2 (token ${ids[1]}) records an unknown hash scheme "md5"; the 1 entries before it verify (head hash ${entries[0]?.entryHash})\n`,
    );
    setScheme('hmac-sha256');
    await expectIntact(sts, 6);
  });

  it('with the trigger lifted, a deleted row is reported as a break at its sequence', async () => {
    const entries = await chain(sts);
    withStoreDatabase(sts, (db) =>
      withoutTrigger(db, NO_DELETE, () => {
        assert.equal(db.prepare('DELETE FROM issuance_ledger WHERE sequence = 4').run().changes, 1);
      }),
    );
    await expectBroken(
      sts,
      `ledger chain BROKEN: sequence 4 is missing (next entry found: 5); the 3 entries before it verify (head hash ${entries[2]?.entryHash})\n`,
    );
    // The server goes on appending after the break; verify still stops at it.
    await issue(sts, 1);
    await expectBroken(
      sts,
      `ledger chain BROKEN: sequence 4 is missing (next entry found: 5); the 3 entries before it verify (head hash ${entries[2]?.entryHash})\n`,
    );
  });
});

/**
 * A test STS on an instance directory of its own, set up with USER and RP, which tests stop and start
 * again: `restart` writes `config` over its config.json and runs `whileStopped` (a change to its
 * database) in between.
 */
function instanceOfItsOwn(prefix: string): { home: string; sts: TestSts; restart(config?: Record<string, unknown>, whileStopped?: () => void): Promise<void> } {
  const server = {
    home: '',
    sts: undefined as unknown as TestSts,
    async restart(config?: Record<string, unknown>, whileStopped?: () => void): Promise<void> {
      await server.sts.stop();
      whileStopped?.();
      server.sts = await startTestSts({ home: server.home, ...(config ? { config } : {}) });
      recordLogs(server.sts.logs);
    },
  };
  before(async () => {
    recordPassword(PASSWORD);
    server.home = mkdtempSync(join(tmpdir(), prefix));
    server.sts = await startTestSts({ home: server.home });
    recordLogs(server.sts.logs);
    await setUp(server.sts);
  });
  after(async () => {
    await server.sts?.stop();
    rmSync(server.home, { recursive: true, force: true });
  });
  return server;
}

describe('golden-saml: a ledger from before the chain is linked when the store opens', function () {
  this.timeout(120_000);
  const server = instanceOfItsOwn('trustbridge-golden-ledger-');

  /** Stops the server, makes `rows` (by sequence) look as schema 4 wrote them (no chain columns), restarts it. */
  async function unlinkAndReopen(where: string): Promise<number> {
    let unlinked = 0;
    await server.restart(undefined, () => {
      unlinked = withStoreDatabase(server.sts, (db) =>
        withoutTrigger(db, IMMUTABLE, () => db.prepare(`UPDATE issuance_ledger SET sequence = NULL, previous_hash = NULL, entry_hash = NULL WHERE ${where}`).run().changes),
      );
    });
    return unlinked;
  }

  it('rows without sequence (every row) are chained, unkeyed, in the order they were written; they count once the config says there were 4', async () => {
    const ids = await issue(server.sts, 4);
    assert.equal(await unlinkAndReopen('1 = 1'), 4);
    // An instance's config accepts no unkeyed entry until its operator says how many predate keying.
    await expectBroken(server.sts, unacceptedFirstEntry(ids[0] as string, 4));
    assert.equal(await server.sts.instance.store.ledger.get(ids[0] as string), undefined);
    await server.restart(acceptingUnkeyed(server.home, 4));
    await expectIntact(server.sts, 4, 4);
    assert.equal((await server.sts.instance.store.ledger.get(ids[0] as string))?.tokenId, ids[0]);
    const entries = await chain(server.sts);
    assert.deepEqual(entries.map((e) => [e.sequence, e.tokenId, e.hashScheme]), ids.map((id, i) => [i + 1, id, 'sha256']));
    assert.equal(entries[0]?.previousHash, LEDGER_GENESIS_HASH);
    // And new issues append to the linked chain, keyed.
    const more = await issue(server.sts, 2);
    await expectIntact(server.sts, 6, 4);
    assert.deepEqual((await chain(server.sts)).slice(4).map((e) => [e.sequence, e.tokenId, e.hashScheme]), [[5, more[0], 'hmac-sha256'], [6, more[1], 'hmac-sha256']]);
    // Linked rows are protected like any other.
    withStoreDatabase(server.sts, (db) => {
      assert.throws(() => db.prepare('UPDATE issuance_ledger SET subject = ? WHERE token_id = ?').run('administrator', ids[0]), /cannot be changed/);
    });
  });

  it('unlinked rows after a keyed head are linked after it, unkeyed: a row slipped in so gains no key, and verify names a downgrade', async () => {
    const more = await issue(server.sts, 2);
    const before = await chain(server.sts);
    assert.equal(await unlinkAndReopen('sequence > 6'), 2);
    const relinked = await chain(server.sts);
    assert.deepEqual(relinked.map((e) => [e.sequence, e.tokenId]), before.map((e) => [e.sequence, e.tokenId]), 'linked in the same places as before');
    assert.equal(relinked[6]?.previousHash, before[5]?.entryHash);
    assert.deepEqual(relinked.slice(6).map((e) => e.hashScheme), ['sha256', 'sha256']);
    await expectBroken(
      server.sts,
      `ledger chain BROKEN: entry 7 (token ${more[0]}) is chained without the key after keyed entries: it was written by someone without ` +
        `the key; the 6 entries before it verify (head hash ${before[5]?.entryHash})\n${unkeyedLine(4)}`,
    );
  });
});

/**
 * Recomputes every entry from the first in plain SHA-256, marked so: what someone who can write the
 * database but lacks the key must do for an entry of theirs to pass a walk of the chain, every row
 * then looking written before the chain was keyed.
 */
function rewriteWholeChainUnkeyed(db: Database.Database, entries: readonly ChainedLedgerEntry[]): void {
  withoutTrigger(db, IMMUTABLE, () => {
    const update = db.prepare("UPDATE issuance_ledger SET previous_hash = ?, entry_hash = ?, hash_scheme = 'sha256' WHERE sequence = ?");
    for (const r of unkeyedChain(entries)) update.run(r.previousHash, r.entryHash, r.sequence);
  });
}

describe('golden-saml: the whole ledger rewritten without the key, an entry for a forged token in it', function () {
  this.timeout(120_000);
  const server = instanceOfItsOwn('trustbridge-golden-ledger-rewrite-');

  const validate = async (token: string) => {
    const sent = await trustCall(server.sts, COMBO, { user: USER, password: PASSWORD, op: 'Validate', rstBody: target('Validate', token) });
    return { ...statusOf(sent, COMBO), requestId: sent.res.requestId };
  };

  it('every row recomputed in plain SHA-256 from the first: after a restart no row counts, the token raises forged-token, verify names entry 1', async () => {
    const tokens = await issueTokens(server.sts, 3);
    const ids = tokens.map(idOf);
    // The third token stands for a forgery whose entry was planted: the rows are what deleting its entry and
    // writing it back would leave, once the chain is recomputed without the key.
    const entries = await chain(server.sts);
    await server.restart(undefined, () => withStoreDatabase(server.sts, (db) => rewriteWholeChainUnkeyed(db, entries)));
    assert.equal(server.sts.instance.store.ledger.unkeyedAtOpen, 3, 'the rewrite made the whole chain its unkeyed prefix');

    const planted = await validate(tokens[2] as string);
    assert.equal(planted.valid, false);
    const [alert] = await storedAlerts(server.sts.instance, planted.requestId);
    assert.deepEqual([alert?.eventName, alert?.severity, alert?.additionalEventData?.['tokenId']], ['forged-token', 'critical', ids[2]]);
    assert.equal(alertLogLines(server.sts.logs, planted.requestId).length, 1);
    await expectBroken(server.sts, unacceptedFirstEntry(ids[0] as string, 3));

    // Had the operator declared the 3 entries as written before keying, the plant would count: the
    // count is what the config vouches for, and an instance created since keying has none.
    await server.restart(acceptingUnkeyed(server.home, 3));
    assert.equal((await validate(tokens[2] as string)).valid, true);
    await expectIntact(server.sts, 3, 3);
  });
});
