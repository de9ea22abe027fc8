import { strict as assert } from 'node:assert';
import {
  actAs,
  ATTACKER,
  idOf,
  onBehalfOf,
  partnerToken,
  PARTNER_ISSUER,
  RP,
  RP_DELEGATED,
  SERVICE,
  startAttackSts,
  tokenText,
  VICTIM,
  type AttackSts,
  type PartnerTokenOptions,
} from '../../support/attacks/attack-sts';
import { expectSoapFault } from '../../support/attacks/expected-rejections';
import type { PostResult } from '../../support/sts-post';
import { appliesTo } from '../../support/trust-messages';

// Token forwarding: a partner IdP issues a token to some relying party of its own; that party (or whoever
// captured the token from it) presents it to Trustbridge as OnBehalfOf/ActAs, and would buy tokens for
// the token's subject. A partner token counts here only when the partner addressed it to this STS: our
// issuer identifier or one of our WS-Trust endpoints' URLs, in every AudienceRestriction it carries. Our
// own tokens keep their audience (the front-end relying party) and are accepted as before.

const OTHER_RP = 'https://crm.partner-customer.example/';
const NOT_ADDRESSED = 'The delegated token is not addressed to this STS (its Audience).';
const WRAPS = [
  ['OnBehalfOf', onBehalfOf],
  ['ActAs', actAs],
] as const;

describe('attacks: a partner token forwarded from another relying party (Audience) on OnBehalfOf/ActAs', function () {
  this.timeout(60_000);
  let sts: AttackSts;

  before(async () => {
    sts = await startAttackSts();
  });
  after(async () => {
    await sts?.stop();
  });

  const delegate = (token: string, wrap: (t: string) => string = actAs): Promise<PostResult> =>
    sts.send({ op: 'Issue', user: SERVICE, rstBody: appliesTo(RP_DELEGATED) + wrap(token) });

  /** Issued: a token of ours for the token's subject, with the service as actor, recorded in the ledger. */
  async function expectAccepted(token: string, subject: string, wrap?: (t: string) => string): Promise<void> {
    const before = await sts.instance.store.ledger.count();
    const res = await delegate(token, wrap);
    assert.equal(res.status, 200, res.body.slice(0, 600));
    const entry = await sts.instance.store.ledger.get(idOf(tokenText(res.body)));
    assert.equal(entry?.subject, subject);
    assert.equal(entry?.actor, SERVICE);
    assert.equal(entry?.audience, RP_DELEGATED);
    assert.equal(await sts.instance.store.ledger.count(), before + 1);
  }

  /**
   * Refused with wst:FailedAuthentication and this reason, through the attack checks (no stack trace, no
   * internal error, the store unchanged row for row: no ledger row, no replay entry); returns the log detail.
   */
  async function expectRefused(token: string, reason: string, wrap?: (t: string) => string): Promise<string> {
    const res = await sts.attack(() => delegate(token, wrap));
    expectSoapFault(res, { soap: '1.2', trust: '1.3', family: 'wst', code: 'FailedAuthentication', reason });
    assert.ok(!res.body.includes(OTHER_RP), 'the audiences the token carried are for the log, not the caller');
    const lines = sts.logs.filter((r) => r.msg === 'request failed' && r.fields['requestId'] === res.requestId);
    assert.equal(lines.length, 1, JSON.stringify(lines));
    assert.equal(lines[0]?.fields['reason'], reason);
    return String(lines[0]?.fields['detail']);
  }

  const forwarded = (o: PartnerTokenOptions = {}): string => sts.partnerToken(VICTIM, { audienceRestrictions: [[OTHER_RP]], ...o });
  const detailFor = (token: string, restrictions: string): string =>
    `partner token ${idOf(token)} of ${PARTNER_ISSUER} is addressed to ${restrictions}`;

  describe('SAML 2.0 (AudienceRestriction)', () => {
    for (const [name, wrap] of WRAPS) {
      it(`${name}: a partner token addressed to our issuer identifier → accepted`, async () => {
        await expectAccepted(sts.partnerToken(VICTIM, { audienceRestrictions: [[sts.instance.config.issuer]] }), VICTIM, wrap);
      });

      it(`${name}: a partner token for another relying party's audience → wst:FailedAuthentication, no ledger row; the log names its audience`, async () => {
        const token = forwarded();
        const detail = await expectRefused(token, NOT_ADDRESSED, wrap);
        assert.equal(detail, detailFor(token, `[["${OTHER_RP}"]]`));
      });
    }

    it('a partner token addressed to one of our WS-Trust endpoint URLs (each of the three) → accepted', async () => {
      for (const path of ['/adfs/services/trust/13/usernamemixed', '/adfs/services/trust/2005/usernamemixed', '/adfs/services/trust/13/certificatemixed']) {
        await expectAccepted(sts.partnerToken(VICTIM, { audienceRestrictions: [[`${sts.baseUrl}${path}`]] }), VICTIM);
      }
    });

    it('a partner token with no AudienceRestriction at all (valid anywhere) → wst:FailedAuthentication', async () => {
      const token = sts.partnerToken(VICTIM, { audienceRestrictions: [] });
      assert.doesNotMatch(token, /AudienceRestriction/);
      assert.equal(await expectRefused(token, NOT_ADDRESSED), detailFor(token, 'no one (it carries no audience restriction)'));
    });

    it('two AudienceRestriction elements, one naming us and one not → wst:FailedAuthentication (each must be met)', async () => {
      const token = sts.partnerToken(VICTIM, { audienceRestrictions: [[sts.instance.config.issuer], [OTHER_RP]] });
      assert.equal(await expectRefused(token, NOT_ADDRESSED), detailFor(token, `[["${sts.instance.config.issuer}"],["${OTHER_RP}"]]`));
    });

    it('one AudienceRestriction listing an unrelated audience and ours → accepted', async () => {
      await expectAccepted(sts.partnerToken(VICTIM, { audienceRestrictions: [[OTHER_RP, sts.instance.config.issuer]] }), VICTIM);
    });

    it('our issuer identifier with a trailing slash, or in upper case → wst:FailedAuthentication (exact comparison)', async () => {
      for (const nearMiss of [`${sts.instance.config.issuer}/`, sts.instance.config.issuer.toUpperCase()]) {
        await expectRefused(sts.partnerToken(VICTIM, { audienceRestrictions: [[nearMiss]] }), NOT_ADDRESSED);
      }
    });
  });

  describe('SAML 1.1 (AudienceRestrictionCondition)', () => {
    it('a SAML 1.1 partner token addressed to our issuer identifier → accepted', async () => {
      const token = sts.partnerToken(VICTIM, { version: '1.1' });
      assert.match(token, /<saml:AudienceRestrictionCondition><saml:Audience>/);
      await expectAccepted(token, VICTIM);
    });

    it('a SAML 1.1 partner token for another relying party → wst:FailedAuthentication, the log naming its audience', async () => {
      const token = forwarded({ version: '1.1' });
      assert.equal(await expectRefused(token, NOT_ADDRESSED), detailFor(token, `[["${OTHER_RP}"]]`));
    });

    it('a SAML 1.1 partner token with no AudienceRestrictionCondition → wst:FailedAuthentication', async () => {
      await expectRefused(sts.partnerToken(VICTIM, { version: '1.1', audienceRestrictions: [] }), NOT_ADDRESSED);
    });

    it('two AudienceRestrictionConditions, one naming us and one not → wst:FailedAuthentication', async () => {
      await expectRefused(sts.partnerToken(VICTIM, { version: '1.1', audienceRestrictions: [[sts.instance.config.issuer], [OTHER_RP]] }), NOT_ADDRESSED);
    });
  });

  describe('the order of the checks', () => {
    it('a forwarded token signed by a key not pinned → refused as not pinned; its audience is not read, nor logged', async () => {
      const token = partnerToken(sts.strangerKey, VICTIM, { audienceRestrictions: [[OTHER_RP]] });
      const detail = await expectRefused(token, 'The delegated token is signed by a certificate not pinned for its issuer.');
      assert.ok(!detail.includes(OTHER_RP), detail);
    });

    it('a forwarded token that has also expired → refused as outside its validity period (the times are checked first)', async () => {
      const token = forwarded({ issueInstant: new Date(Date.now() - 2 * 3600_000), notOnOrAfter: new Date(Date.now() - 3600_000) });
      await expectRefused(token, 'The delegated token is outside its validity period.');
    });
  });

  it('our own token, addressed to the front-end relying party, is still accepted as OnBehalfOf (not held to our audiences)', async () => {
    const own = await sts.issue({ user: ATTACKER, audience: RP });
    await expectAccepted(own, ATTACKER, onBehalfOf);
  });
});
