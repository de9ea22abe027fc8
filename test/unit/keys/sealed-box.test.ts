import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { open, seal } from '../../../src/keys/sealed-box';

const AD = 'trustbridge:user-password:alice';

/** Runs `fn`, expects it to throw, and checks the message leaks nothing of the key or the secret. */
function refusedWithoutLeaking(fn: () => unknown, key: Buffer, secret: Buffer): Error {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof Error, 'expected an error');
  const text = `${caught.message} ${caught.stack ?? ''}`;
  for (const encoding of ['base64', 'base64url', 'hex', 'latin1'] as const) {
    assert.ok(!text.includes(key.toString(encoding)), `the message contains the key in ${encoding}`);
    assert.ok(!text.includes(key.subarray(0, 8).toString(encoding)), `the message contains part of the key in ${encoding}`);
  }
  assert.ok(!text.includes(secret.toString('utf8')), 'the message contains the secret');
  return caught;
}

describe('keys/sealed-box', () => {
  const key = randomBytes(32);
  const secret = Buffer.from('correct horse battery staple – é€', 'utf8');

  it('round-trips', () => {
    const envelope = seal(secret, key, AD);
    assert.deepEqual(open(envelope, key, AD), secret);
  });

  it('round-trips an empty and a large plaintext', () => {
    assert.deepEqual(open(seal(Buffer.alloc(0), key, AD), key, AD), Buffer.alloc(0));
    const big = randomBytes(100_000);
    assert.deepEqual(open(seal(big, key, AD), key, AD), big);
  });

  it('is a versioned, dotted, base64url envelope that does not contain the plaintext', () => {
    const envelope = seal(secret, key, AD);
    assert.match(envelope, /^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+$/);
    assert.ok(!envelope.includes(secret.toString('base64url')));
  });

  it('uses a fresh IV each time (two seals of one value differ)', () => {
    assert.notEqual(seal(secret, key, AD), seal(secret, key, AD));
  });

  it('refuses the wrong key', () => {
    const envelope = seal(secret, key, AD);
    const err = refusedWithoutLeaking(() => open(envelope, randomBytes(32), AD), key, secret);
    assert.match(err.message, /could not be opened/);
  });

  it('refuses the wrong associated data (a value moved to another row)', () => {
    const envelope = seal(secret, key, AD);
    const err = refusedWithoutLeaking(() => open(envelope, key, 'trustbridge:user-password:mallory'), key, secret);
    assert.match(err.message, /could not be opened/);
  });

  function alter(envelope: string, part: 1 | 2 | 3): string {
    const parts = envelope.split('.');
    const bytes = Buffer.from(parts[part] as string, 'base64url');
    bytes[0] = (bytes[0] ?? 0) ^ 0x01;
    parts[part] = bytes.toString('base64url');
    return parts.join('.');
  }

  it('refuses an altered ciphertext', () => {
    const tampered = alter(seal(secret, key, AD), 3);
    refusedWithoutLeaking(() => open(tampered, key, AD), key, secret);
  });

  it('refuses an altered tag', () => {
    const tampered = alter(seal(secret, key, AD), 2);
    refusedWithoutLeaking(() => open(tampered, key, AD), key, secret);
  });

  it('refuses an altered IV', () => {
    const tampered = alter(seal(secret, key, AD), 1);
    refusedWithoutLeaking(() => open(tampered, key, AD), key, secret);
  });

  it('refuses a truncated tag (GCM tag shortening)', () => {
    const parts = seal(secret, key, AD).split('.');
    parts[2] = Buffer.from(parts[2] as string, 'base64url').subarray(0, 4).toString('base64url');
    refusedWithoutLeaking(() => open(parts.join('.'), key, AD), key, secret);
  });

  it('refuses an unknown version or a malformed envelope', () => {
    const envelope = seal(secret, key, AD);
    refusedWithoutLeaking(() => open(envelope.replace(/^v1/, 'v2'), key, AD), key, secret);
    refusedWithoutLeaking(() => open('v1.abc', key, AD), key, secret);
    refusedWithoutLeaking(() => open('', key, AD), key, secret);
  });

  it('refuses a master key that is not 32 bytes, for seal and open', () => {
    assert.throws(() => seal(secret, randomBytes(16), AD), /32 bytes/);
    assert.throws(() => open(seal(secret, key, AD), randomBytes(31), AD), /32 bytes/);
  });
});
