import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AssumeRoleWithSAMLCommand, STSClient, STSServiceException } from '@aws-sdk/client-sts';
import { samlProviderArn } from '../../src/aws/arn';
import { generateSelfSignedCertificate } from '../../src/keys/certificates';
import type { AuditEvent } from '../../src/store/store';
import { STACK_TRACE } from '../support/ext-trust';
import { stsCli } from '../support/golden-saml';
import { recordLogs } from '../support/observed-traffic';
import { testSigningKey, type TestSigningKey } from '../support/stolen-key';
import {
  ACCOUNT,
  b64,
  exchange,
  expectAwsRefusal,
  expectCredentials,
  EXTERNAL_ISSUER,
  EXTERNAL_PROVIDER,
  EXTERNAL_PROVIDER_ARN,
  idpMetadata,
  mintAssertion,
  ROLE_ARN,
  signedResponse,
  startAwsTestSts,
  type AwsTestSts,
} from '../support/aws-sts';

// Issue 5, item 3, for AssumeRoleWithSAML: an external SAML provider's assertion counts only if the
// certificate that signed it is one registered for that provider AND its lifecycle state allows it
// at the request's time (pending not before promotion or activateAt; retired and revoked refused).
// The server's clock is moved by the test; the CLI runs as its own process, as an operator runs it.

const HOUR = 3600_000;
const NOT_REGISTERED = 'The SAML assertion is not signed by a certificate registered for this SAML provider.';
const refusedBecause = (state: string): string => `The signing certificate of SAML provider ${EXTERNAL_PROVIDER} is ${state}.`;
const OTHER_PROVIDER = 'OtherIdP';
const OTHER_ISSUER = 'https://idp.other.example/saml';

/** Every audit event of the store, once this process's trail has flushed (the CLI's are stored when it exits). */
async function allEvents(sts: AwsTestSts): Promise<AuditEvent[]> {
  await sts.instance.audit.flush();
  return sts.instance.store.audit.query({ limit: 100_000 });
}

describe('aws: AssumeRoleWithSAML accepts an external provider\'s signature only while its certificate\'s state allows it', function () {
  this.timeout(120_000);
  let sts: AwsTestSts;
  let dir: string;
  /** How far the server's clock is ahead of the system clock. */
  let offsetMs = 0;
  const now = (): Date => new Date(Date.now() + offsetMs);

  before(async () => {
    sts = await startAwsTestSts({ now });
    recordLogs(sts.logs);
    dir = mkdtempSync(join(tmpdir(), 'aws-provider-certs-'));
  });
  afterEach(() => {
    offsetMs = 0;
  });
  after(async () => {
    await sts?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A new signing key for the partner, its certificate written to a file for the CLI. */
  function partnerKey(name: string, validDays = 2): { key: TestSigningKey; file: string } {
    const pair = generateSelfSignedCertificate({ commonName: name, validDays });
    const file = join(dir, `${name}.crt.pem`);
    writeFileSync(file, pair.certificatePem);
    return { key: testSigningKey(pair.privateKeyPem, pair.certificatePem), file };
  }

  const cli = async (...args: string[]): Promise<string> => {
    const r = await stsCli([...args, '--home', sts.home]);
    assert.equal(r.status, 0, `sts ${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, '');
    return r.stdout;
  };
  /** An assertion signed with `key`, issued now by the server's clock. */
  const signedBy = (key: TestSigningKey, issuer = EXTERNAL_ISSUER): string => mintAssertion({ key, issuer, issueInstant: now() }).xml;
  const accepted = async (xml: string, principalArn = EXTERNAL_PROVIDER_ARN): Promise<void> => {
    expectCredentials(await exchange(sts, xml, { principalArn }));
  };
  /** Refused with InvalidIdentityToken and this message; no credentials, no stack trace; the assertion was not consumed. */
  const refused = async (xml: string, message: string, principalArn = EXTERNAL_PROVIDER_ARN): Promise<void> => {
    const res = await exchange(sts, xml, { principalArn });
    expectAwsRefusal(sts, res, { status: 400, code: 'InvalidIdentityToken', message });
  };
  /** The certificate the revoke test revoked, for the SDK's refusal. */
  let revokedKey: TestSigningKey | undefined;
  const certificateState = async (thumbprint: string, provider = EXTERNAL_PROVIDER) =>
    (await sts.instance.store.samlProviders.getCertificate(provider, thumbprint))?.state;

  describe('the lifecycle, through sts aws provider cert', () => {
    it('cert add --pending --activate-at: refused as pending before that time, accepted from it; the add is an alert', async () => {
      const next = partnerKey('partner-next-scheduled');
      const activateAt = new Date(Date.now() + HOUR);
      const out = await cli('aws', 'provider', 'cert', 'add', EXTERNAL_PROVIDER, '--cert', next.file, '--pending', '--activate-at', activateAt.toISOString());
      assert.equal(out, `added certificate ${next.key.thumbprintSha256} to SAML provider ${EXTERNAL_PROVIDER} (pending)\n`);

      await refused(signedBy(next.key), refusedBecause('pending (not yet active)'));
      offsetMs = HOUR - 60_000;
      await refused(signedBy(next.key), refusedBecause('pending (not yet active)'));
      offsetMs = HOUR + 60_000;
      await accepted(signedBy(next.key));
      // The partner's current certificate still counts: both are good during the rollover.
      await accepted(signedBy(sts.externalKey));

      const added = (await allEvents(sts)).filter((e) => e.eventName === 'AddSamlProviderCertificate');
      assert.equal(added.length, 1, JSON.stringify(added));
      const e = added[0] as AuditEvent;
      assert.equal(e.eventSource, 'admin');
      assert.equal(e.alert, 'saml-provider-certificate-added');
      assert.equal(e.severity, 'high');
      assert.equal(e.userAgent, 'sts-cli');
      assert.match(e.principal ?? '', /^os:/);
      const expected = { provider: EXTERNAL_PROVIDER, thumbprint: next.key.thumbprintSha256, state: 'pending', activateAt: activateAt.toISOString() };
      assert.deepEqual(e.requestParameters, expected);
      assert.deepEqual(e.additionalEventData, expected);
    });

    it('cert add --pending (no schedule): refused until cert promote, accepted at once after it', async () => {
      const next = partnerKey('partner-next-promoted');
      await cli('aws', 'provider', 'cert', 'add', EXTERNAL_PROVIDER, '--cert', next.file, '--pending');
      const xml = signedBy(next.key);
      await refused(xml, refusedBecause('pending (not yet active)'));
      offsetMs = 1000 * HOUR;
      await refused(signedBy(next.key), refusedBecause('pending (not yet active)'));
      offsetMs = 0;
      const out = await cli('aws', 'provider', 'cert', 'promote', EXTERNAL_PROVIDER, next.key.thumbprintSha256.toUpperCase());
      assert.equal(out, `certificate ${next.key.thumbprintSha256} of SAML provider ${EXTERNAL_PROVIDER} is now active\n`);
      // The refused exchange consumed nothing: the same assertion is now good.
      await accepted(xml);
    });

    it('cert add while the provider is cached: accepted at once (KeyInfo names it, the store has it); cert retire: refused as retired', async () => {
      await accepted(signedBy(sts.externalKey));
      const next = partnerKey('partner-retired');
      await cli('aws', 'provider', 'cert', 'add', EXTERNAL_PROVIDER, '--cert', next.file);
      await accepted(signedBy(next.key));
      await cli('aws', 'provider', 'cert', 'retire', EXTERNAL_PROVIDER, next.key.thumbprintSha256);
      await refused(signedBy(next.key), refusedBecause('retired'));
      assert.equal(await certificateState(next.key.thumbprintSha256), 'retired');
    });

    it('cert add --retire-at: accepted before that time, refused as retired from it', async () => {
      const next = partnerKey('partner-retire-at');
      await cli('aws', 'provider', 'cert', 'add', EXTERNAL_PROVIDER, '--cert', next.file, '--retire-at', new Date(Date.now() + HOUR).toISOString());
      await accepted(signedBy(next.key));
      offsetMs = HOUR + 60_000;
      await refused(signedBy(next.key), refusedBecause('retired'));
    });

    it('cert revoke: the partner\'s active certificate is refused at once (no cache delay)', async () => {
      const next = partnerKey('partner-revoked');
      revokedKey = next.key;
      await cli('aws', 'provider', 'cert', 'add', EXTERNAL_PROVIDER, '--cert', next.file);
      await accepted(signedBy(next.key));
      const xml = signedBy(next.key);
      await cli('aws', 'provider', 'cert', 'revoke', EXTERNAL_PROVIDER, next.key.thumbprintSha256);
      await refused(xml, refusedBecause('revoked'));
      assert.equal(await certificateState(next.key.thumbprintSha256), 'revoked');
      // Whoever still signs with a revoked certificate holds a key the partner gave up: an alert.
      const alert = (await allEvents(sts)).filter((e) => e.alert === 'token-from-revoked-key').at(-1);
      assert.ok(alert, 'a token-from-revoked-key alert');
      assert.equal(alert.severity, 'critical');
      assert.equal(alert.additionalEventData?.['samlProvider'], EXTERNAL_PROVIDER);
      assert.equal(alert.additionalEventData?.['signingKeyThumbprint'], next.key.thumbprintSha256);
      assert.equal(alert.additionalEventData?.['signingKeyState'], 'revoked');
    });

    it('a certificate past its own validity is refused as expired, whatever its state', async () => {
      const shortLived = partnerKey('partner-short-lived', 1);
      await cli('aws', 'provider', 'cert', 'add', EXTERNAL_PROVIDER, '--cert', shortLived.file);
      await accepted(signedBy(shortLived.key));
      offsetMs = 24 * HOUR + sts.instance.config.clockSkewSeconds * 1000 + 60_000;
      await refused(signedBy(shortLived.key), refusedBecause('expired'));
    });

    it('cert remove: refused as not registered at once, though the provider cache still holds the key', async () => {
      const next = partnerKey('partner-removed');
      await cli('aws', 'provider', 'cert', 'add', EXTERNAL_PROVIDER, '--cert', next.file);
      await accepted(signedBy(next.key));
      const out = await cli('aws', 'provider', 'cert', 'remove', EXTERNAL_PROVIDER, next.key.thumbprintSha256);
      assert.equal(out, `removed certificate ${next.key.thumbprintSha256} from SAML provider ${EXTERNAL_PROVIDER}\n`);
      await refused(signedBy(next.key), NOT_REGISTERED);
    });

    it('moves the state does not allow, unknown thumbprints and providers are refused (exit 1) and change nothing', async () => {
      const next = partnerKey('partner-bad-moves');
      await cli('aws', 'provider', 'cert', 'add', EXTERNAL_PROVIDER, '--cert', next.file);
      const t = next.key.thumbprintSha256;
      await cli('aws', 'provider', 'cert', 'revoke', EXTERNAL_PROVIDER, t);
      const before = await sts.instance.store.samlProviders.get(EXTERNAL_PROVIDER);
      for (const [args, stderr] of [
        [['promote', EXTERNAL_PROVIDER, t], `SAML provider ${EXTERNAL_PROVIDER} has no certificate ${t} in state pending; \`sts aws provider list\` shows them\n`],
        [['retire', EXTERNAL_PROVIDER, t], `SAML provider ${EXTERNAL_PROVIDER} has no certificate ${t} in state pending or active; \`sts aws provider list\` shows them\n`],
        [['revoke', OTHER_PROVIDER, t], `SAML provider ${OTHER_PROVIDER} has no certificate ${t} in state pending or active or retired; \`sts aws provider list\` shows them\n`],
        [['remove', 'NoSuchIdP', t], `SAML provider NoSuchIdP has no certificate ${t}\n`],
      ] as Array<[string[], string]>) {
        const r = await stsCli(['aws', 'provider', 'cert', ...args, '--home', sts.home]);
        assert.equal(r.status, 1, r.stdout + r.stderr);
        assert.equal(r.stderr, stderr);
        assert.equal(r.stdout, '');
      }
      let r = await stsCli(['aws', 'provider', 'cert', 'add', 'NoSuchIdP', '--cert', next.file, '--home', sts.home]);
      assert.equal(r.status, 1);
      assert.equal(r.stderr, 'sts aws provider cert add: no SAML provider NoSuchIdP: see "sts aws provider list"\n');
      r = await stsCli(['aws', 'provider', 'cert', 'add', EXTERNAL_PROVIDER, '--cert', next.file, '--home', sts.home]);
      assert.equal(r.status, 1);
      assert.equal(r.stderr, `sts aws provider cert add: SAML provider ${EXTERNAL_PROVIDER} has certificate ${t} already\n`);
      r = await stsCli(['aws', 'provider', 'cert', 'add', EXTERNAL_PROVIDER, '--cert', next.file, '--activate-at', new Date().toISOString(), '--home', sts.home]);
      assert.equal(r.status, 2);
      assert.match(r.stderr, /--activate-at goes with --pending/);
      r = await stsCli(['aws', 'provider', 'cert', 'add', EXTERNAL_PROVIDER, '--cert', join(dir, 'missing.pem'), '--home', sts.home]);
      assert.equal(r.status, 2);
      assert.match(r.stderr, /missing\.pem is not a PEM X\.509 certificate \(or cannot be read\)/);
      assert.doesNotMatch(r.stderr, STACK_TRACE);
      assert.deepEqual(await sts.instance.store.samlProviders.get(EXTERNAL_PROVIDER), before);
    });
  });

  describe('a certificate only ever vouches for its own provider, and KeyInfo adds none', () => {
    let other: { key: TestSigningKey; file: string };

    before(async () => {
      other = partnerKey('other-idp-signing');
      writeFileSync(join(dir, 'other.xml'), idpMetadata(OTHER_ISSUER, readFileSync(other.file, 'utf8')));
      await cli('aws', 'provider', 'add', OTHER_PROVIDER, '--metadata', join(dir, 'other.xml'));
    });

    it('an assertion signed by a certificate registered nowhere, carried in its KeyInfo, is refused; nothing is registered', async () => {
      const stranger = partnerKey('stranger-idp');
      const before = await sts.instance.store.samlProviders.list();
      const xml = signedBy(stranger.key);
      assert.ok(xml.includes(stranger.key.certificateBase64), 'the stranger\'s certificate is in the KeyInfo');
      await refused(xml, NOT_REGISTERED);
      assert.deepEqual(await sts.instance.store.samlProviders.list(), before);
    });

    it('a certificate of provider A cannot sign for provider B, either way', async () => {
      // The other provider's key, its assertion naming the partner, sent to the partner's ARN.
      await refused(signedBy(other.key, EXTERNAL_ISSUER), NOT_REGISTERED);
      // The partner's key, naming the other provider's issuer, sent to the other provider's ARN.
      await refused(signedBy(sts.externalKey, OTHER_ISSUER), NOT_REGISTERED, samlProviderArn(ACCOUNT, OTHER_PROVIDER));
      // Positive control: the other provider's key is good for the other provider (refused later, by the role's trust policy).
      const res = await exchange(sts, mintAssertion({ key: other.key, issuer: OTHER_ISSUER, roles: [`${ROLE_ARN},${samlProviderArn(ACCOUNT, OTHER_PROVIDER)}`] }).xml, {
        principalArn: samlProviderArn(ACCOUNT, OTHER_PROVIDER),
      });
      expectAwsRefusal(sts, res, { status: 403, code: 'AccessDenied', message: 'Not authorized to perform sts:AssumeRoleWithSAML' });
    });

    it('a Response signed by a revoked certificate is refused, though the assertion inside is signed by an active one', async () => {
      const revoked = partnerKey('partner-response-signer');
      await cli('aws', 'provider', 'cert', 'add', EXTERNAL_PROVIDER, '--cert', revoked.file);
      const inner = mintAssertion({ key: sts.externalKey, issueInstant: now() }).xml;
      const outer = () => signedResponse(inner, revoked.key, now());
      // Positive control: with both certificates active, the doubly signed Response is exchanged.
      await accepted(outer());
      await cli('aws', 'provider', 'cert', 'revoke', EXTERNAL_PROVIDER, revoked.key.thumbprintSha256);
      await refused(signedResponse(mintAssertion({ key: sts.externalKey, issueInstant: now() }).xml, revoked.key, now()), refusedBecause('revoked'));
    });
  });

  describe('what operators and clients see', () => {
    it('sts aws provider list shows each certificate\'s thumbprint, state now and schedule', async () => {
      const scheduled = partnerKey('partner-listed');
      const activateAt = new Date(Date.now() + 2 * HOUR);
      const retireAt = new Date(Date.now() + 48 * HOUR);
      await cli('aws', 'provider', 'cert', 'add', EXTERNAL_PROVIDER, '--cert', scheduled.file, '--pending', '--activate-at', activateAt.toISOString(), '--retire-at', retireAt.toISOString());
      const list = await cli('aws', 'provider', 'list');
      const from = list.indexOf(`saml-provider/${EXTERNAL_PROVIDER}\n`);
      assert.ok(from > 0, list);
      const next = list.indexOf('\narn:', from);
      const block = list.slice(from, next === -1 ? undefined : next + 1);
      const entries = [...block.matchAll(/^ {4}([0-9a-f]{64})  (.+)  valid to (.+)\n {6}(\w+)(.*)$/gm)].map((m) => ({ thumbprint: m[1], subject: m[2], state: m[4], schedule: m[5] }));
      assert.deepEqual(entries[0], { thumbprint: sts.externalKey.thumbprintSha256, subject: 'CN=partner-idp-signing', state: 'active', schedule: '' });
      assert.deepEqual(entries.at(-1), {
        thumbprint: scheduled.key.thumbprintSha256,
        subject: 'CN=partner-listed',
        state: 'pending',
        schedule: ` (activates ${activateAt.toISOString()}, retires ${retireAt.toISOString()})`,
      });
      const states = new Map(entries.map((e) => [e.subject, e.state]));
      assert.equal(states.get('CN=partner-revoked'), 'revoked');
      assert.equal(states.get('CN=partner-retired'), 'retired');
      assert.equal(states.get('CN=partner-next-promoted'), 'active');
      assert.equal(states.get('CN=partner-removed'), undefined);
      assert.match(block, new RegExp(`issuer ${EXTERNAL_ISSUER}, ${entries.length} certificate\\(s\\)`));
    });

    it('an eleventh certificate is refused, as IAM allows ten, naming the way out; nothing is added', async () => {
      assert.equal((await sts.instance.store.samlProviders.get(EXTERNAL_PROVIDER))?.certificates.length, 10);
      const eleventh = partnerKey('partner-eleventh');
      const r = await stsCli(['aws', 'provider', 'cert', 'add', EXTERNAL_PROVIDER, '--cert', eleventh.file, '--home', sts.home]);
      assert.equal(r.status, 1);
      assert.equal(
        r.stderr,
        `sts aws provider cert add: SAML provider ${EXTERNAL_PROVIDER} has 10 certificates; IAM allows at most 10: ` +
          'remove a retired or revoked one first (sts aws provider cert remove)\n',
      );
      assert.equal(await certificateState(eleventh.key.thumbprintSha256), undefined);
    });

    it('the AWS SDK v3 client sees the refusal as InvalidIdentityTokenException, with the reason', async () => {
      assert.ok(revokedKey, 'the revoke test ran');
      assert.equal(await certificateState(revokedKey.thumbprintSha256), 'revoked');
      const key = revokedKey;
      const agent = new Agent({ ca: sts.tlsCertificatePem });
      try {
        const client = new STSClient({ endpoint: sts.baseUrl, region: 'us-east-1', requestHandler: { httpsAgent: agent }, maxAttempts: 1 });
        await assert.rejects(
          client.send(new AssumeRoleWithSAMLCommand({ RoleArn: ROLE_ARN, PrincipalArn: EXTERNAL_PROVIDER_ARN, SAMLAssertion: b64(signedBy(key)) })),
          (err: unknown) => {
            assert.ok(err instanceof STSServiceException, String(err));
            assert.equal(err.name, 'InvalidIdentityTokenException');
            assert.equal(err.$metadata.httpStatusCode, 400);
            assert.equal(err.message, refusedBecause('revoked'));
            return true;
          },
        );
      } finally {
        agent.destroy();
      }
    });

    it('every certificate change is an admin event; adding a certificate or a provider is the alert, the rest are not', async () => {
      const admin = (await allEvents(sts)).filter((e) => e.eventSource === 'admin');
      const byName = (name: string) => admin.filter((e) => e.eventName === name);
      for (const e of [...byName('AddSamlProviderCertificate'), ...byName('AddSamlProvider')]) {
        assert.equal(e.alert, 'saml-provider-certificate-added', e.eventName);
        assert.equal(e.severity, 'high');
      }
      assert.deepEqual(byName('AddSamlProvider')[0]?.requestParameters, {
        provider: OTHER_PROVIDER,
        entityId: OTHER_ISSUER,
        thumbprints: [(await sts.instance.store.samlProviders.get(OTHER_PROVIDER))?.certificates[0]?.thumbprint],
        state: 'active',
        replay: 'once-per-role',
      });
      for (const name of ['PromoteSamlProviderCertificate', 'RetireSamlProviderCertificate', 'RevokeSamlProviderCertificate', 'RemoveSamlProviderCertificate']) {
        assert.ok(byName(name).length > 0, `${name} recorded`);
        for (const e of byName(name)) {
          assert.equal(e.alert, null);
          assert.equal(e.severity, 'info');
          assert.match(e.principal ?? '', /^os:/);
          assert.equal((e.requestParameters as Record<string, unknown>)['provider'], EXTERNAL_PROVIDER);
        }
      }
      assert.equal(byName('RevokeSamlProviderCertificate').length, 3);
      // Refused CLI moves changed nothing and recorded nothing.
      assert.equal(byName('PromoteSamlProviderCertificate').length, 1);
    });
  });
});
