import { strict as assert } from 'node:assert';
import { ALG, NS } from '../../../src/xml/namespaces';
import { X509V3_VALUE_TYPE } from '../../../src/soap/message-signature';
import { startAttackSts, type AttackSts } from '../../support/attacks/attack-sts';
import { expectSoapFault } from '../../support/attacks/expected-rejections';
import type { SignedMessage, SignedMessageOptions } from '../../support/attacks/signed-soap-message';
import { EXCLUSIVE, ENVELOPED, HMAC_SHA1, INCLUSIVE_C14N, xsltTransform } from '../../support/attacks/token-signature';
import { replaceOnce } from '../../support/attacks/token-text';
import { postToSts } from '../../support/sts-post';
import { PATH_13 } from '../../support/wstrust-request';

// The X.509 message signature of certificatemixed (WS-Security: a signature over the wsu:Timestamp and
// the SOAP Body by the key of a BinarySecurityToken) under attack: SOAP-level signature wrapping (the
// signed Body or Timestamp moved, a new one in its place), certificate substitution in the
// BinarySecurityToken and KeyInfo, digest, SignedInfo and SignatureValue tampering, duplicate wsu:Ids,
// References outside the signed parts, disallowed transforms and algorithms (HMAC keyed with the
// client's public certificate). Every message is otherwise a valid one from the pinned client.

const BST = /<o:BinarySecurityToken [^>]*>[^<]*<\/o:BinarySecurityToken>/;
const BODY = /<s:Body u:Id="_body">[\s\S]*<\/s:Body>/;
const EVIL_RP = 'https://evil.attack.example/';

describe('attacks: certificatemixed message signatures (WS-Trust 1.3, SOAP 1.2)', function () {
  this.timeout(60_000);
  let sts: AttackSts;

  before(async () => {
    sts = await startAttackSts();
  });
  after(async () => {
    await sts?.stop();
  });

  const invalidSecurity = (reason: string | RegExp) => ({ soap: '1.2' as const, trust: '1.3' as const, family: 'wsse' as const, code: 'InvalidSecurity', reason });
  const refused = async (message: { readonly xml: string }, reason: string | RegExp, code = 'InvalidSecurity'): Promise<void> => {
    const res = await sts.attackCertificateMixed(() => sts.sendSigned(message));
    expectSoapFault(res, { ...invalidSecurity(reason), code });
  };
  const signed = (o: Partial<SignedMessageOptions> = {}): SignedMessage => sts.signedMessage(o);
  /** The pinned client's message with its Body's AppliesTo pointed elsewhere (unsigned change). */
  const evilBody = (body: string): string => replaceOnce(body, 'https://rp.attack.example/', EVIL_RP);
  const bodyOf = (xml: string): string => BODY.exec(xml)?.[0] as string;
  const wrapper = (inner: string): string => `<w:Wrapper xmlns:w="urn:example:wrapping">${inner}</w:Wrapper>`;
  const asHeld = (body: string): string => body.replace(/^<s:Body/, '<w:Held').replace(/<\/s:Body>$/, '</w:Held>');

  it('positive control: the pinned client\'s signed Issue is served', async () => {
    assert.equal((await sts.sendSigned(signed())).status, 200);
  });

  describe('SOAP signature wrapping', () => {
    it('the signed Body moved into a header Wrapper, an evil Body with the same wsu:Id in its place → wsse:InvalidSecurity (the Body digest)', async () => {
      const m = signed();
      const body = bodyOf(m.xml);
      const xml = replaceOnce(m.xml, body, evilBody(body)).replace('</s:Header>', `${wrapper(asHeld(body))}</s:Header>`);
      await refused({ xml }, 'The signed Body was altered (digest mismatch).');
    });

    it('the signed Body moved into a header Wrapper, an evil Body with another wsu:Id → wsse:InvalidSecurity (the Reference names no signed part)', async () => {
      const m = signed();
      const body = bodyOf(m.xml);
      const xml = replaceOnce(m.xml, body, evilBody(body).replace('u:Id="_body"', 'u:Id="_evil"')).replace('</s:Header>', `${wrapper(asHeld(body))}</s:Header>`);
      await refused({ xml }, 'A signature reference points at something other than the Timestamp or the Body.');
    });

    it('the signed Body moved into the Security header, an evil Body without wsu:Id → wsse:InvalidSecurity', async () => {
      const m = signed();
      const body = bodyOf(m.xml);
      const xml = replaceOnce(m.xml, body, evilBody(body).replace(' u:Id="_body"', '')).replace('</o:Security>', `${asHeld(body)}</o:Security>`);
      await refused({ xml }, 'The Body must carry a wsu:Id for the signature to reference.');
    });

    it('a decoy element carrying the Body\'s wsu:Id in a header (the Body untouched) → wsse:InvalidSecurity (IDs not unique)', async () => {
      const m = signed();
      await refused({ xml: m.xml.replace('</s:Header>', `<w:Decoy xmlns:w="urn:example:wrapping" u:Id="_body"></w:Decoy></s:Header>`) }, 'The signed IDs are not unique in the message.');
    });

    it('a decoy carrying the Timestamp\'s wsu:Id inside the Body → wsse:InvalidSecurity (the Body digest)', async () => {
      const m = signed();
      const xml = m.xml.replace('</t:RequestSecurityToken>', `<w:Decoy xmlns:w="urn:example:wrapping" u:Id="_ts"></w:Decoy></t:RequestSecurityToken>`);
      await refused({ xml }, 'The signed Body was altered (digest mismatch).');
    });

    it('the signed Timestamp moved into a Wrapper in the Security header, a fresh one with the same wsu:Id → wsse:InvalidSecurity', async () => {
      const m = signed({ created: new Date(Date.now() - 4 * 60_000), expires: new Date(Date.now() + 60_000) });
      const ts = /<u:Timestamp u:Id="_ts">[\s\S]*?<\/u:Timestamp>/.exec(m.xml)?.[0] as string;
      const fresh = `<u:Timestamp u:Id="_ts"><u:Created>${new Date().toISOString()}</u:Created><u:Expires>${new Date(Date.now() + 300_000).toISOString()}</u:Expires></u:Timestamp>`;
      await refused({ xml: replaceOnce(m.xml, ts, fresh + wrapper(ts)) }, 'The signed Timestamp was altered (digest mismatch).');
    });

    it('the signature in a second Security header addressed to another actor (role), ours unsigned → wsse:InvalidSecurity', async () => {
      const m = signed();
      const signature = /<ds:Signature [\s\S]*<\/ds:Signature>/.exec(m.xml)?.[0] as string;
      const other = `<o:Security xmlns:o="${NS.wsse}" s:role="urn:example:other-actor">${signature}</o:Security>`;
      await refused({ xml: replaceOnce(m.xml, signature, '').replace('</s:Header>', `${other}</s:Header>`) }, 'The wsse:Security header must hold exactly one ds:Signature.');
    });
  });

  describe('signature removal and certificate substitution', () => {
    it('signature removal (ds:Signature stripped) → wsse:InvalidSecurity', async () => {
      const m = signed();
      await refused({ xml: m.xml.replace(/<ds:Signature [\s\S]*<\/ds:Signature>/, '') }, 'The wsse:Security header must hold exactly one ds:Signature.');
    });

    it('signature removal with the Timestamp removed too → wsse:InvalidSecurity', async () => {
      const m = signed();
      const xml = m.xml.replace(/<ds:Signature [\s\S]*<\/ds:Signature>/, '').replace(/<u:Timestamp [\s\S]*?<\/u:Timestamp>/, '');
      await refused({ xml }, 'The wsse:Security header needs a signed wsu:Timestamp on this endpoint.');
    });

    it('certificate substitution: the BinarySecurityToken swapped for the attacker\'s certificate, the signature kept → wsse:InvalidSecurity', async () => {
      const m = signed();
      const xml = m.xml.replace(BST, (bst) => bst.replace(/>[^<]*</, `>${sts.strangerKey.certificateBase64}<`));
      await refused({ xml }, 'The message signature is not valid.');
    });

    it('certificate substitution: signed by the attacker\'s key, the pinned client\'s certificate in the BinarySecurityToken → wsse:InvalidSecurity', async () => {
      await refused(signed({ signer: { privateKey: sts.strangerKey.privateKey, certificateDer: sts.clientSigner.certificateDer } }), 'The message signature is not valid.');
    });

    it('signed by the attacker with the attacker\'s own certificate (neither pinned nor CA-issued) → wsse:FailedAuthentication', async () => {
      const attacker = { privateKey: sts.strangerKey.privateKey, certificateDer: Buffer.from(sts.strangerKey.certificateBase64, 'base64') };
      await refused(signed({ signer: attacker }), 'The security token could not be authenticated or authorized.', 'FailedAuthentication');
    });

    it('KeyInfo pointing at a second BinarySecurityToken (the attacker\'s), the pinned one left beside it → wsse:FailedAuthentication', async () => {
      const attacker = { privateKey: sts.strangerKey.privateKey, certificateDer: Buffer.from(sts.strangerKey.certificateBase64, 'base64') };
      const m = signed({ signer: attacker, keyInfo: `<o:SecurityTokenReference xmlns:o="${NS.wsse}"><o:Reference URI="#bst2" ValueType="${X509V3_VALUE_TYPE}"></o:Reference></o:SecurityTokenReference>` });
      const pinned = (/<o:BinarySecurityToken [^>]*>/.exec(m.xml)?.[0] as string).replace('u:Id="bst"', 'u:Id="bst2"');
      const xml = m.xml.replace(BST, (bst) => `${bst.replace(/>[^<]*</, `>${sts.clientSigner.certificateDer.toString('base64')}<`)}${pinned}${sts.strangerKey.certificateBase64}</o:BinarySecurityToken>`);
      await refused({ xml }, 'The security token could not be authenticated or authorized.', 'FailedAuthentication');
    });

    it('KeyInfo carrying the attacker\'s certificate inline (X509Data) instead of a reference → wsse:InvalidSecurity', async () => {
      const keyInfo = `<ds:X509Data><ds:X509Certificate>${sts.strangerKey.certificateBase64}</ds:X509Certificate></ds:X509Data>`;
      await refused(signed({ keyInfo }), 'The signature\'s KeyInfo must reference the BinarySecurityToken in the header.');
    });

    it('two BinarySecurityTokens with the referenced wsu:Id → wsse:InvalidSecurity', async () => {
      const m = signed();
      await refused({ xml: m.xml.replace(BST, (bst) => bst + bst) }, 'The referenced BinarySecurityToken is missing or repeated.');
    });

    it('a BinarySecurityToken whose ValueType is not X.509 v3 → wsse:UnsupportedSecurityToken', async () => {
      const m = signed();
      await refused({ xml: m.xml.replace(X509V3_VALUE_TYPE, 'http://docs.oasis-open.org/wss/oasis-wss-kerberos-token-profile-1.1#GSS_Kerberosv5_AP_REQ') }, 'The BinarySecurityToken must be an X.509 v3 certificate.', 'UnsupportedSecurityToken');
    });

    it('a BinarySecurityToken that is not a certificate → wsse:InvalidSecurity', async () => {
      const m = signed();
      await refused({ xml: m.xml.replace(BST, (bst) => bst.replace(/>[^<]*</, '>bm90IGEgY2VydGlmaWNhdGU=<')) }, 'The BinarySecurityToken is not a valid X.509 certificate.');
    });
  });

  describe('digest, SignedInfo and SignatureValue tampering', () => {
    it('the Body altered after signing (AppliesTo pointed elsewhere) → wsse:InvalidSecurity (digest)', async () => {
      const m = signed();
      await refused({ xml: replaceOnce(m.xml, bodyOf(m.xml), evilBody(bodyOf(m.xml))) }, 'The signed Body was altered (digest mismatch).');
    });

    it('a DigestValue altered → wsse:InvalidSecurity (digest)', async () => {
      const m = signed();
      const digest = /<ds:DigestValue>([^<]+)</.exec(m.xml)?.[1] as string;
      await refused({ xml: replaceOnce(m.xml, `>${digest}<`, `>${digest.startsWith('A') ? 'B' : 'A'}${digest.slice(1)}<`) }, /^The signed (Timestamp|Body) was altered \(digest mismatch\)\.$/);
    });

    it('SignedInfo tampering: the Body altered and its DigestValue recomputed to match → wsse:InvalidSecurity (signature)', async () => {
      const m = signed();
      const body = bodyOf(m.xml);
      const evil = evilBody(body);
      // The same builder over the altered message gives the Body digest that would match it.
      const { xml: reference } = signed({ rstBody: /<\/t:RequestType>([\s\S]*)<\/t:RequestSecurityToken>/.exec(evil)?.[1] as string });
      const digestOf = (xml: string): string => /<ds:Reference URI="#_body">[\s\S]*?<ds:DigestValue>([^<]+)</.exec(xml)?.[1] as string;
      const xml = replaceOnce(replaceOnce(m.xml, body, evil), `>${digestOf(m.xml)}<`, `>${digestOf(reference)}<`);
      await refused({ xml }, 'The message signature is not valid.');
    });

    it('a SignatureValue altered → wsse:InvalidSecurity (signature)', async () => {
      const m = signed();
      const value = /<ds:SignatureValue>([^<]+)</.exec(m.xml)?.[1] as string;
      const i = Math.floor(value.length / 2);
      await refused({ xml: replaceOnce(m.xml, value, value.slice(0, i) + (value[i] === 'A' ? 'B' : 'A') + value.slice(i + 1)) }, 'The message signature is not valid.');
    });

    it('a processing instruction in the signed Body → wsse:InvalidSecurity (was an internal error)', async () => {
      const m = signed();
      await refused({ xml: m.xml.replace('<t:RequestType>', '<?cut?><t:RequestType>') }, 'The signed Body holds a processing instruction, which is not accepted.');
    });
  });

  describe('References, transforms and algorithms', () => {
    it('a Reference to an element outside the signed parts (the BinarySecurityToken) instead of the Body → wsse:InvalidSecurity', async () => {
      await refused(signed({ references: ['#_ts', '#bst'] }), 'A signature reference points at something other than the Timestamp or the Body.');
    });

    it('a Reference URI="" (the whole message) → wsse:InvalidSecurity', async () => {
      await refused(signed({ references: ['#_ts', ''] }), 'A signature reference points at something other than the Timestamp or the Body.');
    });

    it('the Timestamp referenced twice and the Body not at all → wsse:InvalidSecurity', async () => {
      await refused(signed({ references: ['#_ts', '#_ts'] }), 'A signature reference points at something other than the Timestamp or the Body.');
    });

    it('a third Reference (the BinarySecurityToken) → wsse:InvalidSecurity', async () => {
      await refused(signed({ references: ['#_ts', '#_body', '#bst'] }), 'The signature must cover exactly the Timestamp and the Body.');
    });

    it('an XSLT transform in the References → wsse:InvalidSecurity', async () => {
      await refused(signed({ transforms: [xsltTransform('http://127.0.0.1:9/xslt'), EXCLUSIVE] }), 'Each signature reference must use exactly the exclusive-c14n transform.');
    });

    it('the enveloped-signature transform added → wsse:InvalidSecurity', async () => {
      await refused(signed({ transforms: [ENVELOPED, EXCLUSIVE] }), 'Each signature reference must use exactly the exclusive-c14n transform.');
    });

    it('inclusive c14n as the only transform → wsse:InvalidSecurity', async () => {
      await refused(signed({ transforms: [`<ds:Transform Algorithm="${INCLUSIVE_C14N}"></ds:Transform>`] }), 'Each signature reference must use exactly the exclusive-c14n transform.');
    });

    it('SHA-1 DigestMethod → wsse:InvalidSecurity', async () => {
      await refused(signed({ digestMethod: ALG.sha1, digestHash: 'sha1' }), 'The digest algorithm must be SHA-256.');
    });

    it('RSA-SHA1 SignatureMethod → wsse:InvalidSecurity', async () => {
      await refused(signed({ signatureMethod: ALG.rsaSha1 }), 'The signature algorithm must be RSA-SHA256.');
    });

    it('HMAC-SHA1 keyed with the pinned client\'s public certificate (key confusion) → wsse:InvalidSecurity', async () => {
      await refused(signed({ signatureMethod: HMAC_SHA1, hmacSecret: sts.clientSigner.certificateDer }), 'The signature algorithm must be RSA-SHA256.');
    });

    it('inclusive c14n as SignedInfo\'s CanonicalizationMethod → wsse:InvalidSecurity', async () => {
      const m = signed();
      await refused({ xml: replaceOnce(m.xml, `<ds:CanonicalizationMethod Algorithm="${ALG.excC14n}">`, `<ds:CanonicalizationMethod Algorithm="${INCLUSIVE_C14N}">`) }, 'The signature must use exclusive canonicalisation.');
    });
  });

  it('a certificatemixed message sent to usernamemixed (endpoint confusion) → wsse:InvalidSecurity, no UsernameToken', async () => {
    const m = signed();
    const res = await sts.attack(() => postToSts(`${sts.baseUrl}${PATH_13}`, { ca: sts.tlsCertificatePem, headers: { 'Content-Type': 'application/soap+xml; charset=utf-8' }, body: m.xml }));
    expectSoapFault(res, invalidSecurity('The wsse:Security header has no UsernameToken; this endpoint needs one.'));
  });
});
