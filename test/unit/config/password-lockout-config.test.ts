import { strict as assert } from 'node:assert';
import { ConfigError, validateConfig } from '../../../src/config/config';

describe('config: passwordLockout and passwordChecks', () => {
  it('default to AD FS\'s extranet lockout (10 wrong passwords, 30 minutes) and 2 checks at once, 100 waiting', () => {
    const c = validateConfig({});
    assert.deepEqual(c.passwordLockout, { threshold: 10, observationWindowSeconds: 1800 });
    assert.deepEqual(c.passwordChecks, { maxConcurrent: 0, maxQueued: 100 }, 'checks at once: automatic');
  });

  it('merge a partial section; threshold 0 (the lockout off) and maxQueued 0 (no waiting) are allowed', () => {
    const c = validateConfig({ passwordLockout: { threshold: 0 }, passwordChecks: { maxQueued: 0 } });
    assert.deepEqual(c.passwordLockout, { threshold: 0, observationWindowSeconds: 1800 });
    assert.deepEqual(c.passwordChecks, { maxConcurrent: 0, maxQueued: 0 });
  });

  const refused: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['a negative threshold', { passwordLockout: { threshold: -1 } }, 'passwordLockout.threshold', /must be an integer from 0 to 10000 \(found -1\)/],
    ['a threshold as text', { passwordLockout: { threshold: '10' } }, 'passwordLockout.threshold', /must be an integer from 0/],
    ['an observation window of 0', { passwordLockout: { observationWindowSeconds: 0 } }, 'passwordLockout.observationWindowSeconds', /must be an integer from 1 to 604800/],
    ['an observation window over a week', { passwordLockout: { observationWindowSeconds: 604801 } }, 'passwordLockout.observationWindowSeconds', /from 1 to 604800/],
    ['an unknown lockout setting', { passwordLockout: { duration: 5 } }, 'passwordLockout.duration', /is not a known setting/],
    ['a negative number of checks at once', { passwordChecks: { maxConcurrent: -1 } }, 'passwordChecks.maxConcurrent', /must be an integer from 0 to 256 \(found -1\)/],
    ['a fractional queue', { passwordChecks: { maxQueued: 1.5 } }, 'passwordChecks.maxQueued', /must be an integer from 0 to 100000/],
    ['a section that is not an object', { passwordChecks: 2 }, 'passwordChecks', /must be an object/],
  ];
  for (const [what, raw, key, message] of refused) {
    it(`refuses ${what}, naming ${key}`, () => {
      assert.throws(
        () => validateConfig(raw),
        (err: unknown) => err instanceof ConfigError && err.key === key && err.message.includes(`"${key}"`) && message.test(err.message),
      );
    });
  }
});
