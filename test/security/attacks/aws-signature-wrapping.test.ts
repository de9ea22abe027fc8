import { strict as assert } from 'node:assert';
import {
  canonicalAssertion,
  exchange,
  expectAwsRefusal,
  expectCredentials,
  inResponse,
  mintAssertion,
  SELF_PROVIDER_ARN,
  signedResponse,
  USER,
} from '../../support/aws-sts';
import { malformed, signatureNotValid, startAwsAttackSts, type AwsAttackSts } from '../../support/attacks/aws-attack-sts';
import { WRAPPING_SHAPES, wrapAssertion, wrapResponse, type AssertionWrapping, type ResponseWrapping } from '../../support/attacks/signature-wrapping';
import { impersonate } from '../../support/attacks/token-text';

// XML signature wrapping (Somorovsky et al., XSW1–XSW8) against AssumeRoleWithSAML, which reads a
// samlp:Response or a bare Assertion: from a registered external IdP (whose key the test holds, so the
// genuine documents are really signed by it) and from Trustbridge itself (a token issued over WS-Trust).
// The evil copy names another subject and session ("admin"). Only the element a verified signature
// covers is read, so every shape is refused with InvalidIdentityToken 400, and nothing is consumed.

type Expected = { readonly kind: 'signature' | 'malformed'; readonly reason: string };
const EXPECTED: Record<ResponseWrapping | AssertionWrapping, Expected> = {
  XSW1: { kind: 'signature', reason: 'the signature must hold SignedInfo, SignatureValue and at most a KeyInfo' },
  XSW2: { kind: 'signature', reason: 'the signature does not reference the token itself' },
  XSW3: { kind: 'malformed', reason: 'the Response must carry exactly one Assertion' },
  XSW4: { kind: 'signature', reason: 'neither the Response nor the Assertion is signed' },
  XSW5: { kind: 'malformed', reason: 'the Response must carry exactly one Assertion' },
  XSW6: { kind: 'signature', reason: 'the signature must hold SignedInfo, SignatureValue and at most a KeyInfo' },
  XSW7: { kind: 'signature', reason: 'more than one element carries the signed ID' },
  XSW8: { kind: 'signature', reason: 'the signature must hold SignedInfo, SignatureValue and at most a KeyInfo' },
};
const messageOf = (e: Expected): string => (e.kind === 'signature' ? signatureNotValid(e.reason) : malformed(e.reason));
const ASSERTION_VARIANTS: readonly AssertionWrapping[] = ['XSW3', 'XSW4', 'XSW5', 'XSW6', 'XSW7', 'XSW8'];

describe('attacks: XML signature wrapping (XSW1–XSW8) on AssumeRoleWithSAML', function () {
  this.timeout(60_000);
  let sts: AwsAttackSts;

  before(async () => {
    sts = await startAwsAttackSts();
  });
  after(async () => {
    await sts?.stop();
  });

  const refusal = (variant: ResponseWrapping | AssertionWrapping) => ({ status: 400, code: 'InvalidIdentityToken', message: messageOf(EXPECTED[variant]) });

  describe('a registered external IdP\'s documents', () => {
    const toAdmin = impersonate('alice', 'admin');
    const unsignedAssertion = (): string => {
      const c = canonicalAssertion({});
      return c.beforeSignature + c.afterSignature;
    };

    it('positive control: the genuine signed Response around an unsigned assertion is exchanged', async () => {
      expectCredentials(await exchange(sts, signedResponse(unsignedAssertion(), sts.externalKey)));
    });

    for (const variant of ['XSW1', 'XSW2'] as const) {
      it(`${variant} (${WRAPPING_SHAPES[variant]}) on AssumeRoleWithSAML → InvalidIdentityToken 400: "${EXPECTED[variant].reason}"`, async () => {
        const document = wrapResponse(variant, signedResponse(unsignedAssertion(), sts.externalKey), toAdmin);
        const res = await sts.attack(() => exchange(sts, document));
        expectAwsRefusal(sts, res, refusal(variant));
      });
    }

    for (const variant of ASSERTION_VARIANTS) {
      it(`${variant} (${WRAPPING_SHAPES[variant]}) in a Response on AssumeRoleWithSAML → InvalidIdentityToken 400: "${EXPECTED[variant].reason}"`, async () => {
        const genuine = mintAssertion({ key: sts.externalKey }).xml;
        const w = wrapAssertion(variant, genuine, toAdmin);
        const res = await sts.attack(() => exchange(sts, inResponse(w.before + w.token + w.after)));
        expectAwsRefusal(sts, res, refusal(variant));
        assert.doesNotMatch(res.body, /admin/);
      });
    }
  });

  describe('Trustbridge\'s own tokens (provider trustbridge)', () => {
    const toAdmin = impersonate(USER, 'admin@example.com');
    const viaSelf = { principalArn: SELF_PROVIDER_ARN };

    it('positive control: a token Trustbridge issued over WS-Trust, in a Response, is exchanged', async () => {
      expectCredentials(await exchange(sts, inResponse(await sts.issueAwsToken()), viaSelf));
    });

    for (const variant of ASSERTION_VARIANTS) {
      it(`${variant} (${WRAPPING_SHAPES[variant]}) of an issued token on AssumeRoleWithSAML → InvalidIdentityToken 400: "${EXPECTED[variant].reason}"`, async () => {
        const w = wrapAssertion(variant, await sts.issueAwsToken(), toAdmin);
        const res = await sts.attack(() => exchange(sts, inResponse(w.before + w.token + w.after), viaSelf));
        expectAwsRefusal(sts, res, refusal(variant));
      });
    }
  });
});
