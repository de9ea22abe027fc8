import { strict as assert } from 'node:assert';
import { TOKEN_TYPE } from '../../../src/xml/namespaces';
import {
  ATTACKER,
  cancelTarget,
  idOf,
  onBehalfOf,
  renewTarget,
  RP,
  RP_DELEGATED,
  SERVICE,
  startAttackSts,
  tokenTypeElement,
  validateTarget,
  VICTIM,
  type AttackSts,
} from '../../support/attacks/attack-sts';
import { expectSoapFault, expectValidateStatus } from '../../support/attacks/expected-rejections';
import { SLOTS } from '../../support/attacks/token-slots';
import { setLedgerNotOnOrAfter } from '../../support/ext-trust';
import { appliesTo, samlIdReference } from '../../support/trust-messages';

// Genuine, correctly signed tokens used by someone they were not for, or after they stopped being
// good: the victim's token presented by the attacker (stolen, or seen in transit) on Renew, Cancel,
// Validate's exchange and OnBehalfOf; cancelled and expired tokens of ours; partner IdP tokens that
// are expired, not yet valid, claim another issuer, or state no end of validity at all; partner tokens
// where only our own are accepted. The signature is fine every time: what is refused is the use.

const YEAR_MS = 365 * 24 * 3600_000;

describe('attacks: stolen, cancelled, expired and foreign tokens on WS-Trust', function () {
  this.timeout(60_000);
  let sts: AttackSts;

  before(async () => {
    sts = await startAttackSts();
  });
  after(async () => {
    await sts?.stop();
  });

  const wst = (code: string, reason: string, soap: '1.1' | '1.2' = '1.2') => ({ soap, trust: '1.3' as const, family: 'wst' as const, code, reason });
  const victimsToken = (): Promise<string> => sts.issue({ user: VICTIM });

  describe('the victim\'s token presented by the attacker', () => {
    it('on Renew 1.3 → wst:UnableToRenew', async () => {
      const token = await victimsToken();
      expectSoapFault(await sts.attack(() => sts.send({ op: 'Renew', rstBody: renewTarget(token) })), wst('UnableToRenew', 'Only the token\'s own subject may renew it.'));
    });

    it('on Cancel 1.3 (inline) → wst:InvalidRequest, the victim\'s token not cancelled', async () => {
      const token = await victimsToken();
      expectSoapFault(await sts.attack(() => sts.send({ op: 'Cancel', rstBody: cancelTarget(token) })), wst('InvalidRequest', 'Only the token\'s own subject may cancel it.'));
      assert.equal((await sts.instance.store.ledger.get(idOf(token)))?.cancelledAt, null);
    });

    it('on Cancel 1.3 by reference (SAMLID) → wst:InvalidRequest, the victim\'s token not cancelled', async () => {
      const token = await victimsToken();
      expectSoapFault(await sts.attack(() => sts.send({ op: 'Cancel', rstBody: cancelTarget(samlIdReference(idOf(token))) })), wst('InvalidRequest', 'Only the token\'s own subject may cancel it.'));
    });

    it('on Validate 1.3 exchanged for a new token (not a delegate) → wst:RequestFailed', async () => {
      const token = await victimsToken();
      const res = await sts.attack(() => sts.send({ op: 'Validate', rstBody: appliesTo(RP) + tokenTypeElement(TOKEN_TYPE.saml20) + validateTarget(token) }));
      expectSoapFault(res, wst('RequestFailed', `The caller may not request tokens for others for "${RP}".`));
    });

    it('on OnBehalfOf 1.3 (not a delegate of the relying party) → wst:RequestFailed', async () => {
      const token = await victimsToken();
      const res = await sts.attack(() => sts.send({ op: 'Issue', rstBody: appliesTo(RP_DELEGATED) + onBehalfOf(token) }));
      expectSoapFault(res, wst('RequestFailed', `The caller may not request tokens for others for "${RP_DELEGATED}".`));
    });

    it('on OnBehalfOf 1.3 for a relying party without delegates, by the service → wst:RequestFailed', async () => {
      const token = await victimsToken();
      const res = await sts.attack(() => sts.send({ op: 'Issue', user: SERVICE, rstBody: appliesTo(RP) + onBehalfOf(token) }));
      expectSoapFault(res, wst('RequestFailed', `The caller may not request tokens for others for "${RP}".`));
    });
  });

  describe('tokens of ours that are no longer good', () => {
    const cancelled = async (): Promise<string> => {
      const token = await sts.issue();
      assert.equal((await sts.send({ op: 'Cancel', rstBody: cancelTarget(token) })).status, 200);
      return token;
    };
    const expired = async (): Promise<string> => {
      const token = await sts.issue();
      await setLedgerNotOnOrAfter(sts, idOf(token), new Date(Date.now() - 3600_000));
      return token;
    };

    it('a cancelled token on Validate 1.3 → Status invalid "the token was cancelled"', async () => {
      const token = await cancelled();
      expectValidateStatus(await sts.attack(() => sts.send({ op: 'Validate', rstBody: validateTarget(token) })), { soap: '1.2', trust: '1.3', valid: false, reason: 'the token was cancelled' });
    });

    it('a cancelled token on Renew 1.3 → wst:UnableToRenew', async () => {
      const token = await cancelled();
      expectSoapFault(await sts.attack(() => sts.send({ op: 'Renew', rstBody: renewTarget(token) })), wst('UnableToRenew', 'The token cannot be renewed: the token was cancelled.'));
    });

    it('a cancelled token cancelled again → wst:InvalidRequest', async () => {
      const token = await cancelled();
      expectSoapFault(await sts.attack(() => sts.send({ op: 'Cancel', rstBody: cancelTarget(token) })), wst('InvalidRequest', 'The token was already cancelled.'));
    });

    it('a cancelled token on OnBehalfOf 1.3 → wst:FailedAuthentication', async () => {
      const token = await cancelled();
      expectSoapFault(await sts.attack(() => sts.send({ op: 'Issue', user: SERVICE, rstBody: appliesTo(RP_DELEGATED) + onBehalfOf(token) })), wst('FailedAuthentication', 'The delegated token is not valid: the token was cancelled.'));
    });

    it('an expired token on OnBehalfOf 1.3 → wst:FailedAuthentication', async () => {
      const token = await expired();
      expectSoapFault(await sts.attack(() => sts.send({ op: 'Issue', user: SERVICE, rstBody: appliesTo(RP_DELEGATED) + onBehalfOf(token) })), wst('FailedAuthentication', 'The delegated token is not valid: the token has expired.'));
    });

    it('an expired token on Renew 1.3 (no renewal window after expiry) → wst:UnableToRenew', async () => {
      const token = await expired();
      expectSoapFault(await sts.attack(() => sts.send({ op: 'Renew', rstBody: renewTarget(token) })), wst('UnableToRenew', 'The token has expired and may not be renewed after expiry.'));
    });
  });

  describe('partner IdP tokens (ActAs 1.3)', () => {
    const actAs = SLOTS.actAsPartner;
    const refusedAs = async (token: string, reason: string): Promise<void> => {
      const res = await sts.attack(() => sts.send({ op: 'Issue', user: SERVICE, rstBody: actAs.prefix + actAs.slot(token) }));
      expectSoapFault(res, wst('FailedAuthentication', reason));
    };

    it('positive control: a current partner token is accepted', async () => {
      const res = await sts.send({ op: 'Issue', user: SERVICE, rstBody: actAs.prefix + actAs.slot(sts.partnerToken(ATTACKER)) });
      assert.equal(res.status, 200, res.body.slice(0, 600));
    });

    it('an expired partner token (NotOnOrAfter an hour ago) → wst:FailedAuthentication', () =>
      refusedAs(
        sts.partnerToken(VICTIM, { issueInstant: new Date(Date.now() - 2 * 3600_000), notOnOrAfter: new Date(Date.now() - 3600_000) }),
        'The delegated token is outside its validity period.',
      ));

    it('a partner token not yet valid (NotBefore in an hour) → wst:FailedAuthentication', () =>
      refusedAs(sts.partnerToken(VICTIM, { notBefore: new Date(Date.now() + 3600_000) }), 'The delegated token is outside its validity period.'));

    it('a partner token a year old that states no end of validity (no Conditions) → wst:FailedAuthentication', () =>
      refusedAs(
        sts.partnerToken(VICTIM, { issueInstant: new Date(Date.now() - YEAR_MS), withoutConditions: true }),
        'The delegated token states no end of validity (Conditions NotOnOrAfter).',
      ));

    it('a token signed by the partner\'s pinned key but naming another issuer → wst:FailedAuthentication', () =>
      refusedAs(sts.partnerToken(VICTIM, { issuer: 'https://idp.other.example/' }), 'The delegated token is signed by a certificate not pinned for its issuer.'));

    it('a partner token whose NameID holds U+0001 (signed as such) → wst:InvalidRequest: the token minted from it would not be XML', async () => {
      const token = sts.partnerToken(`${VICTIM}\u0001`);
      const res = await sts.attack(() => sts.send({ op: 'Issue', user: SERVICE, rstBody: actAs.prefix + actAs.slot(token) }));
      expectSoapFault(res, wst('InvalidRequest', 'The request was refused: the XML holds a character XML does not allow.'));
    });

    it('a partner token on Validate 1.3 (only our own tokens are valid there) → Status invalid', async () => {
      const res = await sts.attack(() => sts.send({ op: 'Validate', rstBody: validateTarget(sts.partnerToken(ATTACKER)) }));
      expectValidateStatus(res, { soap: '1.2', trust: '1.3', valid: false, reason: 'the token is signed with a certificate that is not trusted' });
    });

    it('a partner token on Renew 1.3 → wst:UnableToRenew', async () => {
      const res = await sts.attack(() => sts.send({ op: 'Renew', rstBody: renewTarget(sts.partnerToken(ATTACKER)) }));
      expectSoapFault(res, wst('UnableToRenew', 'The token cannot be renewed: the token is signed with a certificate that is not trusted.'));
    });
  });
});
