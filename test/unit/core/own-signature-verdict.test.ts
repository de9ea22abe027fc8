import { strict as assert } from 'node:assert';
import { ownSignatureVerdict, verifiedByWithheldKey, type OwnSignature, type OwnSignatureLookups } from '../../../src/core/own-signature-verdict';
import { MalformedTokenError } from '../../../src/saml/token-view';
import type { LedgerEntry, SigningKeyRecord } from '../../../src/store/store';
import { SignatureRejectedError, type TrustedKey } from '../../../src/xml/verify-signature';
import { samlTokenView } from '../../support/saml-token-view';

// The one decision Validate/Renew/Cancel/delegation and AssumeRoleWithSAML share about a token signed
// by one of our keys: each state of a withheld key, then the issuance ledger.

const NOW = new Date('2031-06-01T12:00:00Z');
const KEY = 'a'.repeat(64);
const DIGEST = 'ZGlnZXN0LW9mLXRoZS10b2tlbg==';
const APPLIES_TO = 'https://rp.verdict.example/';

const token = samlTokenView(APPLIES_TO, {
  id: '_verdict-token',
  issuer: 'https://sts.verdict.example/',
  nameId: 'alice@verdict.example',
  issueInstant: new Date('2031-06-01T11:00:00Z'),
  notOnOrAfter: new Date('2031-06-01T13:00:00Z'),
});
const signature: OwnSignature = { token, keyThumbprint: KEY, digest: DIGEST };

const key = (state: SigningKeyRecord['state'], notAfter = new Date('2032-01-01T00:00:00Z')): SigningKeyRecord => ({
  thumbprint: KEY,
  state,
  certificatePem: 'not parsed: notAfter is stored',
  sealedPrivateKey: 'v1.a.b.c',
  createdAt: new Date('2031-01-01T00:00:00Z'),
  notAfter,
});

const entry = (changes: Partial<LedgerEntry> = {}): LedgerEntry => ({
  tokenId: token.id,
  tokenType: 'saml2',
  subject: token.nameId,
  audience: APPLIES_TO,
  keyThumbprint: KEY,
  digest: DIGEST,
  issuedAt: token.issueInstant,
  notBefore: token.notBefore as Date,
  notOnOrAfter: token.notOnOrAfter as Date,
  requestId: 'req-1',
  renewedFrom: null,
  renewAllow: true,
  renewAfterExpiry: false,
  actor: null,
  cancelledAt: null,
  ...changes,
});

/** Lookups over fixed answers, counting what was read. */
function lookups(record: SigningKeyRecord | undefined, ledger: LedgerEntry | undefined, audience?: string) {
  const reads = { signingKey: [] as string[], ledgerEntry: [] as string[], tokenAudience: [] as string[] };
  const l: OwnSignatureLookups = {
    signingKey: async (thumbprint) => (reads.signingKey.push(thumbprint), record),
    ledgerEntry: async (tokenId) => (reads.ledgerEntry.push(tokenId), ledger),
    tokenAudience: async (appliesTo) => (reads.tokenAudience.push(appliesTo), audience),
  };
  return { lookups: l, reads };
}

describe('core/own-signature-verdict ownSignatureVerdict', () => {
  describe('a key of ours whose signatures do not count now: refused with its state, reason and alert, the ledger unread', () => {
    const cases = [
      { name: 'revoked', record: key('revoked'), keyState: 'revoked', alert: 'token-from-revoked-key', reason: 'the token is signed by a revoked key of this STS' },
      { name: 'retired', record: key('retired'), keyState: 'retired', alert: 'token-from-retired-key', reason: 'the token is signed by a retired key of this STS' },
      {
        name: 'active with an expired certificate',
        record: key('active', new Date(NOW.getTime() - 1000)),
        keyState: 'active',
        alert: 'token-from-retired-key',
        reason: 'the token is signed by a key of this STS whose certificate has expired',
      },
      {
        name: 'retiring with a certificate expiring this very instant',
        record: key('retiring', NOW),
        keyState: 'retiring',
        alert: 'token-from-retired-key',
        reason: 'the token is signed by a key of this STS whose certificate has expired',
      },
      {
        name: 'pending (a forgery: it has signed nothing)',
        record: key('pending'),
        keyState: 'pending',
        alert: 'forged-token',
        reason: 'the token is signed by a key of this STS that has not been promoted (it has signed nothing)',
      },
    ] as const;
    for (const c of cases) {
      it(c.name, async () => {
        const { lookups: l, reads } = lookups(c.record, entry());
        const verdict = await ownSignatureVerdict(signature, l, NOW);
        assert.ok(!verdict.issued && verdict.refusal === 'withheld-key');
        assert.deepEqual(
          { keyState: verdict.alert.facts['signingKeyState'], storedKeyState: verdict.storedKeyState, reason: verdict.reason, alert: verdict.alert.name },
          { keyState: c.keyState, storedKeyState: c.keyState, reason: c.reason, alert: c.alert },
        );
        assert.equal(verdict.alert.facts['signingKeyState'], c.keyState);
        assert.equal(verdict.alert.facts['signingKeyThumbprint'], KEY);
        assert.equal(verdict.alert.facts['tokenId'], token.id);
        assert.equal(verdict.alert.facts['signedDigest'], DIGEST);
        assert.deepEqual(reads, { signingKey: [KEY], ledgerEntry: [], tokenAudience: [] });
      });
    }

    it('a key the store no longer has: refused as revoked, with no stored state', async () => {
      const verdict = await ownSignatureVerdict(signature, lookups(undefined, entry()).lookups, NOW);
      assert.ok(!verdict.issued && verdict.refusal === 'withheld-key');
      assert.deepEqual(
        { keyState: verdict.alert.facts['signingKeyState'], storedKeyState: verdict.storedKeyState, reason: verdict.reason, alert: verdict.alert.name },
        { keyState: 'revoked', storedKeyState: undefined, reason: 'the token is signed by a revoked key of this STS', alert: 'token-from-revoked-key' },
      );
    });

    it('an assertion with no signature of its own (only its Response signed): the alert names the digest as ""', async () => {
      const verdict = await ownSignatureVerdict({ ...signature, digest: undefined }, lookups(key('revoked'), undefined).lookups, NOW);
      assert.ok(!verdict.issued && verdict.refusal === 'withheld-key');
      assert.equal(verdict.alert.facts['signedDigest'], '');
    });
  });

  describe('a key whose signatures count (not withheld): the ledger decides', () => {
    for (const state of ['active', 'retiring'] as const) {
      it(`${state}, certificate valid, the ledger entry has the signed digest: issued, with the entry, no audience looked up`, async () => {
        const recorded = entry({ cancelledAt: new Date('2031-06-01T11:30:00Z') });
        const { lookups: l, reads } = lookups(key(state), recorded);
        const verdict = await ownSignatureVerdict(signature, l, NOW);
        // Cancellation is the caller's to word: the verdict hands the entry back as it is.
        assert.deepEqual(verdict, { issued: true, ledger: recorded });
        assert.deepEqual(reads, { signingKey: [KEY], ledgerEntry: [token.id], tokenAudience: [] });
      });
    }

    it('no ledger entry: not issued, a forged-token alert', async () => {
      const { lookups: l, reads } = lookups(key('active'), undefined);
      const verdict = await ownSignatureVerdict(signature, l, NOW);
      assert.ok(!verdict.issued && verdict.refusal === 'not-issued');
      assert.equal(verdict.reason, 'the token was not issued by this STS (no matching issuance record)');
      assert.equal(verdict.alert?.name, 'forged-token');
      assert.equal(verdict.alert?.facts['ledger'], 'no entry with this token ID');
      assert.deepEqual(reads.tokenAudience, []);
    });

    it('an entry whose digest differs: not issued, token-claims-mismatch naming what differs, the Audience its relying party writes looked up', async () => {
      const { lookups: l, reads } = lookups(key('active'), entry({ digest: 'b3RoZXI=', subject: 'bob@verdict.example' }), 'urn:rp:own-audience');
      const verdict = await ownSignatureVerdict(signature, l, NOW);
      assert.ok(!verdict.issued && verdict.refusal === 'not-issued');
      assert.equal(verdict.alert?.name, 'token-claims-mismatch');
      // The token carries the AppliesTo, not the relying party's own Audience: both differ.
      assert.deepEqual(verdict.alert?.facts['differs'], ['subject', 'audience']);
      assert.deepEqual(reads.tokenAudience, [APPLIES_TO]);
    });

    it('an assertion with no signature of its own matches no entry: not issued, token-claims-mismatch', async () => {
      const verdict = await ownSignatureVerdict({ ...signature, digest: undefined }, lookups(key('active'), entry()).lookups, NOW);
      assert.ok(!verdict.issued && verdict.refusal === 'not-issued');
      assert.equal(verdict.alert?.name, 'token-claims-mismatch');
      assert.deepEqual(verdict.alert?.facts['differs'], ['signed content (claims or attributes)']);
    });
  });
});

describe('core/own-signature-verdict verifiedByWithheldKey', () => {
  const withheld = [{ thumbprintSha256: KEY } as TrustedKey];

  it('no withheld key: undefined, and nothing is verified', () => {
    let called = false;
    assert.equal(verifiedByWithheldKey([], () => (called = true)), undefined);
    assert.equal(called, false);
  });

  it('a withheld key verifies it: what the verifier returned, given the withheld keys', () => {
    assert.equal(verifiedByWithheldKey(withheld, (keys) => keys), withheld);
  });

  it('none verifies it (signature or token refused): undefined', () => {
    const refusals = [new SignatureRejectedError('untrusted-key', 'no trusted key'), new MalformedTokenError('no issuer')];
    for (const refusal of refusals) {
      assert.equal(
        verifiedByWithheldKey(withheld, () => {
          throw refusal;
        }),
        undefined,
      );
    }
  });

  it('any other failure is not a refusal: it propagates', () => {
    const failure = new Error('store unavailable');
    assert.throws(
      () =>
        verifiedByWithheldKey(withheld, () => {
          throw failure;
        }),
      (err) => err === failure,
    );
  });
});
