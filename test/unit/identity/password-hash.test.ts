import { strict as assert } from 'node:assert';
import { CHEAPEST_SCRYPT, hashPassword, STRONG_SCRYPT, verifyPassword } from '../../../src/identity/password-hash';

describe('identity/password-hash', function () {
  this.timeout(20_000);

  it('hashes in the scrypt$N$r$p$salt$hash format with the strong parameters by default', async () => {
    const stored = await hashPassword('s3cret');
    const [scheme, n, r, p, salt, hash, ...rest] = stored.split('$');
    assert.equal(scheme, 'scrypt');
    assert.deepEqual([Number(n), Number(r), Number(p)], [32768, 8, 1]);
    assert.deepEqual(STRONG_SCRYPT, { N: 32768, r: 8, p: 1 });
    assert.equal(Buffer.from(salt ?? '', 'base64').length, 16);
    assert.equal(Buffer.from(hash ?? '', 'base64').length, 32);
    assert.deepEqual(rest, []);
    assert.ok(!stored.includes('s3cret'));
    assert.equal(await verifyPassword('s3cret', stored), true);
  });

  it('verifies the right password and refuses a wrong one', async () => {
    const stored = await hashPassword('correct horse é€', CHEAPEST_SCRYPT);
    assert.equal(await verifyPassword('correct horse é€', stored), true);
    assert.equal(await verifyPassword('correct horse e€', stored), false);
    assert.equal(await verifyPassword('correct horse é€ ', stored), false);
    assert.equal(await verifyPassword('', stored), false);
  });

  it('salts: two hashes of one password differ and both verify', async () => {
    const a = await hashPassword('pw', CHEAPEST_SCRYPT);
    const b = await hashPassword('pw', CHEAPEST_SCRYPT);
    assert.notEqual(a, b);
    assert.equal(await verifyPassword('pw', a), true);
    assert.equal(await verifyPassword('pw', b), true);
  });

  it('the parameters travel with the hash (a hash made with other parameters still verifies)', async () => {
    const stored = await hashPassword('pw', { N: 1024, r: 4, p: 2 });
    assert.match(stored, /^scrypt\$1024\$4\$2\$/);
    assert.equal(await verifyPassword('pw', stored), true);
  });

  describe('refuses parameters out of range when hashing', () => {
    const bad = [
      { N: 3, r: 8, p: 1 },
      { N: 1, r: 8, p: 1 },
      { N: 0, r: 8, p: 1 },
      { N: 2 ** 21, r: 8, p: 1 },
      { N: 1024.5, r: 8, p: 1 },
      { N: 1024, r: 0, p: 1 },
      { N: 1024, r: 33, p: 1 },
      { N: 1024, r: 1.5, p: 1 },
      { N: 1024, r: 8, p: 0 },
      { N: 1024, r: 8, p: 17 },
      { N: Number.NaN, r: 8, p: 1 },
    ];
    for (const params of bad) {
      it(JSON.stringify(params), async () => {
        await assert.rejects(hashPassword('pw', params), /scrypt parameters out of the accepted range/);
      });
    }
  });

  describe('refuses a stored hash it cannot trust', () => {
    it('with parameters out of range (e.g. N not a power of two, or huge)', async () => {
      const good = await hashPassword('pw', CHEAPEST_SCRYPT);
      const [, , , , salt, hash] = good.split('$');
      await assert.rejects(verifyPassword('pw', `scrypt$3$1$1$${salt}$${hash}`), /out of the accepted range/);
      await assert.rejects(verifyPassword('pw', `scrypt$${2 ** 22}$8$1$${salt}$${hash}`), /out of the accepted range/);
      await assert.rejects(verifyPassword('pw', `scrypt$1024$99$1$${salt}$${hash}`), /out of the accepted range/);
    });
    it('in another format', async () => {
      await assert.rejects(verifyPassword('pw', 'bcrypt$2b$10$abc'), /unknown password hash format/);
      await assert.rejects(verifyPassword('pw', 'plaintext'), /unknown password hash format/);
      await assert.rejects(verifyPassword('pw', ''), /unknown password hash format/);
    });
  });

  describe('compares in constant time (behaviour)', () => {
    it('a stored hash differing only in its last byte is false, not an error', async () => {
      const stored = await hashPassword('pw', CHEAPEST_SCRYPT);
      const parts = stored.split('$');
      const hash = Buffer.from(parts[5] ?? '', 'base64');
      hash[hash.length - 1] = (hash[hash.length - 1] ?? 0) ^ 1;
      parts[5] = hash.toString('base64');
      assert.equal(await verifyPassword('pw', parts.join('$')), false);
    });
    it('a stored hash of another length is false, not an error (timingSafeEqual would throw)', async () => {
      const stored = await hashPassword('pw', CHEAPEST_SCRYPT);
      const parts = stored.split('$');
      parts[5] = Buffer.from(parts[5] ?? '', 'base64').subarray(0, 16).toString('base64');
      assert.equal(await verifyPassword('pw', parts.join('$')), false);
    });
  });
});
