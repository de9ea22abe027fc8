import { strict as assert } from 'node:assert';
import { CLAIMED_USER_NAME_MAX_LENGTH, claimedUserName, quotedClaimedUserName } from '../../../src/audit/claimed-user-name';

// The user name a refused login claimed is attacker-controlled: the audit trail keeps it bounded and
// unable to rewrite a terminal or forge a log line.
describe('audit: a claimed user name as the trail keeps it', () => {
  it('an ordinary name, a DOMAIN\\user name and a non-Latin one are kept as sent', () => {
    for (const name of ['alice@example.com', 'CONTOSO\\alice', 'Zoë Ünal', '山田太郎', 'key-\u{1F511}']) {
      assert.deepEqual(claimedUserName(name), { name });
    }
  });

  it('controls, line separators, bidi overrides, zero-width and lone surrogates are written as visible \\uXXXX', () => {
    assert.deepEqual(claimedUserName('a\r\nb\tc\u0000d\u007f\u0085'), { name: 'a\\u000d\\u000ab\\u0009c\\u0000d\\u007f\\u0085' });
    assert.deepEqual(claimedUserName('x\u2028y\u2029z'), { name: 'x\\u2028y\\u2029z' });
    assert.deepEqual(claimedUserName('admin\u202Egpj.exe\u200B'), { name: 'admin\\u202egpj.exe\\u200b' });
    assert.deepEqual(claimedUserName('\uD800lone\uDFFF'), { name: '\\ud800lone\\udfff' });
    // Above U+FFFF (a language tag, a musical format character) the braces keep five hex digits from reading as four and a character.
    assert.deepEqual(claimedUserName('a\u{E0001}b\u{1D173}'), { name: 'a\\u{e0001}b\\u{1d173}' });
  });

  it(`a name longer than ${CLAIMED_USER_NAME_MAX_LENGTH} characters is cut there, and says how long it was`, () => {
    const sent = 'a'.repeat(10_000);
    assert.deepEqual(claimedUserName(sent), { name: 'a'.repeat(CLAIMED_USER_NAME_MAX_LENGTH), truncatedFrom: 10_000 });
    const exact = 'b'.repeat(CLAIMED_USER_NAME_MAX_LENGTH);
    assert.deepEqual(claimedUserName(exact), { name: exact });
  });

  it('the cap counts the escaped form, never splits an escape or a surrogate pair', () => {
    const escapes = claimedUserName('\n'.repeat(100));
    assert.equal(escapes.name, '\\u000a'.repeat(Math.floor(CLAIMED_USER_NAME_MAX_LENGTH / 6)));
    assert.equal(escapes.truncatedFrom, 100);
    const pairs = claimedUserName('c' + '\u{1F511}'.repeat(200));
    assert.equal(pairs.name.length, CLAIMED_USER_NAME_MAX_LENGTH - 1, 'the pair that would straddle the cap is left out whole');
    assert.equal(pairs.name, 'c' + '\u{1F511}'.repeat((CLAIMED_USER_NAME_MAX_LENGTH - 2) / 2));
  });

  it('a refusal detail quotes the same bounded, escaped name, and says how long it was when cut', () => {
    assert.equal(quotedClaimedUserName('alice@example.com'), '"alice@example.com"');
    assert.equal(quotedClaimedUserName('a\r\nb'), '"a\\u000d\\u000ab"');
    assert.equal(quotedClaimedUserName('y'.repeat(5000)), `"${'y'.repeat(CLAIMED_USER_NAME_MAX_LENGTH)}" (cut from 5000 characters)`);
  });
});
