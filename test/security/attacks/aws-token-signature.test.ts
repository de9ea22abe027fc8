import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { generateSelfSignedCertificate } from '../../../src/keys/certificates';
import { stealActiveKey, testSigningKey, type TestSigningKey } from '../../support/stolen-key';
import { exchange, expectAwsRefusal, expectCredentials, inResponse, mintAssertion, PASSWORD, SELF_PROVIDER_ARN, USER } from '../../support/aws-sts';
import { signatureNotValid, startAwsAttackSts, type AwsAttackSts } from '../../support/attacks/aws-attack-sts';
import { resign } from '../../support/attacks/token-signature';
import {
  DISALLOWED_ALGORITHMS,
  DISALLOWED_TRANSFORMS,
  DUPLICATE_IDS,
  FOREIGN_REFERENCES,
  KEYINFO_SUBSTITUTION,
  REASON,
  SIGNATURE_REMOVAL,
  SIGNED_CONTENT_TAMPERING,
  type TokenTampering,
} from '../../support/attacks/token-tampering';
import { impersonate, splitText, withRootId } from '../../support/attacks/token-text';
import { postToSts, type PostResult } from '../../support/sts-post';
import { appliesTo, assertionText, trustRequest } from '../../support/trust-messages';

// Tampered signed assertions against AssumeRoleWithSAML (SAMLAssertion, base64): the same named
// builders as for WS-Trust, on assertions from a registered external IdP (signed with its real key,
// so a re-signed attack differs from the genuine one only in what it attacks) and on tokens Trustbridge
// issued over WS-Trust; Golden SAML forgeries; comment/CDATA truncation of NameID and RoleSessionName.
// A refusal is InvalidIdentityToken 400 and consumes nothing (the replay cache is part of the store).

const UNTRUSTED = 'The SAML assertion is not signed by a certificate registered for this SAML provider.';
// AssumeRoleWithSAML looks for a signature on the Response and the Assertion, and says so when neither has one.
const NEITHER_SIGNED = 'neither the Response nor the Assertion is signed';
const awsReason = (reason: string): string => (reason === REASON.notSigned ? NEITHER_SIGNED : reason);
const messageFor = (reason: string): string => (reason === REASON.untrustedKey ? UNTRUSTED : signatureNotValid(awsReason(reason)));

const FAMILIES: ReadonlyArray<readonly [string, readonly TokenTampering[]]> = [
  ['signature removal', SIGNATURE_REMOVAL],
  ['certificate substitution in KeyInfo', KEYINFO_SUBSTITUTION],
  ['digest, SignedInfo and SignatureValue tampering', SIGNED_CONTENT_TAMPERING],
  ['duplicate IDs', DUPLICATE_IDS],
  ['References outside the token', FOREIGN_REFERENCES],
  ['disallowed transforms', DISALLOWED_TRANSFORMS],
  ['disallowed algorithms', DISALLOWED_ALGORITHMS],
];

describe('attacks: tampered signed assertions on AssumeRoleWithSAML', function () {
  this.timeout(60_000);
  let sts: AwsAttackSts;
  let stranger: TestSigningKey;
  let ownKey: TestSigningKey;

  before(async () => {
    sts = await startAwsAttackSts();
    const attacker = generateSelfSignedCertificate({ commonName: 'attacker-signing', validDays: 2 });
    stranger = testSigningKey(attacker.privateKeyPem, attacker.certificatePem);
    ownKey = await stealActiveKey(sts.instance);
  });
  after(async () => {
    await sts?.stop();
  });

  interface Source {
    readonly name: string;
    genuine(): Promise<string>;
    trusted(): TestSigningKey;
    readonly impersonate: (xml: string) => string;
    readonly principalArn?: string;
  }
  const external: Source = {
    name: 'an external IdP\'s assertion',
    genuine: async () => mintAssertion({ key: sts.externalKey }).xml,
    trusted: () => sts.externalKey,
    impersonate: impersonate('alice', 'admin'),
  };
  const own: Source = {
    name: 'a token Trustbridge issued',
    genuine: () => sts.issueAwsToken(),
    trusted: () => ownKey,
    impersonate: impersonate(USER, 'admin@example.com'),
    principalArn: SELF_PROVIDER_ARN,
  };
  const send = (source: Source, xml: string): Promise<PostResult> =>
    exchange(sts, xml, source.principalArn ? { principalArn: source.principalArn } : {});

  const replay = async (source: Source, t: TokenTampering): Promise<void> => {
    const genuine = await source.genuine();
    const tampered = t.tamper(genuine, { trusted: source.trusted(), stranger, impersonate: source.impersonate });
    // Without a SOAP message around it, a decoy sits in the (unsigned) Response beside the assertion.
    const document = t.decoy ? inResponse(t.decoy(genuine) + tampered) : tampered;
    const res = await sts.attack(() => send(source, document));
    expectAwsRefusal(sts, res, { status: 400, code: 'InvalidIdentityToken', message: messageFor(t.reason) });
  };

  describe('an external IdP\'s assertions: every attack', () => {
    it('positive control: the genuine assertion is exchanged', async () => {
      expectCredentials(await exchange(sts, await external.genuine()));
    });
    for (const [family, attacks] of FAMILIES) {
      for (const t of attacks) {
        it(`${family}: ${t.name} on AssumeRoleWithSAML → InvalidIdentityToken 400 "${awsReason(t.reason)}"`, () => replay(external, t));
      }
    }
  });

  describe('tokens Trustbridge issued: one attack of each family', () => {
    const representative = [
      SIGNATURE_REMOVAL[0],
      KEYINFO_SUBSTITUTION[1],
      SIGNED_CONTENT_TAMPERING[0],
      SIGNED_CONTENT_TAMPERING[2],
      DUPLICATE_IDS[2],
      FOREIGN_REFERENCES[1],
      DISALLOWED_TRANSFORMS[1],
      DISALLOWED_ALGORITHMS[2],
      DISALLOWED_ALGORITHMS[3],
    ] as TokenTampering[];
    for (const t of representative) {
      it(`${t.name} on AssumeRoleWithSAML (provider trustbridge) → InvalidIdentityToken 400 "${awsReason(t.reason)}"`, () => replay(own, t));
    }

    const forge = async (reuseId: boolean): Promise<string> => {
      const genuine = await sts.issueAwsToken();
      const key = ownKey;
      const edited = own.impersonate(reuseId ? genuine : withRootId(genuine, `_${randomUUID()}`));
      return resign(edited, { key: { rsa: key.privateKey }, keyInfoCertificateBase64: key.certificateBase64 });
    };
    for (const reuseId of [false, true]) {
      // A reused ID is in the ledger under another digest: the alert says the claims differ from what was issued.
      const alert = reuseId ? 'token-claims-mismatch' : 'forged-token';
      it(`Golden SAML: a token signed with Trustbridge's key but never issued${reuseId ? ' (reusing an issued ID)' : ''} → InvalidIdentityToken 400, ${alert} alert`, async () => {
        const forged = await forge(reuseId);
        const res = await sts.attack(() => send(own, forged));
        const { log } = expectAwsRefusal(sts, res, { status: 400, code: 'InvalidIdentityToken', message: 'The SAML assertion was not issued by this STS.' });
        assert.equal(log['alert'], alert);
      });
    }
  });

  describe('genuine tokens presented to the wrong provider, or issued for another audience', () => {
    it('a token Trustbridge issued, presented under the external provider\'s PrincipalArn → InvalidIdentityToken 400', async () => {
      const token = await sts.issueAwsToken();
      const res = await sts.attack(() => exchange(sts, token));
      expectAwsRefusal(sts, res, { status: 400, code: 'InvalidIdentityToken', message: UNTRUSTED });
    });

    it('an external IdP\'s assertion presented under Trustbridge\'s PrincipalArn → InvalidIdentityToken 400', async () => {
      const res = await sts.attack(() => send(own, mintAssertion({ key: sts.externalKey }).xml));
      expectAwsRefusal(sts, res, { status: 400, code: 'InvalidIdentityToken', message: UNTRUSTED });
    });

    it('a token Trustbridge issued for another relying party (its Audience not AWS) → InvalidIdentityToken 400', async () => {
      const rp = 'https://rp.not-aws.example/';
      await sts.addRelyingParty({ appliesTo: rp, releasedClaims: ['*'] });
      const { body, headers } = trustRequest({ version: '1.3', username: USER, password: PASSWORD, requestType: 'Issue', rstBody: appliesTo(rp) });
      const issued = await postToSts(`${sts.baseUrl}/adfs/services/trust/13/usernamemixed`, { ca: sts.tlsCertificatePem, headers, body });
      assert.equal(issued.status, 200, issued.body.slice(0, 400));
      const res = await sts.attack(() => send(own, assertionText(issued.body)));
      expectAwsRefusal(sts, res, { status: 400, code: 'InvalidIdentityToken', message: "The SAML assertion's Audience must be https://signin.aws.amazon.com/saml or urn:amazon:webservices." });
    });
  });

  describe('comment and CDATA truncation of NameID and RoleSessionName', () => {
    it('a comment in the NameID and the RoleSessionName of an issued token ("alice<!---->@example.com") → credentials for the whole name', async () => {
      const bait = splitText(USER, USER.indexOf('@'), (tail) => `<!---->${tail}`);
      const token = bait(bait(await sts.issueAwsToken()));
      assert.equal(token.split('<!---->').length, 3, 'both the NameID and the RoleSessionName carry the comment');
      const res = await sts.attack(() => send(own, token), { store: { rowsAdded: { replay_cache: 1 } } });
      const c = expectCredentials(res);
      assert.equal(c.fields['Subject'], USER);
      assert.match(c.assumedRoleArn, new RegExp(`/${USER.replace(/\./g, '\\.')}$`));
    });

    it('a CDATA section in an external IdP\'s NameID and RoleSessionName ("admin<![CDATA[.attacker]]>") → credentials for the whole name', async () => {
      const name = 'admin.attacker';
      const bait = splitText(name, 'admin'.length, (tail) => `<![CDATA[${tail}]]>`);
      const token = bait(bait(mintAssertion({ key: sts.externalKey, nameId: name, roleSessionName: name }).xml));
      const res = await sts.attack(() => exchange(sts, token), { store: { rowsAdded: { replay_cache: 1 } } });
      const c = expectCredentials(res);
      assert.equal(c.fields['Subject'], name);
      assert.match(c.assumedRoleArn, /\/admin\.attacker$/);
    });

    it('a processing instruction in an external IdP\'s NameID → InvalidIdentityToken 400 (was an InternalFailure 500)', async () => {
      const token = splitText('alice', 2, (tail) => `<?cut?>${tail}`)(mintAssertion({ key: sts.externalKey }).xml);
      const res = await sts.attack(() => exchange(sts, token));
      expectAwsRefusal(sts, res, { status: 400, code: 'InvalidIdentityToken', message: signatureNotValid(REASON.processingInstruction) });
    });
  });
});
