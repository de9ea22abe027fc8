import { strict as assert } from 'node:assert';
import { certificateThumbprintSha256 } from '../../src/keys/signing-key';

// Reading and editing a token's or message's text as the tests receive it: an edit fails the test
// loudly when what it edits is not there exactly once, so a tampering test can never silently send
// the genuine document instead.

const KEY_INFO_CERTIFICATE = /<(?:ds:)?X509Certificate>([^<]+)<\/(?:ds:)?X509Certificate>/;
const ROOT_ID = /^<[^\s>]+\s(?:[^>]*?\s)?(?:ID|AssertionID)="([^"]*)"/;

/** Replaces the one occurrence of `from` with `to` (taken literally); fails if `from` occurs zero or several times. */
export function replaceOnce(text: string, from: string | RegExp, to: string): string {
  if (typeof from === 'string') {
    const at = text.indexOf(from);
    assert.ok(at !== -1 && text.indexOf(from, at + 1) === -1, `"${from.slice(0, 80)}" is not in the text exactly once`);
    return text.slice(0, at) + to + text.slice(at + from.length);
  }
  const matches = text.match(new RegExp(from.source, from.flags.includes('g') ? from.flags : `${from.flags}g`)) ?? [];
  assert.equal(matches.length, 1, `${String(from)} does not match the text exactly once`);
  return text.replace(from, () => to);
}

/** The root element's ID (SAML 2.0 ID, SAML 1.1 AssertionID); fails if it has none. */
export function idOf(xml: string): string {
  const m = ROOT_ID.exec(xml);
  assert.ok(m, `the root element has no ID: ${xml.slice(0, 120)}`);
  return m[1] as string;
}

/** The (first) certificate in a signed token's KeyInfo, as base64 DER. */
export function signingCertificateOf(xml: string): string {
  const m = KEY_INFO_CERTIFICATE.exec(xml);
  assert.ok(m, 'no X509Certificate in the token');
  return (m[1] as string).replace(/\s+/g, '');
}

/** The SHA-256 thumbprint of the certificate in a signed token's KeyInfo: which key signed it. */
export const signerThumbprintOf = (xml: string): string => certificateThumbprintSha256(Buffer.from(signingCertificateOf(xml), 'base64'));
