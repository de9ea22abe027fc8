import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { generateSelfSignedCertificate } from '../../src/keys/certificates';
import { buildSaml11Assertion } from '../../src/saml/saml11-assertion';
import { signCanonicalElement } from '../../src/xml/enveloped-signature';
import { NS, SAML11_ASSERTION_ID_VALUE_TYPE, SAML2, TOKEN_TYPE } from '../../src/xml/namespaces';
import {
  ALL_COMBOS,
  attachedReferenceId,
  childText,
  children,
  comboName,
  cutElement,
  only,
  parseStrict,
  rstrOf,
  sendTrust,
  text,
  type Combo,
  type Sent,
} from '../support/ext-trust';
import { allChildren } from '../support/soap-reply';
import { startTestSts, type TestSts } from '../support/test-sts';
import { appliesTo, trustNs } from '../support/trust-messages';
import { idOf, replaceOnce } from '../support/xml-edit';
import { SAML11_ASSERTION_NODE, verifyWithXmlsec1 } from '../support/xmlsec1';

// SAML 1.1 tokens (TokenType urn:oasis:names:tc:SAML:1.0:assertion or the token profile's #SAMLV1.1):
// the assertion's shape, its signature checked by xmlsec1, its references, and the lifecycle after Issue.

const USER = 'sam@saml11.example';
const PASSWORD = 'Saml-One-One-Secret-9';
const RP = 'https://rp.saml11.example/';
const CLAIM = {
  email: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
  role: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role',
  upn: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn',
};
const S1 = NS.saml1;
const SAML11_PROFILE_VALUE_TYPE = 'http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.0#SAMLAssertionID';

const saml11Assertion = (body: string): string => cutElement(body, '<saml:Assertion ', '</saml:Assertion>');

describe('wstrust SAML 1.1 tokens', function () {
  this.timeout(60_000);
  let sts: TestSts;
  const otherCertificatePem = generateSelfSignedCertificate({ commonName: 'not-the-sts', validDays: 1 }).certificatePem;

  before(async () => {
    sts = await startTestSts();
    await sts.addUser({
      name: USER,
      password: PASSWORD,
      claims: [
        { name: CLAIM.email, value: USER },
        { name: CLAIM.role, value: 'Staff' },
        { name: CLAIM.role, value: 'Auditors' },
        { name: CLAIM.upn, value: 'not-released@saml11.example' },
      ],
    });
    await sts.addRelyingParty({ appliesTo: RP, releasedClaims: [CLAIM.email, CLAIM.role] });
  });
  after(async () => {
    await sts?.stop();
  });

  const send = (combo: Combo, op: 'Issue' | 'Validate' | 'Renew' | 'Cancel', rstBody: string): Promise<Sent> =>
    sendTrust(sts, combo, { user: USER, password: PASSWORD, op, rstBody });
  const tokenType = (uri: string): string => `<t:TokenType>${uri}</t:TokenType>`;

  async function issue11(combo: Combo, uri: string = TOKEN_TYPE.saml11): Promise<{ sent: Sent; xml: string; id: string }> {
    const sent = await send(combo, 'Issue', appliesTo(RP) + tokenType(uri));
    assert.equal(sent.res.status, 200, sent.res.body.slice(0, 1000));
    const xml = saml11Assertion(sent.res.body);
    return { sent, xml, id: idOf(xml) };
  }

  function status(sent: Sent, combo: Combo): { code: string; reason: string } {
    const t = trustNs(combo.version);
    const rstr = rstrOf(sent, combo, 'Validate');
    assert.equal(childText(rstr, t, 'TokenType'), `${t}/RSTR/Status`);
    const st = only(rstr, t, 'Status');
    return { code: childText(st, t, 'Code').slice(`${t}/status/`.length), reason: childText(st, t, 'Reason') };
  }

  for (const combo of ALL_COMBOS) {
    describe(comboName(combo), () => {
      const t = trustNs(combo.version);

      for (const uri of [TOKEN_TYPE.saml11, TOKEN_TYPE.saml11Profile]) {
        it(`TokenType ${uri} issues a signed SAML 1.1 assertion of the right shape that xmlsec1 verifies (and not under another certificate)`, async () => {
          const { sent, xml } = await issue11(combo, uri);
          assert.doesNotMatch(sent.res.body, /<Assertion[\s>]/, 'no SAML 2.0 assertion');
          const a = parseStrict(xml).documentElement;
          assert.equal(a.namespaceURI, S1);
          assert.equal(a.getAttribute('MajorVersion'), '1');
          assert.equal(a.getAttribute('MinorVersion'), '1');
          assert.equal(a.getAttribute('Issuer'), sts.instance.config.issuer);
          assert.match(a.getAttribute('AssertionID') ?? '', /^_[0-9a-f-]{36}$/);
          assert.ok(!Number.isNaN(Date.parse(a.getAttribute('IssueInstant') ?? '')));

          const conditions = only(a, S1, 'Conditions');
          const notBefore = Date.parse(conditions.getAttribute('NotBefore') ?? '');
          const notOnOrAfter = Date.parse(conditions.getAttribute('NotOnOrAfter') ?? '');
          assert.equal(notOnOrAfter - notBefore, 3600_000, 'the relying party\'s default lifetime');
          assert.equal(text(only(only(conditions, S1, 'AudienceRestrictionCondition'), S1, 'Audience')), RP);

          const attributeStatement = only(a, S1, 'AttributeStatement');
          const subject = only(attributeStatement, S1, 'Subject');
          assert.equal(text(only(subject, S1, 'NameIdentifier')), USER);
          assert.equal(text(only(only(subject, S1, 'SubjectConfirmation'), S1, 'ConfirmationMethod')), 'urn:oasis:names:tc:SAML:1.0:cm:bearer');
          const attributes = children(attributeStatement, S1, 'Attribute').map((el) => ({
            namespace: el.getAttribute('AttributeNamespace'),
            name: el.getAttribute('AttributeName'),
            values: children(el, S1, 'AttributeValue').map(text),
          }));
          assert.deepEqual(
            attributes.sort((x, y) => String(x.name).localeCompare(String(y.name))),
            [
              { namespace: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims', name: 'emailaddress', values: [USER] },
              { namespace: 'http://schemas.microsoft.com/ws/2008/06/identity/claims', name: 'role', values: ['Staff', 'Auditors'] },
            ],
            'released claims only, split at the last slash',
          );

          const authn = only(a, S1, 'AuthenticationStatement');
          assert.equal(authn.getAttribute('AuthenticationMethod'), 'urn:oasis:names:tc:SAML:1.0:am:password');
          assert.ok(!Number.isNaN(Date.parse(authn.getAttribute('AuthenticationInstant') ?? '')));
          assert.equal(text(only(only(authn, S1, 'Subject'), S1, 'NameIdentifier')), USER);

          const kids = allChildren(a);
          const last = kids[kids.length - 1] as Element;
          assert.equal(last.namespaceURI, NS.ds);
          assert.equal(last.localName, 'Signature', 'the signature is the last child, as the SAML 1.1 schema places it');
          assert.deepEqual(kids.map((k) => k.localName), ['Conditions', 'AttributeStatement', 'AuthenticationStatement', 'Signature']);

          const ok = verifyWithXmlsec1(xml, sts.signingCertificatePem, SAML11_ASSERTION_NODE, 'AssertionID');
          assert.ok(ok.ok, `xmlsec1: ${ok.output}`);
          const other = verifyWithXmlsec1(xml, otherCertificatePem, SAML11_ASSERTION_NODE, 'AssertionID');
          assert.equal(other.ok, false, 'another certificate must not verify the token');
        });
      }

      it('the RSTR references the token with ValueType #SAMLAssertionID and TokenType #SAMLV1.1', async () => {
        const { sent, id } = await issue11(combo, TOKEN_TYPE.saml11Profile);
        const rstr = rstrOf(sent, combo);
        assert.equal(childText(rstr, t, 'TokenType'), TOKEN_TYPE.saml11);
        const attached = attachedReferenceId(rstr, combo);
        assert.deepEqual(attached, { id, valueType: SAML11_PROFILE_VALUE_TYPE, tokenType: TOKEN_TYPE.saml11Profile });
        assert.equal(SAML11_ASSERTION_ID_VALUE_TYPE, SAML11_PROFILE_VALUE_TYPE);
        const unattached = only(only(rstr, t, 'RequestedUnattachedReference'), NS.wsse, 'SecurityTokenReference');
        assert.equal(only(unattached, NS.wsse, 'KeyIdentifier').getAttribute('ValueType'), SAML11_PROFILE_VALUE_TYPE);
        const entry = await sts.instance.store.ledger.get(id);
        assert.equal(entry?.tokenType, TOKEN_TYPE.saml11);
        assert.equal(entry?.subject, USER);
      });

      it('Validate says valid inline and by SecurityTokenReference (#SAMLAssertionID)', async () => {
        const { xml, id } = await issue11(combo);
        assert.deepEqual(status(await send(combo, 'Validate', `<t:ValidateTarget>${xml}</t:ValidateTarget>`), combo), { code: 'valid', reason: 'the token is valid' });
        const ref =
          `<o:SecurityTokenReference xmlns:o="${NS.wsse}"><o:KeyIdentifier ValueType="${SAML11_PROFILE_VALUE_TYPE}">${id}</o:KeyIdentifier></o:SecurityTokenReference>`;
        assert.deepEqual(status(await send(combo, 'Validate', `<t:ValidateTarget>${ref}</t:ValidateTarget>`), combo), { code: 'valid', reason: 'the token is valid' });
      });

      it('Renew gives a new SAML 1.1 token for the same subject, linked by renewedFrom', async () => {
        const old = await issue11(combo);
        const sent = await send(combo, 'Renew', `<t:RenewTarget>${old.xml}</t:RenewTarget>`);
        const rstr = rstrOf(sent, combo, 'Renew');
        assert.equal(childText(rstr, t, 'TokenType'), TOKEN_TYPE.saml11);
        const renewed = saml11Assertion(sent.res.body);
        const id = idOf(renewed);
        assert.notEqual(id, old.id);
        const a = parseStrict(renewed).documentElement;
        assert.equal(a.getAttribute('MajorVersion'), '1');
        assert.equal(a.getAttribute('MinorVersion'), '1');
        assert.equal(text(only(only(only(a, S1, 'AuthenticationStatement'), S1, 'Subject'), S1, 'NameIdentifier')), USER);
        assert.ok(verifyWithXmlsec1(renewed, sts.signingCertificatePem, SAML11_ASSERTION_NODE, 'AssertionID').ok);
        assert.deepEqual(attachedReferenceId(rstr, combo), { id, valueType: SAML11_PROFILE_VALUE_TYPE, tokenType: TOKEN_TYPE.saml11Profile });
        const entry = await sts.instance.store.ledger.get(id);
        assert.equal(entry?.renewedFrom, old.id);
        assert.equal(entry?.tokenType, TOKEN_TYPE.saml11);
        assert.deepEqual(status(await send(combo, 'Validate', `<t:ValidateTarget>${renewed}</t:ValidateTarget>`), combo).code, 'valid');
      });

      it('Cancel cancels it: RequestedTokenCancelled, then Validate says cancelled (inline and by reference)', async () => {
        const { xml, id } = await issue11(combo);
        const sent = await send(combo, 'Cancel', `<t:CancelTarget>${xml}</t:CancelTarget>`);
        const rstr = rstrOf(sent, combo, 'Validate');
        assert.equal(children(rstr, t, 'RequestedTokenCancelled').length, 1);
        assert.ok((await sts.instance.store.ledger.get(id))?.cancelledAt, 'the ledger marks it cancelled');
        assert.deepEqual(status(await send(combo, 'Validate', `<t:ValidateTarget>${xml}</t:ValidateTarget>`), combo), { code: 'invalid', reason: 'the token was cancelled' });
        const ref =
          `<o:SecurityTokenReference xmlns:o="${NS.wsse}"><o:KeyIdentifier ValueType="${SAML11_PROFILE_VALUE_TYPE}">${id}</o:KeyIdentifier></o:SecurityTokenReference>`;
        assert.deepEqual(status(await send(combo, 'Validate', `<t:ValidateTarget>${ref}</t:ValidateTarget>`), combo).code, 'invalid');
      });

      it('a tampered SAML 1.1 token is invalid (attribute value, NameIdentifier)', async () => {
        const { xml } = await issue11(combo);
        for (const tampered of [
          replaceOnce(xml, '<saml:AttributeValue>Staff</saml:AttributeValue>', '<saml:AttributeValue>Domain Admins</saml:AttributeValue>'),
          xml.replace(new RegExp(`>${USER.replace(/\./g, '\\.')}</saml:NameIdentifier>`, 'g'), '>mallory@saml11.example</saml:NameIdentifier>'),
        ]) {
          assert.notEqual(tampered, xml);
          const st = status(await send(combo, 'Validate', `<t:ValidateTarget>${tampered}</t:ValidateTarget>`), combo);
          assert.equal(st.code, 'invalid');
          assert.match(st.reason, /altered \(digest mismatch\)/);
        }
      });

      it('Golden SAML: a SAML 1.1 forgery signed with the STS\'s own key but never issued is invalid (no issuance record)', async () => {
        const now = new Date();
        const expires = new Date(now.getTime() + 3600_000);
        const forged = signCanonicalElement(
          buildSaml11Assertion({
            id: `_${randomUUID()}`,
            issueInstant: now,
            issuer: sts.instance.config.issuer,
            nameId: USER,
            nameIdFormat: SAML2.nameIdUnspecified,
            confirmationNotOnOrAfter: expires,
            notBefore: now,
            notOnOrAfter: expires,
            audience: RP,
            authnInstant: now,
            authnContextClassRef: SAML2.passwordProtectedTransport,
            attributes: [{ name: CLAIM.role, values: ['Domain Admins'] }],
          }),
          sts.instance.signingKey,
        ).xml;
        assert.ok(verifyWithXmlsec1(forged, sts.signingCertificatePem, SAML11_ASSERTION_NODE, 'AssertionID').ok, 'the forgery is cryptographically perfect');
        const before = await sts.instance.store.ledger.count();
        const st = status(await send(combo, 'Validate', `<t:ValidateTarget>${forged}</t:ValidateTarget>`), combo);
        assert.equal(st.code, 'invalid');
        assert.match(st.reason, /no matching issuance record/);
        // Nor can it be renewed into a genuine token.
        const renew = await send(combo, 'Renew', `<t:RenewTarget>${forged}</t:RenewTarget>`);
        assert.notEqual(renew.res.status, 200);
        assert.equal(await sts.instance.store.ledger.count(), before);
      });
    });
  }
});
