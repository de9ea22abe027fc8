import { strict as assert } from 'node:assert';
import { DOMParser } from '@xmldom/xmldom';
import { ExclusiveCanonicalization } from 'xml-crypto';
import { escapeAttribute, escapeText } from '../../../src/xml/escape';

const NASTY = 'a & b < c > d " e \' f\tg\nh\ri é ü € 中文 𝄞';

/** What xml-crypto's exclusive c14n writes for an element holding `value` as text and as an attribute. */
function canonicalOf(xml: string): string {
  const doc = new DOMParser().parseFromString(xml, 'application/xml');
  return new ExclusiveCanonicalization().process(doc.documentElement as unknown as Element, {});
}

describe('xml/escape', () => {
  it('escapeText escapes &, <, > and CR exactly as c14n does, and nothing else', () => {
    assert.equal(escapeText(NASTY), 'a &amp; b &lt; c &gt; d " e \' f\tg\nh&#xD;i é ü € 中文 𝄞');
  });

  it('escapeAttribute escapes &, <, ", TAB, LF and CR exactly as c14n does, and nothing else', () => {
    assert.equal(escapeAttribute(NASTY), 'a &amp; b &lt; c > d &quot; e \' f&#x9;g&#xA;h&#xD;i é ü € 中文 𝄞');
  });

  it('leaves plain text untouched (same string)', () => {
    assert.equal(escapeText('plain text é'), 'plain text é');
    assert.equal(escapeAttribute('plain text é'), 'plain text é');
  });

  it('escapes "&" first, so an existing entity is escaped, not kept', () => {
    assert.equal(escapeText('&amp;'), '&amp;amp;');
    assert.equal(escapeAttribute('&quot;'), '&amp;quot;');
  });

  it('is a fixed point of exclusive c14n: what we write is what xml-crypto re-canonicalises', () => {
    const xml = `<e a="${escapeAttribute(NASTY)}">${escapeText(NASTY)}</e>`;
    assert.equal(canonicalOf(xml), xml);
  });

  it('round-trips through a parser to the original value', () => {
    const doc = new DOMParser().parseFromString(
      `<e a="${escapeAttribute(NASTY)}">${escapeText(NASTY)}</e>`,
      'application/xml',
    );
    assert.equal(doc.documentElement?.getAttribute('a'), NASTY);
    assert.equal(doc.documentElement?.textContent, NASTY);
  });
});
