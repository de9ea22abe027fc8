import { strict as assert } from 'node:assert';
import { X509Certificate } from 'node:crypto';
import { generateSelfSignedCertificate } from '../../src/keys/certificates';
import { partnerKeyAlert } from '../../src/core/token-forensics';
import { effectivePinState, PIN_MOVES, pinVerdictAt, type PinRefusal } from '../../src/keys/pin-policy';
import type { PinState, TrustedIssuerPin } from '../../src/store/store';
import { EXPECTED_PIN_MOVES } from '../support/cli-lifecycle';
import { samlTokenView } from '../support/saml-token-view';

// When a pinned certificate of an external issuer may vouch for a token: its pin's lifecycle (pending
// until promoted or its activateAt, active until its retireAt, retired, revoked) and the certificate's
// own validity, widened by the clock skew. The clock is the `now` each call is given. Which refusals
// are alerts, and the moves an operator makes (sts trust and sts aws provider cert alike).

const SKEW_MS = 300_000;
const HOUR = 3600_000;

describe('golden-saml: pinVerdictAt, effectivePinState, partnerKeyAlert and PIN_MOVES (pins of external issuers)', () => {
  const generated = generateSelfSignedCertificate({ commonName: 'idp.partner pin-policy', validDays: 30 });
  const certificate = new X509Certificate(generated.certificatePem);
  const validFrom = Date.parse(certificate.validFrom);
  const validTo = Date.parse(certificate.validTo);
  // A time well inside the certificate's validity, from which the schedules are set.
  const mid = new Date(validFrom + 10 * 24 * HOUR);
  const at = (offsetMs: number, from = mid): Date => new Date(from.getTime() + offsetMs);

  const pin = (state: PinState, o: { activateAt?: Date; retireAt?: Date } = {}): TrustedIssuerPin => ({
    issuer: 'https://idp.partner.example/',
    thumbprint: 'ab'.repeat(32),
    certificatePem: generated.certificatePem,
    createdAt: at(-HOUR),
    state,
    activateAt: o.activateAt ?? null,
    retireAt: o.retireAt ?? null,
    stateChangedAt: at(-HOUR),
  });
  const verdict = (p: TrustedIssuerPin, now: Date) => pinVerdictAt(p, now, SKEW_MS);
  const accepted = { accepted: true };
  const refused = (reason: string) => ({ accepted: false, reason });

  describe('pending', () => {
    it('without activateAt: refused as pending, whenever it is asked', () => {
      for (const now of [mid, at(365 * 24 * HOUR), new Date(validFrom)]) assert.deepEqual(verdict(pin('pending'), now), refused('pending'));
    });

    it('with activateAt: refused before it (to the millisecond), accepted from it on', () => {
      const p = pin('pending', { activateAt: at(HOUR) });
      assert.deepEqual(verdict(p, mid), refused('pending'));
      assert.deepEqual(verdict(p, at(HOUR - 1)), refused('pending'));
      assert.deepEqual(verdict(p, at(HOUR)), accepted);
      assert.deepEqual(verdict(p, at(2 * HOUR)), accepted);
    });

    it('with activateAt and retireAt both past: retired', () => {
      assert.deepEqual(verdict(pin('pending', { activateAt: at(-2 * HOUR), retireAt: at(-HOUR) }), mid), refused('retired'));
    });
  });

  describe('active', () => {
    it('without retireAt: accepted through the certificate\'s validity', () => {
      assert.deepEqual(verdict(pin('active'), mid), accepted);
      assert.deepEqual(verdict(pin('active'), new Date(validFrom)), accepted);
      assert.deepEqual(verdict(pin('active'), new Date(validTo - 1)), accepted);
    });

    it('with retireAt: accepted before it, refused as retired from it on', () => {
      const p = pin('active', { retireAt: at(HOUR) });
      assert.deepEqual(verdict(p, at(HOUR - 1)), accepted);
      assert.deepEqual(verdict(p, at(HOUR)), refused('retired'));
      assert.deepEqual(verdict(p, at(24 * HOUR)), refused('retired'));
    });

    it('a retireAt already past when pinned: retired at once', () => {
      assert.deepEqual(verdict(pin('active', { retireAt: at(-1) }), mid), refused('retired'));
    });
  });

  it('retired: refused as retired, whatever its schedule says', () => {
    assert.deepEqual(verdict(pin('retired'), mid), refused('retired'));
    assert.deepEqual(verdict(pin('retired', { activateAt: at(-HOUR), retireAt: at(HOUR) }), mid), refused('retired'));
  });

  it('revoked: refused as revoked, before anything else (even an expired certificate)', () => {
    assert.deepEqual(verdict(pin('revoked'), mid), refused('revoked'));
    assert.deepEqual(verdict(pin('revoked', { retireAt: at(-HOUR) }), mid), refused('revoked'));
    assert.deepEqual(verdict(pin('revoked'), new Date(validTo + 24 * HOUR)), refused('revoked'));
  });

  describe('the certificate\'s validity, with the clock skew', () => {
    it('not yet valid beyond the skew: refused; within the skew: accepted', () => {
      const p = pin('active');
      assert.deepEqual(verdict(p, new Date(validFrom - SKEW_MS - 1)), refused('certificate-not-yet-valid'));
      assert.deepEqual(verdict(p, new Date(validFrom - 24 * HOUR)), refused('certificate-not-yet-valid'));
      assert.deepEqual(verdict(p, new Date(validFrom - SKEW_MS)), accepted);
      assert.deepEqual(verdict(p, new Date(validFrom - 1000)), accepted);
    });

    it('expired beyond the skew: refused; within the skew: accepted', () => {
      const p = pin('active');
      assert.deepEqual(verdict(p, new Date(validTo + 1000)), accepted);
      assert.deepEqual(verdict(p, new Date(validTo + SKEW_MS - 1)), accepted);
      assert.deepEqual(verdict(p, new Date(validTo + SKEW_MS)), refused('certificate-expired'));
      assert.deepEqual(verdict(p, new Date(validTo + 24 * HOUR)), refused('certificate-expired'));
    });

    it('a pending pin activated by its schedule still needs a valid certificate', () => {
      const p = pin('pending', { activateAt: new Date(validFrom - 24 * HOUR) });
      assert.deepEqual(verdict(p, new Date(validTo + 24 * HOUR)), refused('certificate-expired'));
    });

    it('a skew of zero: accepted until the certificate\'s notAfter, refused from it', () => {
      assert.deepEqual(pinVerdictAt(pin('active'), new Date(validTo - 1), 0), accepted);
      assert.deepEqual(pinVerdictAt(pin('active'), new Date(validTo), 0), refused('certificate-expired'));
    });
  });

  describe('effectivePinState: what `sts trust list` shows', () => {
    it('a pending pin is active once its activateAt has passed, retired once its retireAt has too', () => {
      const p = pin('pending', { activateAt: at(HOUR), retireAt: at(2 * HOUR) });
      assert.equal(effectivePinState(p, mid), 'pending');
      assert.equal(effectivePinState(p, at(HOUR)), 'active');
      assert.equal(effectivePinState(p, at(2 * HOUR)), 'retired');
      assert.equal(effectivePinState(pin('pending'), at(1000 * HOUR)), 'pending');
    });

    it('an active pin is retired once its retireAt has passed; retired and revoked stay as they are', () => {
      assert.equal(effectivePinState(pin('active', { retireAt: at(HOUR) }), mid), 'active');
      assert.equal(effectivePinState(pin('active', { retireAt: at(HOUR) }), at(HOUR)), 'retired');
      assert.equal(effectivePinState(pin('retired'), mid), 'retired');
      assert.equal(effectivePinState(pin('revoked', { retireAt: at(-HOUR) }), mid), 'revoked');
    });
  });

  describe('partnerKeyAlert: which refusals are alerts, for every caller of pinVerdictAt', () => {
    const token = samlTokenView('https://sts.example/', { id: '_partner-token', issuer: 'https://idp.partner.example/', nameId: 'carol@partner.example', issueInstant: mid, notOnOrAfter: at(HOUR) });
    const thumbprint = 'cd'.repeat(32);
    const alertFor = (reason: PinRefusal['reason']) => partnerKeyAlert(token, thumbprint, { accepted: false, reason }, { samlProvider: 'PartnerIdP' });

    it('revoked and retired: an alert naming the state, the token, the key and the partner', () => {
      for (const [reason, name] of [['revoked', 'token-from-revoked-key'], ['retired', 'token-from-retired-key']] as const) {
        const alert = alertFor(reason);
        assert.equal(alert?.name, name);
        assert.equal(alert?.facts['signingKeyState'], reason);
        assert.equal(alert?.facts['signingKeyThumbprint'], thumbprint);
        assert.equal(alert?.facts['tokenId'], '_partner-token');
        assert.equal(alert?.facts['tokenSubject'], 'carol@partner.example');
        assert.equal(alert?.facts['samlProvider'], 'PartnerIdP');
      }
    });

    it('pending, an expired or a not yet valid certificate: a partner\'s mistake, no alert', () => {
      for (const reason of ['pending', 'certificate-expired', 'certificate-not-yet-valid'] as const) assert.equal(alertFor(reason), undefined, reason);
    });

    it('the verdicts of real pins: an alert exactly for the revoked and the retired', () => {
      const refusals = [pin('revoked'), pin('retired'), pin('active', { retireAt: at(-HOUR) }), pin('pending')].map((p) => verdict(p, mid));
      const alerts = refusals.map((v) => (v.accepted ? 'accepted' : partnerKeyAlert(token, thumbprint, v, {})?.name));
      assert.deepEqual(alerts, ['token-from-revoked-key', 'token-from-retired-key', 'token-from-retired-key', undefined]);
    });
  });

  it('PIN_MOVES: promote pending → active, retire pending or active → retired, revoke any but revoked → revoked', () => {
    // The table the CLI lifecycle tests are generated from: one statement of the rule for both.
    assert.deepEqual(PIN_MOVES, EXPECTED_PIN_MOVES);
  });
});
