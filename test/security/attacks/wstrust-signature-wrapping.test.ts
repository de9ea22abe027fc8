import { strict as assert } from 'node:assert';
import { actAs, ATTACKER, onBehalfOf, RP_DELEGATED, SERVICE, startAttackSts, validateTarget, VICTIM, type AttackSts } from '../../support/attacks/attack-sts';
import { expectSoapFault } from '../../support/attacks/expected-rejections';
import { WRAPPING_SHAPES, wrapAssertion, type AssertionWrapping } from '../../support/attacks/signature-wrapping';
import { impersonate } from '../../support/attacks/token-text';
import { sendInSlot, SLOTS, type TokenSlot } from '../../support/attacks/token-slots';
import { appliesTo } from '../../support/trust-messages';

// XML signature wrapping (Somorovsky et al., XSW3–XSW8: the assertion-level shapes) against every
// WS-Trust element that carries a token to verify: ValidateTarget (1.3 and February 2005, SAML 2.0 and
// 1.1), RenewTarget, CancelTarget, OnBehalfOf (one of our tokens) and ActAs (a pinned partner IdP's
// token). The genuine token is the attacker's own, issued by this STS (or the partner); the evil copy
// names the victim. The RequestSecurityToken is the container: the copy sits in the token slot, the
// genuine token beside it (or the other way round, as each variant has it). Only the element in the
// slot is verified and read, so the answer is the refusal its own defect earns.

const REASONS: Record<AssertionWrapping, string> = {
  XSW3: 'the token is not signed',
  XSW4: 'the token is not signed',
  XSW5: 'the signature does not reference the token itself',
  XSW6: 'the signature must hold SignedInfo, SignatureValue and at most a KeyInfo',
  XSW7: 'more than one element carries the signed ID',
  XSW8: 'the signature must hold SignedInfo, SignatureValue and at most a KeyInfo',
};
const VARIANTS = Object.keys(REASONS) as AssertionWrapping[];

const saml11Validate: TokenSlot = {
  ...SLOTS.validate13,
  name: 'Validate 1.3 (SOAP 1.2) with a SAML 1.1 token',
  genuine: (sts) => sts.issue({ tokenType: 'saml11' }),
};
const TARGETS: readonly TokenSlot[] = [
  SLOTS.validate13,
  SLOTS.validate2005,
  saml11Validate,
  SLOTS.renew13,
  SLOTS.cancel2005,
  SLOTS.onBehalfOfOwn,
  SLOTS.actAsPartner,
];

describe('attacks: XML signature wrapping (XSW3–XSW8) on every WS-Trust token slot', function () {
  this.timeout(60_000);
  let sts: AttackSts;

  before(async () => {
    sts = await startAttackSts();
  });
  after(async () => {
    await sts?.stop();
  });

  for (const s of TARGETS) {
    describe(s.name, () => {
      it(`positive control: the genuine token in ${s.name} is accepted`, async () => {
        const res = await sendInSlot(sts, s, await s.genuine(sts));
        assert.equal(res.status, 200, res.body.slice(0, 800));
        assert.match(res.body, s.op === 'Validate' ? /status\/valid</ : /RequestSecurityTokenResponse/);
      });

      for (const variant of VARIANTS) {
        const said = s.op === 'Cancel' ? '' : ` "${REASONS[variant]}"`;
        it(`${variant} (${WRAPPING_SHAPES[variant]}) on ${s.name} → ${s.answer}${said}`, async () => {
          const w = wrapAssertion(variant, await s.genuine(sts), impersonate(ATTACKER, VICTIM));
          const res = await sts.attack(() => sendInSlot(sts, s, w.token, { before: w.before, after: w.after }));
          s.expectRefused(res, REASONS[variant]);
          assert.doesNotMatch(res.body, new RegExp(`>${VICTIM.replace(/\./g, '\\.')}<`), 'the victim is never named in the answer');
        });
      }
    });
  }

  it('two tokens in one ValidateTarget (the evil copy and the signed one) on Validate 1.3 → wst:InvalidRequest', async () => {
    const w = wrapAssertion('XSW3', await sts.issue(), impersonate(ATTACKER, VICTIM));
    const res = await sts.attack(() => sts.send({ op: 'Validate', rstBody: validateTarget(w.token + w.after) }));
    expectSoapFault(res, { soap: '1.2', trust: '1.3', family: 'wst', code: 'InvalidRequest', reason: 'ValidateTarget must hold exactly one token or token reference.' });
  });

  it('OnBehalfOf and ActAs together (a second, evil subject beside the genuine one) → wst:InvalidRequest', async () => {
    const genuine = await sts.issue();
    const res = await sts.attack(() =>
      sts.send({ op: 'Issue', user: SERVICE, rstBody: appliesTo(RP_DELEGATED) + onBehalfOf(genuine) + actAs(impersonate(ATTACKER, VICTIM)(genuine)) }),
    );
    expectSoapFault(res, { soap: '1.2', trust: '1.3', family: 'wst', code: 'InvalidRequest', reason: 'A request may carry OnBehalfOf or ActAs, not both.' });
  });
});
