import { strict as assert } from 'node:assert';
import { ConfigError, validateConfig } from '../../../src/config/config';

// The settings of keys at rest: mode, signingKeyCustody and the TLS key's passphrase file.

const PKCS11 = { kind: 'pkcs11', module: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 'trustbridge', pinEnv: 'STS_PKCS11_PIN' };

function refusal(raw: unknown): ConfigError {
  try {
    validateConfig(raw);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail('expected a ConfigError');
}

describe('config/config: mode, signingKeyCustody, tls.privateKeyPassphraseFile', () => {
  it('defaults: development, sealed keys, no TLS passphrase file', () => {
    const c = validateConfig({});
    assert.equal(c.mode, 'development');
    assert.deepEqual(c.signingKeyCustody, { kind: 'sealed' });
    assert.equal(c.tls.privateKeyPassphraseFile, '');
  });

  it('accepts production, a PKCS#11 custody with pinEnv or pinFile, and a passphrase file', () => {
    const c = validateConfig({ mode: 'production', signingKeyCustody: PKCS11, tls: { privateKeyPassphraseFile: 'tls/passphrase' } });
    assert.equal(c.mode, 'production');
    assert.deepEqual(c.signingKeyCustody, PKCS11);
    assert.equal(c.tls.privateKeyPassphraseFile, 'tls/passphrase');
    const { pinEnv: _, ...withoutEnv } = PKCS11;
    assert.deepEqual(validateConfig({ signingKeyCustody: { ...withoutEnv, pinFile: 'pin' } }).signingKeyCustody, { ...withoutEnv, pinFile: 'pin' });
  });

  const refused: Array<[string, unknown, string, RegExp]> = [
    ['mode "staging"', { mode: 'staging' }, 'mode', /must be one of development, production/],
    ['custody not an object', { signingKeyCustody: 'pkcs11' }, 'signingKeyCustody', /must be an object/],
    ['an unknown kind', { signingKeyCustody: { kind: 'kms' } }, 'signingKeyCustody.kind', /must be one of sealed, pkcs11/],
    ['a module setting on the sealed custody', { signingKeyCustody: { kind: 'sealed', module: '/x.so' } }, 'signingKeyCustody.module', /is not a setting of the sealed custody/],
    ['a relative module path', { signingKeyCustody: { ...PKCS11, module: 'libsofthsm2.so' } }, 'signingKeyCustody.module', /absolute path of a PKCS#11 module/],
    ['no token label', { signingKeyCustody: { ...PKCS11, tokenLabel: '' } }, 'signingKeyCustody.tokenLabel', /1 to 32 bytes/],
    ['a token label over 32 bytes', { signingKeyCustody: { ...PKCS11, tokenLabel: 'x'.repeat(33) } }, 'signingKeyCustody.tokenLabel', /1 to 32 bytes/],
    ['neither pinEnv nor pinFile', { signingKeyCustody: { kind: 'pkcs11', module: PKCS11.module, tokenLabel: 't' } }, 'signingKeyCustody', /"pinEnv" .* or "pinFile", one of them/],
    ['both pinEnv and pinFile', { signingKeyCustody: { ...PKCS11, pinFile: 'pin' } }, 'signingKeyCustody', /one of them/],
    ['a pinEnv that is not a variable name', { signingKeyCustody: { ...PKCS11, pinEnv: 'STS PIN' } }, 'signingKeyCustody.pinEnv', /an environment variable name/],
    ['a PIN written into the config', { signingKeyCustody: { ...PKCS11, pin: '1234' } }, 'signingKeyCustody.pin', /is not a setting of the pkcs11 custody/],
    ['a passphrase file that is not a string', { tls: { privateKeyPassphraseFile: 1 } }, 'tls.privateKeyPassphraseFile', /must be a non-empty string/],
  ];
  for (const [name, raw, key, message] of refused) {
    it(`refuses ${name}, naming ${key}`, () => {
      const err = refusal(raw);
      assert.equal(err.key, key);
      assert.match(err.message, message);
      assert.ok(!err.message.includes('1234'));
    });
  }
});
