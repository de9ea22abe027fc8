import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { generateSigningKey, importSigningKey } from '../../../src/keys/key-material';
import { OwnKeyRing } from '../../../src/keys/own-key-ring';
import { SigningKeyRing } from '../../../src/keys/signing-key-ring';
import { sealedCustody } from '../../../src/keys/sealed-custody';
import { generateSelfSignedCertificate } from '../../../src/keys/certificates';
import { runRolloverCheck } from '../../../src/keys/key-rollover';
import { SQLITE_MIGRATIONS } from '../../../src/store/sqlite/migrations';
import { openSqliteStore } from '../../../src/store/sqlite/sqlite-store';
import type { SigningKeyRecord, Store } from '../../../src/store/store';

const T0 = new Date('2031-01-01T00:00:00Z');
const later = (ms: number): Date => new Date(T0.getTime() + ms);
const fake = (thumbprint: string, state: SigningKeyRecord['state'], createdAt = T0): SigningKeyRecord => ({
  thumbprint,
  state,
  certificatePem: 'not parsed here',
  sealedPrivateKey: 'v1.a.b.c',
  createdAt,
});

describe('keys: the signing-key repository (SQLite) and the key rings', function () {
  this.timeout(60_000);
  let dir: string;
  let path: string;
  let store: Store;
  const custody = sealedCustody(randomBytes(32));

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'trustbridge-keys-'));
    path = join(dir, 'db.sqlite');
    store = openSqliteStore(path);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('migration', () => {
    it('adds the lifecycle columns and stamps activated_at on a database from before them', async () => {
      await store.close();
      rmSync(path);
      const old = new Database(path);
      old.exec(SQLITE_MIGRATIONS.slice(0, 3).join(';\n'));
      old.pragma('user_version = 3');
      old.prepare('INSERT INTO signing_keys (thumbprint, state, certificate_pem, sealed_private_key, created_at) VALUES (?, ?, ?, ?, ?)').run('aa', 'active', 'pem', 'x', T0.getTime());
      old.close();
      store = openSqliteStore(path);
      const k = await store.signingKeys.get('aa');
      assert.equal(k?.state, 'active');
      assert.deepEqual(k?.activatedAt, T0);
      assert.equal(k?.notAfter, undefined);
      const columns = new Database(path).prepare<[], { name: string }>('PRAGMA table_info(signing_keys)').all().map((c) => c.name);
      for (const c of ['not_after', 'activated_at', 'retiring_at', 'retired_at', 'revoked_at']) assert.ok(columns.includes(c), c);
    });
  });

  describe('transitions', () => {
    it('add keeps the optional lifecycle fields and get returns them', async () => {
      const rec = { ...fake('aa', 'active'), notAfter: later(1000), activatedAt: T0 };
      await store.signingKeys.add(rec);
      assert.deepEqual(await store.signingKeys.get('aa'), rec);
      assert.equal(await store.signingKeys.get('zz'), undefined);
    });

    it('promote: the pending key becomes active and the active one retiring, with their times', async () => {
      await store.signingKeys.add(fake('aa', 'active'));
      await store.signingKeys.add(fake('bb', 'pending'));
      assert.deepEqual(await store.signingKeys.promote('bb', later(5)), { promoted: true, previous: 'aa' });
      const [a, b] = await store.signingKeys.list();
      assert.equal(a?.state, 'retiring');
      assert.deepEqual(a?.retiringAt, later(5));
      assert.equal(b?.state, 'active');
      assert.deepEqual(b?.activatedAt, later(5));
    });

    it('promote with revokePrevious revokes the active key in the same step', async () => {
      await store.signingKeys.add(fake('aa', 'active'));
      await store.signingKeys.add(fake('bb', 'pending'));
      await store.signingKeys.promote('bb', later(5), { revokePrevious: true });
      const a = await store.signingKeys.get('aa');
      assert.equal(a?.state, 'revoked');
      assert.deepEqual(a?.revokedAt, later(5));
      assert.equal(a?.retiringAt, undefined);
    });

    it('promote refuses a key that is not pending and changes nothing', async () => {
      await store.signingKeys.add(fake('aa', 'active'));
      await store.signingKeys.add(fake('rr', 'retiring'));
      await store.signingKeys.add(fake('vv', 'revoked'));
      const before = await store.signingKeys.list();
      assert.deepEqual(await store.signingKeys.promote('aa', T0), { promoted: false, state: 'active' });
      assert.deepEqual(await store.signingKeys.promote('rr', T0), { promoted: false, state: 'retiring' });
      assert.deepEqual(await store.signingKeys.promote('vv', T0), { promoted: false, state: 'revoked' });
      assert.deepEqual(await store.signingKeys.promote('nope', T0), { promoted: false, state: null });
      assert.deepEqual(await store.signingKeys.list(), before);
    });

    it('setState is conditional on the current state', async () => {
      await store.signingKeys.add(fake('rr', 'retiring'));
      assert.equal(await store.signingKeys.setState('rr', ['active'], 'retired', later(1)), false);
      assert.equal(await store.signingKeys.setState('rr', ['retiring'], 'retired', later(1)), true);
      assert.equal(await store.signingKeys.setState('rr', ['retiring'], 'retired', later(2)), false);
      assert.deepEqual((await store.signingKeys.get('rr'))?.retiredAt, later(1));
      assert.equal(await store.signingKeys.setState('rr', ['pending', 'retiring', 'retired'], 'revoked', later(3)), true);
      assert.equal(await store.signingKeys.setState('missing', ['pending'], 'revoked', later(3)), false);
    });

    it('the database refuses a second active key, by setState or by add', async () => {
      await store.signingKeys.add(fake('aa', 'active'));
      await store.signingKeys.add(fake('bb', 'pending'));
      await assert.rejects(store.signingKeys.setState('bb', ['pending'], 'active', T0), /another token-signing key is active/);
      await assert.rejects(store.signingKeys.add(fake('cc', 'active')), /another token-signing key is active/);
      assert.deepEqual((await store.signingKeys.list()).map((k) => k.state), ['active', 'pending']);
    });
  });

  describe('exactly one active key under concurrent promotions from several processes', () => {
    const storeModule = resolve(__dirname, '../../../src/store/sqlite/sqlite-store.js');
    const child = (script: string, args: string[]): Promise<string> =>
      new Promise((done, fail) => {
        const p = spawn(process.execPath, ['-e', script, storeModule, path, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        p.stdout.on('data', (d: Buffer) => (out += d));
        p.stderr.on('data', (d: Buffer) => (err += d));
        p.on('close', (code) => (code === 0 ? done(out) : fail(new Error(`child exited ${code}: ${err}`))));
      });
    // Waits for a common start time, then promotes its keys one after another.
    const PROMOTER = `
      const { openSqliteStore } = require(process.argv[1]);
      const store = openSqliteStore(process.argv[2]);
      const start = Number(process.argv[3]);
      const keys = process.argv.slice(4);
      (async () => {
        while (Date.now() < start) await new Promise((r) => setTimeout(r, 1));
        const results = [];
        for (const k of keys) results.push((await store.signingKeys.promote(k, new Date())).promoted);
        await store.close();
        process.stdout.write(JSON.stringify(results));
      })();`;
    // Reads the number of active keys in a loop until told to stop (by a time).
    const WATCHER = `
      const Database = require(require.resolve('better-sqlite3', { paths: [require('node:path').dirname(process.argv[1])] }));
      const db = new Database(process.argv[2], { readonly: true, timeout: 5000 });
      const until = Number(process.argv[3]);
      const seen = new Set();
      let reads = 0;
      while (Date.now() < until) { seen.add(db.prepare("SELECT COUNT(*) AS n FROM signing_keys WHERE state = 'active'").get().n); reads++; }
      process.stdout.write(JSON.stringify({ seen: [...seen], reads }));`;

    it('four processes promote 40 keys (each key also raced by two of them): one active key at every read', async () => {
      await store.signingKeys.add(fake('k00', 'active'));
      const names = Array.from({ length: 40 }, (_, i) => `k${String(i + 1).padStart(2, '0')}`);
      for (const n of names) await store.signingKeys.add(fake(n, 'pending'));
      const start = Date.now() + 1500;
      // Processes 0 and 2 both promote the even keys, 1 and 3 the odd ones: every key is raced twice.
      const shares = [0, 1, 0, 1].map((r) => names.filter((_, j) => j % 2 === r));
      const watcher = child(WATCHER, [String(start + 4000)]);
      const results = await Promise.all(shares.map((keys) => child(PROMOTER, [String(start), ...keys]).then((o) => JSON.parse(o) as boolean[])));
      const watched = JSON.parse(await watcher) as { seen: number[]; reads: number };
      assert.deepEqual(watched.seen, [1], `active-key counts seen while promoting: ${JSON.stringify(watched)}`);
      assert.ok(watched.reads > 100);
      // Each key was promoted by exactly one of the two processes that raced for it.
      assert.equal(results.flat().filter(Boolean).length, names.length);
      const keys = await store.signingKeys.list();
      assert.equal(keys.filter((k) => k.state === 'active').length, 1);
      assert.equal(keys.filter((k) => k.state === 'retiring').length, names.length);
    });
  });

  describe('SigningKeyRing (the signing side) and OwnKeyRing (the verifying side)', () => {
    it('the ring follows a promotion on refresh and unseals only when the active key changes', async () => {
      const first = await generateSigningKey(store.signingKeys, custody, { state: 'active' });
      const ring = await SigningKeyRing.open(store.signingKeys, custody);
      const before = ring.current();
      assert.equal(before.thumbprintSha256, first.thumbprint);
      assert.equal(await ring.refresh(), false);
      assert.equal(ring.current(), before, 'the same KeyObject: not unsealed again');
      const second = await generateSigningKey(store.signingKeys, custody, { state: 'pending' });
      assert.deepEqual(ring.publishedCertificates().map((c) => c.thumbprint), [first.thumbprint]);
      await ring.refresh();
      assert.deepEqual(ring.publishedCertificates().map((c) => [c.thumbprint, c.state]), [[first.thumbprint, 'active'], [second.thumbprint, 'pending']]);
      assert.equal(ring.current().thumbprintSha256, first.thumbprint, 'a pending key does not sign');
      await store.signingKeys.promote(second.thumbprint, new Date());
      assert.equal(await ring.refresh(), true);
      assert.equal(ring.current().thumbprintSha256, second.thumbprint);
      assert.deepEqual(ring.publishedCertificates().map((c) => [c.thumbprint, c.state]), [[second.thumbprint, 'active'], [first.thumbprint, 'retiring']]);
    });

    it('the ring refreshes by itself in the background (and its timer does not hold the process)', async () => {
      await generateSigningKey(store.signingKeys, custody, { state: 'active' });
      const ring = await SigningKeyRing.open(store.signingKeys, custody, { refreshMs: 50 });
      ring.start();
      try {
        const next = await generateSigningKey(store.signingKeys, custody, { state: 'pending' });
        await store.signingKeys.promote(next.thumbprint, new Date());
        const deadline = Date.now() + 2000;
        while (ring.current().thumbprintSha256 !== next.thumbprint && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        assert.equal(ring.current().thumbprintSha256, next.thumbprint);
      } finally {
        ring.stop();
      }
    });

    it('opening a ring with no active key fails with the fix', async () => {
      await generateSigningKey(store.signingKeys, custody, { state: 'pending' });
      await assert.rejects(SigningKeyRing.open(store.signingKeys, custody), /exactly one active token-signing key is required, found 0: run "sts keys list" and "sts keys promote"/);
    });

    it('OwnKeyRing trusts active and retiring keys only: not pending, retired, revoked or expired ones', async () => {
      const states = ['pending', 'active', 'retiring', 'retired', 'revoked'] as const;
      const made: Record<string, string> = {};
      for (const state of states) {
        const k = await generateSigningKey(store.signingKeys, custody, { state: state === 'active' ? 'active' : 'pending' });
        made[state] = k.thumbprint;
        if (state !== 'active' && state !== 'pending') {
          await store.signingKeys.setState(k.thumbprint, ['pending'], state, new Date());
        }
      }
      // A retiring key whose certificate has expired.
      const old = generateSelfSignedCertificate({ commonName: 'old', validDays: 1 });
      const expired = await importSigningKey(store.signingKeys, custody, old.privateKeyPem, old.certificatePem);
      await store.signingKeys.setState(expired.thumbprint, ['pending'], 'retiring', new Date());
      const ring = new OwnKeyRing(store.signingKeys, { now: () => new Date(Date.now() + 2 * 24 * 3600 * 1000) });
      const trusted = (await ring.trusted()).map((k) => k.thumbprintSha256).sort();
      assert.deepEqual(trusted, [made['active'], made['retiring']].sort());
    });

    it('OwnKeyRing caches for at most 5 s and re-reads at once after a miss (at most once a second)', async () => {
      await generateSigningKey(store.signingKeys, custody, { state: 'active' });
      const ring = new OwnKeyRing(store.signingKeys, { refreshMs: 60_000 });
      assert.equal((await ring.trusted()).length, 1);
      const next = await generateSigningKey(store.signingKeys, custody, { state: 'pending' });
      await store.signingKeys.promote(next.thumbprint, new Date());
      assert.equal((await ring.trusted()).length, 1, 'cached');
      assert.equal(await ring.refreshAfterMiss(), true);
      assert.equal((await ring.trusted()).length, 2);
      assert.equal(await ring.refreshAfterMiss(), false, 'throttled');
    });

    it('OwnKeyRing does not re-read for a key its cached lists already hold (a revoked key\'s token replayed costs no re-read)', async () => {
      await generateSigningKey(store.signingKeys, custody, { state: 'active' });
      const revoked = await generateSigningKey(store.signingKeys, custody, { state: 'pending' });
      await store.signingKeys.setState(revoked.thumbprint, ['pending'], 'revoked', new Date());
      let lists = 0;
      const counting = { ...store.signingKeys, list: async () => (lists++, store.signingKeys.list()) };
      const ring = new OwnKeyRing(counting, { refreshMs: 60_000, missRefreshMs: 0 });
      assert.deepEqual((await ring.withheld()).map((k) => k.thumbprintSha256), [revoked.thumbprint]);
      for (let i = 0; i < 3; i++) assert.equal(await ring.refreshAfterMiss(revoked.thumbprint), false);
      assert.equal(lists, 1, 'read once, when the cache was filled');
      const stranger = await generateSigningKey(store.signingKeys, custody, { state: 'pending' });
      assert.equal(await ring.refreshAfterMiss(stranger.thumbprint), true, 'a key of ours the cache does not hold yet is re-read for at once');
      assert.equal(lists, 2);
    });
  });

  describe('runRolloverCheck against the store', () => {
    it('generates, then promotes, then retires as the clock moves', async () => {
      const first = await generateSigningKey(store.signingKeys, custody, { state: 'active', validDays: 30 });
      await store.relyingParties.add({
        appliesTo: 'https://rp/', displayName: 'rp', tokenLifetimeSeconds: 3600, releasedClaims: [], endpointUrl: null,
        nameIdFormat: 'x', expiredRenewalWindowSeconds: 0, encryptionCertificatePem: null, tokenEncryption: 'aes256-cbc',
        delegates: [], audience: null, profile: 'generic', sessionDurationSeconds: null, createdAt: new Date(),
      });
      const settings = { enabled: true, certificateDays: 365, generateDaysBeforeExpiry: 20, promoteAfterDays: 5 };
      const day = 24 * 3600 * 1000;
      const check = (ms: number) => runRolloverCheck({ store, custody: () => custody, settings, clockSkewSeconds: 300, now: new Date(Date.now() + ms) });
      assert.deepEqual(await check(0), []);
      const generated = await check(11 * day);
      assert.deepEqual(generated.map((o) => [o.action.kind, o.done]), [['generate', true]]);
      const second = generated[0]?.thumbprint as string;
      assert.equal((await store.signingKeys.get(second))?.state, 'pending');
      assert.deepEqual(await check(11 * day + 3600_000), []);
      // Created at the check's time (day 11): promoted 5 days later.
      assert.equal(await check(16 * day - 1000).then((o) => o.length), 0);
      const promoted = await check(16 * day + 1000);
      assert.deepEqual(promoted.map((o) => [o.action.kind, o.thumbprint, o.previous]), [['promote', second, first.thumbprint]]);
      assert.equal((await store.signingKeys.get(first.thumbprint))?.state, 'retiring');
      const retiringAt = (await store.signingKeys.get(first.thumbprint))?.retiringAt as Date;
      const delay = (3600 + 300) * 1000;
      assert.deepEqual(await runRolloverCheck({ store, custody: () => custody, settings, clockSkewSeconds: 300, now: new Date(retiringAt.getTime() + delay - 1) }), []);
      const retired = await runRolloverCheck({ store, custody: () => custody, settings, clockSkewSeconds: 300, now: new Date(retiringAt.getTime() + delay) });
      assert.deepEqual(retired.map((o) => [o.action.kind, o.thumbprint, o.done]), [['retire', first.thumbprint, true]]);
      assert.equal((await store.signingKeys.get(first.thumbprint))?.state, 'retired');
    });
  });
});
