import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import type forgeModule from 'node-forge';

// node-forge is loaded when a certificate is first made (init, a key rotation), not with this module:
// a serving worker imports it and never makes one, and forge would cost each process some 1.5 MB of heap.
let loadedForge: typeof forgeModule | undefined;
function forge(): typeof forgeModule {
  return (loadedForge ??= require('node-forge') as typeof forgeModule);
}

export interface GeneratedCertificate {
  readonly privateKeyPem: string;
  readonly certificatePem: string;
}

export interface CertificateRequest {
  readonly commonName: string;
  readonly validDays: number;
  /** DNS names and IP addresses for a TLS server certificate; absent for a token-signing certificate. */
  readonly subjectAltNames?: { readonly dns: readonly string[]; readonly ips: readonly string[] };
}

/** An RSA public key by its numbers (big-endian, unsigned), as a PKCS#11 token reports it. */
export interface RsaPublicNumbers {
  readonly modulus: Buffer;
  readonly publicExponent: Buffer;
}

/** Computes an RSA PKCS#1 v1.5 SHA-256 signature over the TBSCertificate's DER. */
export type TbsSigner = (tbsCertificateDer: Buffer) => Buffer;

/**
 * An RSA-2048 key and self-signed certificate made with node-forge (forge hands key generation
 * to Node's native crypto, so this takes milliseconds, not seconds).
 */
export function generateSelfSignedCertificate(request: CertificateRequest): GeneratedCertificate {
  const keys = forge().pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
  const privateKeyPem = forge().pki.privateKeyToPem(keys.privateKey);
  const privateKey = createPrivateKey(privateKeyPem);
  return {
    privateKeyPem,
    certificatePem: buildSelfSignedCertificate(request, keys.publicKey, (tbs) => sign('sha256', tbs, privateKey)),
  };
}

/**
 * A self-signed certificate for a key held elsewhere (a PKCS#11 token): node-forge builds the
 * TBSCertificate, `signTbs` signs it with the private key wherever that lives.
 */
export function selfSignedCertificateFor(request: CertificateRequest, publicKey: RsaPublicNumbers, signTbs: TbsSigner): string {
  const toBigInteger = (b: Buffer): forgeModule.jsbn.BigInteger => new (forge().jsbn.BigInteger)(b.toString('hex'), 16);
  return buildSelfSignedCertificate(request, forge().pki.setRsaPublicKey(toBigInteger(publicKey.modulus), toBigInteger(publicKey.publicExponent)), signTbs);
}

function buildSelfSignedCertificate(request: CertificateRequest, publicKey: forgeModule.pki.rsa.PublicKey, signTbs: TbsSigner): string {
  const cert = forge().pki.createCertificate();
  cert.publicKey = publicKey;
  // A positive 16-byte serial: the high bit cleared so DER does not read it as negative.
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  cert.serialNumber = serial.toString('hex');
  const now = new Date();
  cert.validity.notBefore = new Date(now.getTime() - 5 * 60 * 1000);
  cert.validity.notAfter = new Date(now.getTime() + request.validDays * 24 * 3600 * 1000);
  const name = [{ name: 'commonName', value: request.commonName }];
  cert.setSubject(name);
  cert.setIssuer(name);
  const extensions: object[] = [{ name: 'basicConstraints', cA: false }];
  if (request.subjectAltNames) {
    extensions.push(
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          ...request.subjectAltNames.dns.map((value) => ({ type: 2, value })),
          ...request.subjectAltNames.ips.map((ip) => ({ type: 7, ip })),
        ],
      },
    );
  } else {
    extensions.push({ name: 'keyUsage', digitalSignature: true });
  }
  cert.setExtensions(extensions);
  signCertificate(cert, signTbs);
  return forge().pki.certificateToPem(cert);
}

/** In node-forge's pki, though missing from its type definitions. */
interface ForgeTbs {
  getTBSCertificate(cert: forgeModule.pki.Certificate): forgeModule.asn1.Asn1;
}

// What forge's cert.sign does, with the signature computed outside forge: the algorithm named in
// the certificate, then the TBSCertificate's DER handed to the signer.
function signCertificate(cert: forgeModule.pki.Certificate, signTbs: TbsSigner): void {
  const sha256WithRsa = forge().pki.oids['sha256WithRSAEncryption'] as string;
  const mutable = cert as forgeModule.pki.Certificate & { tbsCertificate: forgeModule.asn1.Asn1; siginfo: { algorithmOid: string } };
  mutable.signatureOid = sha256WithRsa;
  mutable.siginfo.algorithmOid = sha256WithRsa;
  mutable.tbsCertificate = (forge().pki as unknown as ForgeTbs).getTBSCertificate(cert);
  const tbsDer = Buffer.from(forge().asn1.toDer(mutable.tbsCertificate).getBytes(), 'binary');
  mutable.signature = signTbs(tbsDer).toString('binary');
}
