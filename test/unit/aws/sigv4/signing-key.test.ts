import { strict as assert } from 'node:assert';
import { formatAmzDate, parseAmzDate, parseHttpDate } from '../../../../src/aws/sigv4/amz-date';
import { deriveSigningKey, SigningKeyCache } from '../../../../src/aws/sigv4/signing-key';

const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';

describe('aws/sigv4 deriveSigningKey', () => {
  it("matches AWS's documented example (20120215, us-east-1, iam)", () => {
    assert.equal(deriveSigningKey(SECRET, '20120215', 'us-east-1', 'iam').toString('hex'), 'f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d');
  });
});

describe('aws/sigv4 SigningKeyCache', () => {
  it('gives the derived key, and the same Buffer again on a hit', () => {
    const cache = new SigningKeyCache(4);
    const key = cache.get(SECRET, '20120215', 'us-east-1', 'iam');
    assert.deepEqual(key, deriveSigningKey(SECRET, '20120215', 'us-east-1', 'iam'));
    assert.equal(cache.get(SECRET, '20120215', 'us-east-1', 'iam'), key);
    assert.equal(cache.size, 1);
  });

  it('keys on every input: secret, date, region and service', () => {
    const cache = new SigningKeyCache(8);
    const keys = [
      cache.get(SECRET, '20120215', 'us-east-1', 'sts'),
      cache.get(`${SECRET}x`, '20120215', 'us-east-1', 'sts'),
      cache.get(SECRET, '20120216', 'us-east-1', 'sts'),
      cache.get(SECRET, '20120215', 'eu-west-1', 'sts'),
      cache.get(SECRET, '20120215', 'us-east-1', 'iam'),
    ];
    assert.equal(new Set(keys.map((k) => k.toString('hex'))).size, 5);
    assert.equal(cache.size, 5);
  });

  it('stays within its bound and evicts the least recently used key', () => {
    const cache = new SigningKeyCache(3);
    const a = cache.get('a', '20260101', 'us-east-1', 'sts');
    cache.get('b', '20260101', 'us-east-1', 'sts');
    cache.get('c', '20260101', 'us-east-1', 'sts');
    assert.equal(cache.get('a', '20260101', 'us-east-1', 'sts'), a); // a is now the most recent
    cache.get('d', '20260101', 'us-east-1', 'sts'); // evicts b
    assert.equal(cache.size, 3);
    assert.equal(cache.get('a', '20260101', 'us-east-1', 'sts'), a);
    for (let i = 0; i < 100; i++) cache.get(`s${i}`, '20260101', 'us-east-1', 'sts');
    assert.equal(cache.size, 3);
    assert.notEqual(cache.get('a', '20260101', 'us-east-1', 'sts'), a);
  });

  it('refuses a size below one', () => {
    assert.throws(() => new SigningKeyCache(0));
  });
});

describe('aws/sigv4 request dates', () => {
  it('parses and formats the ISO 8601 basic format', () => {
    assert.deepEqual(parseAmzDate('20261122T001233Z'), new Date('2026-11-22T00:12:33Z'));
    assert.deepEqual(parseAmzDate('20240229T235959Z'), new Date('2024-02-29T23:59:59Z'));
    assert.equal(formatAmzDate(new Date('2026-11-22T00:12:33.987Z')), '20261122T001233Z');
  });

  it('refuses anything else, including dates that do not exist', () => {
    for (const bad of ['', '20261122T001233', '2026-11-22T00:12:33Z', '20261122T001233z', ' 20261122T001233Z', '20250229T000000Z', '20261301T000000Z', '20261122T240000Z', '20261122T006000Z', '20261122T001260Z', '00991122T001233Z']) {
      assert.equal(parseAmzDate(bad), undefined, bad);
    }
  });

  it('parses an HTTP IMF-fixdate, and nothing else', () => {
    assert.deepEqual(parseHttpDate('Sun, 22 Nov 2026 00:12:33 GMT'), new Date('2026-11-22T00:12:33Z'));
    for (const bad of ['Sunday, 22-Nov-26 00:12:33 GMT', 'Sun Nov 22 00:12:33 2026', 'Sun, 31 Nov 2026 00:12:33 GMT', 'Sun, 22 Nov 2026 00:12:33 UTC', '']) {
      assert.equal(parseHttpDate(bad), undefined, bad);
    }
  });
});
