import { strict as assert } from 'node:assert';
import { generateSelfSignedCertificate } from '../../../src/keys/certificates';
import { loadSigningKey, signingKeyFor } from '../../../src/keys/signing-key';
import { trustedKeyFromCertificate } from '../../../src/keys/trusted-key';
import { buildSaml2Assertion } from '../../../src/saml/saml2-assertion';
import { signCanonicalElement, signCanonicalElementOffThread } from '../../../src/xml/enveloped-signature';
import { NS } from '../../../src/xml/namespaces';
import { parseXmlSafely } from '../../../src/xml/safe-parse';
import { verifyEnvelopedSignature } from '../../../src/xml/verify-signature';
import { sampleAssertionContent } from '../../support/assertion-content';

const LIMITS = { maxBytes: 1024 * 1024, maxDepth: 48, maxElements: 4000, maxAttributesPerElement: 48 };

const assertion = (id: string) => buildSaml2Assertion(sampleAssertionContent(id));

describe('signCanonicalElementOffThread: the token path signs on the thread pool', () => {
  const generated = generateSelfSignedCertificate({ commonName: 'off-thread', validDays: 1 });
  const key = loadSigningKey(generated.privateKeyPem, generated.certificatePem);

  it('gives byte for byte the element the synchronous signer gives (RSA PKCS#1 v1.5 is deterministic)', async () => {
    const element = assertion('_offthread1');
    const offThread = await signCanonicalElementOffThread(element, key);
    assert.deepEqual(offThread, signCanonicalElement(element, key));
    const doc = parseXmlSafely(offThread.xml, LIMITS);
    const root = doc.getElementsByTagNameNS(NS.saml2, 'Assertion').item(0);
    assert.ok(root);
    const verified = verifyEnvelopedSignature(root, [trustedKeyFromCertificate(generated.certificatePem)], { idAttribute: 'ID', allowSha1: false });
    assert.equal(verified.keyThumbprint, key.thumbprintSha256);
  });

  it('lets the event loop run while the signatures are computed', async () => {
    let turns = 0;
    let counting = true;
    const count = (): void => {
      turns++;
      if (counting) setImmediate(count);
    };
    setImmediate(count);
    const signed = await Promise.all(Array.from({ length: 40 }, (_, i) => signCanonicalElementOffThread(assertion(`_offthread${i}`), key)));
    counting = false;
    assert.equal(signed.length, 40);
    // Signed on the request thread, 40 signatures would run back to back with no turn in between.
    assert.ok(turns >= 2, `the event loop turned ${turns} times during 40 signatures`);
  });

  it('a key without an off-thread signer (PKCS#11) signs on the calling thread, with the same result', async () => {
    let calls = 0;
    const onThread = signingKeyFor(generated.certificatePem, 'pkcs11', (hash, data) => {
      calls++;
      return key.sign(hash, data);
    });
    const element = assertion('_onthread');
    assert.deepEqual(await signCanonicalElementOffThread(element, onThread), signCanonicalElement(element, key));
    assert.equal(calls, 1);
  });

  it('a signer that fails rejects the promise with its error (nothing half-built is returned)', async () => {
    const failing = signingKeyFor(generated.certificatePem, 'pkcs11', () => {
      throw new Error('CKR_DEVICE_REMOVED');
    });
    await assert.rejects(signCanonicalElementOffThread(assertion('_fails'), failing), /CKR_DEVICE_REMOVED/);
  });
});
