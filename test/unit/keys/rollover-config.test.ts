import { strict as assert } from 'node:assert';
import { ConfigError, validateConfig } from '../../../src/config/config';

describe('config: keyRollover', () => {
  it('defaults to AD FS\'s timings, enabled', () => {
    assert.deepEqual(validateConfig({}).keyRollover, { enabled: true, certificateDays: 365, generateDaysBeforeExpiry: 20, promoteAfterDays: 5 });
  });

  it('merges a partial section', () => {
    assert.deepEqual(validateConfig({ keyRollover: { enabled: false } }).keyRollover, { enabled: false, certificateDays: 365, generateDaysBeforeExpiry: 20, promoteAfterDays: 5 });
  });

  const refused: Array<[unknown, RegExp]> = [
    [{ enabled: 'yes' }, /config key "keyRollover.enabled" must be true or false/],
    [{ certificateDays: 1 }, /config key "keyRollover.certificateDays" must be an integer from 2/],
    [{ promoteAfterDays: -1 }, /config key "keyRollover.promoteAfterDays" must be an integer/],
    [{ bogus: 1 }, /config key "keyRollover.bogus" is not a known setting/],
    [{ certificateDays: 30, generateDaysBeforeExpiry: 30 }, /"keyRollover.generateDaysBeforeExpiry" must be less than keyRollover.certificateDays \(30\)/],
    [{ generateDaysBeforeExpiry: 5, promoteAfterDays: 5 }, /"keyRollover.promoteAfterDays" must be less than keyRollover.generateDaysBeforeExpiry \(5\)/],
  ];
  for (const [section, message] of refused) {
    it(`refuses ${JSON.stringify(section)} naming the key`, () => {
      assert.throws(() => validateConfig({ keyRollover: section }), (err: unknown) => err instanceof ConfigError && message.test(err.message));
    });
  }
});
