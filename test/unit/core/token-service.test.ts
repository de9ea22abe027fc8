import { strict as assert } from 'node:assert';
import { newTokenId } from '../../../src/core/token-service';

describe('core/token-service newTokenId', () => {
  it('is "_" and 36 hex digits: 4 of the issue time, then a random UUID (version 4) without its dashes', () => {
    const at = new Date('2030-01-01T00:00:00.123Z');
    const id = newTokenId(at);
    assert.match(id, /^_[0-9a-f]{36}$/);
    assert.equal(id.slice(1, 5), (at.getTime() & 0xffff).toString(16).padStart(4, '0'));
    assert.match(id.slice(5), /^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$/, 'a v4 UUID: 122 random bits');
  });

  it('never repeats, and tokens issued in the same millisecond share the prefix that keeps ledger rows together', () => {
    const at = new Date();
    const ids = Array.from({ length: 10_000 }, () => newTokenId(at));
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(new Set(ids.map((id) => id.slice(0, 5))).size, 1);
    const next = newTokenId(new Date(at.getTime() + 1));
    assert.notEqual(next.slice(0, 5), ids[0]?.slice(0, 5));
  });
});
