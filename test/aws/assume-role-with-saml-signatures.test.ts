import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { AWS_SAML } from '../../src/core/aws-saml';
import { generateSelfSignedCertificate } from '../../src/keys/certificates';
import { loadSigningKey, type SigningKey } from '../../src/keys/signing-key';
import { signCanonicalElement } from '../../src/xml/enveloped-signature';
import { NS } from '../../src/xml/namespaces';
import { recordLogs } from '../support/observed-traffic';
import {
  canonicalAssertion,
  canonicalDigest,
  editAfterSignature,
  exchange,
  expectAwsRefusal,
  expectCredentials,
  EXTERNAL_ISSUER,
  EXTERNAL_PROVIDER_ARN,
  inResponse,
  mintAssertion,
  OTHER_ROLE_ARN,
  ROLE_ARN,
  SELF_PROVIDER_ARN,
  signedResponse,
  startAwsTestSts,
  type AwsTestSts,
} from '../support/aws-sts';

// AssumeRoleWithSAML refuses every assertion whose signature does not prove the registered provider
// signed exactly what is read: unsigned, altered, signed by another key, and the XML signature
// wrapping shapes. Each refusal leaves the genuine assertion's replay entry untouched.

const SIGNATURE_NOT_VALID = (detail: string) => `The SAML assertion's signature is not valid: ${detail}.`;
const UNTRUSTED = 'The SAML assertion is not signed by a certificate registered for this SAML provider.';
const SIGNATURE_RE = /<ds:Signature [\s\S]*?<\/ds:Signature>/;
const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';

/** A samlp:Response around `inner` (anything), unsigned, with a chosen status. */
function response(inner: string, o: { status?: string; issueInstant?: Date } = {}): string {
  return (
    `<samlp:Response xmlns:samlp="${NS.samlp2}" ID="_r${randomUUID()}" Version="2.0" ` +
    `IssueInstant="${(o.issueInstant ?? new Date()).toISOString()}" Destination="${AWS_SAML.signinUrl}">` +
    `<saml:Issuer xmlns:saml="${NS.saml2}">${EXTERNAL_ISSUER}</saml:Issuer>` +
    `<samlp:Status><samlp:StatusCode Value="${o.status ?? SUCCESS}"/></samlp:Status>` +
    `${inner}</samlp:Response>`
  );
}

const unsignedText = (c: { beforeSignature: string; afterSignature: string }): string => c.beforeSignature + c.afterSignature;
const signatureOf = (xml: string): string => (SIGNATURE_RE.exec(xml) as RegExpExecArray)[0];
/** Puts `inner` right after the first `<Subject>` of an (unprefixed) assertion. */
const insideSubject = (assertionXml: string, inner: string): string => assertionXml.replace('<Subject>', `<Subject>${inner}`);
/** Puts `signature` right after the assertion's Issuer, where an enveloped signature sits. */
const withSignature = (assertionXml: string, signature: string): string => assertionXml.replace('</Issuer>', `</Issuer>${signature}`);

describe('aws: AssumeRoleWithSAML refuses assertions whose signature does not hold', function () {
  this.timeout(60_000);
  let sts: AwsTestSts;
  let stranger: SigningKey;

  before(async () => {
    sts = await startAwsTestSts();
    recordLogs(sts.logs);
    const generated = generateSelfSignedCertificate({ commonName: 'attacker-idp', validDays: 2 });
    stranger = loadSigningKey(generated.privateKeyPem, generated.certificatePem);
  });
  after(async () => {
    await sts?.stop();
  });

  const genuine = () => mintAssertion({ key: sts.externalKey });
  /** The genuine assertion is still exchangeable afterwards: the refusal consumed nothing. */
  const stillUsable = async (xml: string) => expectCredentials(await exchange(sts, xml));

  describe('signature and content', () => {
    it('an unsigned assertion (ds:Signature stripped) is InvalidIdentityToken; the signed one still works', async () => {
      const g = genuine();
      const res = await exchange(sts, g.xml.replace(SIGNATURE_RE, ''));
      const { log } = expectAwsRefusal(sts, res, {
        status: 400,
        code: 'InvalidIdentityToken',
        message: SIGNATURE_NOT_VALID('neither the Response nor the Assertion is signed'),
      });
      assert.equal(log['roleArn'], ROLE_ARN);
      await stillUsable(g.xml);
    });

    it('an altered SignatureValue is InvalidIdentityToken', async () => {
      const g = genuine();
      const value = /<ds:SignatureValue>([^<]+)</.exec(g.xml)?.[1] as string;
      const i = 40;
      const altered = value.slice(0, i) + (value[i] === 'A' ? 'B' : 'A') + value.slice(i + 1);
      const res = await exchange(sts, g.xml.replace(value, altered));
      expectAwsRefusal(sts, res, { status: 400, code: 'InvalidIdentityToken', message: SIGNATURE_NOT_VALID('the signature is not valid under any trusted key') });
      await stillUsable(g.xml);
    });

    it('altered content (the NameID text) is InvalidIdentityToken for a digest mismatch', async () => {
      const g = genuine();
      const res = await exchange(sts, g.xml.replace('>alice</NameID>', '>admin</NameID>'));
      expectAwsRefusal(sts, res, {
        status: 400,
        code: 'InvalidIdentityToken',
        message: SIGNATURE_NOT_VALID('the signed content was altered (digest mismatch)'),
      });
      await stillUsable(g.xml);
    });

    it('altered content with SignedInfo altered to match (a recomputed DigestValue) fails the signature check', async () => {
      const c = canonicalAssertion({});
      const signed = signCanonicalElement(c, sts.externalKey);
      const edited = editAfterSignature('>alice</NameID>', '>admin</NameID>')(c);
      const tampered = signed.xml
        .replace('>alice</NameID>', '>admin</NameID>')
        .replace(`<ds:DigestValue>${signed.digest}</ds:DigestValue>`, `<ds:DigestValue>${canonicalDigest(edited)}</ds:DigestValue>`);
      assert.notEqual(tampered, signed.xml);
      const res = await exchange(sts, tampered);
      expectAwsRefusal(sts, res, { status: 400, code: 'InvalidIdentityToken', message: SIGNATURE_NOT_VALID('the signature is not valid under any trusted key') });
      await stillUsable(signed.xml);
    });

    it('a comment inserted into a signed NameID (c14n drops it) does not truncate the subject: the whole text is read', async () => {
      const g = mintAssertion({ key: sts.externalKey, nameId: 'admin@victim.example.evil.example', roleSessionName: 'admin@victim.example.evil.example' });
      const commented = g.xml
        .replace('>admin@victim.example.evil.example</NameID>', '>admin@victim.example<!---->.evil.example</NameID>')
        .replace('>admin@victim.example.evil.example</AttributeValue>', '>admin@victim.example<!---->.evil.example</AttributeValue>');
      assert.notEqual(commented, g.xml);
      const c = expectCredentials(await exchange(sts, commented));
      assert.equal(c.fields['Subject'], 'admin@victim.example.evil.example');
      assert.ok(c.assumedRoleArn.endsWith('/admin@victim.example.evil.example'), c.assumedRoleArn);
    });

    it('SignedInfo altered alone (its Reference URI points elsewhere) is InvalidIdentityToken', async () => {
      const g = genuine();
      const res = await exchange(sts, g.xml.replace(`URI="#${g.id}"`, 'URI="#_elsewhere"'));
      expectAwsRefusal(sts, res, { status: 400, code: 'InvalidIdentityToken', message: SIGNATURE_NOT_VALID('the signature does not reference the token itself') });
      await stillUsable(g.xml);
    });
  });

  describe('keys', () => {
    it('an assertion signed by a key not registered for the provider (its certificate in KeyInfo) is refused: KeyInfo adds no trust', async () => {
      const forged = mintAssertion({ key: stranger });
      assert.ok(forged.xml.includes(stranger.certificateBase64), 'the stranger certificate is in KeyInfo');
      const res = await exchange(sts, forged.xml);
      const { log } = expectAwsRefusal(sts, res, { status: 400, code: 'InvalidIdentityToken', message: UNTRUSTED });
      assert.equal(log['assertionId'], undefined, 'nothing was read from the unverified assertion');
    });

    it('the same assertion without KeyInfo is refused: it verifies under no registered key', async () => {
      const forged = mintAssertion({ key: stranger });
      const res = await exchange(sts, forged.xml.replace(/<ds:KeyInfo>[\s\S]*?<\/ds:KeyInfo>/, ''));
      expectAwsRefusal(sts, res, { status: 400, code: 'InvalidIdentityToken', message: SIGNATURE_NOT_VALID('the signature is not valid under any trusted key') });
    });

    it('a stranger-signed assertion whose KeyInfo names the REGISTERED certificate is refused', async () => {
      const forged = mintAssertion({ key: stranger });
      const res = await exchange(sts, forged.xml.replace(stranger.certificateBase64, sts.externalKey.certificateBase64));
      expectAwsRefusal(sts, res, { status: 400, code: 'InvalidIdentityToken', message: SIGNATURE_NOT_VALID('the signature is not valid under any trusted key') });
    });

    it('an assertion signed by the external key presented with PrincipalArn of Trustbridge itself is refused', async () => {
      const g = mintAssertion({ key: sts.externalKey, roles: [`${ROLE_ARN},${SELF_PROVIDER_ARN}`] });
      const res = await exchange(sts, g.xml, { principalArn: SELF_PROVIDER_ARN });
      expectAwsRefusal(sts, res, { status: 400, code: 'InvalidIdentityToken', message: UNTRUSTED });
    });

    it('Trustbridge\'s own token presented as the external provider is refused; it still works as Trustbridge\'s', async () => {
      const token = await sts.issueAwsToken();
      const res = await exchange(sts, token, { principalArn: EXTERNAL_PROVIDER_ARN });
      expectAwsRefusal(sts, res, { status: 400, code: 'InvalidIdentityToken', message: UNTRUSTED });
      expectCredentials(await exchange(sts, token, { principalArn: SELF_PROVIDER_ARN }));
    });
  });

  describe('XML signature wrapping', () => {
    it('(a) an unsigned Response whose only Assertion is an attacker\'s copy, the genuine one hidden in samlp:Extensions, is refused', async () => {
      const g = genuine();
      const evil = unsignedText(canonicalAssertion({ nameId: 'admin', roleSessionName: 'admin' }));
      const res = await exchange(sts, response(`<samlp:Extensions>${g.xml}</samlp:Extensions>${evil}`));
      expectAwsRefusal(sts, res, { status: 400, code: 'InvalidIdentityToken', message: SIGNATURE_NOT_VALID('neither the Response nor the Assertion is signed') });
      await stillUsable(g.xml);
    });

    it('(a) an attacker\'s unsigned assertion with the genuine one inside its Subject is refused, bare or in a Response', async () => {
      const g = genuine();
      const evil = insideSubject(unsignedText(canonicalAssertion({ nameId: 'admin', roleSessionName: 'admin' })), g.xml);
      for (const document of [evil, response(evil)]) {
        const res = await exchange(sts, document);
        expectAwsRefusal(sts, res, { status: 400, code: 'InvalidIdentityToken', message: SIGNATURE_NOT_VALID('neither the Response nor the Assertion is signed') });
      }
      await stillUsable(g.xml);
    });

    it('(b) the attacker\'s assertion carrying the genuine ds:Signature (its Reference names the genuine ID) is refused', async () => {
      const g = genuine();
      const evil = withSignature(unsignedText(canonicalAssertion({ nameId: 'admin', roleSessionName: 'admin' })), signatureOf(g.xml));
      // The referenced element absent, and present (the genuine assertion nested in the evil one's Subject).
      for (const document of [evil, insideSubject(evil, g.xml), response(`<samlp:Extensions>${g.xml}</samlp:Extensions>${evil}`)]) {
        const res = await exchange(sts, document);
        expectAwsRefusal(sts, res, { status: 400, code: 'InvalidIdentityToken', message: SIGNATURE_NOT_VALID('the signature does not reference the token itself') });
      }
      await stillUsable(g.xml);
    });

    it('(c) an attacker\'s assertion with the genuine ID and signature, the genuine one elsewhere in the document, is refused as a duplicate ID', async () => {
      const g = genuine();
      const evil = withSignature(unsignedText(canonicalAssertion({ id: g.id, nameId: 'admin', roleSessionName: 'admin' })), signatureOf(g.xml));
      for (const document of [response(`<samlp:Extensions>${g.xml}</samlp:Extensions>${evil}`), insideSubject(evil, g.xml)]) {
        const res = await exchange(sts, document);
        expectAwsRefusal(sts, res, { status: 400, code: 'InvalidIdentityToken', message: SIGNATURE_NOT_VALID('more than one element carries the signed ID') });
      }
      await stillUsable(g.xml);
    });

    it('(c) the genuine assertion in a Response with another element carrying its ID is refused as a duplicate ID', async () => {
      const g = genuine();
      const decoy = `<samlp:Extensions><Decoy xmlns="urn:example:decoy" ID="${g.id}"/></samlp:Extensions>`;
      const res = await exchange(sts, response(`${decoy}${g.xml}`));
      expectAwsRefusal(sts, res, { status: 400, code: 'InvalidIdentityToken', message: SIGNATURE_NOT_VALID('more than one element carries the signed ID') });
      await stillUsable(g.xml);
    });
  });

  describe('samlp:Response', () => {
    it('a Response whose Status is not Success is refused', async () => {
      const g = genuine();
      const res = await exchange(sts, response(g.xml, { status: 'urn:oasis:names:tc:SAML:2.0:status:Responder' }));
      expectAwsRefusal(sts, res, {
        status: 400,
        code: 'InvalidIdentityToken',
        message: "The SAML assertion is malformed: the Response's status is not Success (urn:oasis:names:tc:SAML:2.0:status:Responder).",
      });
      await stillUsable(g.xml);
    });

    it('a Response without a Status is refused', async () => {
      const g = genuine();
      const res = await exchange(sts, response(g.xml).replace(/<samlp:Status>.*<\/samlp:Status>/, ''));
      expectAwsRefusal(sts, res, { status: 400, code: 'InvalidIdentityToken', message: "The SAML assertion is malformed: the Response's status is not Success (none)." });
    });

    it('a Response with two signed Assertions is refused, and neither is consumed', async () => {
      const a = genuine();
      const b = genuine();
      const res = await exchange(sts, response(a.xml + b.xml));
      expectAwsRefusal(sts, res, { status: 400, code: 'InvalidIdentityToken', message: 'The SAML assertion is malformed: the Response must carry exactly one Assertion.' });
      await stillUsable(a.xml);
      await stillUsable(b.xml);
    });

    it('a Response with an EncryptedAssertion is refused', async () => {
      const encrypted =
        `<saml:EncryptedAssertion xmlns:saml="${NS.saml2}"><xenc:EncryptedData xmlns:xenc="${NS.xenc}">` +
        `<xenc:CipherData><xenc:CipherValue>AAAA</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></saml:EncryptedAssertion>`;
      const res = await exchange(sts, response(encrypted));
      expectAwsRefusal(sts, res, {
        status: 400,
        code: 'InvalidIdentityToken',
        message: 'The SAML assertion is malformed: encrypted assertions are not accepted here: send the signed assertion in clear.',
      });
    });

    it('a document that is neither a Response nor an Assertion is refused', async () => {
      const res = await exchange(sts, `<Assertion xmlns="urn:oasis:names:tc:SAML:1.0:assertion"/>`);
      expectAwsRefusal(sts, res, {
        status: 400,
        code: 'InvalidIdentityToken',
        message: 'The SAML assertion is malformed: the SAML document is neither a SAML 2.0 Response nor a SAML 2.0 Assertion.',
      });
    });

    it('positive control: the signed assertion inside an unsigned samlp:Response is exchanged', async () => {
      const g = genuine();
      const c = expectCredentials(await exchange(sts, inResponse(g.xml)));
      assert.equal(c.fields['Issuer'], EXTERNAL_ISSUER);
      assert.equal(c.fields['Subject'], 'alice');
    });

    it('positive control: an unsigned assertion inside a Response signed by the registered key is exchanged', async () => {
      const inner = unsignedText(canonicalAssertion({ roles: [`${OTHER_ROLE_ARN},${EXTERNAL_PROVIDER_ARN}`] }));
      const c = expectCredentials(await exchange(sts, signedResponse(inner, sts.externalKey), { roleArn: OTHER_ROLE_ARN }));
      assert.equal(c.fields['Subject'], 'alice');
    });

    it('a Response signed by the registered key whose assertion was then altered is refused (digest)', async () => {
      const inner = unsignedText(canonicalAssertion({}));
      const res = await exchange(sts, signedResponse(inner, sts.externalKey).replace('>alice</NameID>', '>admin</NameID>'));
      expectAwsRefusal(sts, res, { status: 400, code: 'InvalidIdentityToken', message: SIGNATURE_NOT_VALID('the signed content was altered (digest mismatch)') });
    });

    it('a Response signed by a stranger around an unsigned assertion is refused', async () => {
      const inner = unsignedText(canonicalAssertion({}));
      const res = await exchange(sts, signedResponse(inner, stranger));
      expectAwsRefusal(sts, res, { status: 400, code: 'InvalidIdentityToken', message: UNTRUSTED });
    });

    it('a Response signed by a stranger around a genuinely signed assertion is refused: every signature must verify', async () => {
      const g = genuine();
      const res = await exchange(sts, signedResponse(g.xml, stranger));
      expectAwsRefusal(sts, res, { status: 400, code: 'InvalidIdentityToken', message: UNTRUSTED });
      await stillUsable(g.xml);
    });
  });
});
