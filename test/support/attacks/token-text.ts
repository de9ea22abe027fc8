// Small edits of a signed SAML token's text (SAML 2.0 or 1.1, as Trustbridge and the test IdPs write
// them: canonical, the signature prefixed ds:), shared by the attack builders. Every edit fails loudly
// when what it edits is not there, so an attack can never silently turn into a harmless request.

import { replaceOnce } from '../xml-edit';

const SIGNATURE = /<ds:Signature[\s>][\s\S]*?<\/ds:Signature>/;
const ROOT_ID = /^(<[^\s>]+\s[^>]*?\b)(ID|AssertionID)="([^"]*)"/;

// The attack builders take every edit from here, replaceOnce included.
export { replaceOnce };

/** The root element's ID and the attribute that holds it (ID for SAML 2.0 and samlp, AssertionID for SAML 1.1). */
export function rootId(xml: string): { readonly attribute: 'ID' | 'AssertionID'; readonly id: string } {
  const m = ROOT_ID.exec(xml);
  if (!m) throw new Error('the root element has no ID or AssertionID');
  return { attribute: m[2] as 'ID' | 'AssertionID', id: m[3] as string };
}

/** The same element with another ID on its root (the ID elsewhere, e.g. a SessionIndex, is left alone). */
export function withRootId(xml: string, id: string): string {
  if (!ROOT_ID.test(xml)) throw new Error('the root element has no ID or AssertionID');
  return xml.replace(ROOT_ID, `$1$2="${id}"`);
}

/** The first ds:Signature in the text (a token's own, which sits before any nested one). */
export function signatureOf(xml: string): string {
  const m = SIGNATURE.exec(xml);
  if (!m) throw new Error('no ds:Signature in the token');
  return m[0];
}

/** The token with its (first) ds:Signature removed. */
export function withoutSignature(xml: string): string {
  return replaceOnce(xml, signatureOf(xml), '');
}

/** The token with `inner` added as the last child of its (first) ds:Signature. */
export function insideSignature(xml: string, inner: string): string {
  const signature = signatureOf(xml);
  return replaceOnce(xml, signature, signature.replace(/<\/ds:Signature>$/, `${inner}</ds:Signature>`));
}

/** The token with `inner` added as the last child of its root element. */
export function asLastChild(xml: string, inner: string): string {
  const at = xml.lastIndexOf('</');
  if (at === -1) throw new Error('the token has no end tag');
  return xml.slice(0, at) + inner + xml.slice(at);
}

/** The token with `inner` put right before its (first) ds:Signature. */
export function beforeSignature(xml: string, inner: string): string {
  const signature = signatureOf(xml);
  return replaceOnce(xml, signature, inner + signature);
}

/**
 * The attacker's change of identity: every text node and attribute value equal to `from` (the
 * NameID, and claims repeating it) becomes `to`. Text is matched whole (`>from<`, `"from"`).
 */
export function impersonate(from: string, to: string): (xml: string) => string {
  return (xml) => {
    const out = xml.split(`>${from}<`).join(`>${to}<`).split(`"${from}"`).join(`"${to}"`);
    if (out === xml) throw new Error(`"${from}" does not appear in the token`);
    return out;
  };
}

/**
 * Truncation bait: the first text node equal to `text` gets `insert(tail)` in place of its characters
 * from `keep` on (a comment before them, a CDATA section around them, …). Canonicalisation without
 * comments, or with CDATA rendered as text, leaves the signed content unchanged; a reader that takes
 * only the first text node would read `text.slice(0, keep)`: another, shorter, identity.
 */
export function splitText(text: string, keep: number, insert: (tail: string) => string): (xml: string) => string {
  return (xml) => {
    const at = xml.indexOf(`>${text}<`);
    if (at === -1) throw new Error(`no text node "${text}"`);
    const start = at + 1 + keep;
    return xml.slice(0, start) + insert(text.slice(keep)) + xml.slice(at + 1 + text.length);
  };
}

/** The text of the (first) NameID or SAML 1.1 NameIdentifier, all its text and CDATA joined. */
export function nameIdOf(token: string): string {
  const m = /<(NameID|saml:NameIdentifier)[^>]*>([\s\S]*?)<\/\1>/.exec(token);
  if (!m) throw new Error('no NameID in the token');
  return (m[2] as string).replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, '$1').replace(/<!--[\s\S]*?-->/g, '');
}
