import { generateSelfSignedCertificate } from './certificates';
import type { SigningKeyCustody } from './key-custody';
import { sealSigningKey, unsealSigningKey } from './key-material';
import { isTokenKeyReference } from './pkcs11/pkcs11-uri';

/** The default custody: keys generated in this process and sealed (AES-256-GCM) under the master key. */
export function sealedCustody(masterKey: Buffer): SigningKeyCustody {
  return {
    kind: 'sealed',
    generate(request) {
      const generated = generateSelfSignedCertificate(request);
      return sealSigningKey(generated.privateKeyPem, generated.certificatePem, masterKey);
    },
    import: (privateKeyPem, certificatePem) => sealSigningKey(privateKeyPem, certificatePem, masterKey),
    open(record) {
      if (isTokenKeyReference(record.sealedPrivateKey)) {
        throw new Error(
          `token-signing key ${record.thumbprint} is held in a PKCS#11 token, but signingKeyCustody is "sealed": ` +
            `set signingKeyCustody to { "kind": "pkcs11", "module": …, "tokenLabel": …, "pinEnv": … } in config.json`,
        );
      }
      return unsealSigningKey(record, masterKey);
    },
    close() {},
  };
}
