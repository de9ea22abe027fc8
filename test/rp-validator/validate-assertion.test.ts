import { stealActiveKey } from '../support/stolen-key';
import { strict as assert } from 'node:assert';
import { X509Certificate } from 'node:crypto';
import { generateSelfSignedCertificate } from '../../src/keys/certificates';
import {
  pinsFromFederationMetadata,
  readPinsFile,
  renderPinsFile,
  thumbprintOfPem,
  trustbridgeLedgerCheck,
  validateAssertion,
  type OnlineLedgerCheck,
  type RelyingPartyPin,
  type ValidationOptions,
  type Verdict,
} from '../../src/rp-validator';
import { freePort } from '../support/unit-cli';
import { fetchMetadata, forgeFrom, inResponse, issueToken, signAssertion } from '../support/rp-tokens';
import { startTestSts, type TestSts } from '../support/test-sts';
import { replaceOnce } from '../support/xml-edit';

// The relying-party validator against tokens from a real in-process Trustbridge: genuine ones pass;
// tampered, unpinned, mis-addressed, stale, over-long tokens and tokens whose pin is not (or no
// longer) active fail with their own problem code, judged at a controllable instant; and a Golden
// SAML forgery signed with Trustbridge's real key passes every offline check but not the ledger.

const RP = 'https://app.rpv.example/';
const OTHER_RP = 'https://other-app.rpv.example/';
const EMAIL = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress';
const ALICE = { name: 'alice@rpv.example', password: 'Rpv-Alice-Pässwort-1!' };
const RP_ACCOUNT = { name: 'svc-app@rpv.example', password: 'Rpv-Service-Secret-2?' };
const SKEW_MS = 300_000;

const codes = (v: Verdict): string[] => v.problems.map((p) => p.code).sort();
const plus = (d: Date, ms: number): Date => new Date(d.getTime() + ms);

describe('rp-validator: validateAssertion against tokens from a running Trustbridge', function () {
  this.timeout(60_000);
  let sts: TestSts;
  let issuer: string;
  let genuine: string;
  let pin: RelyingPartyPin;
  let notBefore: Date;
  let notOnOrAfter: Date;

  /** Options a relying party of RP would use, judged at `now` (default: inside the token's window). */
  const options = (extra: Partial<ValidationOptions> = {}): ValidationOptions => ({ pins: [pin], audiences: [RP], now: plus(notBefore, 60_000), ...extra });
  const withPin = (changes: Partial<RelyingPartyPin>): Partial<ValidationOptions> => ({ pins: [{ ...pin, ...changes }] });

  before(async () => {
    sts = await startTestSts();
    await sts.addRelyingParty({ appliesTo: RP, releasedClaims: [EMAIL], tokenLifetimeSeconds: 3600 });
    await sts.addRelyingParty({ appliesTo: OTHER_RP, releasedClaims: [EMAIL], tokenLifetimeSeconds: 3600 });
    await sts.addUser({ ...ALICE, claims: [{ name: EMAIL, value: ALICE.name }] });
    await sts.addUser({ ...RP_ACCOUNT, claims: [] });
    issuer = sts.instance.config.issuer;
    genuine = await issueToken(sts, ALICE, RP);
    pin = {
      issuer,
      thumbprint: thumbprintOfPem(sts.signingCertificatePem),
      certificatePem: sts.signingCertificatePem,
      state: 'active',
      activateAt: null,
      retireAt: null,
    };
    const conditions = /<Conditions NotBefore="([^"]+)" NotOnOrAfter="([^"]+)"/.exec(genuine);
    assert.ok(conditions, 'the token has Conditions with both times');
    notBefore = new Date(conditions[1] as string);
    notOnOrAfter = new Date(conditions[2] as string);
    assert.equal(notOnOrAfter.getTime() - notBefore.getTime(), 3600_000);
  });
  after(() => sts?.stop());

  describe('genuine tokens', () => {
    it('validates with pins built from the FederationMetadata Trustbridge publishes, and reads the signed assertion', async () => {
      const pins = pinsFromFederationMetadata(await fetchMetadata(sts));
      assert.deepEqual(
        pins.map((p) => [p.issuer, p.thumbprint, p.state, p.activateAt, p.retireAt]),
        [[issuer, pin.thumbprint, 'active', null, null]],
      );
      const verdict = await validateAssertion(genuine, { pins, audiences: [RP] });
      assert.deepEqual(verdict.problems, []);
      assert.deepEqual(verdict.warnings, []);
      assert.equal(verdict.valid, true);
      const a = verdict.assertion;
      assert.ok(a);
      assert.match(a.id, /^_/);
      assert.ok(genuine.includes(`ID="${a.id}"`));
      assert.equal(a.issuer, issuer);
      assert.equal(a.subject, ALICE.name);
      assert.deepEqual(a.audiences, [RP]);
      assert.deepEqual(a.notBefore, notBefore);
      assert.deepEqual(a.notOnOrAfter, notOnOrAfter);
      assert.deepEqual(a.attributes, [{ name: EMAIL, values: [ALICE.name] }]);
      assert.equal(a.signingKeyThumbprint, sts.instance.signingKey.thumbprintSha256);
      assert.equal(verdict.online, undefined, 'no online check was asked for');
    });

    it('validates with pins read from a pins file, from a Buffer, in a samlp:Response and as base64', async () => {
      const pins = readPinsFile(renderPinsFile([pin]));
      assert.deepEqual(pins, [pin]);
      for (const input of [genuine, Buffer.from(genuine), inResponse(genuine), Buffer.from(inResponse(genuine)).toString('base64'), Buffer.from(genuine).toString('base64')]) {
        const verdict = await validateAssertion(input, options({ pins }));
        assert.deepEqual(verdict.problems, [], String(input).slice(0, 60));
        assert.equal(verdict.assertion?.subject, ALICE.name);
      }
    });

    it('accepts the token when one of several audiences is the one it names, and when a pin for another issuer shares nothing with it', async () => {
      const stranger = generateSelfSignedCertificate({ commonName: 'Another IdP', validDays: 2 }).certificatePem;
      const pins: RelyingPartyPin[] = [
        { issuer: 'https://idp.elsewhere.example/', thumbprint: thumbprintOfPem(stranger), certificatePem: stranger, state: 'active', activateAt: null, retireAt: null },
        pin,
      ];
      const verdict = await validateAssertion(genuine, options({ pins, audiences: ['urn:rpv:alias', RP] }));
      assert.deepEqual(verdict.problems, []);
    });
  });

  describe('signatures: only pinned certificates vouch', () => {
    it('a tampered token (its subject changed after signing) fails with signature (digest), and nothing of it is read', async () => {
      const tampered = replaceOnce(genuine, `>${ALICE.name}</NameID>`, '>admin@rpv.example</NameID>');
      const verdict = await validateAssertion(tampered, options());
      assert.equal(verdict.valid, false);
      assert.deepEqual(codes(verdict), ['signature']);
      assert.match(verdict.problems[0]?.message ?? '', /digest/);
      assert.equal(verdict.assertion, undefined);
    });

    it('a token signed by an unpinned key that presents its certificate in KeyInfo fails with untrusted-key', async () => {
      const intruder = generateSelfSignedCertificate({ commonName: 'Trustbridge Token Signing', validDays: 2 });
      const unsigned = replaceOnce(genuine, /<ds:Signature[\s\S]*<\/ds:Signature>/, '');
      const signed = signAssertion(unsigned, intruder.privateKeyPem, intruder.certificatePem);
      assert.ok(signed.includes(new X509Certificate(intruder.certificatePem).raw.toString('base64')), 'KeyInfo carries the intruder certificate');
      const verdict = await validateAssertion(signed, options());
      assert.deepEqual(codes(verdict), ['untrusted-key']);
      assert.equal(verdict.assertion, undefined);
    });

    it('an unsigned token fails with signature; input that is not a SAML token fails with malformed', async () => {
      const unsigned = await validateAssertion(replaceOnce(genuine, /<ds:Signature[\s\S]*<\/ds:Signature>/, ''), options());
      assert.deepEqual(codes(unsigned), ['signature']);
      assert.match(unsigned.problems[0]?.message ?? '', /not signed/);
      for (const junk of ['', 'not a token!', '<Assertion', '<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', '<x xmlns="urn:other"/>', Buffer.from('plain text').toString('base64')]) {
        const verdict = await validateAssertion(junk, options());
        assert.equal(verdict.valid, false, junk);
        assert.deepEqual(codes(verdict), ['malformed'], junk);
      }
    });
  });

  describe('what the token says', () => {
    it('a token for another relying party fails with audience', async () => {
      const verdict = await validateAssertion(genuine, options({ audiences: [OTHER_RP] }));
      assert.deepEqual(codes(verdict), ['audience']);
      assert.match(verdict.problems[0]?.message ?? '', new RegExp(`for ${RP}, not for ${OTHER_RP}`));
      assert.equal(verdict.assertion?.subject, ALICE.name, 'the verified assertion is still described');
    });

    it('every AudienceRestriction must name one of ours, and a token restricted to no audience is refused', async () => {
      const idp = newPinnedIdp();
      const both = idp.sign({ conditions: `<AudienceRestriction><Audience>${RP}</Audience></AudienceRestriction><AudienceRestriction><Audience>${OTHER_RP}</Audience></AudienceRestriction>` });
      assert.deepEqual(codes(await validateAssertion(both, idp.options({ audiences: [RP] }))), ['audience']);
      assert.deepEqual(codes(await validateAssertion(both, idp.options({ audiences: [RP, OTHER_RP] }))), []);
      const none = idp.sign({ conditions: '' });
      const verdict = await validateAssertion(none, idp.options({ audiences: [RP] }));
      assert.deepEqual(codes(verdict), ['audience']);
      assert.match(verdict.problems[0]?.message ?? '', /not restricted to any audience/);
    });

    it('expired: past NotOnOrAfter plus the clock skew (300 s by default, or as given)', async () => {
      const expired = await validateAssertion(genuine, options({ now: plus(notOnOrAfter, SKEW_MS) }));
      assert.deepEqual(codes(expired), ['expired']);
      assert.deepEqual(codes(await validateAssertion(genuine, options({ now: plus(notOnOrAfter, SKEW_MS - 1000) }))), []);
      assert.deepEqual(codes(await validateAssertion(genuine, options({ now: notOnOrAfter, clockSkewSeconds: 0 }))), ['expired']);
    });

    it('not yet valid: before NotBefore minus the clock skew', async () => {
      assert.deepEqual(codes(await validateAssertion(genuine, options({ now: plus(notBefore, -SKEW_MS - 1000) }))), ['not-yet-valid']);
      assert.deepEqual(codes(await validateAssertion(genuine, options({ now: plus(notBefore, -SKEW_MS + 1000) }))), []);
    });

    it('a lifetime above the cap fails with lifetime-cap; one within it passes; a token with no end is always refused', async () => {
      const capped = await validateAssertion(genuine, options({ maxLifetimeSeconds: 600 }));
      assert.deepEqual(codes(capped), ['lifetime-cap']);
      assert.match(capped.problems[0]?.message ?? '', /3600 seconds, above the cap of 600/);
      assert.deepEqual(codes(await validateAssertion(genuine, options({ maxLifetimeSeconds: 3600 }))), []);
      const idp = newPinnedIdp();
      const endless = idp.sign({ conditionsAttributes: `NotBefore="${new Date().toISOString()}"` });
      const verdict = await validateAssertion(endless, idp.options({ audiences: [RP] }));
      assert.deepEqual(codes(verdict), ['lifetime-cap']);
      assert.match(verdict.problems[0]?.message ?? '', /unbounded/);
    });

    it('reports every problem at once', async () => {
      const verdict = await validateAssertion(genuine, options({ audiences: [OTHER_RP], maxLifetimeSeconds: 60, now: plus(notOnOrAfter, SKEW_MS + 1000), expectedIssuer: 'https://idp.elsewhere.example/' }));
      assert.deepEqual(codes(verdict), ['audience', 'expired', 'issuer-mismatch', 'lifetime-cap']);
    });
  });

  describe('pin lifecycle, judged at a controllable instant', () => {
    it('a pending pin refuses the token before its activateAt and accepts the same token after it', async () => {
      const activateAt = plus(notBefore, 10 * 60_000);
      const pending = withPin({ state: 'pending', activateAt });
      const before = await validateAssertion(genuine, options({ ...pending, now: plus(activateAt, -60_000) }));
      assert.deepEqual(codes(before), ['pin-pending']);
      assert.match(before.problems[0]?.message ?? '', new RegExp(`${pin.thumbprint} is pending`));
      const after = await validateAssertion(genuine, options({ ...pending, now: plus(activateAt, 60_000) }));
      assert.deepEqual(codes(after), []);
      assert.equal(after.valid, true);
    });

    it('a pending pin without activateAt counts only once promoted (state active)', async () => {
      assert.deepEqual(codes(await validateAssertion(genuine, options(withPin({ state: 'pending' })))), ['pin-pending']);
    });

    it('retired: once retireAt has passed (the same token before it passes), and whenever the state is retired', async () => {
      const retireAt = plus(notBefore, 10 * 60_000);
      const scheduled = withPin({ retireAt });
      assert.deepEqual(codes(await validateAssertion(genuine, options({ ...scheduled, now: plus(retireAt, -60_000) }))), []);
      assert.deepEqual(codes(await validateAssertion(genuine, options({ ...scheduled, now: retireAt }))), ['pin-retired']);
      assert.deepEqual(codes(await validateAssertion(genuine, options(withPin({ state: 'retired' })))), ['pin-retired']);
    });

    it('revoked: refused whatever its schedule says', async () => {
      const verdict = await validateAssertion(genuine, options(withPin({ state: 'revoked', retireAt: plus(notOnOrAfter, 3600_000) })));
      assert.deepEqual(codes(verdict), ['pin-revoked']);
      assert.equal(verdict.assertion?.signingKeyThumbprint, pin.thumbprint);
    });

    it('a certificate past its validity refuses even a token that claims to be fresh (certificate-expired)', async () => {
      const validTo = new Date(new X509Certificate(pin.certificatePem).validTo);
      const verdict = await validateAssertion(genuine, options({ now: plus(validTo, SKEW_MS + 1000) }));
      assert.deepEqual(codes(verdict), ['certificate-expired', 'expired']);
    });
  });

  describe('issuers: a pin vouches for its own issuer only', () => {
    it('the right certificate pinned for another issuer fails with issuer-mismatch', async () => {
      const verdict = await validateAssertion(genuine, options(withPin({ issuer: 'https://idp.elsewhere.example/' })));
      assert.deepEqual(codes(verdict), ['issuer-mismatch']);
      assert.match(verdict.problems[0]?.message ?? '', /pinned for "https:\/\/idp\.elsewhere\.example\/"/);
    });

    it('a certificate pinned for two issuers vouches for the one the token names', async () => {
      const pins = [{ ...pin, issuer: 'https://idp.elsewhere.example/' }, pin];
      assert.deepEqual(codes(await validateAssertion(genuine, options({ pins }))), []);
    });

    it('an expected issuer other than the token\'s fails with issuer-mismatch; the token\'s own passes', async () => {
      assert.deepEqual(codes(await validateAssertion(genuine, options({ expectedIssuer: 'https://idp.elsewhere.example/' }))), ['issuer-mismatch']);
      assert.deepEqual(codes(await validateAssertion(genuine, options({ expectedIssuer: issuer }))), []);
    });
  });

  describe('the online ledger check (WS-Trust Validate at the running STS)', () => {
    const online = (password = RP_ACCOUNT.password): OnlineLedgerCheck =>
      trustbridgeLedgerCheck({ sts: sts.baseUrl, username: RP_ACCOUNT.name, password, ca: sts.tlsCertificatePem, timeoutMs: 10_000 });

    it('a genuine token: the ledger holds it (bare and inside a Response)', async () => {
      for (const input of [genuine, inResponse(genuine)]) {
        const verdict = await validateAssertion(input, { pins: [pin], audiences: [RP], online: online() });
        assert.deepEqual(verdict.problems, []);
        assert.equal(verdict.valid, true);
        assert.equal(verdict.online?.status, 'valid');
      }
    });

    it('Golden SAML: a forgery signed with Trustbridge\'s real (unsealed) key passes every offline check, but the ledger has no record of it', async () => {
      const key = await stealActiveKey(sts.instance);
      assert.equal(key.thumbprintSha256, pin.thumbprint);
      const forged = forgeFrom(genuine, key, 'admin@rpv.example');
      const offline = await validateAssertion(forged, { pins: [pin], audiences: [RP] });
      assert.deepEqual(offline.problems, [], 'offline, the forgery is indistinguishable from a genuine token');
      assert.equal(offline.assertion?.subject, 'admin@rpv.example');

      const ledgerBefore = await sts.instance.store.ledger.count();
      const verdict = await validateAssertion(forged, { pins: [pin], audiences: [RP], online: online() });
      assert.equal(verdict.valid, false);
      assert.deepEqual(codes(verdict), ['ledger-unknown']);
      assert.match(verdict.problems[0]?.message ?? '', /not issued by this STS/);
      assert.equal(verdict.online?.status, 'invalid');
      assert.equal(await sts.instance.store.ledger.count(), ledgerBefore, 'checking issues nothing');
      const forgedId = verdict.assertion?.id;
      assert.ok(forgedId && !genuine.includes(forgedId));
      const alert = sts.logs.find((r) => r.fields['alert'] === 'forged-token' && r.fields['tokenId'] === forgedId);
      assert.ok(alert, 'the relying party\'s check raised a forged-token alert at Trustbridge');
      assert.equal(alert.level, 'error');
      assert.equal(alert.fields['principal'], RP_ACCOUNT.name);
    });

    it('unreachable: fails closed by default, or passes with a warning when the caller chose to fail open', async () => {
      const port = await freePort();
      const nowhere = trustbridgeLedgerCheck({ sts: `https://localhost:${port}`, username: RP_ACCOUNT.name, password: RP_ACCOUNT.password, ca: sts.tlsCertificatePem, timeoutMs: 3000 });
      const closed = await validateAssertion(genuine, { pins: [pin], audiences: [RP], online: nowhere });
      assert.equal(closed.valid, false);
      assert.deepEqual(codes(closed), ['online-unreachable']);
      assert.match(closed.problems[0]?.message ?? '', /ECONNREFUSED/);
      assert.equal(closed.online?.status, 'unreachable');

      const open = await validateAssertion(genuine, { pins: [pin], audiences: [RP], online: nowhere, onlineUnreachable: 'fail-open' });
      assert.equal(open.valid, true);
      assert.deepEqual(open.problems, []);
      assert.deepEqual(open.warnings.map((w) => w.code), ['online-unreachable']);
    });

    it('refused credentials count as unreachable (fail closed) and the reason never carries the password', async () => {
      const wrong = 'Not-The-Password-93!';
      const verdict = await validateAssertion(genuine, { pins: [pin], audiences: [RP], online: online(wrong) });
      assert.deepEqual(codes(verdict), ['online-unreachable']);
      assert.match(verdict.problems[0]?.message ?? '', /refused the Validate request: The security token could not be authenticated/);
      assert.doesNotMatch(JSON.stringify(verdict), new RegExp(`${wrong}|${RP_ACCOUNT.password.replace(/[?]/g, '\\?')}`));
    });

    it('a server that never answers is given up on at the timeout', async () => {
      const { createServer } = await import('node:net');
      const silent = createServer(() => undefined);
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      try {
        const port = (silent.address() as { port: number }).port;
        const started = Date.now();
        const check = trustbridgeLedgerCheck({ sts: `https://127.0.0.1:${port}`, username: 'x', password: 'y', timeoutMs: 500 });
        const verdict = await validateAssertion(genuine, { pins: [pin], audiences: [RP], online: check });
        assert.deepEqual(codes(verdict), ['online-unreachable']);
        assert.match(verdict.problems[0]?.message ?? '', /no answer within 500 ms/);
        assert.ok(Date.now() - started < 5000);
      } finally {
        silent.close();
      }
    });

    it('runs only once every offline check passed; a check that throws or answers nonsense fails closed', async () => {
      let calls = 0;
      const counting: OnlineLedgerCheck = { check: async () => ((calls += 1), 'valid') };
      assert.deepEqual(codes(await validateAssertion(genuine, options({ audiences: [OTHER_RP], online: counting }))), ['audience']);
      assert.equal(calls, 0);
      const passed = await validateAssertion(genuine, options({ online: counting }));
      assert.equal(passed.valid, true);
      assert.equal(calls, 1);

      const throwing: OnlineLedgerCheck = { check: async () => Promise.reject(new Error('socket hang up')) };
      const nonsense = { check: async () => 'yes' } as unknown as OnlineLedgerCheck;
      for (const check of [throwing, nonsense]) {
        const verdict = await validateAssertion(genuine, options({ online: check }));
        assert.deepEqual(codes(verdict), ['online-unreachable']);
      }
      const invalid: OnlineLedgerCheck = { check: async () => 'invalid' };
      assert.deepEqual(codes(await validateAssertion(genuine, options({ online: invalid, onlineUnreachable: 'fail-open' }))), ['ledger-unknown']);
    });
  });

  describe('options', () => {
    it('refuses to run without an audience, with a pin whose thumbprint is not its certificate\'s, or with a bad number', async () => {
      await assert.rejects(validateAssertion(genuine, options({ audiences: [] })), /audiences must name at least one/);
      await assert.rejects(validateAssertion(genuine, options(withPin({ thumbprint: 'ab'.repeat(32) }))), /thumbprint is not the lower-case SHA-256/);
      await assert.rejects(validateAssertion(genuine, options({ clockSkewSeconds: -1 })), /clockSkewSeconds must be/);
      await assert.rejects(validateAssertion(genuine, options({ maxLifetimeSeconds: Number.NaN })), /maxLifetimeSeconds must be/);
    });
  });
});

/** An identity provider of the test's own, pinned, to sign assertions Trustbridge would never issue. */
function newPinnedIdp(): {
  sign(parts: { conditions?: string; conditionsAttributes?: string }): string;
  options(extra: Partial<ValidationOptions>): ValidationOptions;
} {
  const key = generateSelfSignedCertificate({ commonName: 'Test IdP', validDays: 2 });
  const issuer = 'https://idp.test.rpv.example/';
  const pin: RelyingPartyPin = { issuer, thumbprint: thumbprintOfPem(key.certificatePem), certificatePem: key.certificatePem, state: 'active', activateAt: null, retireAt: null };
  return {
    sign({ conditions, conditionsAttributes }) {
      const now = new Date();
      const attributes = conditionsAttributes ?? `NotBefore="${now.toISOString()}" NotOnOrAfter="${new Date(now.getTime() + 600_000).toISOString()}"`;
      const xml =
        `<Assertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion" ID="_t${Date.now()}" IssueInstant="${now.toISOString()}" Version="2.0">` +
        `<Issuer>${issuer}</Issuer><Subject><NameID>bob@rpv.example</NameID></Subject>` +
        `<Conditions ${attributes}>${conditions ?? `<AudienceRestriction><Audience>${RP}</Audience></AudienceRestriction>`}</Conditions>` +
        `</Assertion>`;
      return signAssertion(xml, key.privateKeyPem, key.certificatePem);
    },
    options: (extra) => ({ pins: [pin], audiences: [RP], ...extra }),
  };
}
