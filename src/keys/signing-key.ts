import { createHash, createPrivateKey, KeyObject, sign, X509Certificate } from 'node:crypto';

/** The digests our signatures use: RSA PKCS#1 v1.5 over SHA-256 (SHA-1 is only ever verified, never signed). */
export type SignatureHash = 'sha256';

/** Where a SigningKey's private half lives: unsealed into this process, or inside a PKCS#11 token. */
export type SigningKeyCustodyKind = 'sealed' | 'pkcs11';

/**
 * A token-signing key ready for the hot path: it signs without handing out its private key (held
 * in this process as a KeyObject, or in a PKCS#11 token), the certificate pre-encoded.
 */
export interface SigningKey {
  /** RSA PKCS#1 v1.5 signature of `data` with `hash`. */
  sign(hash: SignatureHash, data: Buffer): Buffer;
  /**
   * The same signature, computed where it does not hold up the event loop: on libuv's thread pool
   * for a key held in this process (a token's most expensive step then runs beside the parsing and
   * writing of other requests, so one process uses more than one core); on the request thread for a
   * PKCS#11 key, whose one session must not run two operations at once.
   */
  signOffThread(hash: SignatureHash, data: Buffer): Promise<Buffer>;
  readonly custody: SigningKeyCustodyKind;
  readonly publicKey: KeyObject;
  readonly certificatePem: string;
  /** DER of the certificate in base64, as it goes into ds:X509Certificate. */
  readonly certificateBase64: string;
  /** Lower-case hex SHA-256 of the certificate DER: the identity of the key everywhere in Trustbridge. */
  readonly thumbprintSha256: string;
  /** Upper-case hex SHA-1 of the certificate DER, as AD FS and Windows show certificate thumbprints. */
  readonly thumbprintSha1: string;
  readonly notAfter: Date;
}

export function certificateThumbprintSha256(certificateDer: Buffer): string {
  return createHash('sha256').update(certificateDer).digest('hex');
}

/**
 * A SigningKey for `certificatePem` whose signatures come from `signer` (which must hold the matching
 * private key), and from `offThreadSigner` when given, else from `signer` on the calling thread.
 */
export function signingKeyFor(
  certificatePem: string,
  custody: SigningKeyCustodyKind,
  signer: SigningKey['sign'],
  offThreadSigner: SigningKey['signOffThread'] = async (hash, data) => signer(hash, data),
): SigningKey {
  const certificate = new X509Certificate(certificatePem);
  const der = certificate.raw;
  return {
    sign: signer,
    signOffThread: offThreadSigner,
    custody,
    publicKey: certificate.publicKey,
    certificatePem,
    certificateBase64: der.toString('base64'),
    thumbprintSha256: certificateThumbprintSha256(der),
    thumbprintSha1: createHash('sha1').update(der).digest('hex').toUpperCase(),
    notAfter: new Date(certificate.validTo),
  };
}

/** Builds a SigningKey from PEM text; throws if the key does not belong to the certificate. */
export function loadSigningKey(privateKeyPem: string, certificatePem: string): SigningKey {
  const privateKey = createPrivateKey(privateKeyPem);
  if (!new X509Certificate(certificatePem).checkPrivateKey(privateKey)) {
    throw new Error('the token-signing private key does not match its certificate');
  }
  // The KeyObject lives only in this closure: nothing outside can read it, and signing is Node's
  // one-shot sign with no copy in between. Given a callback, Node runs the same sign on its thread pool.
  return signingKeyFor(
    certificatePem,
    'sealed',
    (hash, data) => sign(hash, data, privateKey),
    (hash, data) =>
      new Promise((resolve, reject) => sign(hash, data, privateKey, (err, signature) => (err ? reject(err) : resolve(signature)))),
  );
}

