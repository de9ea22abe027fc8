import { constants, createCipheriv, createHash, publicEncrypt, randomBytes, type X509Certificate } from 'node:crypto';
import { NS } from './namespaces';

export type DataEncryption = 'aes256-cbc' | 'aes256-gcm';

export const XENC = {
  rsaOaep: 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p',
  aes256Cbc: 'http://www.w3.org/2001/04/xmlenc#aes256-cbc',
  aes256Gcm: 'http://www.w3.org/2009/xmlenc11#aes256-gcm',
  element: 'http://www.w3.org/2001/04/xmlenc#Element',
  sha1: 'http://www.w3.org/2000/09/xmldsig#sha1',
  thumbprintSha1: 'http://docs.oasis-open.org/wss/oasis-wss-soap-message-security-1.1#ThumbprintSHA1',
  base64Binary: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary',
} as const;

/** How the recipient's certificate is named inside an EncryptedKey's KeyInfo. */
export type RecipientReference = 'thumbprint' | 'certificate';

/**
 * An xenc:EncryptedKey carrying `key` under RSA-OAEP (MGF1-SHA1, the algorithm every WS-Trust and
 * SAML consumer decrypts) for the recipient's certificate, written in exclusive-c14n canonical form
 * so it can sit inside a signed assertion. `dsDeclared` says whether an ancestor already declares ds.
 */
export function encryptedKeyXml(
  key: Buffer,
  recipient: X509Certificate,
  reference: RecipientReference,
  dsDeclared: boolean,
): string {
  const cipher = publicEncrypt({ key: recipient.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, key);
  const ds = dsDeclared ? '' : ` xmlns:ds="${NS.ds}"`;
  const keyInfo =
    reference === 'thumbprint'
      ? `<ds:KeyInfo${ds}><o:SecurityTokenReference xmlns:o="${NS.wsse}">` +
        `<o:KeyIdentifier EncodingType="${XENC.base64Binary}" ValueType="${XENC.thumbprintSha1}">` +
        `${createHash('sha1').update(recipient.raw).digest('base64')}</o:KeyIdentifier></o:SecurityTokenReference></ds:KeyInfo>`
      : `<ds:KeyInfo${ds}><ds:X509Data><ds:X509Certificate>${recipient.raw.toString('base64')}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>`;
  // When ds is not yet declared, DigestMethod comes first and must carry the declaration itself.
  return (
    `<xenc:EncryptedKey xmlns:xenc="${NS.xenc}"><xenc:EncryptionMethod Algorithm="${XENC.rsaOaep}">` +
    `<ds:DigestMethod${ds} Algorithm="${XENC.sha1}"></ds:DigestMethod></xenc:EncryptionMethod>` +
    keyInfo +
    `<xenc:CipherData><xenc:CipherValue>${cipher.toString('base64')}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey>`
  );
}

/**
 * Encrypts an element for a recipient: a fresh AES-256 key (CBC with a random IV, or GCM with a
 * 96-bit IV and the tag appended, as XML Encryption 1.1 lays them out), carried in an EncryptedKey.
 */
export function encryptElementXml(elementXml: string, recipient: X509Certificate, algorithm: DataEncryption): string {
  const key = randomBytes(32);
  const iv = randomBytes(algorithm === 'aes256-gcm' ? 12 : 16);
  const cipher = createCipheriv(algorithm === 'aes256-gcm' ? 'aes-256-gcm' : 'aes-256-cbc', key, iv);
  const body = Buffer.concat([cipher.update(elementXml, 'utf8'), cipher.final()]);
  const tag = algorithm === 'aes256-gcm' ? (cipher as ReturnType<typeof createCipheriv> & { getAuthTag(): Buffer }).getAuthTag() : Buffer.alloc(0);
  const cipherValue = Buffer.concat([iv, body, tag]).toString('base64');
  return (
    `<xenc:EncryptedData xmlns:xenc="${NS.xenc}" Type="${XENC.element}">` +
    `<xenc:EncryptionMethod Algorithm="${algorithm === 'aes256-gcm' ? XENC.aes256Gcm : XENC.aes256Cbc}"></xenc:EncryptionMethod>` +
    `<ds:KeyInfo xmlns:ds="${NS.ds}">${encryptedKeyXml(key, recipient, 'certificate', true)}</ds:KeyInfo>` +
    `<xenc:CipherData><xenc:CipherValue>${cipherValue}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>`
  );
}
