import { strict as assert } from 'node:assert';
import { createHash, randomUUID, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSigningKey, type SigningKey } from '../../src/keys/signing-key';
import { buildSaml2Assertion } from '../../src/saml/saml2-assertion';
import type { AuditEvent } from '../../src/store/store';
import { signCanonicalElement } from '../../src/xml/enveloped-signature';
import { SAML2 } from '../../src/xml/namespaces';
import { comboName, expectFault, newKeyPair, rstrOf, type Combo } from '../support/ext-trust';
import { actAs, idOf, onBehalfOf, pemBodyLines, stsCli, trustCall } from '../support/golden-saml';
import { recordLogs, recordPassword } from '../support/observed-traffic';
import { startTestSts, type TestSts } from '../support/test-sts';
import { appliesTo, assertionText } from '../support/trust-messages';

// An external issuer's tokens count (for OnBehalfOf and ActAs) only while its pinned certificate's
// pin is in a state that allows them: a partner's next certificate is pinned pending ahead of its
// rollover, promoted when the partner switches, retired or revoked after. A certificate a token
// carries in its KeyInfo is never trusted for being there. Pinning, and importing a signing key,
// are what an attacker would do to be trusted: both are alerts in the audit trail.

const SVC = 'svc@pins.golden-saml.example';
const SVC_PASSWORD = 'Pins-Svc-Secret-6';
const RP_BACK = 'https://back.pins.golden-saml.example/';
const PARTNER = 'https://idp.partner.golden-saml.example/';
const CAROL = 'carol@idp.partner.golden-saml.example';
const COMBOS: readonly Combo[] = [
  { version: '1.3', soap: '1.2' },
  { version: '2005', soap: '1.1' },
];

const sha256Hex = (pem: string): string => createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');

/** A SAML 2.0 assertion from the partner IdP for `audience`, signed with `key` (its certificate in KeyInfo). */
function partnerToken(key: SigningKey, audience: string, issuer = PARTNER): string {
  const now = new Date();
  const notBefore = new Date(now.getTime() - 60_000);
  const notOnOrAfter = new Date(now.getTime() + 3600_000);
  return signCanonicalElement(
    buildSaml2Assertion({
      id: `_${randomUUID()}`,
      issueInstant: notBefore,
      issuer,
      nameId: CAROL,
      nameIdFormat: SAML2.nameIdUnspecified,
      confirmationNotOnOrAfter: notOnOrAfter,
      notBefore,
      notOnOrAfter,
      audience,
      authnInstant: notBefore,
      authnContextClassRef: SAML2.passwordProtectedTransport,
      attributes: [],
    }),
    key,
  ).xml;
}

/** Every audit event of the store, once this process's trail has flushed (the CLI's are stored when it exits). */
async function allEvents(sts: TestSts): Promise<AuditEvent[]> {
  await sts.instance.audit.flush();
  return sts.instance.store.audit.query({ limit: 100_000 });
}

/** The instance's audit.jsonl as parsed events. */
function auditFileEvents(sts: TestSts): Array<Record<string, unknown>> {
  return readFileSync(join(sts.home, 'audit.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('golden-saml: the pins of external issuers, end to end (OnBehalfOf and ActAs)', function () {
  this.timeout(120_000);
  let sts: TestSts;
  let dir: string;
  let certFile: string;
  const partner = newKeyPair('idp.partner golden-saml signing');
  const partnerKey = loadSigningKey(partner.privateKeyPem, partner.certificatePem);
  const thumbprint = sha256Hex(partner.certificatePem);

  before(async () => {
    sts = await startTestSts();
    recordLogs(sts.logs);
    recordPassword(SVC_PASSWORD);
    await sts.addUser({ name: SVC, password: SVC_PASSWORD, claims: [] });
    await sts.addRelyingParty({ appliesTo: RP_BACK, releasedClaims: [], delegates: [SVC] });
    dir = mkdtempSync(join(tmpdir(), 'golden-saml-pins-'));
    certFile = join(dir, 'partner.crt.pem');
    writeFileSync(certFile, partner.certificatePem);
  });
  after(async () => {
    await sts?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The partner's token as it issues it for us (addressed to our issuer identifier). */
  const tokenForUs = (key: SigningKey, issuer?: string): string => partnerToken(key, sts.instance.config.issuer, issuer);

  const cli = async (...args: string[]): Promise<string> => {
    const r = await stsCli([...args, '--home', sts.home]);
    assert.equal(r.status, 0, `sts ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  /** On each combination and with both elements: the partner's token is refused, and the reason matches. */
  async function expectRefused(reason: RegExp): Promise<void> {
    const token = tokenForUs(partnerKey);
    for (const combo of COMBOS) {
      for (const wrap of [onBehalfOf, actAs]) {
        const before = await sts.instance.store.ledger.count();
        const sent = await trustCall(sts, combo, { user: SVC, password: SVC_PASSWORD, op: 'Issue', rstBody: appliesTo(RP_BACK) + wrap(token) });
        expectFault(sent, combo, 'wst', 'FailedAuthentication', reason);
        assert.equal(await sts.instance.store.ledger.count(), before, `${comboName(combo)}: no token issued`);
      }
    }
  }

  /** On each combination and with both elements: a token for carol, with svc as actor. */
  async function expectAccepted(): Promise<void> {
    const token = tokenForUs(partnerKey);
    for (const combo of COMBOS) {
      for (const wrap of [onBehalfOf, actAs]) {
        const sent = await trustCall(sts, combo, { user: SVC, password: SVC_PASSWORD, op: 'Issue', rstBody: appliesTo(RP_BACK) + wrap(token) });
        rstrOf(sent, combo);
        const entry = await sts.instance.store.ledger.get(idOf(assertionText(sent.res.body)));
        assert.equal(entry?.subject, CAROL, comboName(combo));
        assert.equal(entry?.actor, SVC);
      }
    }
  }

  const notAccepted = (state: string): RegExp =>
    new RegExp(`^The delegated token is signed by a pinned certificate that is not accepted now \\(${state}\\)\\.$`);
  const NOT_PINNED = /^The delegated token is signed by a certificate not pinned for its issuer\.$/;

  it('unpinned: refused, the reason saying the certificate is not pinned', async () => {
    await expectRefused(NOT_PINNED);
  });

  it('sts trust pin --pending: refused as pending; the pin is an alert (trusted-issuer-pinned) in the audit trail', async () => {
    const out = await cli('trust', 'pin', PARTNER, '--cert', certFile, '--pending');
    assert.equal(out.trim(), `pinned ${thumbprint} for ${PARTNER} (pending)`);
    await expectRefused(notAccepted('pending'));

    const pinned = (await allEvents(sts)).filter((e) => e.eventName === 'PinCertificate');
    assert.equal(pinned.length, 1, JSON.stringify(pinned));
    const e = pinned[0] as AuditEvent;
    assert.equal(e.eventSource, 'admin');
    assert.equal(e.alert, 'trusted-issuer-pinned');
    assert.equal(e.severity, 'high');
    assert.equal(e.userAgent, 'sts-cli');
    assert.match(e.principal ?? '', /^os:/);
    assert.deepEqual(e.requestParameters, { issuer: PARTNER, thumbprint, state: 'pending' });
    assert.deepEqual(e.additionalEventData, { issuer: PARTNER, thumbprint, state: 'pending' });
    const line = auditFileEvents(sts).filter((l) => l['eventId'] === e.eventId);
    assert.equal(line.length, 1, 'the same event is in audit.jsonl');
    assert.equal(line[0]?.['alert'], 'trusted-issuer-pinned');
  });

  it('sts trust promote: accepted from the next request on', async () => {
    assert.equal((await cli('trust', 'promote', thumbprint)).trim(), `${thumbprint} is now active`);
    await expectAccepted();
  });

  it('KeyInfo carrying an unpinned certificate never adds it: refused, and the pins are unchanged', async () => {
    const rogue = newKeyPair('rogue signing');
    const rogueKey = loadSigningKey(rogue.privateKeyPem, rogue.certificatePem);
    const before = await sts.instance.store.trustedIssuers.list();
    const token = tokenForUs(rogueKey);
    assert.ok(token.includes(rogueKey.certificateBase64), 'the rogue certificate is in the KeyInfo');
    for (const combo of COMBOS) {
      const sent = await trustCall(sts, combo, { user: SVC, password: SVC_PASSWORD, op: 'Issue', rstBody: appliesTo(RP_BACK) + onBehalfOf(token) });
      expectFault(sent, combo, 'wst', 'FailedAuthentication', NOT_PINNED);
    }
    // The pinned certificate in KeyInfo over a signature by another key: no better.
    const swapped = token.replace(rogueKey.certificateBase64, partnerKey.certificateBase64);
    assert.notEqual(swapped, token);
    const sent = await trustCall(sts, COMBOS[0] as Combo, { user: SVC, password: SVC_PASSWORD, op: 'Issue', rstBody: appliesTo(RP_BACK) + actAs(swapped) });
    expectFault(sent, COMBOS[0] as Combo, 'wst', 'FailedAuthentication', /not valid under any trusted key/);
    assert.deepEqual(await sts.instance.store.trustedIssuers.list(), before);
    assert.ok(!(await sts.instance.store.trustedIssuers.list()).some((p) => p.thumbprint === rogueKey.thumbprintSha256));
  });

  it('sts trust revoke: refused as revoked, at once, and a token-from-revoked-key alert naming the partner', async () => {
    assert.equal((await cli('trust', 'revoke', thumbprint)).trim(), `${thumbprint} is now revoked`);
    await expectRefused(notAccepted('revoked'));
    const alert = (await allEvents(sts)).filter((e) => e.alert === 'token-from-revoked-key').at(-1);
    assert.ok(alert, 'a token-from-revoked-key alert');
    assert.equal(alert.severity, 'critical');
    assert.equal(alert.additionalEventData?.['trustedIssuer'], PARTNER);
    assert.equal(alert.additionalEventData?.['signingKeyThumbprint'], thumbprint);
    assert.equal(alert.additionalEventData?.['signingKeyState'], 'revoked');
  });

  it('sts trust unpin: refused as not pinned', async () => {
    await cli('trust', 'unpin', thumbprint);
    await expectRefused(NOT_PINNED);
  });

  it('sts trust pin --retire-at in the past: refused as retired', async () => {
    await cli('trust', 'pin', PARTNER, '--cert', certFile, '--retire-at', new Date(Date.now() - 60_000).toISOString());
    await expectRefused(notAccepted('retired'));
    await cli('trust', 'unpin', thumbprint);
  });

  it('sts trust pin --pending --activate-at in the past: accepted without a promote; sts trust retire: refused as retired', async () => {
    await cli('trust', 'pin', PARTNER, '--cert', certFile, '--pending', '--activate-at', new Date(Date.now() - 60_000).toISOString());
    await expectAccepted();
    assert.equal((await cli('trust', 'retire', thumbprint)).trim(), `${thumbprint} is now retired`);
    await expectRefused(notAccepted('retired'));
  });

  it('a pin for one issuer does not vouch for a token naming another', async () => {
    await cli('trust', 'unpin', thumbprint);
    await cli('trust', 'pin', PARTNER, '--cert', certFile);
    const token = tokenForUs(partnerKey, 'https://idp.other-partner.example/');
    const sent = await trustCall(sts, COMBOS[0] as Combo, { user: SVC, password: SVC_PASSWORD, op: 'Issue', rstBody: appliesTo(RP_BACK) + onBehalfOf(token) });
    expectFault(sent, COMBOS[0] as Combo, 'wst', 'FailedAuthentication', NOT_PINNED);
  });

  it('every pin change is an admin event; only pinning is an alert', async () => {
    const admin = (await allEvents(sts)).filter((e) => e.eventSource === 'admin');
    assert.deepEqual(
      admin.map((e) => [e.eventName, e.alert]),
      [
        ['PinCertificate', 'trusted-issuer-pinned'],
        ['PromotePin', null],
        ['RevokePin', null],
        ['UnpinCertificate', null],
        ['PinCertificate', 'trusted-issuer-pinned'],
        ['UnpinCertificate', null],
        ['PinCertificate', 'trusted-issuer-pinned'],
        ['RetirePin', null],
        ['UnpinCertificate', null],
        ['PinCertificate', 'trusted-issuer-pinned'],
      ],
    );
  });

  it('sts trust refusals: a certificate pinned already, a move from the wrong state, --retire-at not after --activate-at; the pins unchanged', async () => {
    const pins = await sts.instance.store.trustedIssuers.list();
    assert.deepEqual(pins.map((p) => [p.thumbprint, p.state]), [[thumbprint, 'active']]);

    const again = await stsCli(['trust', 'pin', PARTNER, '--cert', certFile, '--home', sts.home]);
    assert.deepEqual([again.status, again.stderr], [1, `${thumbprint} is pinned already; \`sts trust list\` shows for which issuer\n`]);
    const promote = await stsCli(['trust', 'promote', thumbprint, '--home', sts.home]);
    assert.deepEqual([promote.status, promote.stderr], [1, `no pin ${thumbprint} in state pending; \`sts trust list\` shows the pins\n`]);
    const at = new Date(Date.now() + 3600_000);
    const schedule = await stsCli(['trust', 'pin', PARTNER, '--cert', certFile, '--pending', '--activate-at', at.toISOString(), '--retire-at', at.toISOString(), '--home', sts.home]);
    assert.equal(schedule.status, 2);
    assert.match(schedule.stderr, /--retire-at must be after --activate-at/);

    assert.deepEqual(await sts.instance.store.trustedIssuers.list(), pins);
  });
});

describe('golden-saml: sts keys import is an alert (signing-key-imported)', function () {
  this.timeout(60_000);
  let sts: TestSts;
  let dir: string;
  const imported = newKeyPair('imported signing key');
  const importedThumbprint = sha256Hex(imported.certificatePem);

  before(async () => {
    sts = await startTestSts();
    recordLogs(sts.logs);
    dir = mkdtempSync(join(tmpdir(), 'golden-saml-import-'));
    writeFileSync(join(dir, 'cert.pem'), imported.certificatePem);
    writeFileSync(join(dir, 'key.pem'), imported.privateKeyPem, { mode: 0o600 });
  });
  after(async () => {
    await sts?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const importArgs = (): string[] => ['keys', 'import', '--cert', join(dir, 'cert.pem'), '--key', join(dir, 'key.pem'), '--home', sts.home];

  it('without --i-understand-the-risk: refused (exit 1), nothing imported, nothing recorded', async () => {
    const r = await stsCli(importArgs());
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /Silver SAML/);
    assert.equal(await sts.instance.store.signingKeys.get(importedThumbprint), undefined);
    assert.deepEqual((await allEvents(sts)).filter((e) => e.eventSource === 'admin'), []);
  });

  it('with it: imported as pending, and an ImportSigningKey event with alert signing-key-imported, without the key', async () => {
    const r = await stsCli([...importArgs(), '--i-understand-the-risk']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^imported ${importedThumbprint} as pending`));
    assert.equal((await sts.instance.store.signingKeys.get(importedThumbprint))?.state, 'pending');
    const events = (await allEvents(sts)).filter((e) => e.eventName === 'ImportSigningKey');
    assert.equal(events.length, 1);
    const e = events[0] as AuditEvent;
    assert.equal(e.eventSource, 'admin');
    assert.equal(e.alert, 'signing-key-imported');
    assert.equal(e.severity, 'high');
    assert.deepEqual(e.additionalEventData, { thumbprint: importedThumbprint, state: 'pending' });
    assert.equal(auditFileEvents(sts).filter((l) => l['eventId'] === e.eventId && l['alert'] === 'signing-key-imported').length, 1);
    const recorded = JSON.stringify(await allEvents(sts)) + readFileSync(join(sts.home, 'audit.jsonl'), 'utf8') + r.stdout + r.stderr;
    for (const line of pemBodyLines(imported.privateKeyPem)) assert.ok(!recorded.includes(line), 'the private key is recorded nowhere');
  });
});
