import { strict as assert } from 'node:assert';
import { AWS_SAML } from '../../src/core/aws-saml';
import { comboName, expectFault, rstrOf, type Combo } from '../support/ext-trust';
import {
  exchange,
  expectAwsRefusal,
  expectCredentials,
  OTHER_ROLE_ARN,
  PASSWORD,
  ROLE_ARN,
  SELF_PROVIDER_ARN,
  startAwsTestSts,
  USER,
  type AwsTestSts,
} from '../support/aws-sts';
import {
  actAs,
  alertLogLines,
  assertionTemplate,
  expectNotRecorded,
  expectOneAlert,
  idOf,
  inSamlResponse,
  onBehalfOf,
  pemBodyLines,
  reSignTemplate,
  replaceOnce,
  signatureValueOf,
  signWithXmlsec1,
  statusOf,
  stealSigningKey,
  storedAlerts,
  target,
  trustCall,
  type StolenKey,
} from '../support/golden-saml';
import { recordLogs, recordPassword } from '../support/observed-traffic';
import { appliesTo, assertionText } from '../support/trust-messages';
import { SAML2_ASSERTION_ID_ATTRIBUTE, verifyWithXmlsec1 } from '../support/xmlsec1';

// Golden SAML: an attacker who has stolen the token-signing key mints assertions with xmlsec1,
// entirely outside Trustbridge. Every path that accepts one of our tokens (Validate, Renew, Cancel,
// OnBehalfOf, ActAs, AssumeRoleWithSAML) must refuse them, say so precisely, and raise an alert a
// responder can act on (which token, which key, what differs), while the genuine token passes.

const SVC = 'svc@golden-saml.example';
const SVC_PASSWORD = 'Golden-Svc-Secret-4';
const RP_BACK = 'https://back.golden-saml.example/';
const NOT_ISSUED = 'the token was not issued by this STS (no matching issuance record)';
const TEN_YEARS_MS = 10 * 365 * 24 * 3600_000;

// One WS-Trust 1.3 combination and one February 2005 one, over each SOAP version.
const COMBOS: readonly Combo[] = [
  { version: '1.3', soap: '1.2' },
  { version: '2005', soap: '1.1' },
];

interface Forgery {
  readonly name: string;
  readonly alert: 'forged-token' | 'token-claims-mismatch';
  /** Facts the alert must carry beyond the token id and key. */
  readonly facts: Record<string, unknown>;
  xml: string;
  id: string;
  /** For a forgery under a real token's ID: that token's ledger digest, which must not change. */
  genuineDigest?: string;
}

describe('golden-saml: a forgery signed outside Trustbridge with the real key is caught on every path', function () {
  this.timeout(120_000);
  let sts: AwsTestSts;
  let stolen: StolenKey;

  const brandNew: Forgery = {
    name: '(a) a brand-new assertion: new ID, subject administrator, a ten-year lifetime',
    alert: 'forged-token',
    facts: { ledger: 'no entry with this token ID', tokenSubject: 'administrator' },
    xml: '',
    id: '',
  };
  const reminted: Forgery = {
    name: "(b) a real token's ID with a changed attribute, re-signed",
    alert: 'token-claims-mismatch',
    facts: { differs: ['signed content (claims or attributes)'], tokenSubject: USER, ledgerSubject: USER },
    xml: '',
    id: '',
  };

  const trust = (combo: Combo, op: 'Issue' | 'Validate' | 'Renew' | 'Cancel', rstBody: string, user = USER) =>
    trustCall(sts, combo, { user, password: user === SVC ? SVC_PASSWORD : PASSWORD, op, rstBody });

  before(async () => {
    sts = await startAwsTestSts();
    recordLogs(sts.logs);
    recordPassword(PASSWORD, SVC_PASSWORD);
    await sts.addUser({ name: SVC, password: SVC_PASSWORD, claims: [] });
    await sts.addRelyingParty({ appliesTo: RP_BACK, releasedClaims: [], delegates: [SVC] });
    stolen = await stealSigningKey(sts.instance);
    assert.equal(stolen.thumbprint, sts.instance.signingKey.thumbprintSha256, 'the active key');

    const now = new Date();
    const a = assertionTemplate({
      issuer: sts.instance.config.issuer,
      nameId: 'administrator',
      issueInstant: now,
      notOnOrAfter: new Date(now.getTime() + TEN_YEARS_MS),
      audience: AWS_SAML.signinUrl,
      recipient: AWS_SAML.signinUrl,
      attributes: {
        [AWS_SAML.role]: [`${ROLE_ARN},${SELF_PROVIDER_ARN}`, `${OTHER_ROLE_ARN},${SELF_PROVIDER_ARN}`],
        [AWS_SAML.roleSessionName]: ['administrator'],
      },
    });
    brandNew.xml = await signWithXmlsec1(a.xml, stolen);
    brandNew.id = a.id;

    const genuine = await sts.issueAwsToken();
    reminted.id = idOf(genuine);
    reminted.genuineDigest = (await sts.instance.store.ledger.get(reminted.id))?.digest;
    assert.ok(reminted.genuineDigest, 'the genuine token is in the ledger');
    reminted.xml = await signWithXmlsec1(
      reSignTemplate(genuine, (t) =>
        replaceOnce(t, `<AttributeValue>${USER}</AttributeValue>`, '<AttributeValue>administrator</AttributeValue>'),
      ),
      stolen,
    );
  });
  after(async () => {
    stolen?.discard();
    await sts?.stop();
  });

  for (const forgery of [brandNew, reminted]) {
    describe(forgery.name, () => {
      let ledgerCount: number;
      beforeEach(async () => {
        ledgerCount = await sts.instance.store.ledger.count();
      });

      /** The alert (log line and stored event) for this refused request, and the ledger untouched by it. */
      async function expectCaught(requestId: string): Promise<void> {
        await expectOneAlert(sts, requestId, {
          alert: forgery.alert,
          severity: 'critical',
          tokenId: forgery.id,
          signingKeyThumbprint: stolen.thumbprint,
          facts: forgery.facts,
        });
        assert.equal(await sts.instance.store.ledger.count(), ledgerCount, 'nothing was added to the ledger');
        const entry = await sts.instance.store.ledger.get(forgery.id);
        if (forgery.genuineDigest === undefined) assert.equal(entry, undefined, 'the forgery is not in the ledger');
        else {
          assert.equal(entry?.digest, forgery.genuineDigest, 'the ledger still holds the genuine token');
          assert.equal(entry?.cancelledAt, null, 'the genuine token was not cancelled through the forgery');
        }
      }

      it('xmlsec1 made a perfect forgery: it verifies against the STS certificate alone', () => {
        const verified = verifyWithXmlsec1(forgery.xml, sts.signingCertificatePem, SAML2_ASSERTION_ID_ATTRIBUTE);
        assert.ok(verified.ok, verified.output);
        assert.equal(idOf(forgery.xml), forgery.id);
      });

      for (const combo of COMBOS) {
        describe(comboName(combo), () => {
          it('Validate: Status invalid, "not issued by this STS"', async () => {
            const sent = await trust(combo, 'Validate', target('Validate', forgery.xml));
            assert.deepEqual(statusOf(sent, combo), { valid: false, reason: NOT_ISSUED });
            await expectCaught(sent.res.requestId);
          });

          it('Renew: wst:UnableToRenew, and no new token', async () => {
            const sent = await trust(combo, 'Renew', target('Renew', forgery.xml));
            expectFault(sent, combo, 'wst', 'UnableToRenew', /^The token cannot be renewed: the token was not issued by this STS/);
            await expectCaught(sent.res.requestId);
          });

          it('Cancel: wst:InvalidRequest, and nothing is cancelled', async () => {
            const sent = await trust(combo, 'Cancel', target('Cancel', forgery.xml));
            expectFault(sent, combo, 'wst', 'InvalidRequest', /^The CancelTarget is not a token this STS issued\.$/);
            await expectCaught(sent.res.requestId);
          });

          for (const [kind, wrap] of [
            ['OnBehalfOf', onBehalfOf],
            ['ActAs', actAs],
          ] as const) {
            it(`Issue with ${kind} by an allowed delegate: wst:FailedAuthentication, and no token`, async () => {
              const sent = await trust(combo, 'Issue', appliesTo(RP_BACK) + wrap(forgery.xml), SVC);
              expectFault(sent, combo, 'wst', 'FailedAuthentication', /^The delegated token is not valid: the token was not issued by this STS/);
              await expectCaught(sent.res.requestId);
            });
          }
        });
      }

      for (const [form, wrap] of [
        ['a bare Assertion', (x: string) => x],
        ['an Assertion inside a samlp:Response', (x: string) => inSamlResponse(x, sts.instance.config.issuer)],
      ] as const) {
        it(`AssumeRoleWithSAML with Trustbridge's own provider, ${form}: InvalidIdentityToken 400, no credentials`, async () => {
          const res = await exchange(sts, wrap(forgery.xml), { principalArn: SELF_PROVIDER_ARN });
          const { requestId, log } = expectAwsRefusal(sts, res, {
            status: 400,
            code: 'InvalidIdentityToken',
            message: 'The SAML assertion was not issued by this STS.',
          });
          assert.equal(log['alert'], forgery.alert, 'the request\'s own log line names its alert');
          await expectCaught(requestId);
        });
      }

      it('neither the forged token\'s text nor the private key is in any log line or audit event', async () => {
        await expectNotRecorded(sts, [
          signatureValueOf(forgery.xml),
          Buffer.from(forgery.xml).toString('base64').slice(0, 80),
          ...pemBodyLines(stolen.privateKeyPem),
        ]);
      });
    });
  }

  it("a real token's ID re-minted for another subject with a longer lifetime: the alert names subject and notOnOrAfter", async () => {
    const genuine = await sts.issueAwsToken();
    const entry = await sts.instance.store.ledger.get(idOf(genuine));
    assert.ok(entry);
    const later = new Date(entry.notOnOrAfter.getTime() + TEN_YEARS_MS).toISOString();
    const original = entry.notOnOrAfter.toISOString();
    const edit = (t: string): string => {
      const subject = replaceOnce(t, `>${USER}</NameID>`, '>administrator</NameID>');
      const conditions = replaceOnce(subject, `<Conditions NotBefore="${entry.notBefore.toISOString()}" NotOnOrAfter="${original}">`, `<Conditions NotBefore="${entry.notBefore.toISOString()}" NotOnOrAfter="${later}">`);
      return replaceOnce(conditions, `<SubjectConfirmationData NotOnOrAfter="${original}"`, `<SubjectConfirmationData NotOnOrAfter="${later}"`);
    };
    const forged = await signWithXmlsec1(reSignTemplate(genuine, edit), stolen);
    const sent = await trust(COMBOS[0] as Combo, 'Validate', target('Validate', forged));
    assert.deepEqual(statusOf(sent, COMBOS[0] as Combo), { valid: false, reason: NOT_ISSUED });
    await expectOneAlert(sts, sent.res.requestId, {
      alert: 'token-claims-mismatch',
      severity: 'critical',
      tokenId: entry.tokenId,
      signingKeyThumbprint: stolen.thumbprint,
      facts: {
        differs: ['subject', 'notOnOrAfter'],
        tokenSubject: 'administrator',
        ledgerSubject: USER,
        tokenNotOnOrAfter: later,
        ledgerNotOnOrAfter: original,
      },
    });
    assert.equal((await sts.instance.store.ledger.get(entry.tokenId))?.digest, entry.digest);
  });

  describe('positive control: the genuine token passes every path, without an alert', () => {
    const noAlert = async (requestId: string): Promise<void> => {
      assert.deepEqual(alertLogLines(sts.logs, requestId), []);
      assert.deepEqual(await storedAlerts(sts.instance, requestId), []);
    };

    for (const combo of COMBOS) {
      describe(comboName(combo), () => {
        it('Validate: Status valid', async () => {
          const token = await sts.issueAwsToken();
          const sent = await trust(combo, 'Validate', target('Validate', token));
          assert.deepEqual(statusOf(sent, combo), { valid: true, reason: 'the token is valid' });
          await noAlert(sent.res.requestId);
        });

        it('Renew: a new token for the same subject', async () => {
          const token = await sts.issueAwsToken();
          const sent = await trust(combo, 'Renew', target('Renew', token));
          rstrOf(sent, combo, 'Renew');
          const renewed = assertionText(sent.res.body);
          assert.notEqual(idOf(renewed), idOf(token));
          assert.equal((await sts.instance.store.ledger.get(idOf(renewed)))?.renewedFrom, idOf(token));
          await noAlert(sent.res.requestId);
        });

        for (const [kind, wrap] of [
          ['OnBehalfOf', onBehalfOf],
          ['ActAs', actAs],
        ] as const) {
          it(`Issue with ${kind}: a token for the genuine token's subject, with the delegate as actor`, async () => {
            const token = await sts.issueAwsToken();
            const sent = await trust(combo, 'Issue', appliesTo(RP_BACK) + wrap(token), SVC);
            rstrOf(sent, combo);
            const entry = await sts.instance.store.ledger.get(idOf(assertionText(sent.res.body)));
            assert.equal(entry?.subject, USER);
            assert.equal(entry?.actor, SVC);
            await noAlert(sent.res.requestId);
          });
        }

        it('Cancel: cancelled in the ledger', async () => {
          const token = await sts.issueAwsToken();
          const sent = await trust(combo, 'Cancel', target('Cancel', token));
          assert.equal(sent.res.status, 200, sent.res.body.slice(0, 600));
          assert.notEqual((await sts.instance.store.ledger.get(idOf(token)))?.cancelledAt, null);
          await noAlert(sent.res.requestId);
        });
      });
    }

    it('AssumeRoleWithSAML: credentials for the bare assertion and for it inside a samlp:Response', async () => {
      const token = await sts.issueAwsToken();
      const bare = await exchange(sts, token, { principalArn: SELF_PROVIDER_ARN });
      expectCredentials(bare);
      await noAlert(String(bare.headers['x-amzn-requestid']));
      const wrapped = await exchange(sts, inSamlResponse(token, sts.instance.config.issuer), { principalArn: SELF_PROVIDER_ARN, roleArn: OTHER_ROLE_ARN });
      expectCredentials(wrapped);
      await noAlert(String(wrapped.headers['x-amzn-requestid']));
    });
  });
});
