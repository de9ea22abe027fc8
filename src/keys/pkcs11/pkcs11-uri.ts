// A reference to a private key held in a PKCS#11 token, as an RFC 7512 URI: what the store keeps
// in place of a sealed key when the token holds it (`pkcs11:token=…;id=%..;type=private`).

export interface TokenKeyReference {
  readonly tokenLabel: string;
  /** The key's CKA_ID. */
  readonly id: Buffer;
}

const SCHEME = 'pkcs11:';

export function isTokenKeyReference(value: string): boolean {
  return value.startsWith(SCHEME);
}

export function formatTokenKeyReference(reference: TokenKeyReference): string {
  const id = [...reference.id].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
  return `${SCHEME}token=${encodeURIComponent(reference.tokenLabel)};id=${id};type=private`;
}

/** Reads a reference written by formatTokenKeyReference; throws on anything else. */
export function parseTokenKeyReference(value: string): TokenKeyReference {
  if (!isTokenKeyReference(value)) throw new Error('not a PKCS#11 URI');
  const attributes = new Map<string, string>();
  for (const part of value.slice(SCHEME.length).split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error('a malformed PKCS#11 URI');
    attributes.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const token = attributes.get('token');
  const id = attributes.get('id');
  if (token === undefined || id === undefined || attributes.get('type') !== 'private' || !/^(%[0-9a-fA-F]{2})+$/.test(id)) {
    throw new Error('a PKCS#11 URI without token, id and type=private');
  }
  return { tokenLabel: decodeURIComponent(token), id: Buffer.from(id.replace(/%/g, ''), 'hex') };
}
