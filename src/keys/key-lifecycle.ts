import type { RelyingPartyRecord, SigningKeyRecord, SigningKeyState } from '../store/store';

// The token-signing key lifecycle, as rules with no I/O:
//
//   pending ──promote──▶ active ──(another is promoted)──▶ retiring ──(its tokens all expired)──▶ retired
//      └──────────────┴──────────────────┴─────────────────────────────▶ revoked (at any time)
//
// Exactly one key is active. A pending key is published (metadata) but neither signs nor verifies; an
// active key signs and verifies; a retiring key only verifies, until every token it signed has expired;
// retired and revoked keys verify nothing.

const DAY_MS = 24 * 3600 * 1000;

/** The states a key may move to from each state, by a direct state change (promotion moves two keys at once). */
export const TRANSITIONS: Readonly<Record<SigningKeyState, readonly SigningKeyState[]>> = {
  pending: ['active', 'revoked'],
  active: ['retiring', 'revoked'],
  retiring: ['retired', 'revoked'],
  retired: ['revoked'],
  revoked: [],
};

/** The states a key can be revoked from: every one but revoked. */
export const REVOCABLE: readonly SigningKeyState[] = ['pending', 'active', 'retiring', 'retired'];

/** States whose signatures are accepted. */
export const VERIFYING_STATES: readonly SigningKeyState[] = ['active', 'retiring'];
/** States whose certificates the metadata publishes, so relying parties can roll over. */
export const PUBLISHED_STATES: readonly SigningKeyState[] = ['pending', 'active', 'retiring'];

export interface RolloverSettings {
  /** Generate and promote automatically; retirement of retiring keys happens either way. */
  readonly enabled: boolean;
  readonly certificateDays: number;
  readonly generateDaysBeforeExpiry: number;
  readonly promoteAfterDays: number;
}

export type RolloverAction =
  | { readonly kind: 'generate'; readonly reason: string }
  | { readonly kind: 'promote'; readonly thumbprint: string; readonly reason: string }
  | { readonly kind: 'retire'; readonly thumbprint: string; readonly reason: string };

/**
 * How long after a key stops signing a token it signed may still be presented: the longest token
 * lifetime, plus the longest window in which an expired token may still be renewed, plus clock skew.
 */
export function retirementDelayMs(relyingParties: readonly Pick<RelyingPartyRecord, 'tokenLifetimeSeconds' | 'expiredRenewalWindowSeconds'>[], clockSkewSeconds: number): number {
  const longestLifetime = Math.max(0, ...relyingParties.map((rp) => rp.tokenLifetimeSeconds));
  const longestRenewal = Math.max(0, ...relyingParties.map((rp) => rp.expiredRenewalWindowSeconds));
  return (longestLifetime + longestRenewal + clockSkewSeconds) * 1000;
}

/** When a retiring key may be retired; undefined for a key that is not retiring. */
export function retirementDue(key: Pick<SigningKeyRecord, 'state' | 'retiringAt' | 'createdAt'>, delayMs: number): Date | undefined {
  if (key.state !== 'retiring') return undefined;
  // A key retiring before the column existed has no stamp: count from its creation (the earliest it could have signed).
  return new Date((key.retiringAt ?? key.createdAt).getTime() + delayMs);
}

/** The key signing tokens, if exactly one is active. */
export function activeKey<K extends Pick<SigningKeyRecord, 'state'>>(keys: readonly K[]): K | undefined {
  const active = keys.filter((k) => k.state === 'active');
  return active.length === 1 ? active[0] : undefined;
}

/**
 * What the automatic rollover should do now, AD FS's way: a new pending key `generateDaysBeforeExpiry`
 * days before the active certificate expires, promoted `promoteAfterDays` after it was generated (time
 * for relying parties to read it from the metadata); retiring keys retired once their tokens are all
 * expired. `notAfter` must be filled in (see certificateNotAfter).
 */
export function planRollover(
  keys: readonly (Pick<SigningKeyRecord, 'thumbprint' | 'state' | 'createdAt' | 'retiringAt'> & { readonly notAfter: Date })[],
  now: Date,
  settings: RolloverSettings,
  retirementDelay: number,
): RolloverAction[] {
  const actions: RolloverAction[] = [];
  const t = now.getTime();
  for (const key of keys) {
    const due = retirementDue(key, retirementDelay);
    if (due && due.getTime() <= t) {
      actions.push({ kind: 'retire', thumbprint: key.thumbprint, reason: `every token it signed expired by ${due.toISOString()}` });
    }
  }
  if (!settings.enabled) return actions;

  const active = activeKey(keys);
  // Pending keys that could still sign for a while, newest first.
  const pending = keys
    .filter((k) => k.state === 'pending' && k.notAfter.getTime() - settings.generateDaysBeforeExpiry * DAY_MS > t)
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  const newest = pending[0];
  if (!active) {
    // Nothing signs: promote at once rather than wait (only reachable if a store was edited by hand).
    if (newest) actions.push({ kind: 'promote', thumbprint: newest.thumbprint, reason: 'no key is active' });
    return actions;
  }
  if (newest) {
    const promoteAt = newest.createdAt.getTime() + settings.promoteAfterDays * DAY_MS;
    if (promoteAt <= t) {
      actions.push({ kind: 'promote', thumbprint: newest.thumbprint, reason: `pending since ${newest.createdAt.toISOString()}, ${settings.promoteAfterDays} days` });
    }
    return actions;
  }
  const generateAt = active.notAfter.getTime() - settings.generateDaysBeforeExpiry * DAY_MS;
  if (generateAt <= t) {
    actions.push({ kind: 'generate', reason: `the active key's certificate expires on ${active.notAfter.toISOString()}` });
  }
  return actions;
}
