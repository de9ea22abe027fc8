import { setLedgerNotOnOrAfter } from '../support/ledger-tamper';
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { generateSelfSignedCertificate } from '../../src/keys/certificates';
import { loadSigningKey, type SigningKey } from '../../src/keys/signing-key';
import type { ServingInstance } from '../../src/instance/open-instance';
import { buildSaml2Assertion } from '../../src/saml/saml2-assertion';
import { signCanonicalElement } from '../../src/xml/enveloped-signature';
import { NS, SAML2, TOKEN_TYPE, WSA_FAULT_ACTION } from '../../src/xml/namespaces';
import { newLifecycleHome, removeLifecycleHome, startLifecycleSts, type LifecycleSts } from '../support/lifecycle-sts';
import { recordLogs, recordPassword } from '../support/observed-traffic';
import { allChildren, children, only, parseFault, parseStrict, path, text } from '../support/soap-reply';
import { postToSts, type PostResult } from '../support/sts-post';
import { startTestSts, type TestSts } from '../support/test-sts';
import { appliesTo, assertionText, pathOf, samlIdReference, trustNs, trustRequest, type Soap, type Version } from '../support/trust-messages';
import { idOf, replaceOnce } from '../support/xml-edit';
import { SAML2_ASSERTION_ID_ATTRIBUTE, verifyWithXmlsec1 } from '../support/xmlsec1';

// The token lifecycle after Issue: Validate (status and token transformation), Renew and Cancel,
// for WS-Trust 1.3 and February 2005 over SOAP 1.2 and 1.1. Above all: a token signed with the
// STS's own key that the STS never issued (Golden SAML) is never accepted, renewed or exchanged.

const ALICE = 'alice@lifecycle.example';
const ALICE_PASSWORD = 'Lifecycle-Alice-Pässwort-1!';
const BOB = 'bob@lifecycle.example';
const BOB_PASSWORD = 'Lifecycle-Bob-Secret-2?';

const EMAIL = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress';
const ROLE = 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role';

const RP_MAIN = { appliesTo: 'https://rp-main.lifecycle.example/', releasedClaims: [EMAIL, ROLE], tokenLifetimeSeconds: 3600 };
const RP_OTHER = { appliesTo: 'urn:example:lifecycle:other-rp', releasedClaims: [EMAIL, ROLE], tokenLifetimeSeconds: 1800 };
const RP_WINDOW = {
  appliesTo: 'urn:example:lifecycle:window-rp',
  releasedClaims: [EMAIL, ROLE],
  tokenLifetimeSeconds: 3600,
  expiredRenewalWindowSeconds: 3600,
};

const COMBINATIONS: ReadonlyArray<{ version: Version; soap: Soap }> = [
  { version: '1.3', soap: '1.2' },
  { version: '1.3', soap: '1.1' },
  { version: '2005', soap: '1.2' },
  { version: '2005', soap: '1.1' },
];
type Combo = (typeof COMBINATIONS)[number];

const USERS = {
  [ALICE]: ALICE_PASSWORD,
  [BOB]: BOB_PASSWORD,
} as const;
type User = keyof typeof USERS;

type Operation = 'Issue' | 'Validate' | 'Renew' | 'Cancel';

/** What every suite needs of a running server, whichever helper started it. */
interface Server {
  readonly home: string;
  readonly baseUrl: string;
  readonly instance: ServingInstance;
  readonly signingCertificatePem: string;
  readonly tlsCertificatePem: string;
}

interface Sent {
  readonly res: PostResult;
  readonly messageId: string;
}

const responseAction = (v: Version, op: 'Validate' | 'Renew' | 'Cancel'): string =>
  v === '1.3' ? `${trustNs(v)}/RSTR/${op}Final` : `${trustNs(v)}/RSTR/${op}`;
const soapNs = (s: Soap): string => (s === '1.2' ? NS.soap12 : NS.soap11);

// Signs of an internal error leaking to the caller: a JavaScript stack frame, a source file, an error class name.
const STACK_TRACE = /\n\s+at\s|\bat [\w.<>]+ \(|\.(?:ts|js):\d+|node_modules|[A-Za-z]+Error\b/;

const target = (op: 'Validate' | 'Renew' | 'Cancel', content: string): string => `<t:${op}Target>${content}</t:${op}Target>`;
const renewing = (attributes: string): string => `<t:Renewing ${attributes}/>`;
const tokenTypeSaml2 = `<t:TokenType>${TOKEN_TYPE.saml20}</t:TokenType>`;
const lifetimeEnding = (expires: Date): string =>
  `<t:Lifetime><wsu:Created xmlns:wsu="${NS.wsu}">${new Date().toISOString()}</wsu:Created>` +
  `<wsu:Expires xmlns:wsu="${NS.wsu}">${expires.toISOString()}</wsu:Expires></t:Lifetime>`;

interface TokenFacts {
  readonly id: string;
  readonly nameId: string;
  readonly audiences: string[];
  readonly notOnOrAfter: string;
  readonly attributes: Array<[string, string[]]>;
}

function factsOf(assertion: Element): TokenFacts {
  const s = NS.saml2;
  const conditions = only(assertion, s, 'Conditions');
  const statements = children(assertion, s, 'AttributeStatement');
  return {
    id: assertion.getAttribute('ID') ?? '',
    nameId: text(path(assertion, [[s, 'Subject'], [s, 'NameID']])),
    audiences: children(conditions, s, 'AudienceRestriction').flatMap((r) => children(r, s, 'Audience').map(text)),
    notOnOrAfter: conditions.getAttribute('NotOnOrAfter') ?? '',
    attributes: statements.flatMap((st) =>
      children(st, s, 'Attribute').map((a): [string, string[]] => [a.getAttribute('Name') ?? '', children(a, s, 'AttributeValue').map(text)]),
    ),
  };
}

function parseAssertion(xml: string): Element {
  return parseStrict(xml).documentElement;
}


/** The wire helpers every suite uses, bound to one server. */
function client(server: () => Server) {
  async function send(combo: Combo, op: Operation, rstBody: string, user: User = ALICE): Promise<Sent> {
    const messageId = `urn:uuid:${randomUUID()}`;
    const req = trustRequest({
      version: combo.version,
      soap: combo.soap,
      username: user,
      password: USERS[user],
      requestType: op,
      rstBody,
      messageId,
    });
    const res = await postToSts(`${server().baseUrl}${pathOf(combo.version)}`, {
      ca: server().tlsCertificatePem,
      headers: req.headers,
      body: req.body,
    });
    assert.doesNotMatch(res.body, STACK_TRACE, `the response leaks internals: ${res.body.slice(0, 2000)}`);
    return { res, messageId };
  }

  /** A successful reply's bare RSTR, after checking envelope, Action and RelatesTo. */
  function rstrOf(sent: Sent, combo: Combo, action: string): Element {
    assert.equal(sent.res.status, 200, sent.res.body);
    const doc = parseStrict(sent.res.body);
    const env = doc.documentElement;
    const s = soapNs(combo.soap);
    assert.equal(env.namespaceURI, s);
    assert.equal(env.localName, 'Envelope');
    const header = only(env, s, 'Header');
    assert.equal(text(only(header, NS.wsa10, 'Action')), action);
    assert.equal(text(only(header, NS.wsa10, 'RelatesTo')), sent.messageId);
    const bodyChildren = allChildren(only(env, s, 'Body'));
    assert.equal(bodyChildren.length, 1, 'one element in the Body');
    const rstr = bodyChildren[0] as Element;
    assert.equal(rstr.namespaceURI, trustNs(combo.version), 'the RSTR is in the version\'s namespace');
    assert.equal(rstr.localName, 'RequestSecurityTokenResponse', 'a bare RSTR, not a collection');
    return rstr;
  }

  /** Checks a Validate Status answer and returns its reason. */
  function expectStatus(sent: Sent, combo: Combo, valid: boolean, reason: RegExp): string {
    const rstr = rstrOf(sent, combo, responseAction(combo.version, 'Validate'));
    const t = trustNs(combo.version);
    assert.equal(text(only(rstr, t, 'TokenType')), `${t}/RSTR/Status`);
    const status = only(rstr, t, 'Status');
    assert.equal(text(only(status, t, 'Code')), `${t}/status/${valid ? 'valid' : 'invalid'}`);
    const reasonText = text(only(status, t, 'Reason'));
    assert.match(reasonText, reason);
    assert.equal(children(rstr, t, 'RequestedSecurityToken').length, 0, 'a status answer carries no token');
    assert.doesNotMatch(sent.res.body, /<Assertion[\s>]/, 'no assertion anywhere in a status answer');
    return reasonText;
  }

  function expectFault(sent: Sent, combo: Combo, code: 'InvalidRequest' | 'UnableToRenew', reason?: RegExp): void {
    assert.equal(sent.res.status, combo.soap === '1.2' ? 400 : 500, sent.res.body);
    const fault = parseFault(sent.res.body);
    assert.equal(fault.soapVersion, combo.soap);
    if (combo.soap === '1.2') assert.deepEqual(fault.code, { ns: NS.soap12, local: 'Sender' });
    assert.deepEqual(fault.subcode, { ns: trustNs(combo.version), local: code }, fault.reason);
    assert.equal(fault.relatesTo, sent.messageId);
    const header = only(fault.doc.documentElement, soapNs(combo.soap), 'Header');
    assert.equal(text(only(header, NS.wsa10, 'Action')), WSA_FAULT_ACTION);
    if (reason) assert.match(fault.reason, reason);
    assert.doesNotMatch(sent.res.body, /<Assertion[\s>]/, 'no token in a fault');
  }

  async function issue(
    combo: Combo,
    options: { rp?: string; extra?: string; user?: User } = {},
  ): Promise<{ xml: string; id: string }> {
    const sent = await send(combo, 'Issue', appliesTo(options.rp ?? RP_MAIN.appliesTo) + (options.extra ?? ''), options.user ?? ALICE);
    assert.equal(sent.res.status, 200, sent.res.body);
    const xml = assertionText(sent.res.body);
    return { xml, id: idOf(xml) };
  }

  const ledgerCount = (): Promise<number> => server().instance.store.ledger.count();

  /** Runs `fn` and checks that it added `added` ledger rows (0 for every refusal). */
  async function ledgerGrowsBy<T>(added: number, fn: () => Promise<T>): Promise<T> {
    const before = await ledgerCount();
    const result = await fn();
    assert.equal(await ledgerCount(), before + added, `the ledger should have grown by ${added}`);
    return result;
  }

  return { send, rstrOf, expectStatus, expectFault, issue, ledgerCount, ledgerGrowsBy };
}

/** An assertion made outside the STS and signed with `key`: what an attacker holding that key can produce. */
function forgeAssertion(
  server: Server,
  key: SigningKey | undefined,
  options: { id?: string; nameId?: string; audience?: string; role?: string } = {},
): string {
  const now = new Date();
  const expires = new Date(now.getTime() + 3600_000);
  const element = buildSaml2Assertion({
    id: options.id ?? `_${randomUUID()}`,
    issueInstant: now,
    issuer: server.instance.config.issuer,
    nameId: options.nameId ?? ALICE,
    nameIdFormat: SAML2.nameIdUnspecified,
    confirmationNotOnOrAfter: expires,
    notBefore: now,
    notOnOrAfter: expires,
    audience: options.audience ?? RP_MAIN.appliesTo,
    authnInstant: now,
    authnContextClassRef: SAML2.passwordProtectedTransport,
    attributes: [
      { name: EMAIL, values: [options.nameId ?? ALICE] },
      { name: ROLE, values: [options.role ?? 'Domain Admins'] },
    ],
  });
  return key ? signCanonicalElement(element, key).xml : element.beforeSignature + element.afterSignature;
}

function otherSigningKey(): SigningKey {
  const generated = generateSelfSignedCertificate({ commonName: 'Not The Trustbridge Signing Key', validDays: 2 });
  return loadSigningKey(generated.privateKeyPem, generated.certificatePem);
}

async function addPeople(sts: { addUser: TestSts['addUser'] }): Promise<void> {
  await sts.addUser({ name: ALICE, password: ALICE_PASSWORD, claims: [{ name: EMAIL, value: ALICE }, { name: ROLE, value: 'Staff' }] });
  await sts.addUser({ name: BOB, password: BOB_PASSWORD, claims: [{ name: EMAIL, value: BOB }, { name: ROLE, value: 'Staff' }] });
}

// ---------------------------------------------------------------------------------------------

describe('wstrust lifecycle: Validate', function () {
  this.timeout(60_000);
  let sts: TestSts;
  let otherKey: SigningKey;
  const c = client(() => sts);

  before(async () => {
    sts = await startTestSts();
    recordLogs(sts.logs);
    recordPassword(ALICE_PASSWORD, BOB_PASSWORD);
    await addPeople(sts);
    await sts.addRelyingParty(RP_MAIN);
    await sts.addRelyingParty(RP_OTHER);
    otherKey = otherSigningKey();
  });
  after(async () => {
    await sts?.stop();
  });

  for (const combo of COMBINATIONS) {
    describe(`WS-Trust ${combo.version} over SOAP ${combo.soap}`, () => {
      const validateInline = (xml: string, extra = '', user: User = ALICE): Promise<Sent> =>
        c.send(combo, 'Validate', target('Validate', xml) + extra, user);
      const validateReference = (id: string): Promise<Sent> => c.send(combo, 'Validate', target('Validate', samlIdReference(id)));

      it('answers Status valid for a token it issued, given inline, with the RSTR/Status token type, action and RelatesTo', async () => {
        const token = await c.issue(combo);
        const sent = await c.ledgerGrowsBy(0, () => validateInline(token.xml));
        c.expectStatus(sent, combo, true, /^the token is valid$/);
      });

      it('answers Status valid for a token named by a SecurityTokenReference (SAMLID)', async () => {
        const token = await c.issue(combo);
        const sent = await c.ledgerGrowsBy(0, () => validateReference(token.id));
        c.expectStatus(sent, combo, true, /^the token is valid$/);
      });

      it('answers invalid (digest mismatch) for a token whose attribute value was altered', async () => {
        const token = await c.issue(combo);
        c.expectStatus(await validateInline(token.xml), combo, true, /valid/);
        const tampered = replaceOnce(token.xml, '<AttributeValue>Staff</AttributeValue>', '<AttributeValue>Domain Admins</AttributeValue>');
        const sent = await c.ledgerGrowsBy(0, () => validateInline(tampered));
        c.expectStatus(sent, combo, false, /altered \(digest mismatch\)/);
      });

      it('answers invalid (digest mismatch) for a token whose NameID was altered', async () => {
        const token = await c.issue(combo);
        const tampered = replaceOnce(token.xml, `>${ALICE}</NameID>`, `>${BOB}</NameID>`);
        const sent = await c.ledgerGrowsBy(0, () => validateInline(tampered));
        c.expectStatus(sent, combo, false, /altered \(digest mismatch\)/);
      });

      it('answers invalid (untrusted certificate) for an assertion signed with another key', async () => {
        const forged = forgeAssertion(sts, otherKey);
        const sent = await c.ledgerGrowsBy(0, () => validateInline(forged));
        c.expectStatus(sent, combo, false, /signed with a certificate that is not trusted/);
      });

      it('answers invalid for an assertion signed with another key and no KeyInfo (tried against our keys only)', async () => {
        const forged = forgeAssertion(sts, otherKey).replace(/<ds:KeyInfo>.*<\/ds:KeyInfo>/, '');
        assert.doesNotMatch(forged, /KeyInfo/);
        const sent = await c.ledgerGrowsBy(0, () => validateInline(forged));
        c.expectStatus(sent, combo, false, /not valid under any trusted key/);
      });

      it('Golden SAML: answers invalid (no issuance record) for an assertion signed with the STS\'s own key that it never issued', async () => {
        const forged = forgeAssertion(sts, sts.instance.signingKey);
        // The forgery is cryptographically perfect: an independent verifier accepts it under our certificate.
        assert.ok(verifyWithXmlsec1(forged, sts.signingCertificatePem, SAML2_ASSERTION_ID_ATTRIBUTE).ok, 'the forgery verifies with xmlsec1');
        const sent = await c.ledgerGrowsBy(0, () => validateInline(forged));
        c.expectStatus(sent, combo, false, /not issued by this STS \(no matching issuance record\)/);
      });

      it('Golden SAML: answers invalid for a forgery with our key that reuses the ID of a genuine token (ledger digest differs)', async () => {
        const genuine = await c.issue(combo);
        const forged = forgeAssertion(sts, sts.instance.signingKey, { id: genuine.id });
        assert.notEqual(forged, genuine.xml);
        const sent = await c.ledgerGrowsBy(0, () => validateInline(forged));
        c.expectStatus(sent, combo, false, /no matching issuance record/);
        // The genuine token is unaffected.
        c.expectStatus(await validateInline(genuine.xml), combo, true, /^the token is valid$/);
      });

      it('answers invalid for an unsigned assertion', async () => {
        const unsigned = forgeAssertion(sts, undefined);
        assert.doesNotMatch(unsigned, /Signature/);
        const sent = await c.ledgerGrowsBy(0, () => validateInline(unsigned));
        c.expectStatus(sent, combo, false, /not signed/);
      });

      it('answers invalid (expired) once the ledger says the token ended more than the clock skew ago', async () => {
        const token = await c.issue(combo);
        c.expectStatus(await validateInline(token.xml), combo, true, /valid/);
        await setLedgerNotOnOrAfter(sts, token.id, new Date(Date.now() - 10 * 60_000));
        c.expectStatus(await c.ledgerGrowsBy(0, () => validateInline(token.xml)), combo, false, /^the token has expired$/);
        c.expectStatus(await c.ledgerGrowsBy(0, () => validateReference(token.id)), combo, false, /^the token has expired$/);
      });

      it('still answers valid for a token that ended less than the clock skew (300 s) ago', async () => {
        const token = await c.issue(combo);
        await setLedgerNotOnOrAfter(sts, token.id, new Date(Date.now() - 60_000));
        c.expectStatus(await validateInline(token.xml), combo, true, /^the token is valid$/);
      });

      it('answers invalid (cancelled) for a cancelled token, inline and by reference', async () => {
        const token = await c.issue(combo);
        assert.equal(await sts.instance.store.ledger.cancel(token.id, new Date()), true);
        c.expectStatus(await c.ledgerGrowsBy(0, () => validateInline(token.xml)), combo, false, /^the token was cancelled$/);
        c.expectStatus(await c.ledgerGrowsBy(0, () => validateReference(token.id)), combo, false, /^the token was cancelled$/);
      });

      it('answers invalid for a reference to an ID it never issued', async () => {
        const sent = await c.ledgerGrowsBy(0, () => validateReference(`_${randomUUID()}`));
        c.expectStatus(sent, combo, false, /^no token with this ID was issued by this STS$/);
      });

      it('answers invalid for the genuine signed assertion wrapped inside another element', async () => {
        const token = await c.issue(combo);
        const wrapped = `<w:Wrapper xmlns:w="urn:example:wrapping">${token.xml}</w:Wrapper>`;
        const sent = await c.ledgerGrowsBy(0, () => validateInline(wrapped));
        c.expectStatus(sent, combo, false, /^the token is not a SAML 2\.0 (or SAML 1\.1 )?assertion$/);
      });

      it('answers invalid when an altered copy with the same ID travels beside the genuine target', async () => {
        const token = await c.issue(combo);
        const altered = replaceOnce(token.xml, `>${ALICE}</NameID>`, `>${BOB}</NameID>`);
        const sent = await c.ledgerGrowsBy(0, () => validateInline(token.xml, `<w:Extra xmlns:w="urn:example:wrapping">${altered}</w:Extra>`));
        c.expectStatus(sent, combo, false, /more than one element carries the signed ID/);
      });

      it('answers invalid for an altered copy as the target while the genuine token sits elsewhere (signature wrapping)', async () => {
        const token = await c.issue(combo);
        const altered = replaceOnce(token.xml, `>${ALICE}</NameID>`, `>${BOB}</NameID>`);
        const sent = await c.ledgerGrowsBy(0, () => validateInline(altered, `<w:Extra xmlns:w="urn:example:wrapping">${token.xml}</w:Extra>`));
        c.expectStatus(sent, combo, false, /more than one element carries the signed ID|digest mismatch/);
      });

      describe('token transformation (TokenType SAML 2.0)', () => {
        it('exchanges a valid token for a new signed one for the same subject and the requested relying party', async () => {
          const original = await c.issue(combo);
          const sent = await c.ledgerGrowsBy(1, () =>
            validateInline(original.xml, tokenTypeSaml2 + appliesTo(RP_OTHER.appliesTo)),
          );
          const t = trustNs(combo.version);
          const rstr = c.rstrOf(sent, combo, responseAction(combo.version, 'Validate'));
          const status = only(rstr, t, 'Status');
          assert.equal(text(only(status, t, 'Code')), `${t}/status/valid`);
          assert.equal(text(only(rstr, t, 'TokenType')), TOKEN_TYPE.saml20);
          assert.equal(text(only(rstr, t, 'RequestType')), `${t}/Validate`);
          const assertion = path(rstr, [[t, 'RequestedSecurityToken'], [NS.saml2, 'Assertion']]);
          const before = factsOf(parseAssertion(original.xml));
          const after = factsOf(assertion);
          assert.notEqual(after.id, before.id, 'a new token ID');
          assert.equal(after.nameId, ALICE);
          assert.deepEqual(after.audiences, [RP_OTHER.appliesTo]);
          assert.deepEqual(after.attributes, before.attributes, 'the same claims');
          const xml = assertionText(sent.res.body);
          const checked = verifyWithXmlsec1(xml, sts.signingCertificatePem, SAML2_ASSERTION_ID_ATTRIBUTE);
          assert.ok(checked.ok, checked.output);
          const row = await sts.instance.store.ledger.get(after.id);
          assert.ok(row, 'the new token is in the ledger');
          assert.equal(row.subject, ALICE);
          assert.equal(row.audience, RP_OTHER.appliesTo);
          assert.equal(row.cancelledAt, null);
          // And the new token is itself one of ours.
          c.expectStatus(await validateInline(xml), combo, true, /^the token is valid$/);
        });

        it('answers only Status invalid, and issues nothing, for a Golden SAML forgery', async () => {
          const forged = forgeAssertion(sts, sts.instance.signingKey);
          const sent = await c.ledgerGrowsBy(0, () => validateInline(forged, tokenTypeSaml2 + appliesTo(RP_OTHER.appliesTo)));
          c.expectStatus(sent, combo, false, /no matching issuance record/);
        });

        it('answers only Status invalid for a tampered, a cancelled and a wrapped target', async () => {
          const token = await c.issue(combo);
          const tampered = replaceOnce(token.xml, '<AttributeValue>Staff</AttributeValue>', '<AttributeValue>Domain Admins</AttributeValue>');
          const exchange = tokenTypeSaml2 + appliesTo(RP_OTHER.appliesTo);
          c.expectStatus(await c.ledgerGrowsBy(0, () => validateInline(tampered, exchange)), combo, false, /digest mismatch/);
          const altered = replaceOnce(token.xml, `>${ALICE}</NameID>`, `>${BOB}</NameID>`);
          c.expectStatus(
            await c.ledgerGrowsBy(0, () => validateInline(altered, exchange + `<w:Extra xmlns:w="urn:example:wrapping">${token.xml}</w:Extra>`)),
            combo,
            false,
            /more than one element carries the signed ID|digest mismatch/,
          );
          assert.equal(await sts.instance.store.ledger.cancel(token.id, new Date()), true);
          c.expectStatus(await c.ledgerGrowsBy(0, () => validateInline(token.xml, exchange)), combo, false, /cancelled/);
        });
      });

      it('refuses a Validate without ValidateTarget (InvalidRequest)', async () => {
        const sent = await c.ledgerGrowsBy(0, () => c.send(combo, 'Validate', ''));
        c.expectFault(sent, combo, 'InvalidRequest', /ValidateTarget/);
      });
    });
  }
});

// ---------------------------------------------------------------------------------------------

describe('wstrust lifecycle: Renew', function () {
  this.timeout(60_000);
  let sts: TestSts;
  const c = client(() => sts);

  before(async () => {
    sts = await startTestSts();
    recordLogs(sts.logs);
    recordPassword(ALICE_PASSWORD, BOB_PASSWORD);
    await addPeople(sts);
    await sts.addRelyingParty(RP_MAIN);
    await sts.addRelyingParty(RP_WINDOW);
  });
  after(async () => {
    await sts?.stop();
  });

  for (const combo of COMBINATIONS) {
    describe(`WS-Trust ${combo.version} over SOAP ${combo.soap}`, () => {
      const renewInline = (xml: string, user: User = ALICE): Promise<Sent> => c.send(combo, 'Renew', target('Renew', xml), user);

      /** Checks a successful Renew reply and returns the new token's facts and text. */
      async function expectRenewed(sent: Sent, old: { xml: string; id: string }): Promise<{ facts: TokenFacts; xml: string }> {
        const t = trustNs(combo.version);
        const rstr = c.rstrOf(sent, combo, responseAction(combo.version, 'Renew'));
        assert.equal(text(only(rstr, t, 'RequestType')), `${t}/Renew`);
        assert.equal(text(only(rstr, t, 'TokenType')), TOKEN_TYPE.saml20);
        const assertion = path(rstr, [[t, 'RequestedSecurityToken'], [NS.saml2, 'Assertion']]);
        const before = factsOf(parseAssertion(old.xml));
        const after = factsOf(assertion);
        assert.notEqual(after.id, old.id, 'a new token ID');
        assert.equal(after.nameId, before.nameId, 'the same NameID');
        assert.deepEqual(after.attributes, before.attributes, 'the same attributes');
        assert.deepEqual(after.audiences, before.audiences, 'the same audience');
        const xml = assertionText(sent.res.body);
        const checked = verifyWithXmlsec1(xml, sts.signingCertificatePem, SAML2_ASSERTION_ID_ATTRIBUTE);
        assert.ok(checked.ok, checked.output);
        const row = await sts.instance.store.ledger.get(after.id);
        assert.ok(row, 'the renewed token is in the ledger');
        assert.equal(row.renewedFrom, old.id);
        assert.equal(row.subject, ALICE);
        assert.equal(row.audience, before.audiences[0]);
        assert.equal(row.notOnOrAfter.toISOString(), after.notOnOrAfter);
        return { facts: after, xml };
      }

      it('renews a valid token: new ID, new lifetime, same subject, claims and audience, linked in the ledger', async () => {
        // Issued for 10 minutes; the renewal gets the relying party's full hour.
        const old = await c.issue(combo, { extra: lifetimeEnding(new Date(Date.now() + 10 * 60_000)) });
        const oldEnd = Date.parse(factsOf(parseAssertion(old.xml)).notOnOrAfter);
        const sent = await c.ledgerGrowsBy(1, () => renewInline(old.xml));
        const renewed = await expectRenewed(sent, old);
        const newEnd = Date.parse(renewed.facts.notOnOrAfter);
        assert.ok(newEnd - oldEnd > 40 * 60_000, `a new lifetime (old end ${new Date(oldEnd).toISOString()}, new ${renewed.facts.notOnOrAfter})`);
        const validated = await c.send(combo, 'Validate', target('Validate', renewed.xml));
        c.expectStatus(validated, combo, true, /^the token is valid$/);
      });

      it('refuses to renew a cancelled token (UnableToRenew)', async () => {
        const token = await c.issue(combo);
        assert.equal(await sts.instance.store.ledger.cancel(token.id, new Date()), true);
        c.expectFault(await c.ledgerGrowsBy(0, () => renewInline(token.xml)), combo, 'UnableToRenew', /cancelled/);
      });

      it('refuses to renew a token issued with Renewing Allow="false" (UnableToRenew)', async () => {
        const token = await c.issue(combo, { extra: renewing('Allow="false"') });
        const row = await sts.instance.store.ledger.get(token.id);
        assert.equal(row?.renewAllow, false);
        c.expectFault(await c.ledgerGrowsBy(0, () => renewInline(token.xml)), combo, 'UnableToRenew', /Allow="false"/);
      });

      it('refuses a token presented by a user other than its subject (UnableToRenew)', async () => {
        const token = await c.issue(combo);
        c.expectFault(await c.ledgerGrowsBy(0, () => renewInline(token.xml, BOB)), combo, 'UnableToRenew', /own subject/);
      });

      it('Golden SAML: refuses to renew a forgery signed with the STS\'s own key (UnableToRenew)', async () => {
        const forged = forgeAssertion(sts, sts.instance.signingKey);
        c.expectFault(await c.ledgerGrowsBy(0, () => renewInline(forged)), combo, 'UnableToRenew', /no matching issuance record/);
      });

      it('Golden SAML: refuses a forgery with our key reusing a genuine token\'s ID (UnableToRenew)', async () => {
        const genuine = await c.issue(combo);
        const forged = forgeAssertion(sts, sts.instance.signingKey, { id: genuine.id });
        c.expectFault(await c.ledgerGrowsBy(0, () => renewInline(forged)), combo, 'UnableToRenew', /no matching issuance record/);
      });

      it('refuses a tampered token (UnableToRenew)', async () => {
        const token = await c.issue(combo);
        const tampered = replaceOnce(token.xml, '<AttributeValue>Staff</AttributeValue>', '<AttributeValue>Domain Admins</AttributeValue>');
        c.expectFault(await c.ledgerGrowsBy(0, () => renewInline(tampered)), combo, 'UnableToRenew', /digest mismatch/);
      });

      it('refuses a token signed by another key and an unsigned one (UnableToRenew)', async () => {
        c.expectFault(await c.ledgerGrowsBy(0, () => renewInline(forgeAssertion(sts, otherSigningKey()))), combo, 'UnableToRenew', /not trusted/);
        c.expectFault(await c.ledgerGrowsBy(0, () => renewInline(forgeAssertion(sts, undefined))), combo, 'UnableToRenew', /not signed/);
      });

      it('refuses a wrapped token: an altered same-ID copy as the target, the genuine one beside it (UnableToRenew)', async () => {
        const token = await c.issue(combo);
        const altered = replaceOnce(token.xml, `>${ALICE}</NameID>`, `>${BOB}</NameID>`);
        const sent = await c.ledgerGrowsBy(0, () =>
          c.send(combo, 'Renew', target('Renew', altered) + `<w:Extra xmlns:w="urn:example:wrapping">${token.xml}</w:Extra>`, BOB),
        );
        c.expectFault(sent, combo, 'UnableToRenew');
      });

      it('refuses an expired token when the relying party has no expired-renewal window, even with Renewing OK (UnableToRenew)', async () => {
        const token = await c.issue(combo, { extra: renewing('OK="true"') });
        assert.equal((await sts.instance.store.ledger.get(token.id))?.renewAfterExpiry, true);
        await setLedgerNotOnOrAfter(sts, token.id, new Date(Date.now() - 10 * 60_000));
        c.expectFault(await c.ledgerGrowsBy(0, () => renewInline(token.xml)), combo, 'UnableToRenew', /expired/);
      });

      it('refuses an expired token issued without Renewing OK, even within the relying party\'s window (UnableToRenew)', async () => {
        const token = await c.issue(combo, { rp: RP_WINDOW.appliesTo });
        await setLedgerNotOnOrAfter(sts, token.id, new Date(Date.now() - 10 * 60_000));
        c.expectFault(await c.ledgerGrowsBy(0, () => renewInline(token.xml)), combo, 'UnableToRenew', /expired/);
      });

      it('renews an expired token issued with Renewing OK within the relying party\'s window', async () => {
        const token = await c.issue(combo, { rp: RP_WINDOW.appliesTo, extra: renewing('OK="true"') });
        await setLedgerNotOnOrAfter(sts, token.id, new Date(Date.now() - 10 * 60_000));
        // It really is expired for Validate.
        c.expectStatus(await c.send(combo, 'Validate', target('Validate', token.xml)), combo, false, /expired/);
        const sent = await c.ledgerGrowsBy(1, () => renewInline(token.xml));
        const renewed = await expectRenewed(sent, token);
        assert.ok(Date.parse(renewed.facts.notOnOrAfter) > Date.now() + 50 * 60_000, 'the renewal has a fresh lifetime');
        const row = await sts.instance.store.ledger.get(renewed.facts.id);
        assert.equal(row?.renewAfterExpiry, true, 'the renewal keeps Renewing OK');
        c.expectStatus(await c.send(combo, 'Validate', target('Validate', renewed.xml)), combo, true, /^the token is valid$/);
      });

      it('refuses an expired token issued with Renewing OK that expired longer ago than the window (UnableToRenew)', async () => {
        const token = await c.issue(combo, { rp: RP_WINDOW.appliesTo, extra: renewing('OK="true"') });
        await setLedgerNotOnOrAfter(sts, token.id, new Date(Date.now() - (RP_WINDOW.expiredRenewalWindowSeconds + 600) * 1000));
        c.expectFault(await c.ledgerGrowsBy(0, () => renewInline(token.xml)), combo, 'UnableToRenew', /expired/);
      });

      it('refuses a RenewTarget holding a SecurityTokenReference (InvalidRequest)', async () => {
        const token = await c.issue(combo);
        const sent = await c.ledgerGrowsBy(0, () => c.send(combo, 'Renew', target('Renew', samlIdReference(token.id))));
        c.expectFault(sent, combo, 'InvalidRequest', /not a reference/);
      });

      it('refuses a Renew without RenewTarget (InvalidRequest)', async () => {
        c.expectFault(await c.ledgerGrowsBy(0, () => c.send(combo, 'Renew', '')), combo, 'InvalidRequest', /RenewTarget/);
      });
    });
  }
});

// ---------------------------------------------------------------------------------------------

describe('wstrust lifecycle: Cancel', function () {
  this.timeout(60_000);
  let sts: TestSts;
  const c = client(() => sts);

  before(async () => {
    sts = await startTestSts();
    recordLogs(sts.logs);
    recordPassword(ALICE_PASSWORD, BOB_PASSWORD);
    await addPeople(sts);
    await sts.addRelyingParty(RP_MAIN);
  });
  after(async () => {
    await sts?.stop();
  });

  for (const combo of COMBINATIONS) {
    describe(`WS-Trust ${combo.version} over SOAP ${combo.soap}`, () => {
      const cancel = (content: string, user: User = ALICE): Promise<Sent> => c.send(combo, 'Cancel', target('Cancel', content), user);

      function expectCancelled(sent: Sent): void {
        const rstr = c.rstrOf(sent, combo, responseAction(combo.version, 'Cancel'));
        const kids = allChildren(rstr);
        assert.equal(kids.length, 1, 'only RequestedTokenCancelled');
        assert.equal(kids[0]?.namespaceURI, trustNs(combo.version));
        assert.equal(kids[0]?.localName, 'RequestedTokenCancelled');
        assert.equal(allChildren(kids[0] as Element).length, 0);
      }

      async function expectDead(token: { xml: string; id: string }): Promise<void> {
        c.expectStatus(await c.send(combo, 'Validate', target('Validate', token.xml)), combo, false, /^the token was cancelled$/);
        c.expectStatus(await c.send(combo, 'Validate', target('Validate', samlIdReference(token.id))), combo, false, /^the token was cancelled$/);
        c.expectFault(await c.ledgerGrowsBy(0, () => c.send(combo, 'Renew', target('Renew', token.xml))), combo, 'UnableToRenew', /cancelled/);
      }

      it('cancels a token given inline; afterwards Validate says cancelled and Renew refuses', async () => {
        const token = await c.issue(combo);
        const sent = await c.ledgerGrowsBy(0, () => cancel(token.xml));
        expectCancelled(sent);
        const row = await sts.instance.store.ledger.get(token.id);
        assert.ok(row?.cancelledAt instanceof Date, 'the ledger records the cancellation');
        await expectDead(token);
      });

      it('cancels a token named by a SecurityTokenReference', async () => {
        const token = await c.issue(combo);
        expectCancelled(await c.ledgerGrowsBy(0, () => cancel(samlIdReference(token.id))));
        await expectDead(token);
      });

      it('refuses to cancel an unknown token (InvalidRequest)', async () => {
        c.expectFault(await c.ledgerGrowsBy(0, () => cancel(samlIdReference(`_${randomUUID()}`))), combo, 'InvalidRequest', /not a token this STS issued/);
      });

      it('Golden SAML: refuses to cancel a forgery signed with our key (InvalidRequest)', async () => {
        const forged = forgeAssertion(sts, sts.instance.signingKey);
        c.expectFault(await c.ledgerGrowsBy(0, () => cancel(forged)), combo, 'InvalidRequest', /not a token this STS issued/);
      });

      it('refuses to cancel another user\'s token, inline or by reference (InvalidRequest), and the token stays valid', async () => {
        const token = await c.issue(combo);
        c.expectFault(await c.ledgerGrowsBy(0, () => cancel(token.xml, BOB)), combo, 'InvalidRequest', /own subject/);
        c.expectFault(await c.ledgerGrowsBy(0, () => cancel(samlIdReference(token.id), BOB)), combo, 'InvalidRequest', /own subject/);
        assert.equal((await sts.instance.store.ledger.get(token.id))?.cancelledAt, null);
        c.expectStatus(await c.send(combo, 'Validate', target('Validate', token.xml)), combo, true, /^the token is valid$/);
      });

      it('refuses a second cancel of the same token (InvalidRequest)', async () => {
        const token = await c.issue(combo);
        expectCancelled(await cancel(token.xml));
        const first = (await sts.instance.store.ledger.get(token.id))?.cancelledAt;
        c.expectFault(await c.ledgerGrowsBy(0, () => cancel(token.xml)), combo, 'InvalidRequest', /already cancelled/);
        c.expectFault(await c.ledgerGrowsBy(0, () => cancel(samlIdReference(token.id))), combo, 'InvalidRequest', /already cancelled/);
        assert.equal((await sts.instance.store.ledger.get(token.id))?.cancelledAt?.getTime(), first?.getTime(), 'the first cancellation time stands');
      });

      it('refuses a Cancel without CancelTarget (InvalidRequest)', async () => {
        c.expectFault(await c.ledgerGrowsBy(0, () => c.send(combo, 'Cancel', '')), combo, 'InvalidRequest', /CancelTarget/);
      });
    });
  }
});

// ---------------------------------------------------------------------------------------------

describe('wstrust lifecycle: cancellation survives a restart on the same home directory', function () {
  this.timeout(60_000);
  let home: string | undefined;
  let first: LifecycleSts | undefined;
  let second: LifecycleSts | undefined;
  let current: LifecycleSts | undefined;
  const c = client(() => current as LifecycleSts);
  const tokens = new Map<string, { cancelled: { xml: string; id: string }; kept: { xml: string; id: string } }>();

  before(async () => {
    home = newLifecycleHome();
    first = await startLifecycleSts(home);
    current = first;
    recordLogs(first.logs);
    recordPassword(ALICE_PASSWORD, BOB_PASSWORD);
    await addPeople(first);
    await first.addRelyingParty(RP_MAIN);
    for (const combo of COMBINATIONS) {
      const cancelled = await c.issue(combo);
      const kept = await c.issue(combo);
      const sent = await c.send(combo, 'Cancel', target('Cancel', cancelled.xml));
      c.rstrOf(sent, combo, responseAction(combo.version, 'Cancel'));
      tokens.set(`${combo.version}/${combo.soap}`, { cancelled, kept });
    }
    const firstCertificate = first.signingCertificatePem;
    await first.stop();
    second = await startLifecycleSts(home);
    current = second;
    recordLogs(second.logs);
    assert.equal(second.signingCertificatePem, firstCertificate, 'the same signing key after the restart');
  });
  after(async () => {
    await first?.stop();
    await second?.stop();
    if (home) removeLifecycleHome(home);
  });

  for (const combo of COMBINATIONS) {
    it(`WS-Trust ${combo.version} over SOAP ${combo.soap}: the new server still sees the cancellation; the other token stays valid`, async () => {
      const pair = tokens.get(`${combo.version}/${combo.soap}`);
      assert.ok(pair);
      const { cancelled, kept } = pair;
      c.expectStatus(
        await c.ledgerGrowsBy(0, () => c.send(combo, 'Validate', target('Validate', cancelled.xml))),
        combo,
        false,
        /^the token was cancelled$/,
      );
      c.expectStatus(await c.send(combo, 'Validate', target('Validate', samlIdReference(cancelled.id))), combo, false, /^the token was cancelled$/);
      c.expectFault(await c.ledgerGrowsBy(0, () => c.send(combo, 'Renew', target('Renew', cancelled.xml))), combo, 'UnableToRenew', /cancelled/);
      c.expectFault(await c.send(combo, 'Cancel', target('Cancel', cancelled.xml)), combo, 'InvalidRequest', /already cancelled/);
      c.expectStatus(await c.send(combo, 'Validate', target('Validate', kept.xml)), combo, true, /^the token is valid$/);
    });
  }
});
