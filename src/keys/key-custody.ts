import type { SigningKeyRecord } from '../store/store';
import type { CertificateRequest } from './certificates';
import { isTokenKeyReference } from './pkcs11/pkcs11-uri';
import { isSealedEnvelope } from './sealed-box';
import type { SigningKey, SigningKeyCustodyKind } from './signing-key';

// Where token-signing private keys live. SigningKeyRecord.sealedPrivateKey holds what a custody
// keeps at rest: a sealed envelope (AES-256-GCM under the master key) or a reference to a key in a
// PKCS#11 token (a `pkcs11:` URI); never the key in clear.

/** A new or imported key as the store keeps it. */
export interface KeyAtRest {
  readonly certificatePem: string;
  /** A sealed envelope or a token reference: what goes into SigningKeyRecord.sealedPrivateKey. */
  readonly privateKeyAtRest: string;
}

export interface SigningKeyCustody {
  readonly kind: SigningKeyCustodyKind;
  /** Makes an RSA-2048 key and its self-signed certificate (inside the token, for a token custody). */
  generate(request: CertificateRequest): KeyAtRest;
  /** Takes in a key made elsewhere, or refuses to. */
  import(privateKeyPem: string, certificatePem: string): KeyAtRest;
  /** The stored key, ready to sign. */
  open(record: Pick<SigningKeyRecord, 'thumbprint' | 'certificatePem' | 'sealedPrivateKey'>): SigningKey;
  /** Releases what the custody holds open (a token session). */
  close(): void;
}

/** What a stored private-key field holds; 'clear' is anything else (a PEM planted by hand, say). */
export function keyAtRestForm(sealedPrivateKey: string): 'sealed' | 'pkcs11' | 'clear' {
  if (isSealedEnvelope(sealedPrivateKey)) return 'sealed';
  if (isTokenKeyReference(sealedPrivateKey)) return 'pkcs11';
  return 'clear';
}
