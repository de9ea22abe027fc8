import { strict as assert } from 'node:assert';
import { KeyObject, randomBytes, verify, X509Certificate } from 'node:crypto';
import * as pkcs11 from 'pkcs11js';
import { generateSelfSignedCertificate } from '../../../src/keys/certificates';
import type { SigningKeyCustody } from '../../../src/keys/key-custody';
import { certificateNotAfter, sealSigningKey } from '../../../src/keys/key-material';
import { Pkcs11Token, Pkcs11TokenError } from '../../../src/keys/pkcs11/pkcs11-token';
import { formatTokenKeyReference, parseTokenKeyReference } from '../../../src/keys/pkcs11/pkcs11-uri';
import { TOKEN_IMPORT_REFUSED, tokenCustody } from '../../../src/keys/pkcs11/token-custody';
import { sealedCustody } from '../../../src/keys/sealed-custody';
import { certificateThumbprintSha256 } from '../../../src/keys/signing-key';
import { newTestToken, openTestToken, privateKeyAttributes, SOFTHSM_MODULE, type TestToken } from '../../support/softhsm';
import { errorThrownBy } from '../../support/unit-soap';

// Keys held in a PKCS#11 token (SoftHSM2): generated inside it, sensitive and never extractable, the
// certificate and every signature computed by the token; the process holds handles only.

const REQUEST = { commonName: 'Trustbridge Token Signing', validDays: 30 };

/** Every KeyObject reachable from `value`'s own properties (closures are out of reach, as for any caller). */
function keyObjectsIn(value: object): KeyObject[] {
  return Object.values(value).filter((v): v is KeyObject => v instanceof KeyObject);
}



describe('keys/pkcs11: a token custody (SoftHSM2)', function () {
  this.timeout(60_000);
  let token: TestToken;
  // SoftHSM2 reads its slots at C_Initialize: a token made later is seen only once every session here has closed.
  let fresh: TestToken;
  let session: Pkcs11Token;
  let custody: SigningKeyCustody;
  const masterKey = randomBytes(32);

  before(() => {
    token = newTestToken();
    fresh = newTestToken();
    session = openTestToken(token);
    custody = tokenCustody(session, masterKey);
  });
  after(() => custody?.close());

  describe('the reference the store keeps', () => {
    it('is an RFC 7512 URI naming the token and the key id, and reads back', () => {
      const id = Buffer.from('00a1ff', 'hex');
      const uri = formatTokenKeyReference({ tokenLabel: 'HSM one;x', id });
      assert.equal(uri, 'pkcs11:token=HSM%20one%3Bx;id=%00%a1%ff;type=private');
      const back = parseTokenKeyReference(uri);
      assert.equal(back.tokenLabel, 'HSM one;x');
      assert.ok(back.id.equals(id));
    });

    it('refuses what it did not write', () => {
      for (const bad of ['v1.a.b.c', 'pkcs11:token=x;type=private', 'pkcs11:token=x;id=zz;type=private', 'pkcs11:token=x;id=%01;type=public', 'pkcs11:garbage']) {
        assert.throws(() => parseTokenKeyReference(bad), /PKCS#11 URI/, bad);
      }
    });
  });

  describe('generate', () => {
    let generated: { certificatePem: string; privateKeyAtRest: string };
    let id: Buffer;

    before(() => {
      generated = custody.generate(REQUEST);
      id = parseTokenKeyReference(generated.privateKeyAtRest).id;
    });

    it('keeps only a reference to the key, in this token', () => {
      assert.match(generated.privateKeyAtRest, /^pkcs11:token=[^;]+;id=(%[0-9a-f]{2}){16};type=private$/);
      assert.equal(parseTokenKeyReference(generated.privateKeyAtRest).tokenLabel, token.label);
      assert.doesNotMatch(generated.privateKeyAtRest + generated.certificatePem, /PRIVATE KEY/);
    });

    it('makes a self-signed RSA-2048 certificate whose signature the token computed over the TBSCertificate', () => {
      const certificate = new X509Certificate(generated.certificatePem);
      assert.equal(certificate.subject, `CN=${REQUEST.commonName}`);
      assert.ok(certificate.verify(certificate.publicKey), 'the certificate verifies under its own key');
      assert.equal(certificate.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
      const days = (certificateNotAfter({ certificatePem: generated.certificatePem }).getTime() - Date.now()) / 86_400_000;
      assert.ok(days > 29.9 && days <= 30, `valid for 30 days, got ${days}`);
    });

    it('generates the private key inside the token: a sensitive, never-extractable token object', () => {
      assert.ok(session.findPrivateKey(id), 'the token holds the private key under the referenced id');
      const [isToken, sensitive, extractable, alwaysSensitive, neverExtractable, isPrivate] = privateKeyAttributes(token.label, token.pin, id, [
        pkcs11.CKA_TOKEN,
        pkcs11.CKA_SENSITIVE,
        pkcs11.CKA_EXTRACTABLE,
        pkcs11.CKA_ALWAYS_SENSITIVE,
        pkcs11.CKA_NEVER_EXTRACTABLE,
        pkcs11.CKA_PRIVATE,
      ]);
      const yes = Buffer.from([1]);
      const no = Buffer.from([0]);
      assert.deepEqual(
        { isToken, sensitive, extractable, alwaysSensitive, neverExtractable, isPrivate },
        { isToken: yes, sensitive: yes, extractable: no, alwaysSensitive: yes, neverExtractable: yes, isPrivate: yes },
      );
    });

    it('the token refuses to read out the key: CKA_VALUE, the private exponent and the primes', () => {
      const [value, privateExponent, prime1, prime2] = privateKeyAttributes(token.label, token.pin, id, [
        pkcs11.CKA_VALUE,
        pkcs11.CKA_PRIVATE_EXPONENT,
        pkcs11.CKA_PRIME_1,
        pkcs11.CKA_PRIME_2,
      ]);
      // An RSA key has no CKA_VALUE at all; its secret parts are sensitive.
      assert.ok(typeof value === 'string' && /^CKR_ATTRIBUTE_(TYPE_INVALID|SENSITIVE)$/.test(value), String(value));
      assert.deepEqual([privateExponent, prime1, prime2], ['CKR_ATTRIBUTE_SENSITIVE', 'CKR_ATTRIBUTE_SENSITIVE', 'CKR_ATTRIBUTE_SENSITIVE']);
    });

    it('open gives a SigningKey that signs in the token (RSA-SHA256 verifies) and holds no private KeyObject', () => {
      const key = custody.open({ thumbprint: 'ab', certificatePem: generated.certificatePem, sealedPrivateKey: generated.privateKeyAtRest });
      assert.equal(key.custody, 'pkcs11');
      const data = Buffer.from('<ds:SignedInfo>…</ds:SignedInfo>');
      const signature = key.sign('sha256', data);
      assert.equal(signature.length, 256);
      assert.ok(verify('sha256', data, key.publicKey, signature), 'the signature verifies with the certificate key');
      assert.ok(!verify('sha256', Buffer.from('other'), key.publicKey, signature));
      assert.deepEqual(
        keyObjectsIn(key).map((k) => k.type),
        ['public'],
        'the only KeyObject a token key has is the public one',
      );
    });
  });

  describe('open refuses, and says why', () => {
    it('a key of another token', () => {
      const record = { thumbprint: 'cd', certificatePem: generateSelfSignedCertificate(REQUEST).certificatePem, sealedPrivateKey: formatTokenKeyReference({ tokenLabel: 'elsewhere', id: randomBytes(16) }) };
      assert.match(errorThrownBy(() => custody.open(record)).message, new RegExp(`is held in the PKCS#11 token "elsewhere", but signingKeyCustody.tokenLabel is "${token.label}"`));
    });

    it('a key the token does not hold', () => {
      const record = { thumbprint: 'ef', certificatePem: generateSelfSignedCertificate(REQUEST).certificatePem, sealedPrivateKey: formatTokenKeyReference({ tokenLabel: token.label, id: randomBytes(16) }) };
      assert.match(errorThrownBy(() => custody.open(record)).message, /token-signing key ef is not in the PKCS#11 token .* was the token re-initialised or the key deleted\?/);
    });

    it('a key that does not match its certificate', () => {
      const inToken = custody.generate(REQUEST);
      const record = { thumbprint: '01', certificatePem: generateSelfSignedCertificate(REQUEST).certificatePem, sealedPrivateKey: inToken.privateKeyAtRest };
      assert.match(errorThrownBy(() => custody.open(record)).message, /does not match its certificate/);
    });

    it('a token key, under the sealed custody', () => {
      const inToken = custody.generate(REQUEST);
      const record = { thumbprint: '02', certificatePem: inToken.certificatePem, sealedPrivateKey: inToken.privateKeyAtRest };
      assert.match(errorThrownBy(() => sealedCustody(masterKey).open(record)).message, /is held in a PKCS#11 token, but signingKeyCustody is "sealed": set signingKeyCustody to \{ "kind": "pkcs11"/);
    });
  });

  it('still opens keys sealed before the instance moved into the token (they sign until a token key is promoted)', () => {
    const old = generateSelfSignedCertificate(REQUEST);
    const sealed = sealSigningKey(old.privateKeyPem, old.certificatePem, masterKey);
    const thumbprint = certificateThumbprintSha256(new X509Certificate(old.certificatePem).raw);
    const key = custody.open({ thumbprint, certificatePem: sealed.certificatePem, sealedPrivateKey: sealed.privateKeyAtRest });
    assert.equal(key.custody, 'sealed');
    assert.ok(verify('sha256', Buffer.from('x'), key.publicKey, key.sign('sha256', Buffer.from('x'))));
  });

  it('refuses to import a key made elsewhere', () => {
    const pair = generateSelfSignedCertificate(REQUEST);
    assert.equal(errorThrownBy(() => custody.import(pair.privateKeyPem, pair.certificatePem)).message, TOKEN_IMPORT_REFUSED);
  });

  describe('opening the token', () => {
    it('a wrong PIN is refused with a message naming where the PIN came from, never the PIN', () => {
      const wrong = `${fresh.pin}-wrong`;
      const err = errorThrownBy(() => openTestToken(fresh, {}, wrong));
      assert.ok(err instanceof Pkcs11TokenError);
      assert.equal(err.message, `the PKCS#11 token "${fresh.label}" refused the PIN from the environment variable ${fresh.pinEnv} (CKR_PIN_INCORRECT): put the token's user PIN there`);
      assert.ok(!`${err.message}${err.stack ?? ''}`.includes(wrong) && !`${err.message}${err.stack ?? ''}`.includes(fresh.pin));
    });

    it('a second opener in a process shares the login, but not with another PIN', () => {
      const second = openTestToken(token);
      second.close();
      const err = errorThrownBy(() => openTestToken(token, {}, `${token.pin}x`));
      assert.match(err.message, /refused the PIN from the environment variable .* \(CKR_PIN_INCORRECT\)/);
      // The first session still signs after both came and went.
      const again = custody.generate(REQUEST);
      assert.ok(new X509Certificate(again.certificatePem).verify(new X509Certificate(again.certificatePem).publicKey));
    });

    it('an unknown token label lists the tokens there are', () => {
      const err = errorThrownBy(() => Pkcs11Token.open({ module: SOFTHSM_MODULE, tokenLabel: 'no-such-token', pin: 'x', pinSource: 'test' }));
      assert.match(err.message, new RegExp(`no PKCS#11 token labelled "no-such-token" in ${SOFTHSM_MODULE} \\(tokens present: .*"${token.label}".*\\): check signingKeyCustody.tokenLabel`));
    });

    it('a module that cannot be loaded names the setting', () => {
      const err = errorThrownBy(() => Pkcs11Token.open({ module: '/nonexistent/libpkcs11.so', tokenLabel: 'x', pin: 'x', pinSource: 'test' }));
      assert.match(err.message, /^the PKCS#11 module \/nonexistent\/libpkcs11.so cannot be loaded \(.*\): check signingKeyCustody.module$/);
    });
  });
});
