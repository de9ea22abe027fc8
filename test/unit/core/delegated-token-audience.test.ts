import { strict as assert } from 'node:assert';
import { checkDelegatedTokenAudience } from '../../../src/core/delegated-token-audience';
import { TrustFailedAuthenticationError } from '../../../src/core/errors';
import { generateSelfSignedCertificate } from '../../../src/keys/certificates';
import { trustedKeyFromCertificate } from '../../../src/keys/trusted-key';
import type { SamlTokenView } from '../../../src/saml/token-view';
import { verifySamlToken } from '../../../src/saml/verify-token';
import { stsAudiences } from '../../../src/server/app';
import { partnerToken } from '../../support/attacks/attack-sts';
import { parseStrict } from '../../support/soap-reply';
import { testSigningKey } from '../../support/stolen-key';

// Which audiences make a partner's token usable for OnBehalfOf/ActAs here: every restriction must name
// one of ours, compared as exact strings, and a token restricted to no one is refused. The tokens are
// real ones, signed and read back through the verifier, so the readers' grouping is tested with the rule.

const OUR_ISSUER = 'http://sts.example.com/adfs/services/trust';
const BASE_URL = 'https://sts.example.com:9443';
const OURS = stsAudiences(OUR_ISSUER, BASE_URL);
const OTHER_RP = 'https://other-rp.example.com/';

const partner = generateSelfSignedCertificate({ commonName: 'partner-audience unit signing', validDays: 2 });
const key = testSigningKey(partner.privateKeyPem, partner.certificatePem);

/** A partner token with these restrictions, verified and read as delegation reads it. */
function viewOf(audienceRestrictions: readonly (readonly string[])[], version: '2.0' | '1.1' = '2.0'): SamlTokenView {
  const xml = partnerToken(key, 'carol@partner.example', { audienceRestrictions, version });
  return verifySamlToken(parseStrict(xml).documentElement, [trustedKeyFromCertificate(partner.certificatePem)]).token;
}

/** The refusal checkDelegatedTokenAudience throws for this view, checked for class, code and reason. */
function refusal(view: SamlTokenView): TrustFailedAuthenticationError {
  let thrown: unknown;
  try {
    checkDelegatedTokenAudience(view, OURS);
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown instanceof TrustFailedAuthenticationError, `refused with wst:FailedAuthentication, got ${String(thrown)}`);
  assert.equal(thrown.code, 'FailedAuthentication');
  assert.equal(thrown.message, 'The delegated token is not addressed to this STS (its Audience).');
  return thrown;
}

describe('server/app stsAudiences: what a partner token for delegation may be addressed to', () => {
  it('our issuer identifier and the three WS-Trust endpoints as clients address them', () => {
    assert.deepEqual(OURS, [
      OUR_ISSUER,
      `${BASE_URL}/adfs/services/trust/13/usernamemixed`,
      `${BASE_URL}/adfs/services/trust/2005/usernamemixed`,
      `${BASE_URL}/adfs/services/trust/13/certificatemixed`,
    ]);
  });

  it('a configured base URL ending in a slash gives the same endpoint URLs', () => {
    assert.deepEqual(stsAudiences(OUR_ISSUER, `${BASE_URL}//`), OURS);
  });
});

describe('core/delegated-token-audience: a partner token must be addressed to this STS', () => {
  for (const version of ['2.0', '1.1'] as const) {
    describe(`SAML ${version}`, () => {
      it('the reader keeps each restriction apart (audienceRestrictions) and lists them all (audiences)', () => {
        const view = viewOf([[OTHER_RP], [OUR_ISSUER, 'urn:x']], version);
        assert.equal(view.version, version);
        assert.deepEqual(view.audienceRestrictions, [[OTHER_RP], [OUR_ISSUER, 'urn:x']]);
        assert.deepEqual(view.audiences, [OTHER_RP, OUR_ISSUER, 'urn:x']);
      });

      it('addressed to our issuer identifier, or to any of our endpoint URLs: accepted', () => {
        for (const ours of OURS) assert.doesNotThrow(() => checkDelegatedTokenAudience(viewOf([[ours]], version), OURS), ours);
      });

      it('one restriction listing an unrelated audience and ours: accepted (one of its audiences is us)', () => {
        assert.doesNotThrow(() => checkDelegatedTokenAudience(viewOf([[OTHER_RP, OUR_ISSUER]], version), OURS));
      });

      it('every restriction naming one of ours (different ones): accepted', () => {
        assert.doesNotThrow(() => checkDelegatedTokenAudience(viewOf([[OUR_ISSUER], [OURS[1] as string]], version), OURS));
      });

      it('for another relying party: refused, the log detail naming the audience it carried', () => {
        const view = viewOf([[OTHER_RP]], version);
        const err = refusal(view);
        assert.equal(err.logDetail, `partner token ${view.id} of https://idp.partner.attack.example/ is addressed to [["${OTHER_RP}"]]`);
      });

      it('two restrictions, one naming us and one not: refused (each must be met on its own)', () => {
        const err = refusal(viewOf([[OUR_ISSUER], [OTHER_RP]], version));
        assert.match(err.logDetail ?? '', new RegExp(`is addressed to \\[\\["${OUR_ISSUER}"\\],\\["${OTHER_RP}"\\]\\]$`));
      });

      it('no audience restriction at all: refused, the log saying so', () => {
        const view = viewOf([], version);
        assert.deepEqual(view.audienceRestrictions, []);
        assert.match(refusal(view).logDetail ?? '', /is addressed to no one \(it carries no audience restriction\)$/);
      });

      it('a restriction with no Audience in it: refused', () => {
        assert.ok(refusal(viewOf([[OUR_ISSUER], []], version)).logDetail?.endsWith(`is addressed to [["${OUR_ISSUER}"],[]]`));
      });

      it('near misses of ours are someone else: compared as exact strings (trailing slash, case, path)', () => {
        for (const nearMiss of [`${OUR_ISSUER}/`, OUR_ISSUER.toUpperCase(), `${BASE_URL}/adfs/services/trust/13/usernamemixed/`, BASE_URL, `${BASE_URL}/adfs/services/trust/mex`]) {
          refusal(viewOf([[nearMiss]], version));
        }
      });
    });
  }

  it('a token carrying thousands of audiences: the log detail is cut short and says how many there were', () => {
    const many = Array.from({ length: 2000 }, (_, i) => `https://rp${i}.example.com/`);
    const err = refusal(viewOf([many, [OTHER_RP]]));
    const detail = err.logDetail ?? '';
    assert.ok(detail.length < 1200, `a bounded log line (${detail.length} characters)`);
    assert.match(detail, /^partner token _[\w-]+ of https:\/\/idp\.partner\.attack\.example\/ is addressed to \[\["https:\/\/rp0\.example\.com\/",/);
    assert.match(detail, /… \(2001 audiences in 2 restrictions\)$/);
  });
});
