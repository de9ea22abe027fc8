import type { KeyObject, X509Certificate } from 'node:crypto';
import { encryptedKeyXml } from '../xml/encryption';
import { NS } from '../xml/namespaces';
import { BadRequestError } from './errors';

/** The key a holder-of-key token binds to: a shared secret, or the requestor's public key. */
export type ProofKey =
  | { readonly kind: 'symmetric'; readonly key: Buffer }
  | { readonly kind: 'public'; readonly certificate: X509Certificate }
  | { readonly kind: 'public'; readonly rsaKey: KeyObject };

/**
 * The canonical ds:KeyInfo that goes into the assertion's holder-of-key confirmation. A symmetric
 * key travels encrypted for the relying party (only it and the requestor may know it), so the relying
 * party must have an encryption certificate.
 */
export function proofKeyInfo(proof: ProofKey, encryptionCertificate: X509Certificate | undefined): string {
  const open = `<ds:KeyInfo xmlns:ds="${NS.ds}">`;
  if (proof.kind === 'symmetric') {
    if (!encryptionCertificate) {
      throw new BadRequestError(
        'A symmetric proof key must be encrypted for the relying party, and this relying party has no encryption certificate.',
      );
    }
    return `${open}${encryptedKeyXml(proof.key, encryptionCertificate, 'thumbprint', true)}</ds:KeyInfo>`;
  }
  if ('certificate' in proof) {
    return `${open}<ds:X509Data><ds:X509Certificate>${proof.certificate.raw.toString('base64')}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>`;
  }
  const jwk = proof.rsaKey.export({ format: 'jwk' });
  const b64 = (v: string | undefined): string => Buffer.from(v ?? '', 'base64url').toString('base64');
  return (
    `${open}<ds:KeyValue><ds:RSAKeyValue><ds:Modulus>${b64(jwk.n)}</ds:Modulus>` +
    `<ds:Exponent>${b64(jwk.e)}</ds:Exponent></ds:RSAKeyValue></ds:KeyValue></ds:KeyInfo>`
  );
}
