import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import { FailedAuthenticationError, ProtocolError } from '../../../src/core/errors';
import type { TokenAlert } from '../../../src/core/token-forensics';
import { EmbeddedUserDirectory } from '../../../src/identity/embedded-users';
import { PasswordCheckLimiter } from '../../../src/identity/password-check-limiter';
import { CHEAPEST_SCRYPT, verifyPassword } from '../../../src/identity/password-hash';
import type { PasswordLockoutPolicy } from '../../../src/identity/password-lockout';
import { addUser } from '../../../src/identity/user-admin';
import { VerifiedPasswordCache } from '../../../src/identity/verified-password-cache';
import { openSqliteStore } from '../../../src/store/sqlite/sqlite-store';
import type { Store, UserRecord, UserRepository } from '../../../src/store/store';

// The extranet soft lockout of users in the store, on a fake clock: the threshold, the observation
// window, the reset by a right password, the digest path, and the scrypt it saves (counted through
// the directory's verify).

const PASSWORD = 'Lockout-Right-Horse-1!';
const WRONG = 'Lockout-Wrong-Battery-2?';
const POLICY: PasswordLockoutPolicy = { threshold: 3, observationWindowSeconds: 60 };
const T0 = new Date('2030-03-01T09:00:00.000Z');
const WRONG_PASSWORD_FAULT = 'The security token could not be authenticated or authorized.';

/** Base64(SHA-1(nonce + created + password)): what a client sends as PasswordDigest. */
const digestOf = (nonce: Buffer, created: string, password: string): string =>
  createHash('sha1').update(nonce).update(created, 'utf8').update(password, 'utf8').digest('base64');

async function refusal(promise: Promise<unknown>): Promise<FailedAuthenticationError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof FailedAuthenticationError, `expected FailedAuthentication, got ${String(err)}`);
    assert.equal(err.message, WRONG_PASSWORD_FAULT, 'what the caller is told is always the wrong-password answer');
    for (const secret of [PASSWORD, WRONG]) assert.ok(!(err.logDetail ?? '').includes(secret), 'no password in the log detail');
    return err;
  }
  assert.fail('expected FailedAuthentication');
}

describe('identity: the extranet lockout of embedded users', function () {
  this.timeout(20_000);
  const masterKey = randomBytes(32);
  let store: Store;
  let clock: number;
  let scryptChecks: number;
  let clears: number;
  const advance = (ms: number): void => {
    clock += ms;
  };
  const row = async (name = 'alice'): Promise<UserRecord> => {
    const u = await store.users.get(name);
    assert.ok(u);
    return u;
  };
  /** The users repository, counting the writes that reset a count. */
  const countingUsers = (): UserRepository => ({
    ...store.users,
    clearFailedLogins: async (name) => {
      clears++;
      await store.users.clearFailedLogins(name);
    },
  });
  const directory = (
    options: { lockout?: PasswordLockoutPolicy; verified?: VerifiedPasswordCache; limiter?: PasswordCheckLimiter } = {},
  ): EmbeddedUserDirectory =>
    new EmbeddedUserDirectory(countingUsers(), masterKey, {
      lockout: options.lockout ?? POLICY,
      verified: options.verified ?? new VerifiedPasswordCache(),
      limiter: options.limiter ?? new PasswordCheckLimiter(),
      now: () => new Date(clock),
      verify: async (password, stored) => {
        scryptChecks++;
        return verifyPassword(password, stored);
      },
    });

  beforeEach(async () => {
    store = openSqliteStore(':memory:');
    clock = T0.getTime();
    scryptChecks = 0;
    clears = 0;
    await addUser(store, masterKey, { name: 'alice', password: PASSWORD, claims: [], allowPasswordDigest: true, scrypt: CHEAPEST_SCRYPT });
    await addUser(store, masterKey, { name: 'bob', password: PASSWORD, claims: [], allowPasswordDigest: false, scrypt: CHEAPEST_SCRYPT });
  });
  afterEach(async () => {
    await store.close();
  });

  it('a check that waited for its turn reads its user again: one removed meanwhile is refused, never hashed', async () => {
    let release!: () => void;
    const firstHeld = new Promise<void>((resolve) => (release = resolve));
    let removed = false;
    const users: UserRepository = { ...store.users, get: async (name) => (removed && name === 'alice' ? undefined : store.users.get(name)) };
    const d = new EmbeddedUserDirectory(users, masterKey, {
      lockout: POLICY,
      limiter: new PasswordCheckLimiter({ maxConcurrent: 1, maxQueued: 10 }),
      now: () => new Date(clock),
      verify: async (password, stored) => {
        if (++scryptChecks === 1) await firstHeld;
        return verifyPassword(password, stored);
      },
    });
    const first = d.authenticateWithPassword('bob', PASSWORD);
    const second = refusal(d.authenticateWithPassword('alice', PASSWORD));
    removed = true;
    release();
    assert.equal((await first).name, 'bob');
    assert.equal((await second).logDetail, 'unknown user "alice" (removed while its check waited)');
    assert.equal(scryptChecks, 1, 'only the first check hashed');
  });

  it('the threshold: each wrong password is checked and counted; the one reaching it raises password-lockout, once', async () => {
    const d = directory();
    const alerts: Array<TokenAlert | undefined> = [];
    for (let i = 1; i <= 3; i++) {
      advance(1000);
      const err = await refusal(d.authenticateWithPassword('alice', WRONG));
      assert.equal(err.logDetail, 'wrong password for user "alice"');
      alerts.push(err.alert);
      assert.deepEqual(await row(), { ...(await row()), failedLogins: i, lastFailedAt: new Date(clock) });
    }
    assert.equal(scryptChecks, 3);
    assert.deepEqual(alerts.slice(0, 2), [undefined, undefined]);
    assert.deepEqual(alerts[2], {
      name: 'password-lockout',
      facts: { user: 'alice', failures: 3, lockedOutUntil: new Date(clock + 60_000).toISOString() },
    });
    assert.equal((await row('bob')).failedLogins, 0, 'another user is not counted');
  });

  it('while locked out, nothing is checked: the RIGHT password, a wrong one and a digest are refused as a wrong password, uncounted', async () => {
    const d = directory();
    for (let i = 0; i < 3; i++) await refusal(d.authenticateWithPassword('alice', WRONG));
    const locked = await row();
    scryptChecks = 0;
    advance(59_999);
    const right = await refusal(d.authenticateWithPassword('alice', PASSWORD));
    assert.equal(
      right.logDetail,
      `user "alice" is locked out: 3 wrong passwords, the last at ${T0.toISOString()}; no password is checked before ${new Date(T0.getTime() + 60_000).toISOString()}`,
    );
    assert.equal(right.alert, undefined, 'the alert was raised when the lockout began, not again');
    assert.match((await refusal(d.authenticateWithPassword('alice', WRONG))).logDetail ?? '', /is locked out/);
    const nonce = randomBytes(16);
    const created = new Date(clock).toISOString();
    assert.match((await refusal(d.authenticateWithDigest('alice', digestOf(nonce, created, PASSWORD), nonce, created))).logDetail ?? '', /is locked out/);
    assert.equal(scryptChecks, 0, 'no scrypt while locked out');
    assert.deepEqual(await row(), locked, 'refusals while locked out change nothing');
    assert.equal(clears, 0);
  });

  it('a password remembered from before the lockout is refused too', async () => {
    const verified = new VerifiedPasswordCache();
    const d = directory({ verified });
    assert.equal((await d.authenticateWithPassword('alice', PASSWORD)).name, 'alice');
    assert.equal(verified.size, 1);
    for (let i = 0; i < 3; i++) await refusal(d.authenticateWithPassword('alice', WRONG));
    assert.match((await refusal(d.authenticateWithPassword('alice', PASSWORD))).logDetail ?? '', /is locked out/);
    assert.equal((await row()).failedLogins, 3);
  });

  it('after the window the password is checked again, and a wrong one starts the count afresh: at most `threshold` guesses per window', async () => {
    const d = directory();
    for (let i = 0; i < 3; i++) await refusal(d.authenticateWithPassword('alice', WRONG));
    advance(60_000);
    scryptChecks = 0;
    const again = await refusal(d.authenticateWithPassword('alice', WRONG));
    assert.equal(again.logDetail, 'wrong password for user "alice"', 'checked: the window had passed');
    assert.equal(again.alert, undefined, 'a count of 1 is no lockout');
    assert.equal(scryptChecks, 1);
    assert.deepEqual([(await row()).failedLogins, (await row()).lastFailedAt], [1, new Date(clock)]);
    await refusal(d.authenticateWithPassword('alice', WRONG));
    const third = await refusal(d.authenticateWithPassword('alice', WRONG));
    assert.equal(third.alert?.name, 'password-lockout', 'the third guess of the new window locks out again, with an alert');
    assert.match((await refusal(d.authenticateWithPassword('alice', PASSWORD))).logDetail ?? '', /is locked out: 3 wrong passwords/);
    assert.equal(scryptChecks, 3, 'the lockout checks nothing');
    advance(60_000);
    assert.equal((await d.authenticateWithPassword('alice', PASSWORD)).name, 'alice');
    assert.deepEqual([(await row()).failedLogins, (await row()).lastFailedAt], [0, null], 'the right password forgot the count');
    assert.equal(clears, 1);
  });

  it('old wrong passwords do not add up: two, then two more a window later, lock nothing', async () => {
    const d = directory();
    await refusal(d.authenticateWithPassword('alice', WRONG));
    await refusal(d.authenticateWithPassword('alice', WRONG));
    advance(60_000);
    await refusal(d.authenticateWithPassword('alice', WRONG));
    await refusal(d.authenticateWithPassword('alice', WRONG));
    assert.equal((await row()).failedLogins, 2);
    assert.equal((await d.authenticateWithPassword('alice', PASSWORD)).name, 'alice');
  });

  it('a right password below the threshold resets the count; a good login with no failures writes nothing', async () => {
    const d = directory();
    await refusal(d.authenticateWithPassword('alice', WRONG));
    await refusal(d.authenticateWithPassword('alice', WRONG));
    assert.equal((await d.authenticateWithPassword('alice', PASSWORD)).name, 'alice');
    assert.deepEqual([(await row()).failedLogins, (await row()).lastFailedAt], [0, null]);
    assert.equal(clears, 1);
    await d.authenticateWithPassword('alice', PASSWORD);
    await d.authenticateWithPassword('bob', PASSWORD);
    assert.equal(clears, 1, 'no write for a user with no failures, remembered or not');
    await refusal(d.authenticateWithPassword('alice', WRONG));
    await refusal(d.authenticateWithPassword('alice', WRONG));
    assert.equal((await d.authenticateWithPassword('alice', PASSWORD)).name, 'alice', 'two after the reset do not lock');
  });

  it('a remembered right password resets the count as well', async () => {
    const d = directory();
    await d.authenticateWithPassword('alice', PASSWORD);
    await refusal(d.authenticateWithPassword('alice', WRONG));
    scryptChecks = 0;
    await d.authenticateWithPassword('alice', PASSWORD);
    assert.equal(scryptChecks, 0, 'remembered');
    assert.equal((await row()).failedLogins, 0);
  });

  it('PasswordDigest: wrong digests count and lock out like wrong passwords; the right one resets', async () => {
    const d = directory();
    const send = (password: string): Promise<unknown> => {
      const nonce = randomBytes(16);
      const created = new Date(clock).toISOString();
      return d.authenticateWithDigest('alice', digestOf(nonce, created, password), nonce, created);
    };
    await refusal(send(WRONG));
    assert.equal((await send(PASSWORD) as { name: string }).name, 'alice');
    assert.equal((await row()).failedLogins, 0, 'reset by the right digest');
    const errors: FailedAuthenticationError[] = [];
    for (let i = 0; i < 3; i++) errors.push(await refusal(send(WRONG)));
    assert.deepEqual(errors.map((e) => e.logDetail), Array(3).fill('wrong password digest for user "alice"'));
    assert.deepEqual(errors.map((e) => e.alert?.facts['failures']), [undefined, undefined, 3]);
    assert.match((await refusal(send(PASSWORD))).logDetail ?? '', /is locked out/);
    assert.match((await refusal(d.authenticateWithPassword('alice', PASSWORD))).logDetail ?? '', /is locked out/, 'one count for both kinds of password');
    assert.equal(scryptChecks, 0, 'a digest costs no scrypt');
  });

  it('a user not allowed PasswordDigest is refused without counting (no password was tried)', async () => {
    const d = directory();
    const nonce = randomBytes(16);
    const created = T0.toISOString();
    for (let i = 0; i < 4; i++) {
      const err = await refusal(d.authenticateWithDigest('bob', digestOf(nonce, created, WRONG), nonce, created));
      assert.equal(err.logDetail, 'user "bob" is not allowed PasswordDigest');
    }
    assert.equal((await row('bob')).failedLogins, 0);
  });

  it('an unknown user pays the decoy scrypt and nothing is written', async () => {
    const d = directory();
    for (let i = 0; i < 4; i++) assert.equal((await refusal(d.authenticateWithPassword('mallory', WRONG))).logDetail, 'unknown user "mallory"');
    assert.equal(scryptChecks, 4);
    assert.deepEqual((await store.users.list()).map((u) => u.failedLogins), [0, 0]);
  });

  it('threshold 0 turns the lockout off: nothing is counted, every password is checked', async () => {
    const d = directory({ lockout: { threshold: 0, observationWindowSeconds: 60 } });
    for (let i = 0; i < 5; i++) assert.equal((await refusal(d.authenticateWithPassword('alice', WRONG))).alert, undefined);
    assert.equal(scryptChecks, 5);
    assert.deepEqual([(await row()).failedLogins, (await row()).lastFailedAt], [0, null]);
    assert.equal((await d.authenticateWithPassword('alice', PASSWORD)).name, 'alice');
  });

  it('a burst sent all at once stops at the threshold: queued checks re-read the count, and are refused unhashed', async () => {
    const d = directory({ limiter: new PasswordCheckLimiter({ maxConcurrent: 1, maxQueued: 100 }) });
    const results = await Promise.allSettled(Array.from({ length: 12 }, () => d.authenticateWithPassword('alice', WRONG)));
    const errors = results.map((r) => {
      assert.equal(r.status, 'rejected');
      const err = (r as PromiseRejectedResult).reason as ProtocolError;
      assert.ok(err instanceof FailedAuthenticationError);
      return err;
    });
    assert.equal(scryptChecks, 3);
    assert.equal(errors.filter((e) => e.logDetail === 'wrong password for user "alice"').length, 3);
    assert.equal(errors.filter((e) => /is locked out/.test(e.logDetail ?? '')).length, 9);
    assert.equal(errors.filter((e) => e.alert !== undefined).length, 1, 'one alert for the burst');
    assert.equal((await row()).failedLogins, 3);
  });
});
