import { strict as assert } from 'node:assert';
import { globMatches, globOf, literalGlob, wildcardMatches } from '../../../../src/aws/policy/wildcard';

describe('aws/policy/wildcard', () => {
  const table: readonly (readonly [pattern: string, text: string, expected: boolean])[] = [
    ['abc', 'abc', true],
    ['abc', 'abcd', false],
    ['abc', 'ab', false],
    ['', '', true],
    ['', 'a', false],
    ['*', '', true],
    ['*', 'anything at all', true],
    ['**', 'x', true],
    ['a*', 'a', true],
    ['a*c', 'abbbc', true],
    ['a*c', 'abbbd', false],
    ['*c', 'abcabc', true],
    ['a*b*c', 'axbxbxc', true],
    ['a*b*c', 'axcxb', false],
    ['?', 'a', true],
    ['?', '', false],
    ['?', 'ab', false],
    ['a?c', 'abc', true],
    ['a?*', 'ab', true],
    ['a?*', 'a', false],
    ['*?', '', false],
    ['line*end', 'line\nmiddle\nend', true],
  ];
  for (const [pattern, text, expected] of table) {
    it(`${JSON.stringify(pattern)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(text)}`, () => {
      assert.equal(wildcardMatches(pattern, text), expected);
    });
  }

  it('is case-sensitive; callers fold case where IAM does', () => {
    assert.equal(wildcardMatches('sts:*', 'STS:AssumeRole'), false);
  });

  it('counts code points, so `?` matches one character outside the BMP', () => {
    assert.equal(wildcardMatches('a?b', 'a𝄞b'), true);
    assert.equal(wildcardMatches('a??b', 'a𝄞b'), false);
  });

  it('treats a literal glob\'s `*` and `?` as themselves', () => {
    assert.equal(globMatches(literalGlob('a*?'), 'a*?'), true);
    assert.equal(globMatches(literalGlob('a*?'), 'abc'), false);
    assert.equal(globMatches([...literalGlob('*'), ...globOf('*')], '*tail'), true);
    assert.equal(globMatches([...literalGlob('*'), ...globOf('*')], 'xtail'), false);
  });

  it('stays fast on a pattern that makes a RegExp backtrack', () => {
    const pattern = `${'*a'.repeat(50)}*b`;
    const text = 'a'.repeat(20_000);
    const started = process.hrtime.bigint();
    assert.equal(wildcardMatches(pattern, text), false);
    assert.ok(process.hrtime.bigint() - started < 2_000_000_000n, 'took over two seconds');
  });
});
