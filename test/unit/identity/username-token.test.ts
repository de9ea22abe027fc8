import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FailedAuthenticationError, InvalidSecurityError, MessageExpiredError, ProtocolError } from '../../../src/core/errors';
import { EmbeddedUserDirectory } from '../../../src/identity/embedded-users';
import { CHEAPEST_SCRYPT } from '../../../src/identity/password-hash';
import { addUser } from '../../../src/identity/user-admin';
import { UsernameTokenAuthenticator, type UsernameToken } from '../../../src/identity/username-token';
import { openSqliteStore } from '../../../src/store/sqlite/sqlite-store';
import type { Store } from '../../../src/store/store';

const POLICY = { clockSkewMs: 300_000, maxAgeMs: 300_000 };
const NOW = new Date('2030-06-01T12:00:00.000Z');

/** Base64(SHA-1(nonce + created + password)), as the UsernameToken Profile 1.0 section 3.1 defines it. */
function passwordDigest(nonce: Buffer, created: string, password: string): string {
  return createHash('sha1').update(Buffer.concat([nonce, Buffer.from(created, 'utf8'), Buffer.from(password, 'utf8')])).digest('base64');
}

function textToken(username: string, password: string, extra: Partial<UsernameToken> = {}): UsernameToken {
  return { username, password, passwordType: 'text', nonce: undefined, createdText: undefined, created: undefined, ...extra };
}

function digestToken(username: string, password: string, at: Date = NOW, nonce: Buffer = randomBytes(16)): UsernameToken {
  const createdText = at.toISOString();
  return {
    username,
    password: passwordDigest(nonce, createdText, password),
    passwordType: 'digest',
    nonce,
    createdText,
    created: at,
  };
}

async function rejection(promise: Promise<unknown>): Promise<ProtocolError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ProtocolError, `expected a ProtocolError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

describe('identity/embedded-users + identity/username-token', function () {
  this.timeout(20_000);
  const masterKey = randomBytes(32);
  let store: Store;
  let directory: EmbeddedUserDirectory;
  let authenticator: UsernameTokenAuthenticator;

  before(async () => {
    store = openSqliteStore(':memory:');
    directory = new EmbeddedUserDirectory(store.users, masterKey);
    authenticator = new UsernameTokenAuthenticator(directory, store.replay, POLICY);
    const claims = [{ name: 'role', value: 'Staff' }];
    await addUser(store, masterKey, { name: 'alice', password: 'alice-pw é', claims, allowPasswordDigest: true, scrypt: CHEAPEST_SCRYPT });
    await addUser(store, masterKey, { name: 'bob', password: 'bob-pw', claims: [], allowPasswordDigest: false, scrypt: CHEAPEST_SCRYPT });
  });
  after(async () => {
    await store.close();
  });

  describe('EmbeddedUserDirectory', () => {
    it('PasswordText: the right password gives the subject with its claims', async () => {
      const subject = await directory.authenticateWithPassword('alice', 'alice-pw é');
      assert.equal(subject.name, 'alice');
      assert.deepEqual(subject.claims, [{ name: 'role', value: 'Staff' }]);
      assert.equal(subject.authnContextClassRef, 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport');
    });

    it('PasswordText: a wrong password is FailedAuthentication', async () => {
      const err = await rejection(directory.authenticateWithPassword('alice', 'alice-pw'));
      assert.ok(err instanceof FailedAuthenticationError);
      assert.equal(err.code, 'FailedAuthentication');
    });

    it('an unknown user and a wrong password give the same public message (details only in the log)', async () => {
      const unknown = await rejection(directory.authenticateWithPassword('nobody', 'x'));
      const wrong = await rejection(directory.authenticateWithPassword('bob', 'x'));
      assert.equal(unknown.constructor, wrong.constructor);
      assert.equal(unknown.code, wrong.code);
      assert.equal(unknown.message, wrong.message);
      assert.ok(!unknown.message.includes('nobody') && !wrong.message.includes('bob'));
      assert.notEqual(unknown.logDetail, wrong.logDetail);
    });

    it('the same holds for PasswordDigest: unknown user, wrong digest, user without digest', async () => {
      const nonce = randomBytes(16);
      const created = NOW.toISOString();
      const unknown = await rejection(directory.authenticateWithDigest('nobody', passwordDigest(nonce, created, 'x'), nonce, created));
      const wrong = await rejection(directory.authenticateWithDigest('alice', passwordDigest(nonce, created, 'x'), nonce, created));
      const notAllowed = await rejection(directory.authenticateWithDigest('bob', passwordDigest(nonce, created, 'bob-pw'), nonce, created));
      assert.equal(new Set([unknown.message, wrong.message, notAllowed.message]).size, 1);
      for (const err of [unknown, wrong, notAllowed]) assert.ok(err instanceof FailedAuthenticationError);
    });

    it('PasswordDigest computed per the UsernameToken profile is accepted', async () => {
      const nonce = randomBytes(16);
      const created = '2030-06-01T12:00:00.1234567Z';
      const subject = await directory.authenticateWithDigest('alice', passwordDigest(nonce, created, 'alice-pw é'), nonce, created);
      assert.equal(subject.name, 'alice');
    });

    it('PasswordDigest over another Created text (same instant, other spelling) is refused', async () => {
      const nonce = randomBytes(16);
      const digest = passwordDigest(nonce, '2030-06-01T12:00:00Z', 'alice-pw é');
      await rejection(directory.authenticateWithDigest('alice', digest, nonce, '2030-06-01T12:00:00.000Z'));
    });

    it('a digest that is not base64 of 20 bytes is refused, not an error', async () => {
      const err = await rejection(directory.authenticateWithDigest('alice', 'not-a-digest', randomBytes(16), NOW.toISOString()));
      assert.ok(err instanceof FailedAuthenticationError);
    });
  });

  describe('UsernameTokenAuthenticator', () => {
    it('PasswordText without nonce/created: ok and wrong', async () => {
      assert.equal((await authenticator.authenticate(textToken('bob', 'bob-pw'), NOW)).name, 'bob');
      assert.ok((await rejection(authenticator.authenticate(textToken('bob', 'nope'), NOW))) instanceof FailedAuthenticationError);
    });

    it('PasswordDigest: ok, and wrong password refused', async () => {
      assert.equal((await authenticator.authenticate(digestToken('alice', 'alice-pw é'), NOW)).name, 'alice');
      const err = await rejection(authenticator.authenticate(digestToken('alice', 'wrong'), NOW));
      assert.ok(err instanceof FailedAuthenticationError);
    });

    it('PasswordDigest for a user without a sealed password is refused', async () => {
      const err = await rejection(authenticator.authenticate(digestToken('bob', 'bob-pw'), NOW));
      assert.ok(err instanceof FailedAuthenticationError);
    });

    it('a nonce is accepted once and refused the second time (replay)', async () => {
      const token = digestToken('alice', 'alice-pw é');
      await authenticator.authenticate(token, NOW);
      const err = await rejection(authenticator.authenticate(token, NOW));
      assert.ok(err instanceof InvalidSecurityError);
      assert.match(err.message, /replay/);
    });

    it('a nonce on a PasswordText token is also remembered', async () => {
      const token = textToken('bob', 'bob-pw', { nonce: randomBytes(16), createdText: NOW.toISOString(), created: NOW });
      await authenticator.authenticate(token, NOW);
      assert.ok((await rejection(authenticator.authenticate(token, NOW))) instanceof InvalidSecurityError);
    });

    it('a Created older than max age + skew is refused as MessageExpired', async () => {
      const old = new Date(NOW.getTime() - POLICY.maxAgeMs - POLICY.clockSkewMs - 1000);
      const err = await rejection(authenticator.authenticate(digestToken('alice', 'alice-pw é', old), NOW));
      assert.ok(err instanceof MessageExpiredError);
      assert.match(err.message, /too old/);
    });

    it('a Created further in the future than the skew is refused as MessageExpired', async () => {
      const future = new Date(NOW.getTime() + POLICY.clockSkewMs + 1000);
      const err = await rejection(authenticator.authenticate(digestToken('alice', 'alice-pw é', future), NOW));
      assert.ok(err instanceof MessageExpiredError);
      assert.match(err.message, /future/);
    });

    it('a Created just inside the window (old side and future side) is accepted', async () => {
      const old = new Date(NOW.getTime() - POLICY.maxAgeMs - POLICY.clockSkewMs + 1000);
      const future = new Date(NOW.getTime() + POLICY.clockSkewMs - 1000);
      await authenticator.authenticate(digestToken('alice', 'alice-pw é', old), NOW);
      await authenticator.authenticate(digestToken('alice', 'alice-pw é', future), NOW);
    });

    it('a stale message is refused before its nonce is spent', async () => {
      const nonce = randomBytes(16);
      const old = new Date(NOW.getTime() - 3600_000);
      await rejection(authenticator.authenticate(digestToken('alice', 'alice-pw é', old, nonce), NOW));
      // The same nonce with a fresh Created still works: the stale attempt did not record it.
      await authenticator.authenticate(digestToken('alice', 'alice-pw é', NOW, nonce), NOW);
    });
  });

  describe('the replay cache is shared through the SQLite file', () => {
    let dir: string;
    let first: Store;
    let second: Store;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'trustbridge-unit-'));
      const file = join(dir, 'shared.db');
      first = openSqliteStore(file);
      second = openSqliteStore(file);
      await addUser(first, masterKey, { name: 'carol', password: 'carol-pw', claims: [], allowPasswordDigest: true, scrypt: CHEAPEST_SCRYPT });
    });
    after(async () => {
      await first?.close();
      await second?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('a nonce seen through one connection is refused through another', async () => {
      const viaFirst = new UsernameTokenAuthenticator(new EmbeddedUserDirectory(first.users, masterKey), first.replay, POLICY);
      const viaSecond = new UsernameTokenAuthenticator(new EmbeddedUserDirectory(second.users, masterKey), second.replay, POLICY);
      const token = digestToken('carol', 'carol-pw');
      assert.equal((await viaFirst.authenticate(token, NOW)).name, 'carol');
      const err = await rejection(viaSecond.authenticate(token, NOW));
      assert.ok(err instanceof InvalidSecurityError);
    });
  });
});
