import { strict as assert } from 'node:assert';
import { generateSelfSignedCertificate } from '../../../src/keys/certificates';
import { loadSigningKey, signingKeyFor, type SigningKey } from '../../../src/keys/signing-key';
import { trustedKeyFromCertificate } from '../../../src/keys/trusted-key';
import { addRelyingParty } from '../../../src/core/relying-party-admin';
import { DEFAULT_RENEWING, TokenService } from '../../../src/core/token-service';
import { verifySamlToken } from '../../../src/saml/verify-token';
import { openSqliteStore } from '../../../src/store/sqlite/sqlite-store';
import { TEST_LEDGER_TRUST } from '../../support/ledger-chain-key';
import type { Store } from '../../../src/store/store';
import { NS, SAML2 } from '../../../src/xml/namespaces';
import { parseXmlSafely } from '../../../src/xml/safe-parse';

// Where TokenService signs: on the thread pool (a worker with a core to spare) or on the event loop
// (a worker on every core, as sts serve decides). Either way the token verifies and the ledger holds
// the digest it was signed with.

const LIMITS = { maxBytes: 1024 * 1024, maxDepth: 48, maxElements: 4000, maxAttributesPerElement: 48 };
const RP = 'https://rp.signing.example/';

describe('core/token-service: where tokens are signed', () => {
  const generated = generateSelfSignedCertificate({ commonName: 'token-service-signing', validDays: 1 });
  const sealed = loadSigningKey(generated.privateKeyPem, generated.certificatePem);
  let store: Store;
  let calls: { onThread: number; offThread: number };
  // The sealed key's two signers, counted.
  const countedKey: SigningKey = signingKeyFor(
    generated.certificatePem,
    'sealed',
    (hash, data) => {
      calls.onThread++;
      return sealed.sign(hash, data);
    },
    (hash, data) => {
      calls.offThread++;
      return sealed.signOffThread(hash, data);
    },
  );

  beforeEach(async () => {
    store = openSqliteStore(':memory:', { ledgerTrust: TEST_LEDGER_TRUST });
    await addRelyingParty(store, { appliesTo: RP });
    calls = { onThread: 0, offThread: 0 };
  });
  afterEach(() => store.close());

  for (const signOffThread of [true, false]) {
    it(`signOffThread ${signOffThread}: signs ${signOffThread ? 'on the thread pool' : 'on the event loop'} only, and the token verifies with the ledger's digest`, async () => {
      const tokens = new TokenService({ store, issuer: 'https://sts.signing.example/', activeSigningKey: () => countedKey, now: () => new Date(), signOffThread });
      const issued = await tokens.issue({
        subject: { name: 'alice', claims: [], authenticatedAt: new Date(), authnContextClassRef: SAML2.passwordProtectedTransport },
        appliesTo: RP,
        tokenType: 'saml2',
        requestedExpires: undefined,
        renewing: DEFAULT_RENEWING,
        requestId: 'req-signing',
      });
      assert.deepEqual(calls, signOffThread ? { onThread: 0, offThread: 1 } : { onThread: 1, offThread: 0 });
      const root = parseXmlSafely(issued.xml, LIMITS).getElementsByTagNameNS(NS.saml2, 'Assertion').item(0);
      assert.ok(root);
      const verified = verifySamlToken(root, [trustedKeyFromCertificate(generated.certificatePem)]);
      assert.equal(verified.token.id, issued.id);
      assert.equal((await store.ledger.get(issued.id))?.digest, verified.digest);
    });
  }

  it('an off-thread signer that fails: issue() rejects with its error, signs nowhere else, and records nothing in the ledger', async () => {
    const failure = new Error('error:0200006E:rsa routines::data too large for key size');
    const failingKey = signingKeyFor(
      generated.certificatePem,
      'sealed',
      (hash, data) => {
        calls.onThread++;
        return sealed.sign(hash, data);
      },
      async () => {
        calls.offThread++;
        throw failure;
      },
    );
    const tokens = new TokenService({ store, issuer: 'https://sts.signing.example/', activeSigningKey: () => failingKey, now: () => new Date(), signOffThread: true });
    await assert.rejects(
      tokens.issue({
        subject: { name: 'alice', claims: [], authenticatedAt: new Date(), authnContextClassRef: SAML2.passwordProtectedTransport },
        appliesTo: RP,
        tokenType: 'saml2',
        requestedExpires: undefined,
        renewing: DEFAULT_RENEWING,
        requestId: 'req-signing-fails',
      }),
      (err) => err === failure,
    );
    assert.deepEqual(calls, { onThread: 0, offThread: 1 }, 'no second attempt on the event loop');
    assert.equal(await store.ledger.count(), 0);
  });
});
