import { strict as assert } from 'node:assert';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { generateSelfSignedCertificate, type GeneratedCertificate } from '../../../src/keys/certificates';
import { loadSigningKey } from '../../../src/keys/signing-key';

describe('keys/certificates generateSelfSignedCertificate', function () {
  this.timeout(20_000);
  let tls: GeneratedCertificate;
  let signing: GeneratedCertificate;

  before(() => {
    tls = generateSelfSignedCertificate({
      commonName: 'localhost',
      validDays: 30,
      subjectAltNames: { dns: ['localhost', 'sts.test'], ips: ['127.0.0.1', '::1'] },
    });
    signing = generateSelfSignedCertificate({ commonName: 'Unit Token Signing', validDays: 365 });
  });

  for (const which of ['tls', 'signing'] as const) {
    describe(`${which} certificate`, () => {
      const get = (): GeneratedCertificate => (which === 'tls' ? tls : signing);

      it('holds an RSA-2048 key with exponent 65537 that matches the certificate', () => {
        const cert = new X509Certificate(get().certificatePem);
        const details = cert.publicKey.asymmetricKeyDetails;
        assert.equal(cert.publicKey.asymmetricKeyType, 'rsa');
        assert.equal(details?.modulusLength, 2048);
        assert.equal(details?.publicExponent, 65537n);
        assert.ok(cert.checkPrivateKey(createPrivateKey(get().privateKeyPem)));
      });

      it('is self-signed (verifies with its own key) and is not a CA', () => {
        const cert = new X509Certificate(get().certificatePem);
        assert.ok(cert.verify(cert.publicKey));
        assert.equal(cert.ca, false);
        assert.equal(cert.subject, cert.issuer);
      });

      it('is valid now, from a few minutes back', () => {
        const cert = new X509Certificate(get().certificatePem);
        const from = Date.parse(cert.validFrom);
        const to = Date.parse(cert.validTo);
        assert.ok(from <= Date.now() && from > Date.now() - 15 * 60_000, cert.validFrom);
        const days = which === 'tls' ? 30 : 365;
        assert.ok(Math.abs(to - (Date.now() + days * 86400_000)) < 60 * 60_000, cert.validTo);
      });

      it('has a positive serial number', () => {
        const cert = new X509Certificate(get().certificatePem);
        assert.ok(/^[0-7]/.test(cert.serialNumber.padStart(32, '0')), cert.serialNumber);
      });

      it('loads as a SigningKey with a SHA-256 thumbprint', () => {
        const key = loadSigningKey(get().privateKeyPem, get().certificatePem);
        assert.match(key.thumbprintSha256, /^[0-9a-f]{64}$/);
        assert.match(key.thumbprintSha1, /^[0-9A-F]{40}$/);
        assert.equal(Buffer.from(key.certificateBase64, 'base64').equals(new X509Certificate(get().certificatePem).raw), true);
      });
    });
  }

  it('the TLS certificate has the requested DNS and IP subject alternative names and is for server auth', () => {
    const cert = new X509Certificate(tls.certificatePem);
    const san = cert.subjectAltName ?? '';
    assert.match(san, /DNS:localhost/);
    assert.match(san, /DNS:sts\.test/);
    assert.match(san, /IP Address:127\.0\.0\.1/);
    assert.match(san, /IP Address:0:0:0:0:0:0:0:1|IP Address:::1/i);
    assert.ok(cert.checkHost('localhost'));
    assert.ok(cert.checkIP('127.0.0.1'));
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  });

  it('the signing certificate has no SANs', () => {
    assert.equal(new X509Certificate(signing.certificatePem).subjectAltName, undefined);
  });

  it('each call makes a new key', () => {
    const again = generateSelfSignedCertificate({ commonName: 'x', validDays: 1 });
    const a = createPublicKey(again.certificatePem).export({ format: 'der', type: 'spki' });
    const b = createPublicKey(signing.certificatePem).export({ format: 'der', type: 'spki' });
    assert.ok(!a.equals(b));
  });

  it('loadSigningKey refuses a key that does not belong to the certificate', () => {
    assert.throws(() => loadSigningKey(tls.privateKeyPem, signing.certificatePem), /does not match/);
  });
});
