import { join } from 'node:path';
import { CLIENT_FIXTURES_DIR } from '../support/fixtures';
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { constants, createHash, createHmac, generateKeyPairSync, privateDecrypt, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import forge from 'node-forge';
import { NS, SAML2, TOKEN_TYPE, WSSE_PASSWORD_TEXT } from '../../src/xml/namespaces';
import {
  ALL_COMBOS,
  attachedReferenceId,
  childText,
  children,
  comboName,
  cutElement,
  decryptWithXmlsec1,
  expectFault,
  newKeyPair,
  only,
  parseStrict,
  rstrOf,
  sendTrust,
  text,
  type Combo,
} from '../support/ext-trust';
import { parseFault } from '../support/soap-reply';
import { postToSts } from '../support/sts-post';
import { startTestSts, type TestSts } from '../support/test-sts';
import { appliesTo, assertionText, trustNs } from '../support/trust-messages';
import { SAML2_ASSERTION_ID_ATTRIBUTE, verifyWithXmlsec1 } from '../support/xmlsec1';

// Holder-of-key proof keys: symmetric (computed with P_SHA1 from both parties' entropy, or issued
// by the STS) and public (the requestor's certificate or RSA key), checked from the outside: the
// proof key is recovered from the token the relying party receives and compared with what the
// requestor can compute.

const USER = 'alice@proof.example';
const PASSWORD = 'Proof-Keys-Pässword-7!';
const RP_ENC = 'https://rp-enc.proof.example/';
const RP_PLAIN = 'https://rp-plain.proof.example/';

/**
 * P_SHA-1 per RFC 2246 section 5, written here independently of src/keys/p-sha1.ts:
 *   P_hash(secret, seed) = HMAC_hash(secret, A(1) + seed) + HMAC_hash(secret, A(2) + seed) + ...
 *   A(0) = seed, A(i) = HMAC_hash(secret, A(i-1))
 */
function pHashSha1(secret: Buffer, seed: Buffer, length: number): Buffer {
  const hmac = (data: Buffer): Buffer => createHmac('sha1', secret).update(data).digest();
  const blocks: Buffer[] = [];
  let a = seed; // A(0)
  let total = 0;
  while (total < length) {
    a = hmac(a); // A(i)
    const block = hmac(Buffer.concat([a, seed]));
    blocks.push(block);
    total += block.length;
  }
  return Buffer.concat(blocks).subarray(0, length);
}

const symmetricKeyType = (c: Combo): string => `<t:KeyType>${trustNs(c.version)}/SymmetricKey</t:KeyType>`;
const publicKeyType = (c: Combo): string => `<t:KeyType>${trustNs(c.version)}/PublicKey</t:KeyType>`;
const keySize = (bits: number): string => `<t:KeySize>${bits}</t:KeySize>`;
const entropy = (c: Combo, secret: Buffer | string): string =>
  `<t:Entropy><t:BinarySecret Type="${trustNs(c.version)}/Nonce">${typeof secret === 'string' ? secret : secret.toString('base64')}</t:BinarySecret></t:Entropy>`;
const computedKeyAlgorithm = (uri: string): string => `<t:ComputedKeyAlgorithm>${uri}</t:ComputedKeyAlgorithm>`;
const psha1Uri = (c: Combo): string => `${trustNs(c.version)}/CK/PSHA1`;
const useKey = (keyInfoContent: string): string => `<t:UseKey><ds:KeyInfo xmlns:ds="${NS.ds}">${keyInfoContent}</ds:KeyInfo></t:UseKey>`;
const x509KeyInfo = (der: Buffer | string): string =>
  `<ds:X509Data><ds:X509Certificate>${typeof der === 'string' ? der : der.toString('base64')}</ds:X509Certificate></ds:X509Data>`;
const rsaKeyInfo = (modulusB64: string, exponentB64: string): string =>
  `<ds:KeyValue><ds:RSAKeyValue><ds:Modulus>${modulusB64}</ds:Modulus><ds:Exponent>${exponentB64}</ds:Exponent></ds:RSAKeyValue></ds:KeyValue>`;

interface HolderOfKeyToken {
  /** The signed assertion as the relying party sees it (decrypted when it came encrypted). */
  readonly assertionXml: string;
  readonly assertion: Element;
  /** The holder-of-key SubjectConfirmationData's ds:KeyInfo. */
  readonly keyInfo: Element;
}

/** Finds the single holder-of-key confirmation and checks the assertion names no bearer confirmation. */
function holderOfKey(assertionXml: string): HolderOfKeyToken {
  const assertion = parseStrict(assertionXml).documentElement;
  const subject = only(assertion, NS.saml2, 'Subject');
  const confirmations = children(subject, NS.saml2, 'SubjectConfirmation');
  assert.equal(confirmations.length, 1, 'one SubjectConfirmation');
  const confirmation = confirmations[0] as Element;
  assert.equal(confirmation.getAttribute('Method'), SAML2.holderOfKey, 'SubjectConfirmation Method is holder-of-key');
  const data = only(confirmation, NS.saml2, 'SubjectConfirmationData');
  return { assertionXml, assertion, keyInfo: only(data, NS.ds, 'KeyInfo') };
}

/** The symmetric proof key in an assertion's holder-of-key KeyInfo, decrypted with the relying party's key (RSA-OAEP, SHA-1). */
function proofKeyInAssertion(keyInfo: Element, rpPrivateKeyPem: string, rpCertificatePem: string): Buffer {
  const encryptedKey = only(keyInfo, NS.xenc, 'EncryptedKey');
  const method = only(encryptedKey, NS.xenc, 'EncryptionMethod');
  assert.equal(method.getAttribute('Algorithm'), 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p');
  // The EncryptedKey names the relying party's certificate (by SHA-1 thumbprint here).
  const keyIdentifier = children(only(encryptedKey, NS.ds, 'KeyInfo'), NS.wsse, 'SecurityTokenReference')
    .flatMap((str) => children(str, NS.wsse, 'KeyIdentifier'))
    .map(text);
  const rpThumbprint = createHash('sha1').update(new X509Certificate(rpCertificatePem).raw).digest('base64');
  assert.deepEqual(keyIdentifier, [rpThumbprint], 'the EncryptedKey names the relying party certificate by thumbprint');
  const cipherValue = Buffer.from(text(only(only(encryptedKey, NS.xenc, 'CipherData'), NS.xenc, 'CipherValue')), 'base64');
  return privateDecrypt({ key: rpPrivateKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, cipherValue);
}

/** Decrypts the RSTR's EncryptedAssertion with xmlsec1 and the relying party key; verifies the assertion with xmlsec1. */
function decryptedAssertion(responseBody: string, rpPrivateKeyPem: string, signingCertificatePem: string): string {
  assert.doesNotMatch(responseBody, /<Assertion[\s>]/, 'the plaintext assertion does not travel in the response');
  const encrypted = cutElement(responseBody, '<EncryptedAssertion ', '</EncryptedAssertion>');
  const decrypted = decryptWithXmlsec1(encrypted, rpPrivateKeyPem);
  assert.ok(decrypted.ok, `xmlsec1 could not decrypt the EncryptedAssertion: ${decrypted.output}`);
  const assertionXml = cutElement(decrypted.xml, '<Assertion ', '</Assertion>');
  const verified = verifyWithXmlsec1(assertionXml, signingCertificatePem, SAML2_ASSERTION_ID_ATTRIBUTE);
  assert.ok(verified.ok, `xmlsec1 does not verify the decrypted assertion: ${verified.output}`);
  return assertionXml;
}

describe('wstrust proof keys: P_SHA1 reference vector', function () {
  this.timeout(20_000);

  it('the test\'s own P_SHA1 equals OpenSSL\'s TLS1-PRF with SHA-1 (P_SHA1) and Python\'s hmac for the same inputs', () => {
    const secret = Buffer.from('RtCGgkCX5KOVz/9GaZxzxKHNEDQTW06jb4SlSt96DqA=', 'base64');
    const seed = Buffer.from('5d8b0f2e6f1c4a9b8e7d6c5b4a392817', 'hex');
    const mine = pHashSha1(secret, seed, 64);
    // OpenSSL: TLS1-PRF with digest SHA1 is P_SHA1(secret, seed) (no MD5 half, no label when only a seed is given).
    const run = spawnSync(
      'openssl',
      ['kdf', '-keylen', '64', '-kdfopt', 'digest:SHA1', '-kdfopt', `hexsecret:${secret.toString('hex')}`, '-kdfopt', `hexseed:${seed.toString('hex')}`, 'TLS1-PRF'],
      { encoding: 'utf8', timeout: 10_000 },
    );
    assert.equal(run.status, 0, run.stderr);
    assert.equal(mine.toString('hex'), run.stdout.trim().replace(/:/g, '').toLowerCase(), 'openssl kdf TLS1-PRF/SHA1');
    const py = spawnSync(
      'python3',
      [
        '-c',
        'import hmac,hashlib,sys\n' +
          's=bytes.fromhex(sys.argv[1]);seed=bytes.fromhex(sys.argv[2]);a=seed;out=b""\n' +
          'while len(out)<64:\n a=hmac.new(s,a,hashlib.sha1).digest();out+=hmac.new(s,a+seed,hashlib.sha1).digest()\n' +
          'print(out[:64].hex())',
        secret.toString('hex'),
        seed.toString('hex'),
      ],
      { encoding: 'utf8', timeout: 10_000 },
    );
    assert.equal(py.status, 0, py.stderr);
    assert.equal(mine.toString('hex'), py.stdout.trim(), 'python3 hmac');
  });

  it('known answer: P_SHA1(secret 0x01..05, seed 0xaabbccdd) starts ed152dda1aab8a22 (computed once with openssl kdf)', () => {
    const out = pHashSha1(Buffer.from('0102030405', 'hex'), Buffer.from('aabbccdd', 'hex'), 40);
    assert.equal(out.toString('hex'), 'ed152dda1aab8a228c12b62f24667b71dd67dd31bd94933229796b40e0fdb67d2f19adb24a9e3d8b');
  });
});

describe('wstrust proof keys: symmetric (KeyType SymmetricKey)', function () {
  this.timeout(60_000);
  let sts: TestSts;
  const rp = newKeyPair('rp-enc.proof.example');

  before(async () => {
    sts = await startTestSts();
    await sts.addUser({ name: USER, password: PASSWORD, claims: [] });
    await sts.addRelyingParty({ appliesTo: RP_ENC, encryptionCertificatePem: rp.certificatePem });
    await sts.addRelyingParty({ appliesTo: RP_PLAIN });
  });
  after(async () => {
    await sts?.stop();
  });

  const send = (combo: Combo, rstBody: string, op: 'Issue' | 'Renew' | 'Validate' = 'Issue') =>
    sendTrust(sts, combo, { user: USER, password: PASSWORD, op, rstBody });

  for (const combo of ALL_COMBOS) {
    describe(comboName(combo), () => {
      const t = trustNs(combo.version);

      it('client Entropy + KeySize 256 + PSHA1: server Entropy, ComputedKey PSHA1, and the proof key in the token equals P_SHA1(client, server)', async () => {
        const clientEntropy = randomBytes(32);
        const before = await sts.instance.store.ledger.count();
        const sent = await send(
          combo,
          appliesTo(RP_ENC) + symmetricKeyType(combo) + keySize(256) + entropy(combo, clientEntropy) + computedKeyAlgorithm(psha1Uri(combo)),
        );
        const rstr = rstrOf(sent, combo);
        assert.equal(childText(rstr, t, 'KeyType'), `${t}/SymmetricKey`);
        assert.equal(childText(rstr, t, 'KeySize'), '256');
        const serverSecret = only(only(rstr, t, 'Entropy'), t, 'BinarySecret');
        const serverEntropy = Buffer.from(text(serverSecret), 'base64');
        assert.ok(serverEntropy.length >= 16, 'the server entropy has some length');
        assert.notDeepEqual(serverEntropy, clientEntropy);
        const proofToken = only(rstr, t, 'RequestedProofToken');
        assert.equal(childText(proofToken, t, 'ComputedKey'), `${t}/CK/PSHA1`);
        assert.equal(children(proofToken, t, 'BinarySecret').length, 0, 'a computed key is not sent');

        const assertionXml = decryptedAssertion(sent.res.body, rp.privateKeyPem, sts.signingCertificatePem);
        const hok = holderOfKey(assertionXml);
        const proofKey = proofKeyInAssertion(hok.keyInfo, rp.privateKeyPem, rp.certificatePem);
        assert.equal(proofKey.length, 32, 'a 256-bit key');
        assert.equal(proofKey.toString('hex'), pHashSha1(clientEntropy, serverEntropy, 32).toString('hex'), 'proof key = P_SHA1(client entropy, server entropy)');
        // The ledger has the token, under the ID the RSTR references.
        const ref = attachedReferenceId(rstr, combo);
        assert.equal(ref.id, hok.assertion.getAttribute('ID'));
        assert.equal((await sts.instance.store.ledger.get(ref.id))?.audience, RP_ENC);
        assert.equal(await sts.instance.store.ledger.count(), before + 1);
      });

      for (const bits of [128, 512]) {
        it(`KeySize ${bits} is honoured: ${bits / 8}-byte P_SHA1 proof key, KeySize ${bits} in the RSTR`, async () => {
          const clientEntropy = randomBytes(bits / 8);
          const sent = await send(combo, appliesTo(RP_ENC) + symmetricKeyType(combo) + keySize(bits) + entropy(combo, clientEntropy) + computedKeyAlgorithm(psha1Uri(combo)));
          const rstr = rstrOf(sent, combo);
          assert.equal(childText(rstr, t, 'KeySize'), String(bits));
          const serverEntropy = Buffer.from(text(only(only(rstr, t, 'Entropy'), t, 'BinarySecret')), 'base64');
          const hok = holderOfKey(decryptedAssertion(sent.res.body, rp.privateKeyPem, sts.signingCertificatePem));
          const proofKey = proofKeyInAssertion(hok.keyInfo, rp.privateKeyPem, rp.certificatePem);
          assert.equal(proofKey.length, bits / 8);
          assert.deepEqual(proofKey, pHashSha1(clientEntropy, serverEntropy, bits / 8));
        });
      }

      // The brief named 200 as "not whole bytes", but 200 bits are 25 bytes; 260 (32.5 bytes) is the case that is not.
      for (const bits of [64, 1024, 260, 129]) {
        it(`KeySize ${bits} is refused with t:BadRequest${bits % 8 ? ' (not whole bytes)' : ' (out of range)'}`, async () => {
          const before = await sts.instance.store.ledger.count();
          const sent = await send(combo, appliesTo(RP_ENC) + symmetricKeyType(combo) + keySize(bits) + entropy(combo, randomBytes(32)) + computedKeyAlgorithm(psha1Uri(combo)));
          expectFault(sent, combo, 'wst', 'BadRequest', /KeySize/);
          assert.equal(await sts.instance.store.ledger.count(), before, 'nothing issued');
        });
      }

      it('no client entropy: the STS sends the key as RequestedProofToken/BinarySecret (Type SymmetricKey) of KeySize bits, the same key as in the token', async () => {
        const sent = await send(combo, appliesTo(RP_ENC) + symmetricKeyType(combo) + keySize(192));
        const rstr = rstrOf(sent, combo);
        assert.equal(children(rstr, t, 'Entropy').length, 0, 'no server entropy without client entropy');
        assert.equal(childText(rstr, t, 'KeySize'), '192');
        assert.equal(childText(rstr, t, 'KeyType'), `${t}/SymmetricKey`);
        const secret = only(only(rstr, t, 'RequestedProofToken'), t, 'BinarySecret');
        assert.equal(secret.getAttribute('Type'), `${t}/SymmetricKey`);
        const key = Buffer.from(text(secret), 'base64');
        assert.equal(key.length, 24, 'a 192-bit key');
        const hok = holderOfKey(decryptedAssertion(sent.res.body, rp.privateKeyPem, sts.signingCertificatePem));
        assert.deepEqual(proofKeyInAssertion(hok.keyInfo, rp.privateKeyPem, rp.certificatePem), key);
      });

      it('a relying party without an encryption certificate: t:BadRequest naming the encryption certificate', async () => {
        const before = await sts.instance.store.ledger.count();
        const sent = await send(combo, appliesTo(RP_PLAIN) + symmetricKeyType(combo) + keySize(256) + entropy(combo, randomBytes(32)));
        expectFault(sent, combo, 'wst', 'BadRequest', /encryption certificate/);
        assert.equal(await sts.instance.store.ledger.count(), before);
      });

      it('a ComputedKeyAlgorithm other than PSHA1 is refused with t:BadRequest', async () => {
        const other = combo.version === '1.3' ? `${trustNs('2005')}/CK/PSHA1` : 'urn:example:ck:hkdf-sha256';
        const sent = await send(combo, appliesTo(RP_ENC) + symmetricKeyType(combo) + keySize(256) + entropy(combo, randomBytes(32)) + computedKeyAlgorithm(other));
        expectFault(sent, combo, 'wst', 'BadRequest', /ComputedKeyAlgorithm/);
      });

      for (const [what, xml] of [
        ['not base64', (c: Combo) => entropy(c, '***not base64***')],
        ['empty', (c: Combo) => entropy(c, '')],
        ['no BinarySecret', () => '<t:Entropy><t:Nonce>AAAA</t:Nonce></t:Entropy>'],
        ['encrypted entropy', () => `<t:Entropy><xenc:EncryptedKey xmlns:xenc="${NS.xenc}"/></t:Entropy>`],
      ] as const) {
        it(`malformed Entropy (${what}) is refused with t:InvalidRequest`, async () => {
          const sent = await send(combo, appliesTo(RP_ENC) + symmetricKeyType(combo) + keySize(256) + xml(combo) + computedKeyAlgorithm(psha1Uri(combo)));
          expectFault(sent, combo, 'wst', 'InvalidRequest', /Entropy/);
        });
      }
    });
  }
});

describe('wstrust proof keys: public (KeyType PublicKey with UseKey)', function () {
  this.timeout(60_000);
  let sts: TestSts;
  const requestor = newKeyPair('requestor.proof.example');
  const requestorDer = new X509Certificate(requestor.certificatePem).raw;

  before(async () => {
    sts = await startTestSts();
    await sts.addUser({ name: USER, password: PASSWORD, claims: [] });
    await sts.addRelyingParty({ appliesTo: RP_PLAIN });
  });
  after(async () => {
    await sts?.stop();
  });

  const send = (combo: Combo, rstBody: string) => sendTrust(sts, combo, { user: USER, password: PASSWORD, op: 'Issue', rstBody });

  function plainHolderOfKey(body: string): HolderOfKeyToken {
    const xml = assertionText(body);
    const verified = verifyWithXmlsec1(xml, sts.signingCertificatePem, SAML2_ASSERTION_ID_ATTRIBUTE);
    assert.ok(verified.ok, verified.output);
    return holderOfKey(xml);
  }

  for (const combo of ALL_COMBOS) {
    describe(comboName(combo), () => {
      const t = trustNs(combo.version);

      it('UseKey with an X.509 certificate: the holder-of-key confirmation carries exactly that certificate', async () => {
        const sent = await send(combo, appliesTo(RP_PLAIN) + publicKeyType(combo) + useKey(x509KeyInfo(requestorDer)));
        const rstr = rstrOf(sent, combo);
        assert.equal(childText(rstr, t, 'KeyType'), `${t}/PublicKey`);
        assert.equal(children(rstr, t, 'RequestedProofToken').length, 0, 'no proof token for a public key');
        const hok = plainHolderOfKey(sent.res.body);
        const certs = children(only(hok.keyInfo, NS.ds, 'X509Data'), NS.ds, 'X509Certificate').map(text);
        assert.deepEqual(certs, [requestorDer.toString('base64')]);
      });

      it('UseKey with an RSAKeyValue: the holder-of-key confirmation carries that modulus and exponent', async () => {
        const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
        const jwk = publicKey.export({ format: 'jwk' });
        const n = Buffer.from(jwk.n ?? '', 'base64url');
        const e = Buffer.from(jwk.e ?? '', 'base64url');
        const sent = await send(combo, appliesTo(RP_PLAIN) + publicKeyType(combo) + useKey(rsaKeyInfo(n.toString('base64'), e.toString('base64'))));
        const hok = plainHolderOfKey(sent.res.body);
        const rsa = only(only(hok.keyInfo, NS.ds, 'KeyValue'), NS.ds, 'RSAKeyValue');
        const strip = (b: Buffer): string => b.toString('hex').replace(/^(00)+/, '');
        assert.equal(strip(Buffer.from(text(only(rsa, NS.ds, 'Modulus')), 'base64')), strip(n), 'the same modulus');
        assert.equal(strip(Buffer.from(text(only(rsa, NS.ds, 'Exponent')), 'base64')), strip(e), 'the same exponent');
      });

      it('UseKey with a 1024-bit RSAKeyValue is refused with t:BadRequest', async () => {
        const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
        const jwk = publicKey.export({ format: 'jwk' });
        const b64 = (v: string | undefined): string => Buffer.from(v ?? '', 'base64url').toString('base64');
        const sent = await send(combo, appliesTo(RP_PLAIN) + publicKeyType(combo) + useKey(rsaKeyInfo(b64(jwk.n), b64(jwk.e))));
        expectFault(sent, combo, 'wst', 'BadRequest', /2048/);
      });

      it('UseKey with an X.509 certificate holding a 1024-bit RSA key is refused with t:BadRequest', async () => {
        const keys = forge.pki.rsa.generateKeyPair({ bits: 1024, e: 0x10001 });
        const cert = forge.pki.createCertificate();
        cert.publicKey = keys.publicKey;
        cert.serialNumber = '01';
        cert.validity.notBefore = new Date(Date.now() - 60_000);
        cert.validity.notAfter = new Date(Date.now() + 86_400_000);
        cert.setSubject([{ name: 'commonName', value: 'weak.proof.example' }]);
        cert.setIssuer([{ name: 'commonName', value: 'weak.proof.example' }]);
        cert.sign(keys.privateKey, forge.md.sha256.create());
        const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');
        assert.equal(new X509Certificate(der).publicKey.asymmetricKeyDetails?.modulusLength, 1024);
        const before = await sts.instance.store.ledger.count();
        const sent = await send(combo, appliesTo(RP_PLAIN) + publicKeyType(combo) + useKey(x509KeyInfo(der)));
        expectFault(sent, combo, 'wst', 'BadRequest');
        assert.equal(await sts.instance.store.ledger.count(), before);
      });

      it('UseKey with a garbage certificate is refused with t:BadRequest', async () => {
        const sent = await send(combo, appliesTo(RP_PLAIN) + publicKeyType(combo) + useKey(x509KeyInfo(Buffer.from('this is not a DER certificate at all'))));
        expectFault(sent, combo, 'wst', 'BadRequest', /certificate/);
      });

      it('KeyType PublicKey without UseKey is refused with t:BadRequest', async () => {
        const sent = await send(combo, appliesTo(RP_PLAIN) + publicKeyType(combo));
        expectFault(sent, combo, 'wst', 'BadRequest', /UseKey/);
      });
    });
  }
});

describe('wstrust proof keys: the captured Mono request (mono-c-custom-symkey-1) replayed', function () {
  this.timeout(60_000);
  let sts: TestSts;
  const rp = newKeyPair('rp.example.com');
  const MONO_USER = 'mono@proof.example';
  const MONO_PASSWORD = 'Mono-Proof-Key-Secret-3';

  before(async () => {
    sts = await startTestSts();
    await sts.addUser({ name: MONO_USER, password: MONO_PASSWORD, claims: [] });
    await sts.addRelyingParty({ appliesTo: 'https://rp.example.com/', encryptionCertificatePem: rp.certificatePem });
  });
  after(async () => {
    await sts?.stop();
  });

  it('gets a token whose proof key equals P_SHA1(its entropy, the server entropy)', async () => {
    const raw = readFileSync(join(CLIENT_FIXTURES_DIR, 'mono-c-custom-symkey-1.http'));
    const split = raw.indexOf('\r\n\r\n');
    const headerLines = raw.subarray(0, split).toString('latin1').split('\r\n').slice(1);
    const contentType = headerLines.find((l) => /^content-type:/i.test(l))?.replace(/^content-type:\s*/i, '');
    assert.ok(contentType, 'the capture has a Content-Type');
    const captured = raw.subarray(split + 4);
    assert.deepEqual([...captured.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'the capture starts with a BOM');

    const xml = captured.toString('utf8');
    const clientEntropy = Buffer.from(/<trust:Entropy><trust:BinarySecret[^>]*>([^<]+)</.exec(xml)?.[1] ?? '', 'base64');
    assert.equal(clientEntropy.length, 32);
    const messageId = /<a:MessageID>([^<]+)</.exec(xml)?.[1];
    const now = new Date();
    const security =
      `<o:Security s:mustUnderstand="1" xmlns:o="${NS.wsse}" xmlns:u="${NS.wsu}">` +
      `<u:Timestamp u:Id="_0"><u:Created>${now.toISOString()}</u:Created><u:Expires>${new Date(now.getTime() + 300_000).toISOString()}</u:Expires></u:Timestamp>` +
      `<o:UsernameToken u:Id="uuid-mono"><o:Username>${MONO_USER}</o:Username><o:Password Type="${WSSE_PASSWORD_TEXT}">${MONO_PASSWORD}</o:Password></o:UsernameToken></o:Security>`;
    const at = xml.indexOf('</s:Header>');
    assert.ok(at > 0);
    const body = Buffer.from(xml.slice(0, at) + security + xml.slice(at), 'utf8');
    assert.deepEqual([...body.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'the BOM is still there');

    const res = await postToSts(`${sts.baseUrl}/adfs/services/trust/13/usernamemixed`, {
      ca: sts.tlsCertificatePem,
      headers: { 'Content-Type': contentType },
      body,
    });
    assert.equal(res.status, 200, res.status === 200 ? '' : `${parseFault(res.body).reason}\n${res.body}`);
    const t = NS.wst13;
    const doc = parseStrict(res.body);
    const env = doc.documentElement;
    assert.equal(text(only(only(env, NS.soap12, 'Header'), NS.wsa10, 'RelatesTo')), messageId);
    const rstr = only(only(only(env, NS.soap12, 'Body'), t, 'RequestSecurityTokenResponseCollection'), t, 'RequestSecurityTokenResponse');
    assert.equal(childText(rstr, t, 'TokenType'), TOKEN_TYPE.saml20);
    assert.equal(childText(only(rstr, t, 'RequestedProofToken'), t, 'ComputedKey'), `${t}/CK/PSHA1`);
    const serverEntropy = Buffer.from(text(only(only(rstr, t, 'Entropy'), t, 'BinarySecret')), 'base64');
    const hok = holderOfKey(decryptedAssertion(res.body, rp.privateKeyPem, sts.signingCertificatePem));
    const proofKey = proofKeyInAssertion(hok.keyInfo, rp.privateKeyPem, rp.certificatePem);
    assert.equal(proofKey.toString('hex'), pHashSha1(clientEntropy, serverEntropy, 32).toString('hex'));
    assert.equal(text(only(hok.assertion, NS.saml2, 'Subject').getElementsByTagNameNS(NS.saml2, 'NameID')[0] as Element), MONO_USER);
  });
});

describe('wstrust proof keys: holder-of-key tokens after Issue (Renew, Validate transformation)', function () {
  this.timeout(60_000);
  let sts: TestSts;
  const rp = newKeyPair('rp-enc.proof.example');
  const requestor = newKeyPair('requestor.proof.example');

  before(async () => {
    sts = await startTestSts();
    await sts.addUser({ name: USER, password: PASSWORD, claims: [] });
    await sts.addRelyingParty({ appliesTo: RP_ENC, encryptionCertificatePem: rp.certificatePem });
    await sts.addRelyingParty({ appliesTo: RP_PLAIN });
  });
  after(async () => {
    await sts?.stop();
  });

  const send = (combo: Combo, op: 'Issue' | 'Renew' | 'Validate', rstBody: string) => sendTrust(sts, combo, { user: USER, password: PASSWORD, op, rstBody });

  async function tokens(combo: Combo): Promise<Array<[string, string]>> {
    const pub = await send(combo, 'Issue', appliesTo(RP_PLAIN) + publicKeyType(combo) + useKey(x509KeyInfo(new X509Certificate(requestor.certificatePem).raw)));
    assert.equal(pub.res.status, 200, pub.res.body);
    const sym = await send(combo, 'Issue', appliesTo(RP_ENC) + symmetricKeyType(combo) + keySize(256) + entropy(combo, randomBytes(32)));
    assert.equal(sym.res.status, 200, sym.res.body);
    return [
      ['public-key', holderOfKey(assertionText(pub.res.body)).assertionXml],
      ['symmetric (decrypted)', decryptedAssertion(sym.res.body, rp.privateKeyPem, sts.signingCertificatePem)],
    ];
  }

  for (const combo of ALL_COMBOS) {
    describe(comboName(combo), () => {
      it('Renew of a holder-of-key token is refused with t:UnableToRenew', async () => {
        for (const [kind, xml] of await tokens(combo)) {
          // The token itself is good: Validate says so.
          const status = await send(combo, 'Validate', `<t:ValidateTarget>${xml}</t:ValidateTarget>`);
          assert.match(status.res.body, /status\/valid</, `${kind}: ${status.res.body.slice(0, 800)}`);
          const before = await sts.instance.store.ledger.count();
          const sent = await send(combo, 'Renew', `<t:RenewTarget>${xml}</t:RenewTarget>`);
          expectFault(sent, combo, 'wst', 'UnableToRenew', /holder-of-key/);
          assert.equal(await sts.instance.store.ledger.count(), before, `${kind}: nothing issued`);
        }
      });

      it('Validate with a token type (transformation) of a holder-of-key token is refused with t:InvalidRequest', async () => {
        for (const [kind, xml] of await tokens(combo)) {
          const before = await sts.instance.store.ledger.count();
          const sent = await send(combo, 'Validate', `<t:TokenType>${TOKEN_TYPE.saml20}</t:TokenType>` + appliesTo(RP_PLAIN) + `<t:ValidateTarget>${xml}</t:ValidateTarget>`);
          expectFault(sent, combo, 'wst', 'InvalidRequest', /holder-of-key/);
          assert.equal(await sts.instance.store.ledger.count(), before, `${kind}: nothing issued`);
        }
      });
    });
  }
});
