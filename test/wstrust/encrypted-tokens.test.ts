import { strict as assert } from 'node:assert';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NS, SAML2, TOKEN_TYPE } from '../../src/xml/namespaces';
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
import { startTestSts, type TestSts } from '../support/test-sts';
import { appliesTo, trustNs } from '../support/trust-messages';
import { runSts } from '../support/unit-cli';
import { SAML2_ASSERTION_ID_ATTRIBUTE, verifyWithXmlsec1 } from '../support/xmlsec1';

// Tokens for a relying party with an encryption certificate travel as <EncryptedAssertion>: AES-256
// (CBC by default, GCM when configured) under a key carried with RSA-OAEP. xmlsec1 plays the
// relying party: it decrypts with the relying party's key, then verifies the STS's signature.

const USER = 'erin@enc.example';
const PASSWORD = 'Encrypted-Tokens-Secret-5';
const EMAIL = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress';
const RP_CBC = 'https://rp-cbc.enc.example/';
const RP_GCM = 'https://rp-gcm.enc.example/';

const XENC = {
  aes256Cbc: 'http://www.w3.org/2001/04/xmlenc#aes256-cbc',
  aes256Gcm: 'http://www.w3.org/2009/xmlenc11#aes256-gcm',
  rsaOaep: 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p',
  element: 'http://www.w3.org/2001/04/xmlenc#Element',
};

describe('wstrust encrypted tokens (EncryptedAssertion)', function () {
  this.timeout(60_000);
  let sts: TestSts;
  const rpCbc = newKeyPair('rp-cbc.enc.example');
  const rpGcm = newKeyPair('rp-gcm.enc.example');
  const stranger = newKeyPair('not-the-relying-party');

  before(async () => {
    sts = await startTestSts();
    await sts.addUser({ name: USER, password: PASSWORD, claims: [{ name: EMAIL, value: USER }] });
    await sts.addRelyingParty({ appliesTo: RP_CBC, releasedClaims: [EMAIL], encryptionCertificatePem: rpCbc.certificatePem });
    await sts.addRelyingParty({ appliesTo: RP_GCM, releasedClaims: [EMAIL], encryptionCertificatePem: rpGcm.certificatePem, tokenEncryption: 'aes256-gcm' });
  });
  after(async () => {
    await sts?.stop();
  });

  const send = (combo: Combo, rstBody: string) => sendTrust(sts, combo, { user: USER, password: PASSWORD, op: 'Issue', rstBody });

  for (const combo of ALL_COMBOS) {
    describe(comboName(combo), () => {
      const t = trustNs(combo.version);

      for (const [label, rp, keys, dataAlgorithm] of [
        ['by default AES-256-CBC', RP_CBC, rpCbc, XENC.aes256Cbc],
        ['with tokenEncryption aes256-gcm, AES-256-GCM', RP_GCM, rpGcm, XENC.aes256Gcm],
      ] as const) {
        it(`encrypts ${label} with RSA-OAEP key transport; xmlsec1 decrypts with the RP key, the assertion verifies, another key fails; the ledger has it`, async () => {
          const before = await sts.instance.store.ledger.count();
          const sent = await send(combo, appliesTo(rp));
          const rstr = rstrOf(sent, combo);
          assert.equal(childText(rstr, t, 'TokenType'), TOKEN_TYPE.saml20);

          // The token is an EncryptedAssertion, and nothing of the plaintext assertion travels.
          const requested = only(rstr, t, 'RequestedSecurityToken');
          const encryptedAssertion = only(requested, NS.saml2, 'EncryptedAssertion');
          assert.equal(children(requested, NS.saml2, 'Assertion').length, 0);
          assert.doesNotMatch(sent.res.body, /<(?:\w+:)?Assertion[\s>]/, 'no <Assertion> anywhere in the response');
          assert.doesNotMatch(sent.res.body, new RegExp(USER.replace(/[.]/g, '\\.')), 'the subject is not readable in the response');

          const encryptedData = only(encryptedAssertion, NS.xenc, 'EncryptedData');
          assert.equal(encryptedData.getAttribute('Type'), XENC.element);
          assert.equal(only(encryptedData, NS.xenc, 'EncryptionMethod').getAttribute('Algorithm'), dataAlgorithm);
          const encryptedKey = only(only(encryptedData, NS.ds, 'KeyInfo'), NS.xenc, 'EncryptedKey');
          assert.equal(only(encryptedKey, NS.xenc, 'EncryptionMethod').getAttribute('Algorithm'), XENC.rsaOaep);
          // The EncryptedKey names the relying party's certificate.
          const named = text(only(only(only(encryptedKey, NS.ds, 'KeyInfo'), NS.ds, 'X509Data'), NS.ds, 'X509Certificate'));
          assert.equal(named, new X509Certificate(keys.certificatePem).raw.toString('base64'));

          const encryptedXml = cutElement(sent.res.body, '<EncryptedAssertion ', '</EncryptedAssertion>');
          const decrypted = decryptWithXmlsec1(encryptedXml, keys.privateKeyPem);
          assert.ok(decrypted.ok, `xmlsec1 --decrypt failed: ${decrypted.output}`);
          const assertionXml = cutElement(decrypted.xml, '<Assertion ', '</Assertion>');
          const verified = verifyWithXmlsec1(assertionXml, sts.signingCertificatePem, SAML2_ASSERTION_ID_ATTRIBUTE);
          assert.ok(verified.ok, `xmlsec1 does not verify the decrypted assertion: ${verified.output}`);
          const assertion = parseStrict(assertionXml).documentElement;
          const subject = only(assertion, NS.saml2, 'Subject');
          assert.equal(text(only(subject, NS.saml2, 'NameID')), USER);
          assert.equal(only(subject, NS.saml2, 'SubjectConfirmation').getAttribute('Method'), SAML2.bearer);
          assert.equal(
            text(only(only(only(assertion, NS.saml2, 'Conditions'), NS.saml2, 'AudienceRestriction'), NS.saml2, 'Audience')),
            rp,
          );

          const wrongKey = decryptWithXmlsec1(encryptedXml, stranger.privateKeyPem);
          assert.equal(wrongKey.ok, false, 'decrypting with another key must fail');
          assert.doesNotMatch(wrongKey.xml, /<Assertion /);

          const id = assertion.getAttribute('ID') ?? '';
          assert.equal(attachedReferenceId(rstr, combo).id, id, 'the RSTR references the assertion inside');
          const entry = await sts.instance.store.ledger.get(id);
          assert.ok(entry, 'the ledger records the encrypted token');
          assert.equal(entry.subject, USER);
          assert.equal(entry.audience, rp);
          assert.equal(entry.tokenType, TOKEN_TYPE.saml20);
          assert.equal(await sts.instance.store.ledger.count(), before + 1);

          // The relying party's decrypted token is one of ours: Validate says valid.
          const status = await sendTrust(sts, combo, { user: USER, password: PASSWORD, op: 'Validate', rstBody: `<t:ValidateTarget>${assertionXml}</t:ValidateTarget>` });
          assert.equal(childText(only(rstrOf(status, combo, 'Validate'), t, 'Status'), t, 'Code'), `${t}/status/valid`);
        });
      }

      for (const tokenType of [TOKEN_TYPE.saml11, TOKEN_TYPE.saml11Profile]) {
        it(`a SAML 1.1 request (${tokenType}) for a relying party that gets encrypted tokens is refused with t:BadRequest`, async () => {
          const before = await sts.instance.store.ledger.count();
          const sent = await send(combo, appliesTo(RP_CBC) + `<t:TokenType>${tokenType}</t:TokenType>`);
          expectFault(sent, combo, 'wst', 'BadRequest', /encrypt/i);
          assert.equal(await sts.instance.store.ledger.count(), before, 'nothing issued');
        });
      }
    });
  }
});

describe('cli: sts rp add --encryption-cert / --encryption-algorithm', function () {
  this.timeout(60_000);
  let parent: string;
  let home: string;
  let certFile: string;

  before(() => {
    parent = mkdtempSync(join(tmpdir(), 'trustbridge-ext-enc-cli-'));
    home = join(parent, 'instance');
    const init = runSts(['init', '--home', home]);
    assert.equal(init.status, 0, init.stderr);
    certFile = join(parent, 'rp-enc.crt.pem');
    writeFileSync(certFile, newKeyPair('cli-rp.enc.example').certificatePem);
  });
  after(() => {
    rmSync(parent, { recursive: true, force: true });
  });

  it('stores the encryption certificate and algorithm: rp list shows "tokens encrypted (aes256-gcm)"', () => {
    const add = runSts(['rp', 'add', 'https://cli-rp.enc.example/', '--home', home, '--encryption-cert', certFile, '--encryption-algorithm', 'aes256-gcm']);
    assert.equal(add.status, 0, add.stderr);
    assert.match(add.stdout, /added relying party https:\/\/cli-rp\.enc\.example\//);
    const list = runSts(['rp', 'list', '--home', home]);
    assert.equal(list.status, 0, list.stderr);
    const block = list.stdout.slice(list.stdout.indexOf('https://cli-rp.enc.example/'));
    assert.match(block, /^https:\/\/cli-rp\.enc\.example\/[^\n]*\n(?: {2}[^\n]*\n)*? {2}tokens encrypted \(aes256-gcm\)$/m);
  });

  it('defaults to aes256-cbc when only --encryption-cert is given', () => {
    const add = runSts(['rp', 'add', 'https://cli-rp-cbc.enc.example/', '--home', home, '--encryption-cert', certFile]);
    assert.equal(add.status, 0, add.stderr);
    const list = runSts(['rp', 'list', '--home', home]);
    const block = list.stdout.slice(list.stdout.indexOf('https://cli-rp-cbc.enc.example/'));
    assert.match(block.split(/\n(?=\S)/)[0] ?? '', /tokens encrypted \(aes256-cbc\)/);
  });

  it('a bad --encryption-algorithm exits 2 with a usage message and adds nothing', () => {
    const add = runSts(['rp', 'add', 'https://cli-rp-bad.enc.example/', '--home', home, '--encryption-cert', certFile, '--encryption-algorithm', 'aes128-cbc']);
    assert.equal(add.status, 2, add.stderr);
    assert.match(add.stderr, /--encryption-algorithm must be aes256-cbc or aes256-gcm/);
    assert.doesNotMatch(add.stderr, /\n\s+at\s/, 'no stack trace');
    const list = runSts(['rp', 'list', '--home', home]);
    assert.doesNotMatch(list.stdout, /cli-rp-bad/);
  });
});
