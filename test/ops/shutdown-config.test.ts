import { strict as assert } from 'node:assert';
import { ConfigError, validateConfig } from '../../src/config/config';

// The two shutdown settings: their defaults, and values refused by name.

describe('ops: shutdown settings in config.json', () => {
  it('default to 25 s for requests in flight and no delay before the port closes', () => {
    const c = validateConfig({});
    assert.equal(c.shutdownTimeoutSeconds, 25);
    assert.equal(c.shutdownDelaySeconds, 0);
  });

  it('accept other whole numbers of seconds', () => {
    const c = validateConfig({ shutdownTimeoutSeconds: 1, shutdownDelaySeconds: 600 });
    assert.equal(c.shutdownTimeoutSeconds, 1);
    assert.equal(c.shutdownDelaySeconds, 600);
  });

  const refused: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['a timeout of 0 (nothing in flight could finish)', { shutdownTimeoutSeconds: 0 }, 'shutdownTimeoutSeconds', /from 1 to 3600 \(found 0\)/],
    ['a timeout of 2.5', { shutdownTimeoutSeconds: 2.5 }, 'shutdownTimeoutSeconds', /integer/],
    ['a timeout given as a string', { shutdownTimeoutSeconds: '25' }, 'shutdownTimeoutSeconds', /found "25"/],
    ['a negative delay', { shutdownDelaySeconds: -1 }, 'shutdownDelaySeconds', /from 0 to 600/],
    ['a delay over ten minutes', { shutdownDelaySeconds: 601 }, 'shutdownDelaySeconds', /from 0 to 600/],
  ];
  for (const [what, raw, key, message] of refused) {
    it(`refuse ${what}, naming ${key}`, () => {
      assert.throws(
        () => validateConfig(raw),
        (err: unknown) => err instanceof ConfigError && err.key === key && message.test(err.message),
      );
    });
  }
});
