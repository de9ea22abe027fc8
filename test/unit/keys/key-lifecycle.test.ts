import { strict as assert } from 'node:assert';
import { activeKey, planRollover, retirementDelayMs, retirementDue, type RolloverSettings } from '../../../src/keys/key-lifecycle';
import type { SigningKeyState } from '../../../src/store/store';

const DAY = 24 * 3600 * 1000;
const T0 = new Date('2031-03-01T00:00:00Z');
const at = (days: number): Date => new Date(T0.getTime() + days * DAY);
const AD_FS: RolloverSettings = { enabled: true, certificateDays: 365, generateDaysBeforeExpiry: 20, promoteAfterDays: 5 };

interface Key {
  thumbprint: string;
  state: SigningKeyState;
  createdAt: Date;
  notAfter: Date;
  retiringAt?: Date;
}
const key = (thumbprint: string, state: SigningKeyState, createdDay: number, extra: Partial<Key> = {}): Key => ({
  thumbprint,
  state,
  createdAt: at(createdDay),
  notAfter: at(createdDay + 365),
  ...extra,
});

describe('keys/key-lifecycle', () => {
  describe('retirementDelayMs', () => {
    it('is the longest token lifetime + the longest expired-renewal window + clock skew', () => {
      const rps = [
        { tokenLifetimeSeconds: 3600, expiredRenewalWindowSeconds: 0 },
        { tokenLifetimeSeconds: 600, expiredRenewalWindowSeconds: 7200 },
      ];
      assert.equal(retirementDelayMs(rps, 300), (3600 + 7200 + 300) * 1000);
    });
    it('with no relying party is the clock skew alone', () => {
      assert.equal(retirementDelayMs([], 300), 300_000);
    });
  });

  describe('retirementDue', () => {
    it('counts from retiringAt, only for retiring keys', () => {
      const k = key('a', 'retiring', 0, { retiringAt: at(10) });
      assert.deepEqual(retirementDue(k, 3600_000), new Date(at(10).getTime() + 3600_000));
      assert.equal(retirementDue(key('b', 'active', 0), 1), undefined);
      assert.equal(retirementDue(key('c', 'retired', 0), 1), undefined);
    });
  });

  describe('activeKey', () => {
    it('is the one active key, and none when there are two or zero', () => {
      assert.equal(activeKey([key('a', 'retiring', 0), key('b', 'active', 1)])?.thumbprint, 'b');
      assert.equal(activeKey([key('a', 'active', 0), key('b', 'active', 1)]), undefined);
      assert.equal(activeKey([key('a', 'pending', 0)]), undefined);
    });
  });

  describe('planRollover (a fake clock walking through a year)', () => {
    const delay = 3600_000;

    it('does nothing while the active certificate is far from expiry', () => {
      assert.deepEqual(planRollover([key('a', 'active', 0)], at(344), AD_FS, delay), []);
    });

    it('generates a pending key 20 days before the active one expires, once', () => {
      const actions = planRollover([key('a', 'active', 0)], at(345), AD_FS, delay);
      assert.deepEqual(actions.map((a) => a.kind), ['generate']);
      // With the pending key there, no second one.
      assert.deepEqual(planRollover([key('a', 'active', 0), key('b', 'pending', 345)], at(346), AD_FS, delay), []);
    });

    it('promotes the pending key 5 days after it was generated, not before', () => {
      const keys = [key('a', 'active', 0), key('b', 'pending', 345)];
      assert.deepEqual(planRollover(keys, new Date(at(350).getTime() - 1), AD_FS, delay), []);
      const actions = planRollover(keys, at(350), AD_FS, delay);
      assert.deepEqual(actions.map((a) => [a.kind, 'thumbprint' in a ? a.thumbprint : '']), [['promote', 'b']]);
    });

    it('promotes a pending key made by hand (sts keys rotate) 5 days later too, the newest when several', () => {
      const keys = [key('a', 'active', 0), key('b', 'pending', 100), key('c', 'pending', 101)];
      const actions = planRollover(keys, at(106), AD_FS, delay);
      assert.deepEqual(actions.map((a) => [a.kind, 'thumbprint' in a ? a.thumbprint : '']), [['promote', 'c']]);
    });

    it('retires a retiring key once every token it signed has expired', () => {
      const keys = [key('a', 'retiring', 0, { retiringAt: at(350) }), key('b', 'active', 345)];
      assert.deepEqual(planRollover(keys, new Date(at(350).getTime() + delay - 1), AD_FS, delay), []);
      const actions = planRollover(keys, new Date(at(350).getTime() + delay), AD_FS, delay);
      assert.deepEqual(actions.map((a) => [a.kind, 'thumbprint' in a ? a.thumbprint : '']), [['retire', 'a']]);
    });

    it('when disabled, still retires but neither generates nor promotes', () => {
      const off = { ...AD_FS, enabled: false };
      const keys = [key('a', 'retiring', 0, { retiringAt: at(1) }), key('b', 'active', 0), key('c', 'pending', 300)];
      const actions = planRollover(keys, at(360), off, delay);
      assert.deepEqual(actions.map((a) => a.kind), ['retire']);
    });

    it('never plans a second active key and ignores retired and revoked keys', () => {
      const keys = [key('a', 'revoked', 0), key('b', 'retired', 0), key('c', 'active', 200)];
      assert.deepEqual(planRollover(keys, at(250), AD_FS, delay), []);
    });

    it('does not promote a pending key that is itself about to expire; generates a fresh one instead', () => {
      const keys = [key('a', 'active', 0), key('b', 'pending', 0)];
      const actions = planRollover(keys, at(346), AD_FS, delay);
      assert.deepEqual(actions.map((a) => a.kind), ['generate']);
    });

    it('with no active key (a store edited by hand) promotes the newest pending key at once', () => {
      const actions = planRollover([key('a', 'retiring', 0, { retiringAt: at(9) }), key('b', 'pending', 10)], at(10), AD_FS, delay);
      assert.deepEqual(actions.map((a) => a.kind), ['retire', 'promote']);
    });

    it('walks a whole rollover cycle, day by day, with exactly one active key throughout', () => {
      let keys: Key[] = [key('k0', 'active', 0)];
      let n = 0;
      const log: string[] = [];
      for (let day = 0; day <= 800; day++) {
        const now = at(day);
        for (const a of planRollover(keys, now, AD_FS, delay)) {
          if (a.kind === 'generate') keys.push(key(`k${++n}`, 'pending', day));
          if (a.kind === 'promote') {
            keys = keys.map((k) =>
              k.state === 'active' ? { ...k, state: 'retiring', retiringAt: now } : k.thumbprint === a.thumbprint ? { ...k, state: 'active' } : k,
            );
          }
          if (a.kind === 'retire') keys = keys.map((k) => (k.thumbprint === a.thumbprint ? { ...k, state: 'retired' } : k));
          log.push(`${day}:${a.kind}`);
        }
        assert.equal(keys.filter((k) => k.state === 'active').length, 1, `day ${day}`);
        assert.ok((activeKey(keys) as Key).notAfter.getTime() > now.getTime(), `the active certificate is valid on day ${day}`);
      }
      assert.deepEqual(log.slice(0, 3), ['345:generate', '350:promote', '351:retire']);
    });
  });
});
