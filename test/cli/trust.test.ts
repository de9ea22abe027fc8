import { strict as assert } from 'node:assert';
import { trustPromoteCommand, trustRetireCommand, trustRevokeCommand, trustUnpinCommand } from '../../src/cli/commands/trust';
import { openInstance } from '../../src/instance/open-instance';
import type { PinState } from '../../src/store/store';
import { lifecycleCommands, lifecycleMoves, PIN_STATES } from '../support/cli-lifecycle';
import { quickCertificate } from '../support/quick-certificate';
import { runStsInProcess } from '../support/in-process-cli';
import { temporaryHome } from '../support/temporary-home';

// `sts trust promote|retire|revoke|unpin`, run in-process on a fresh instance: every move from every
// state (the same lifecycle as a SAML provider's certificates), and the refusals, each with its exit
// code and message, the pins unchanged and nothing added to the audit trail.

const ISSUER = 'https://idp.partner.example/';
const UNKNOWN_THUMBPRINT = 'ab'.repeat(32);

describe('cli: sts trust promote|retire|revoke|unpin (the lifecycle of external issuers\' pins)', function () {
  this.timeout(60_000);
  const { home } = temporaryHome('trustbridge-cli-trust-');
  let counter = 0;

  const { sts, snapshot, expectRefused, usage } = lifecycleCommands(['trust'], () => home, (store) => store.trustedIssuers.list());
  /** A new pin stored in `state` directly (the moves under test are not used to get there). */
  const pinIn = async (state: PinState): Promise<string> => {
    const { pem: certificatePem, thumbprint } = quickCertificate(`pin-${state}-${++counter}`);
    const instance = await openInstance(home);
    try {
      const at = new Date();
      await instance.store.trustedIssuers.pin({ issuer: ISSUER, thumbprint, certificatePem, createdAt: at, state, activateAt: null, retireAt: null, stateChangedAt: at });
    } finally {
      await instance.close();
    }
    return thumbprint;
  };
  const pinned = async (thumbprint: string) => (await snapshot()).rows.find((p) => p.thumbprint === thumbprint);

  before(async () => {
    assert.equal((await runStsInProcess(['init', '--home', home])).code, 0);
  });

  const LIFECYCLE = lifecycleMoves({
    promote: [trustPromoteCommand, 'PromotePin'],
    retire: [trustRetireCommand, 'RetirePin'],
    revoke: [trustRevokeCommand, 'RevokePin'],
  });

  for (const [move, , eventName, from, to] of LIFECYCLE) {
    for (const state of PIN_STATES) {
      if (from.includes(state)) {
        it(`${move} from ${state}: now ${to}, stamped, audited as ${eventName} (no alert)`, async () => {
          const thumbprint = await pinIn(state);
          const before = await snapshot();
          const start = Date.now();
          const r = await sts(move, thumbprint.toUpperCase());
          assert.equal(r.code, 0, r.stderr);
          assert.equal(r.stdout, `${thumbprint} is now ${to}\n`);
          assert.equal(r.stderr, '');
          const moved = await pinned(thumbprint);
          assert.equal(moved?.state, to);
          const changedAt = moved?.stateChangedAt.getTime() ?? 0;
          assert.ok(changedAt >= start && changedAt <= Date.now(), `stateChangedAt ${moved?.stateChangedAt.toISOString()}`);
          const added = (await snapshot()).events.slice(before.events.length);
          assert.deepEqual(
            added.map((e) => [e.eventName, e.eventSource, e.alert, e.errorCode, e.requestParameters]),
            [[eventName, 'admin', null, null, { thumbprint, state: to }]],
          );
        });
      } else {
        it(`${move} from ${state}: refused (exit 1) naming the states it moves from; nothing changed`, async () => {
          const thumbprint = await pinIn(state);
          await expectRefused([move, thumbprint], 1, `no pin ${thumbprint} in state ${from.join(' or ')}; \`sts trust list\` shows the pins\n`);
          assert.equal((await pinned(thumbprint))?.state, state);
        });
      }
    }
  }

  for (const [move, command, , from] of LIFECYCLE) {
    it(`${move}: usage errors (exit 2), an unknown thumbprint (exit 1)`, async () => {
      await pinIn('pending');
      const message = usage(command, 'give one THUMBPRINT');
      await expectRefused([move], 2, message);
      await expectRefused([move, UNKNOWN_THUMBPRINT, 'extra'], 2, message);
      await expectRefused([move, UNKNOWN_THUMBPRINT], 1, `no pin ${UNKNOWN_THUMBPRINT} in state ${from.join(' or ')}; \`sts trust list\` shows the pins\n`);
    });
  }

  it('unpin: usage errors (exit 2), an unknown thumbprint (exit 1); a known one is removed and audited', async () => {
    const thumbprint = await pinIn('revoked');
    const message = usage(trustUnpinCommand, 'give one THUMBPRINT');
    await expectRefused(['unpin'], 2, message);
    await expectRefused(['unpin', thumbprint, 'extra'], 2, message);
    await expectRefused(['unpin', UNKNOWN_THUMBPRINT], 1, `no pinned certificate has thumbprint ${UNKNOWN_THUMBPRINT}\n`);
    const before = await snapshot();
    const r = await sts('unpin', thumbprint.toUpperCase());
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, `unpinned ${thumbprint}\n`, '']);
    const after = await snapshot();
    assert.equal(await pinned(thumbprint), undefined);
    assert.equal(after.rows.length, before.rows.length - 1);
    assert.deepEqual(after.events.slice(before.events.length).map((e) => [e.eventName, e.alert, e.requestParameters]), [['UnpinCertificate', null, { thumbprint }]]);
  });
});
