import { strict as assert } from 'node:assert';
import { createHash, randomUUID, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSigningKey, type SigningKey } from '../../src/keys/signing-key';
import { buildSaml2Assertion } from '../../src/saml/saml2-assertion';
import { signCanonicalElement } from '../../src/xml/enveloped-signature';
import { NS, SAML2, TOKEN_TYPE } from '../../src/xml/namespaces';
import {
  ALL_COMBOS,
  childText,
  children,
  comboName,
  expectFault,
  newKeyPair,
  only,
  parseStrict,
  rstrOf,
  sendTrust,
  setLedgerNotOnOrAfter,
  text,
  type Combo,
  type Sent,
} from '../support/ext-trust';
import { startTestSts, type TestSts } from '../support/test-sts';
import { appliesTo, assertionText, trustNs } from '../support/trust-messages';
import { runSts } from '../support/unit-cli';
import { SAML2_ASSERTION_ID_ATTRIBUTE, verifyWithXmlsec1 } from '../support/xmlsec1';

// OnBehalfOf and ActAs: a service (svc) allowed to delegate for a relying party presents a user's
// (alice's) token and gets a token for alice, stating svc as the actor. Who may delegate, which
// presented tokens are good enough, external issuers pinned by certificate, and the CLI for pins.

const EMAIL = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress';
const ROLE = 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role';
const ACTOR = 'http://schemas.xmlsoap.org/ws/2009/09/identity/claims/actor';

const ALICE = 'alice@deleg.example';
const SVC = 'svc@deleg.example';
const ROGUE = 'rogue@deleg.example';
const PASSWORDS: Record<string, string> = {
  [ALICE]: 'Alice-Delegation-Secret-1',
  [SVC]: 'Svc-Delegation-Secret-2',
  [ROGUE]: 'Rogue-Delegation-Secret-3',
};
const RP_FRONT = 'https://front.deleg.example/';
const RP_BACK = 'https://back.deleg.example/';
const RP_OTHER = 'https://other.deleg.example/';
const PARTNER = 'https://idp.partner/';

const onBehalfOf = (token: string): string => `<t:OnBehalfOf>${token}</t:OnBehalfOf>`;
const actAs = (token: string): string => `<tr:ActAs xmlns:tr="${NS.wst14}">${token}</tr:ActAs>`;

interface Facts {
  readonly id: string;
  readonly issuer: string;
  readonly nameId: string;
  readonly audience: string;
  readonly attributes: Record<string, string[]>;
}

function factsOf(xml: string): Facts {
  const a = parseStrict(xml).documentElement;
  const s = NS.saml2;
  const attributes: Record<string, string[]> = {};
  for (const st of children(a, s, 'AttributeStatement')) {
    for (const attr of children(st, s, 'Attribute')) attributes[attr.getAttribute('Name') ?? ''] = children(attr, s, 'AttributeValue').map(text);
  }
  return {
    id: a.getAttribute('ID') ?? '',
    issuer: text(only(a, s, 'Issuer')),
    nameId: text(only(only(a, s, 'Subject'), s, 'NameID')),
    audience: text(only(only(only(a, s, 'Conditions'), s, 'AudienceRestriction'), s, 'Audience')),
    attributes,
  };
}

/** A SAML 2.0 assertion made outside the STS for `audience`, signed with `key`. */
function externalAssertion(
  key: SigningKey,
  o: { issuer: string; nameId: string; audience: string; notBefore?: Date; notOnOrAfter?: Date; role?: string },
): string {
  const now = new Date();
  const notBefore = o.notBefore ?? new Date(now.getTime() - 60_000);
  const notOnOrAfter = o.notOnOrAfter ?? new Date(now.getTime() + 3600_000);
  return signCanonicalElement(
    buildSaml2Assertion({
      id: `_${randomUUID()}`,
      issueInstant: notBefore,
      issuer: o.issuer,
      nameId: o.nameId,
      nameIdFormat: SAML2.nameIdUnspecified,
      confirmationNotOnOrAfter: notOnOrAfter,
      notBefore,
      notOnOrAfter,
      audience: o.audience,
      authnInstant: notBefore,
      authnContextClassRef: SAML2.passwordProtectedTransport,
      attributes: [
        { name: EMAIL, values: [o.nameId] },
        { name: ROLE, values: [o.role ?? 'PartnerStaff'] },
      ],
    }),
    key,
  ).xml;
}

const sha256Hex = (pem: string): string => createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');

async function startDelegationSts(): Promise<TestSts> {
  const sts = await startTestSts();
  await sts.addUser({ name: ALICE, password: PASSWORDS[ALICE] as string, claims: [{ name: EMAIL, value: ALICE }, { name: ROLE, value: 'Staff' }] });
  await sts.addUser({ name: SVC, password: PASSWORDS[SVC] as string, claims: [{ name: EMAIL, value: SVC }, { name: ROLE, value: 'Service' }] });
  await sts.addUser({ name: ROGUE, password: PASSWORDS[ROGUE] as string, claims: [{ name: EMAIL, value: ROGUE }, { name: ROLE, value: 'Staff' }] });
  await sts.addRelyingParty({ appliesTo: RP_FRONT, releasedClaims: [EMAIL, ROLE] });
  await sts.addRelyingParty({ appliesTo: RP_BACK, releasedClaims: [EMAIL, ROLE], delegates: [SVC] });
  await sts.addRelyingParty({ appliesTo: RP_OTHER, releasedClaims: [EMAIL, ROLE], delegates: [SVC] });
  return sts;
}

function client(server: () => TestSts) {
  const send = (combo: Combo, user: string, op: 'Issue' | 'Validate' | 'Cancel', rstBody: string): Promise<Sent> =>
    sendTrust(server(), combo, { user, password: PASSWORDS[user] as string, op, rstBody });

  /** A token for `user` from the STS, as its own. */
  async function tokenOf(combo: Combo, user: string, rp = RP_FRONT): Promise<string> {
    const sent = await send(combo, user, 'Issue', appliesTo(rp));
    assert.equal(sent.res.status, 200, sent.res.body.slice(0, 800));
    return assertionText(sent.res.body);
  }

  /** A successful delegated Issue: checks the signature and returns the new token's facts. */
  function delegatedToken(sent: Sent, combo: Combo): Facts & { xml: string } {
    rstrOf(sent, combo);
    const xml = assertionText(sent.res.body);
    const verified = verifyWithXmlsec1(xml, server().signingCertificatePem, SAML2_ASSERTION_ID_ATTRIBUTE);
    assert.ok(verified.ok, verified.output);
    return { ...factsOf(xml), xml };
  }

  return { send, tokenOf, delegatedToken };
}

describe('wstrust delegation: OnBehalfOf and ActAs with tokens of this STS', function () {
  this.timeout(60_000);
  let sts: TestSts;
  const c = client(() => sts);
  let otherKey: SigningKey;

  before(async () => {
    sts = await startDelegationSts();
    const other = newKeyPair('not-the-sts');
    otherKey = loadSigningKey(other.privateKeyPem, other.certificatePem);
  });
  after(async () => {
    await sts?.stop();
  });

  for (const combo of ALL_COMBOS) {
    describe(comboName(combo), () => {
      for (const [kind, wrap] of [
        ['OnBehalfOf', onBehalfOf],
        ['ActAs (WS-Trust 1.4 namespace)', actAs],
      ] as const) {
        it(`${kind}: svc gets a token for alice with alice's released claims and actor svc; the ledger records actor svc`, async () => {
          const alice = await c.tokenOf(combo, ALICE);
          const before = await sts.instance.store.ledger.count();
          const sent = await c.send(combo, SVC, 'Issue', appliesTo(RP_BACK) + wrap(alice));
          const token = c.delegatedToken(sent, combo);
          assert.equal(token.nameId, ALICE);
          assert.equal(token.audience, RP_BACK);
          assert.equal(token.issuer, sts.instance.config.issuer);
          assert.deepEqual(token.attributes, { [EMAIL]: [ALICE], [ROLE]: ['Staff'], [ACTOR]: [SVC] });
          assert.notEqual(token.id, factsOf(alice).id);
          const entry = await sts.instance.store.ledger.get(token.id);
          assert.equal(entry?.subject, ALICE);
          assert.equal(entry?.actor, SVC);
          assert.equal(entry?.audience, RP_BACK);
          assert.equal(await sts.instance.store.ledger.count(), before + 1);
        });
      }

      it('an ordinary token records no actor and carries no actor claim', async () => {
        const alice = await c.tokenOf(combo, ALICE, RP_BACK);
        const facts = factsOf(alice);
        assert.equal(facts.attributes[ACTOR], undefined);
        assert.equal((await sts.instance.store.ledger.get(facts.id))?.actor, null);
      });

      it('rogue (not an allowed delegate) is refused with t:RequestFailed', async () => {
        const alice = await c.tokenOf(combo, ALICE);
        for (const wrap of [onBehalfOf, actAs]) {
          const before = await sts.instance.store.ledger.count();
          const sent = await c.send(combo, ROGUE, 'Issue', appliesTo(RP_BACK) + wrap(alice));
          expectFault(sent, combo, 'wst', 'RequestFailed');
          assert.equal(await sts.instance.store.ledger.count(), before);
        }
      });

      it('svc is refused for a relying party that allows no delegation (t:RequestFailed)', async () => {
        const alice = await c.tokenOf(combo, ALICE);
        expectFault(await c.send(combo, SVC, 'Issue', appliesTo(RP_FRONT) + onBehalfOf(alice)), combo, 'wst', 'RequestFailed');
      });

      it('OnBehalfOf a cancelled token: t:FailedAuthentication (WS-Trust namespace)', async () => {
        const alice = await c.tokenOf(combo, ALICE);
        assert.equal(await sts.instance.store.ledger.cancel(factsOf(alice).id, new Date()), true);
        expectFault(await c.send(combo, SVC, 'Issue', appliesTo(RP_BACK) + onBehalfOf(alice)), combo, 'wst', 'FailedAuthentication', /cancelled/);
      });

      it('OnBehalfOf a tampered token: t:FailedAuthentication', async () => {
        const alice = await c.tokenOf(combo, ALICE);
        const tampered = alice.replace('<AttributeValue>Staff</AttributeValue>', '<AttributeValue>Domain Admins</AttributeValue>');
        assert.notEqual(tampered, alice);
        const before = await sts.instance.store.ledger.count();
        expectFault(await c.send(combo, SVC, 'Issue', appliesTo(RP_BACK) + onBehalfOf(tampered)), combo, 'wst', 'FailedAuthentication');
        assert.equal(await sts.instance.store.ledger.count(), before);
      });

      it('OnBehalfOf an expired token (ledger lifetime ended 10 minutes ago): t:FailedAuthentication', async () => {
        const alice = await c.tokenOf(combo, ALICE);
        await setLedgerNotOnOrAfter(sts, factsOf(alice).id, new Date(Date.now() - 10 * 60_000));
        expectFault(await c.send(combo, SVC, 'Issue', appliesTo(RP_BACK) + actAs(alice)), combo, 'wst', 'FailedAuthentication', /expired/);
      });

      it('OnBehalfOf a forgery signed with the STS\'s own key (never issued): t:FailedAuthentication', async () => {
        const forged = externalAssertion(sts.instance.signingKey, { issuer: sts.instance.config.issuer, nameId: ALICE, audience: RP_FRONT, role: 'Domain Admins' });
        assert.ok(verifyWithXmlsec1(forged, sts.signingCertificatePem, SAML2_ASSERTION_ID_ATTRIBUTE).ok, 'a perfect forgery');
        const before = await sts.instance.store.ledger.count();
        expectFault(await c.send(combo, SVC, 'Issue', appliesTo(RP_BACK) + onBehalfOf(forged)), combo, 'wst', 'FailedAuthentication');
        expectFault(await c.send(combo, SVC, 'Issue', appliesTo(RP_BACK) + actAs(forged)), combo, 'wst', 'FailedAuthentication');
        assert.equal(await sts.instance.store.ledger.count(), before);
      });

      it('OnBehalfOf a token signed by an unknown key naming this STS as issuer: t:FailedAuthentication', async () => {
        const forged = externalAssertion(otherKey, { issuer: sts.instance.config.issuer, nameId: ALICE, audience: RP_FRONT });
        expectFault(await c.send(combo, SVC, 'Issue', appliesTo(RP_BACK) + onBehalfOf(forged)), combo, 'wst', 'FailedAuthentication');
      });

      it('both OnBehalfOf and ActAs: t:InvalidRequest', async () => {
        const alice = await c.tokenOf(combo, ALICE);
        expectFault(await c.send(combo, SVC, 'Issue', appliesTo(RP_BACK) + onBehalfOf(alice) + actAs(alice)), combo, 'wst', 'InvalidRequest', /OnBehalfOf or ActAs/);
      });

      describe('Validate token transformation (TokenType SAML 2.0, AppliesTo another relying party)', () => {
        const transform = (token: string, rp = RP_OTHER): string =>
          `<t:TokenType>${TOKEN_TYPE.saml20}</t:TokenType>` + appliesTo(rp) + `<t:ValidateTarget>${token}</t:ValidateTarget>`;

        function transformed(sent: Sent): Facts & { xml: string } {
          const t = trustNs(combo.version);
          const rstr = rstrOf(sent, combo, 'Validate');
          assert.equal(childText(only(rstr, t, 'Status'), t, 'Code'), `${t}/status/valid`);
          const xml = assertionText(sent.res.body);
          assert.ok(verifyWithXmlsec1(xml, sts.signingCertificatePem, SAML2_ASSERTION_ID_ATTRIBUTE).ok);
          return { ...factsOf(xml), xml };
        }

        it('by svc (an allowed delegate of that relying party): a token for alice with actor svc', async () => {
          const alice = await c.tokenOf(combo, ALICE);
          const token = transformed(await c.send(combo, SVC, 'Validate', transform(alice)));
          assert.equal(token.nameId, ALICE);
          assert.equal(token.audience, RP_OTHER);
          assert.deepEqual(token.attributes[ACTOR], [SVC]);
          assert.deepEqual(token.attributes[ROLE], ['Staff']);
          assert.equal((await sts.instance.store.ledger.get(token.id))?.actor, SVC);
        });

        it('by rogue: t:RequestFailed', async () => {
          const alice = await c.tokenOf(combo, ALICE);
          const before = await sts.instance.store.ledger.count();
          expectFault(await c.send(combo, ROGUE, 'Validate', transform(alice)), combo, 'wst', 'RequestFailed');
          assert.equal(await sts.instance.store.ledger.count(), before);
        });

        it('by alice herself: succeeds, without an actor', async () => {
          const alice = await c.tokenOf(combo, ALICE);
          const token = transformed(await c.send(combo, ALICE, 'Validate', transform(alice)));
          assert.equal(token.nameId, ALICE);
          assert.equal(token.audience, RP_OTHER);
          assert.equal(token.attributes[ACTOR], undefined);
          assert.equal((await sts.instance.store.ledger.get(token.id))?.actor, null);
        });
      });
    });
  }
});

describe('wstrust delegation: tokens of an external issuer (pinned certificates)', function () {
  this.timeout(60_000);
  let sts: TestSts;
  const c = client(() => sts);
  const partner = newKeyPair('idp.partner token signing');
  const partnerKey = loadSigningKey(partner.privateKeyPem, partner.certificatePem);
  const thumbprint = sha256Hex(partner.certificatePem);

  before(async () => {
    sts = await startDelegationSts();
  });
  after(async () => {
    await sts?.stop();
  });

  /** The partner's token as it issues it for us (addressed to our issuer identifier). */
  const partnerAssertion = (o: Omit<Parameters<typeof externalAssertion>[1], 'audience'>): string =>
    externalAssertion(partnerKey, { audience: sts.instance.config.issuer, ...o });

  async function withPin<T>(fn: () => Promise<T>): Promise<T> {
    const at = new Date();
    await sts.instance.store.trustedIssuers.pin({
      issuer: PARTNER,
      thumbprint,
      certificatePem: partner.certificatePem,
      createdAt: at,
      state: 'active',
      activateAt: null,
      retireAt: null,
      stateChangedAt: at,
    });
    try {
      return await fn();
    } finally {
      await sts.instance.store.trustedIssuers.unpin(thumbprint);
    }
  }

  for (const combo of ALL_COMBOS) {
    describe(comboName(combo), () => {
      it('a partner token is refused until its certificate is pinned, then accepted (NameID from that token)', async () => {
        const carol = partnerAssertion({ issuer: PARTNER, nameId: 'carol@idp.partner' });
        assert.deepEqual(await sts.instance.store.trustedIssuers.list(), []);
        expectFault(await c.send(combo, SVC, 'Issue', appliesTo(RP_BACK) + onBehalfOf(carol)), combo, 'wst', 'FailedAuthentication');
        await withPin(async () => {
          const token = c.delegatedToken(await c.send(combo, SVC, 'Issue', appliesTo(RP_BACK) + onBehalfOf(carol)), combo);
          assert.equal(token.nameId, 'carol@idp.partner');
          assert.equal(token.issuer, sts.instance.config.issuer, 'the new token is ours');
          assert.deepEqual(token.attributes[ACTOR], [SVC]);
          assert.equal((await sts.instance.store.ledger.get(token.id))?.subject, 'carol@idp.partner');
          const viaActAs = c.delegatedToken(await c.send(combo, SVC, 'Issue', appliesTo(RP_BACK) + actAs(carol)), combo);
          assert.equal(viaActAs.nameId, 'carol@idp.partner');
        });
        // Unpinned again: refused again.
        expectFault(await c.send(combo, SVC, 'Issue', appliesTo(RP_BACK) + onBehalfOf(carol)), combo, 'wst', 'FailedAuthentication');
      });

      it('a token naming a different issuer but signed by the pinned key is refused', async () => {
        await withPin(async () => {
          for (const issuer of ['https://idp.other-partner/', sts.instance.config.issuer]) {
            const token = partnerAssertion({ issuer, nameId: ALICE, role: 'Domain Admins' });
            const before = await sts.instance.store.ledger.count();
            expectFault(await c.send(combo, SVC, 'Issue', appliesTo(RP_BACK) + onBehalfOf(token)), combo, 'wst', 'FailedAuthentication', /not pinned for its issuer/);
            assert.equal(await sts.instance.store.ledger.count(), before);
          }
        });
      });

      it('an expired partner token (and one not yet valid) is refused even when pinned', async () => {
        await withPin(async () => {
          const expired = partnerAssertion({
            issuer: PARTNER,
            nameId: 'carol@idp.partner',
            notBefore: new Date(Date.now() - 3 * 3600_000),
            notOnOrAfter: new Date(Date.now() - 2 * 3600_000),
          });
          expectFault(await c.send(combo, SVC, 'Issue', appliesTo(RP_BACK) + onBehalfOf(expired)), combo, 'wst', 'FailedAuthentication', /validity/);
          const future = partnerAssertion({
            issuer: PARTNER,
            nameId: 'carol@idp.partner',
            notBefore: new Date(Date.now() + 2 * 3600_000),
            notOnOrAfter: new Date(Date.now() + 3 * 3600_000),
          });
          expectFault(await c.send(combo, SVC, 'Issue', appliesTo(RP_BACK) + onBehalfOf(future)), combo, 'wst', 'FailedAuthentication', /validity/);
        });
      });

      it('a tampered partner token is refused even when pinned', async () => {
        await withPin(async () => {
          const token = partnerAssertion({ issuer: PARTNER, nameId: 'carol@idp.partner' });
          const tampered = token.replace('<AttributeValue>PartnerStaff</AttributeValue>', '<AttributeValue>Domain Admins</AttributeValue>');
          assert.notEqual(tampered, token);
          expectFault(await c.send(combo, SVC, 'Issue', appliesTo(RP_BACK) + onBehalfOf(tampered)), combo, 'wst', 'FailedAuthentication');
        });
      });

      it('rogue is refused with t:RequestFailed even with a good partner token', async () => {
        await withPin(async () => {
          const token = partnerAssertion({ issuer: PARTNER, nameId: 'carol@idp.partner' });
          expectFault(await c.send(combo, ROGUE, 'Issue', appliesTo(RP_BACK) + onBehalfOf(token)), combo, 'wst', 'RequestFailed');
        });
      });
    });
  }
});

describe('cli: sts trust pin / list / unpin', function () {
  this.timeout(60_000);
  let parent: string;
  let home: string;
  let certFile: string;
  const partner = newKeyPair('idp.partner token signing');
  const thumbprint = sha256Hex(partner.certificatePem);

  before(() => {
    parent = mkdtempSync(join(tmpdir(), 'trustbridge-ext-trust-cli-'));
    home = join(parent, 'instance');
    const init = runSts(['init', '--home', home]);
    assert.equal(init.status, 0, init.stderr);
    certFile = join(parent, 'partner.crt.pem');
    writeFileSync(certFile, partner.certificatePem);
  });
  after(() => {
    rmSync(parent, { recursive: true, force: true });
  });

  it('pin ISSUER --cert FILE pins by SHA-256 thumbprint; list shows issuer and thumbprint; unpin removes it', () => {
    const pin = runSts(['trust', 'pin', PARTNER, '--cert', certFile, '--home', home]);
    assert.equal(pin.status, 0, pin.stderr);
    assert.equal(pin.stdout.trim(), `pinned ${thumbprint} for ${PARTNER} (active)`);

    const list = runSts(['trust', 'list', '--home', home]);
    assert.equal(list.status, 0, list.stderr);
    const lines = list.stdout.split('\n');
    const at = lines.indexOf(PARTNER);
    assert.ok(at !== -1, `the issuer is listed:\n${list.stdout}`);
    assert.match(lines[at + 1] ?? '', new RegExp(`^\\s+${thumbprint}\\s`), 'its thumbprint on the next line');
    assert.match(lines[at + 1] ?? '', /idp\.partner token signing/);

    const unpin = runSts(['trust', 'unpin', thumbprint.toUpperCase(), '--home', home]);
    assert.equal(unpin.status, 0, unpin.stderr);
    const after = runSts(['trust', 'list', '--home', home]);
    assert.equal(after.status, 0);
    assert.doesNotMatch(after.stdout, new RegExp(thumbprint));
  });

  it('unpin of an unknown thumbprint exits 1 and says so', () => {
    const unknown = 'ab'.repeat(32);
    const r = runSts(['trust', 'unpin', unknown, '--home', home]);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`no pinned certificate has thumbprint ${unknown}`));
  });

  it('pin without --cert exits 2; pin of a file that is not a certificate exits 2', () => {
    assert.equal(runSts(['trust', 'pin', PARTNER, '--home', home]).status, 2);
    const junk = join(parent, 'junk.pem');
    writeFileSync(junk, 'not a certificate\n');
    const r = runSts(['trust', 'pin', PARTNER, '--cert', junk, '--home', home]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /not a PEM X\.509 certificate/);
  });
});
