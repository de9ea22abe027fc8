import type { SigningKeyRecord, Store } from '../store/store';
import type { SigningKeyCustody } from './key-custody';
import { certificateNotAfter, generateSigningKey } from './key-material';
import { planRollover, retirementDelayMs, type RolloverAction, type RolloverSettings } from './key-lifecycle';

export interface RolloverCheckOptions {
  readonly store: Store;
  /** Opened only when a key is due to be generated (a token custody logs in to the token then). */
  readonly custody: () => SigningKeyCustody;
  readonly settings: RolloverSettings;
  readonly clockSkewSeconds: number;
  readonly now: Date;
}

export interface RolloverOutcome {
  readonly action: RolloverAction;
  /** What changed: the key generated, promoted or retired; false when another process got there first. */
  readonly done: boolean;
  readonly thumbprint: string;
  /** For a promotion: the key that became retiring. */
  readonly previous?: string | null;
}

/** The lifecycle facts planRollover needs, from the store. */
export async function rolloverInputs(store: Store, clockSkewSeconds: number): Promise<{ keys: (SigningKeyRecord & { notAfter: Date })[]; retirementDelay: number }> {
  const keys = (await store.signingKeys.list()).map((k) => ({ ...k, notAfter: certificateNotAfter(k) }));
  return { keys, retirementDelay: retirementDelayMs(await store.relyingParties.list(), clockSkewSeconds) };
}

/**
 * Runs one rollover check: plans what is due and does it. Nodes sharing a store take turns (a node
 * finding another one at it skips this round and gets []), so two checking at once do not generate
 * two pending keys; promotion and retirement are conditional in the store besides.
 */
export async function runRolloverCheck(options: RolloverCheckOptions): Promise<RolloverOutcome[]> {
  const outcomes: RolloverOutcome[] = [];
  await options.store.exclusive('key-rollover', async () => {
    outcomes.push(...(await checkAndAct(options)));
  });
  return outcomes;
}

async function checkAndAct(options: RolloverCheckOptions): Promise<RolloverOutcome[]> {
  const { store, custody, settings, now } = options;
  const { keys, retirementDelay } = await rolloverInputs(store, options.clockSkewSeconds);
  const outcomes: RolloverOutcome[] = [];
  for (const action of planRollover(keys, now, settings, retirementDelay)) {
    switch (action.kind) {
      case 'retire':
        outcomes.push({ action, thumbprint: action.thumbprint, done: await store.signingKeys.setState(action.thumbprint, ['retiring'], 'retired', now) });
        break;
      case 'promote': {
        const result = await store.signingKeys.promote(action.thumbprint, now);
        outcomes.push({ action, thumbprint: action.thumbprint, done: result.promoted, ...(result.promoted ? { previous: result.previous } : {}) });
        break;
      }
      case 'generate': {
        const key = await generateSigningKey(store.signingKeys, custody(), { state: 'pending', validDays: settings.certificateDays, now });
        outcomes.push({ action, thumbprint: key.thumbprint, done: true });
        break;
      }
    }
  }
  return outcomes;
}
