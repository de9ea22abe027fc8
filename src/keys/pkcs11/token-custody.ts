import { randomBytes, X509Certificate } from 'node:crypto';
import { selfSignedCertificateFor } from '../certificates';
import type { SigningKeyCustody } from '../key-custody';
import { unsealSigningKey } from '../key-material';
import { signingKeyFor } from '../signing-key';
import type { Pkcs11Token } from './pkcs11-token';
import { formatTokenKeyReference, isTokenKeyReference, parseTokenKeyReference } from './pkcs11-uri';

export const TOKEN_IMPORT_REFUSED =
  'signingKeyCustody is "pkcs11": token-signing keys are generated inside the token and never imported through ' +
  'Trustbridge (the private key would pass through this process and its files, and copies of a key made elsewhere ' +
  'may exist). Generate one in the token with: sts keys rotate';

const stripLeadingZeros = (b: Buffer): Buffer => {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
};

/**
 * Keys held in a PKCS#11 token: generated there (C_GenerateKeyPair, sensitive, not extractable),
 * their certificates signed there, and every signature computed there. The store keeps a `pkcs11:`
 * reference. Keys sealed before the instance moved into the token still open with the master key,
 * so the old key signs until the first token key is promoted.
 */
export function tokenCustody(token: Pkcs11Token, masterKey: Buffer): SigningKeyCustody {
  return {
    kind: 'pkcs11',
    generate(request) {
      const id = randomBytes(16);
      const key = token.generateRsaSigningKey(id, `Trustbridge token signing ${id.toString('hex')}`);
      const signatureBytes = key.publicNumbers.modulus.length;
      const certificatePem = selfSignedCertificateFor(request, key.publicNumbers, (tbs) => token.signSha256(key, tbs, signatureBytes));
      return { certificatePem, privateKeyAtRest: formatTokenKeyReference({ tokenLabel: token.label, id }) };
    },
    import() {
      throw new Error(TOKEN_IMPORT_REFUSED);
    },
    open(record) {
      if (!isTokenKeyReference(record.sealedPrivateKey)) return unsealSigningKey(record, masterKey);
      const reference = parseTokenKeyReference(record.sealedPrivateKey);
      if (reference.tokenLabel !== token.label) {
        throw new Error(
          `token-signing key ${record.thumbprint} is held in the PKCS#11 token "${reference.tokenLabel}", ` +
            `but signingKeyCustody.tokenLabel is "${token.label}"`,
        );
      }
      const found = token.findPrivateKey(reference.id);
      if (!found) {
        throw new Error(`token-signing key ${record.thumbprint} is not in the PKCS#11 token "${token.label}" (id ${reference.id.toString('hex')}): was the token re-initialised or the key deleted?`);
      }
      const certified = Buffer.from(new X509Certificate(record.certificatePem).publicKey.export({ format: 'jwk' }).n ?? '', 'base64url');
      if (!stripLeadingZeros(found.publicNumbers.modulus).equals(stripLeadingZeros(certified))) {
        throw new Error(`the key in the PKCS#11 token "${token.label}" for token-signing key ${record.thumbprint} does not match its certificate`);
      }
      const signatureBytes = found.publicNumbers.modulus.length;
      return signingKeyFor(record.certificatePem, 'pkcs11', (_hash, data) => token.signSha256(found, data, signatureBytes));
    },
    close: () => token.close(),
  };
}
