import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  awsProviderCertAddCommand,
  awsProviderCertPromoteCommand,
  awsProviderCertRemoveCommand,
  awsProviderCertRetireCommand,
  awsProviderCertRevokeCommand,
} from '../../src/cli/commands/aws-provider-certificates';
import { openInstance } from '../../src/instance/open-instance';
import type { PinState } from '../../src/store/store';
import { idpMetadata } from '../support/aws-sts';
import { lifecycleCommands, lifecycleMoves, PIN_STATES } from '../support/cli-lifecycle';
import { quickCertificate } from '../support/quick-certificate';
import { runStsInProcess } from '../support/in-process-cli';
import { temporaryHome } from '../support/temporary-home';

// `sts aws provider cert add|promote|retire|revoke|remove`, run in-process on a fresh instance: every
// move from every state (the lifecycle table), and the refusals, each with its exit code and message,
// nothing changed in the store and nothing added to the audit trail.

const PROVIDER = 'PartnerIdP';
const UNKNOWN_THUMBPRINT = 'ab'.repeat(32);

/** A self-signed EC certificate written to `dir`, with its PEM and SHA-256 thumbprint. */
function certificateFile(dir: string, cn: string): { file: string; pem: string; thumbprint: string } {
  const certificate = quickCertificate(cn);
  const file = join(dir, `${cn}.crt.pem`);
  writeFileSync(file, certificate.pem);
  return { file, ...certificate };
}

describe('cli: sts aws provider cert (the lifecycle of a SAML provider\'s certificates)', function () {
  this.timeout(60_000);
  const { dir, home } = temporaryHome('trustbridge-cli-provider-cert-');
  /** The provider's certificate from its metadata: active. */
  let registered: { file: string; pem: string; thumbprint: string };
  let counter = 0;

  const { sts, snapshot, expectRefused, usage } = lifecycleCommands(['aws', 'provider', 'cert'], () => home, (store) => store.samlProviders.list());
  /** A new certificate of the provider, stored in `state` directly (the moves under test are not used to get there). */
  const certificateIn = async (state: PinState): Promise<string> => {
    const cert = certificateFile(dir, `in-${state}-${++counter}`);
    const instance = await openInstance(home);
    try {
      const at = new Date();
      assert.deepEqual(
        await instance.store.samlProviders.addCertificate(PROVIDER, { thumbprint: cert.thumbprint, certificatePem: cert.pem, createdAt: at, state, activateAt: null, retireAt: null, stateChangedAt: at }),
        { outcome: 'added' },
      );
    } finally {
      await instance.close();
    }
    return cert.thumbprint;
  };
  const certificate = async (thumbprint: string) => {
    const instance = await openInstance(home);
    try {
      return await instance.store.samlProviders.getCertificate(PROVIDER, thumbprint);
    } finally {
      await instance.close();
    }
  };

  before(async () => {
    assert.equal((await runStsInProcess(['init', '--home', home])).code, 0);
    registered = certificateFile(dir, 'partner-registered');
    writeFileSync(join(dir, 'partner.xml'), idpMetadata('https://idp.partner.example/saml', registered.pem));
    const add = await runStsInProcess(['aws', 'provider', 'add', PROVIDER, '--metadata', join(dir, 'partner.xml'), '--home', home]);
    assert.equal(add.code, 0, add.stderr);
  });

  describe('every move from every state: allowed exactly from the states its lifecycle says, to the state it names', () => {
    const LIFECYCLE = lifecycleMoves({
      promote: [awsProviderCertPromoteCommand, 'PromoteSamlProviderCertificate'],
      retire: [awsProviderCertRetireCommand, 'RetireSamlProviderCertificate'],
      revoke: [awsProviderCertRevokeCommand, 'RevokeSamlProviderCertificate'],
    });
    for (const [move, , eventName, from, to] of LIFECYCLE) {
      for (const state of PIN_STATES) {
        if (from.includes(state)) {
          it(`${move} from ${state}: now ${to}, stamped, audited as ${eventName} (no alert)`, async () => {
            const thumbprint = await certificateIn(state);
            const before = await snapshot();
            const start = Date.now();
            const r = await sts(move, PROVIDER, thumbprint.toUpperCase());
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.stdout, `certificate ${thumbprint} of SAML provider ${PROVIDER} is now ${to}\n`);
            assert.equal(r.stderr, '');
            const moved = await certificate(thumbprint);
            assert.equal(moved?.state, to);
            const changedAt = moved?.stateChangedAt.getTime() ?? 0;
            assert.ok(changedAt >= start && changedAt <= Date.now(), `stateChangedAt ${moved?.stateChangedAt.toISOString()}`);
            const added = (await snapshot()).events.slice(before.events.length);
            assert.deepEqual(
              added.map((e) => [e.eventName, e.eventSource, e.alert, e.errorCode, e.requestParameters]),
              [[eventName, 'admin', null, null, { provider: PROVIDER, thumbprint, state: to }]],
            );
          });
        } else {
          it(`${move} from ${state}: refused (exit 1) naming the states it moves from; nothing changed`, async () => {
            const thumbprint = await certificateIn(state);
            await expectRefused(
              [move, PROVIDER, thumbprint],
              1,
              `SAML provider ${PROVIDER} has no certificate ${thumbprint} in state ${from.join(' or ')}; \`sts aws provider list\` shows them\n`,
            );
            assert.equal((await certificate(thumbprint))?.state, state);
          });
        }
      }
    }

    afterEach(async () => {
      // IAM's limit of ten certificates per provider: each case removes what it added.
      const instance = await openInstance(home);
      try {
        for (const c of (await instance.store.samlProviders.get(PROVIDER))?.certificates ?? []) {
          if (c.thumbprint !== registered.thumbprint) await instance.store.samlProviders.removeCertificate(PROVIDER, c.thumbprint);
        }
      } finally {
        await instance.close();
      }
    });

    for (const [move, command, , from] of LIFECYCLE) {
      it(`${move}: usage errors (exit 2), an unknown provider or certificate (exit 1)`, async () => {
        const message = usage(command, 'give one NAME and one THUMBPRINT');
        await expectRefused([move], 2, message);
        await expectRefused([move, PROVIDER], 2, message);
        await expectRefused([move, PROVIDER, registered.thumbprint, 'extra'], 2, message);
        const noCertificate = (provider: string, thumbprint: string): string =>
          `SAML provider ${provider} has no certificate ${thumbprint} in state ${from.join(' or ')}; \`sts aws provider list\` shows them\n`;
        await expectRefused([move, 'NoSuchIdP', registered.thumbprint], 1, noCertificate('NoSuchIdP', registered.thumbprint));
        await expectRefused([move, PROVIDER.toLowerCase(), registered.thumbprint], 1, noCertificate(PROVIDER.toLowerCase(), registered.thumbprint));
        await expectRefused([move, PROVIDER, UNKNOWN_THUMBPRINT], 1, noCertificate(PROVIDER, UNKNOWN_THUMBPRINT));
        await expectRefused([move, PROVIDER, registered.thumbprint.slice(0, 12)], 1, noCertificate(PROVIDER, registered.thumbprint.slice(0, 12)));
      });
    }
  });

  describe('cert add', () => {
    it('adds a pending certificate after the provider\'s others: an alert (saml-provider-certificate-added)', async () => {
      const next = certificateFile(dir, 'partner-next');
      const before = await snapshot();
      const r = await sts('add', PROVIDER, '--cert', next.file, '--pending');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `added certificate ${next.thumbprint} to SAML provider ${PROVIDER} (pending)\n`);
      const after = await snapshot();
      assert.deepEqual(
        after.rows.find((p) => p.name === PROVIDER)?.certificates.map((c) => [c.thumbprint, c.state]),
        [[registered.thumbprint, 'active'], [next.thumbprint, 'pending']],
      );
      const added = after.events.slice(before.events.length);
      assert.deepEqual(
        added.map((e) => [e.eventName, e.alert, e.requestParameters]),
        [['AddSamlProviderCertificate', 'saml-provider-certificate-added', { provider: PROVIDER, thumbprint: next.thumbprint, state: 'pending' }]],
      );
      assert.equal((await sts('remove', PROVIDER, next.thumbprint)).code, 0);
    });

    it('usage errors (exit 2): no NAME, two NAMEs, no --cert, a file that is not a certificate', async () => {
      const message = usage(awsProviderCertAddCommand, 'give one NAME and --cert');
      await expectRefused(['add', '--cert', registered.file], 2, message);
      await expectRefused(['add', PROVIDER, 'extra', '--cert', registered.file], 2, message);
      await expectRefused(['add', PROVIDER], 2, message);
      writeFileSync(join(dir, 'not-a-cert.pem'), 'hello\n');
      await expectRefused(
        ['add', PROVIDER, '--cert', join(dir, 'not-a-cert.pem')],
        2,
        usage(awsProviderCertAddCommand, `${join(dir, 'not-a-cert.pem')} is not a PEM X.509 certificate (or cannot be read)`),
      );
    });

    it('an unknown provider (names are exact), or a certificate the provider has already: exit 1', async () => {
      const next = certificateFile(dir, 'partner-unknown-provider');
      for (const name of ['NoSuchIdP', PROVIDER.toLowerCase()]) {
        await expectRefused(['add', name, '--cert', next.file], 1, `sts aws provider cert add: no SAML provider ${name}: see "sts aws provider list"\n`);
      }
      await expectRefused(
        ['add', PROVIDER, '--cert', registered.file, '--pending'],
        1,
        `sts aws provider cert add: SAML provider ${PROVIDER} has certificate ${registered.thumbprint} already\n`,
      );
    });

    it('a provider removed while the certificate is added (after the check, before the insert): exit 1 as an unknown provider; no row, no audit', async () => {
      const next = certificateFile(dir, 'partner-raced');
      // Between the store's read of the provider and its INSERT: the removal the trigger makes fails
      // with that INSERT, so the provider is still there for the snapshot to compare.
      const db = new Database(join(home, 'trustbridge.db'));
      try {
        db.exec(`CREATE TRIGGER remove_provider_first BEFORE INSERT ON saml_provider_certificates
                 BEGIN DELETE FROM saml_providers WHERE name = NEW.provider; END`);
        await expectRefused(['add', PROVIDER, '--cert', next.file], 1, `sts aws provider cert add: no SAML provider ${PROVIDER}: see "sts aws provider list"\n`);
      } finally {
        db.exec('DROP TRIGGER IF EXISTS remove_provider_first');
        db.close();
      }
      assert.equal(await certificate(next.thumbprint), undefined);
    });
  });

  describe('cert remove', () => {
    it('usage errors (exit 2), an unknown provider or certificate (exit 1)', async () => {
      const message = usage(awsProviderCertRemoveCommand, 'give one NAME and one THUMBPRINT');
      await expectRefused(['remove'], 2, message);
      await expectRefused(['remove', PROVIDER], 2, message);
      await expectRefused(['remove', PROVIDER, registered.thumbprint, 'extra'], 2, message);
      await expectRefused(['remove', 'NoSuchIdP', registered.thumbprint], 1, `SAML provider NoSuchIdP has no certificate ${registered.thumbprint}\n`);
      await expectRefused(['remove', PROVIDER, UNKNOWN_THUMBPRINT], 1, `SAML provider ${PROVIDER} has no certificate ${UNKNOWN_THUMBPRINT}\n`);
    });

    it('removes a certificate in any state (by its thumbprint in either case), audited as RemoveSamlProviderCertificate', async () => {
      const thumbprint = await certificateIn('revoked');
      const before = await snapshot();
      const r = await sts('remove', PROVIDER, thumbprint.toUpperCase());
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `removed certificate ${thumbprint} from SAML provider ${PROVIDER}\n`);
      assert.equal(await certificate(thumbprint), undefined);
      const after = await snapshot();
      assert.deepEqual(after.events.slice(before.events.length).map((e) => [e.eventName, e.alert, e.requestParameters]), [
        ['RemoveSamlProviderCertificate', null, { provider: PROVIDER, thumbprint }],
      ]);
      assert.deepEqual(after.rows.find((p) => p.name === PROVIDER)?.certificates.map((c) => c.thumbprint), [registered.thumbprint]);
    });
  });
});
