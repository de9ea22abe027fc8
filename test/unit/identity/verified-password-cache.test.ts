import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FailedAuthenticationError } from '../../../src/core/errors';
import { EmbeddedUserDirectory } from '../../../src/identity/embedded-users';
import { CHEAPEST_SCRYPT } from '../../../src/identity/password-hash';
import { addUser } from '../../../src/identity/user-admin';
import { VerifiedPasswordCache } from '../../../src/identity/verified-password-cache';
import { openSqliteStore } from '../../../src/store/sqlite/sqlite-store';
import type { Store } from '../../../src/store/store';

const HASH = 'scrypt$32768$8$1$c2FsdA==$aGFzaA==';
const OTHER_HASH = 'scrypt$32768$8$1$c2FsdDI=$aGFzaDI=';

describe('identity: the cache of passwords that verified', () => {
  let clock = 0;
  const cache = (maxEntries = 100): VerifiedPasswordCache => new VerifiedPasswordCache({ ttlMs: 1000, maxEntries, now: () => clock });
  beforeEach(() => (clock = 1_000_000));

  it('a verification is remembered for exactly that user, stored hash and password', () => {
    const c = cache();
    assert.equal(c.has('alice', HASH, 'pw'), false, 'nothing before it verified');
    c.remember('alice', HASH, 'pw');
    assert.equal(c.has('alice', HASH, 'pw'), true);
    assert.equal(c.has('alice', HASH, 'pw '), false, 'another password');
    assert.equal(c.has('Alice', HASH, 'pw'), false, 'another user');
    assert.equal(c.has('alice', OTHER_HASH, 'pw'), false, 'a changed password (new stored hash)');
  });

  it('fields cannot run into each other: (ab, c) is not (a, bc)', () => {
    const c = cache();
    c.remember('ab', HASH, 'c');
    assert.equal(c.has('a', HASH, 'bc'), false);
    c.remember('u', 'x', 'yz');
    assert.equal(c.has('u', 'xy', 'z'), false);
  });

  it('it counts for the TTL and not a millisecond longer; the expired entry is dropped', () => {
    const c = cache();
    c.remember('alice', HASH, 'pw');
    clock += 999;
    assert.equal(c.has('alice', HASH, 'pw'), true);
    clock += 1;
    assert.equal(c.has('alice', HASH, 'pw'), false);
    assert.equal(c.size, 0);
  });

  it('bounded: when full, the oldest verification goes first', () => {
    const c = cache(3);
    for (const u of ['a', 'b', 'c', 'd']) c.remember(u, HASH, 'pw');
    assert.equal(c.size, 3);
    assert.deepEqual(['a', 'b', 'c', 'd'].map((u) => c.has(u, HASH, 'pw')), [false, true, true, true]);
  });

  it('its key is its own: what one process (cache) verified, another has not', () => {
    const first = cache();
    first.remember('alice', HASH, 'pw');
    assert.equal(cache().has('alice', HASH, 'pw'), false);
  });

  describe('in the embedded user directory', () => {
    let dir: string;
    let store: Store;
    const masterKey = Buffer.alloc(32, 7);
    beforeEach(async () => {
      dir = mkdtempSync(join(tmpdir(), 'sts-verified-'));
      store = openSqliteStore(join(dir, 'sts.db'));
      await addUser(store, masterKey, { name: 'alice', password: 'alice-pw', claims: [], allowPasswordDigest: false, scrypt: CHEAPEST_SCRYPT });
    });
    afterEach(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('a password that verified is remembered; the next check of it returns the same subject', async () => {
      const verified = cache();
      const directory = new EmbeddedUserDirectory(store.users, masterKey, { verified });
      const hash = (await store.users.get('alice'))?.passwordHash ?? '';
      assert.equal((await directory.authenticateWithPassword('alice', 'alice-pw')).name, 'alice');
      assert.equal(verified.has('alice', hash, 'alice-pw'), true);
      assert.equal((await directory.authenticateWithPassword('alice', 'alice-pw')).name, 'alice');
      assert.equal(verified.size, 1);
    });

    it('a wrong password after the right one was remembered still fails, and is never remembered', async () => {
      const verified = cache();
      const directory = new EmbeddedUserDirectory(store.users, masterKey, { verified });
      await directory.authenticateWithPassword('alice', 'alice-pw');
      await assert.rejects(directory.authenticateWithPassword('alice', 'alice-PW'), FailedAuthenticationError);
      await assert.rejects(directory.authenticateWithPassword('mallory', 'alice-pw'), FailedAuthenticationError);
      assert.equal(verified.size, 1);
    });

    it('a remembered password counts only while the user exists: the user is read on every check', async () => {
      const verified = cache();
      const directory = new EmbeddedUserDirectory({ ...store.users, get: async () => undefined }, masterKey, { verified });
      const hash = (await store.users.get('alice'))?.passwordHash ?? '';
      verified.remember('alice', hash, 'alice-pw');
      await assert.rejects(directory.authenticateWithPassword('alice', 'alice-pw'), FailedAuthenticationError);
    });
  });
});
