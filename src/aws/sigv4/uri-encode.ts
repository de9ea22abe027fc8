// SigV4's URI encoding: RFC 3986, every octet except the unreserved A-Z a-z 0-9 - . _ ~ as %XX with
// upper-case hex. encodeURIComponent leaves ! ' ( ) * as they are, so those are escaped after it.

const UNRESERVED_ONLY = /^[A-Za-z0-9\-._~]*$/;
const LEFT_BY_ENCODE_URI_COMPONENT = /[!'()*]/g;

/** The SigV4 encoding of `value`, or undefined if it is not well-formed UTF-16 (a lone surrogate). */
export function uriEncode(value: string): string | undefined {
  // Most names and values (Action, Version, dates, hex) need no escaping at all.
  if (UNRESERVED_ONLY.test(value)) return value;
  let encoded: string;
  try {
    encoded = encodeURIComponent(value);
  } catch {
    return undefined;
  }
  return encoded.replace(LEFT_BY_ENCODE_URI_COMPONENT, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
