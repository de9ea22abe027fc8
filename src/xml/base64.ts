// Base64 as XML Schema's base64Binary allows it after white space is removed: the canonical alphabet
// with correct padding. Node's decoder silently skips anything else, so text is checked first.
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The bytes of non-empty, well-formed base64 text (white space ignored), or undefined. */
export function decodeStrictBase64(text: string): Buffer | undefined {
  const compact = text.replace(/\s+/g, '');
  return compact !== '' && STRICT_BASE64.test(compact) ? Buffer.from(compact, 'base64') : undefined;
}
