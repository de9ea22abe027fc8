import { X509Certificate } from 'node:crypto';
import type { CertificatePin, PinState } from '../store/store';

export type PinVerdict =
  | { readonly accepted: true }
  | { readonly accepted: false; readonly reason: 'pending' | 'retired' | 'revoked' | 'certificate-not-yet-valid' | 'certificate-expired' };

/** A verdict that refuses, with its reason. */
export type PinRefusal = Extract<PinVerdict, { accepted: false }>;

/** The moves an operator makes on a trusted certificate's lifecycle. */
export type PinMove = 'promote' | 'retire' | 'revoke';

/**
 * Which states each move starts from and which it leads to, for every certificate with a pin's
 * lifecycle: `sts trust promote|retire|revoke` and `sts aws provider cert promote|retire|revoke`
 * both take their moves from here. Revoked is final; nothing moves back to pending.
 */
export const PIN_MOVES: Readonly<Record<PinMove, { readonly from: readonly PinState[]; readonly to: PinState }>> = {
  promote: { from: ['pending'], to: 'active' },
  retire: { from: ['pending', 'active'], to: 'retired' },
  revoke: { from: ['pending', 'active', 'retired'], to: 'revoked' },
};

/**
 * Whether a pinned certificate may vouch for a token at `now`: the pin's lifecycle state (a pending
 * pin counts from its activateAt, an active one until its retireAt) and the certificate's own
 * validity period, widened by the clock skew as token times are.
 */
export function pinVerdictAt(
  pin: Pick<CertificatePin, 'state' | 'activateAt' | 'retireAt' | 'certificatePem'>,
  now: Date,
  clockSkewMs: number,
): PinVerdict {
  const t = now.getTime();
  if (pin.state === 'revoked') return { accepted: false, reason: 'revoked' };
  if (pin.state === 'retired') return { accepted: false, reason: 'retired' };
  if (pin.state === 'pending' && (pin.activateAt === null || t < pin.activateAt.getTime())) {
    return { accepted: false, reason: 'pending' };
  }
  if (pin.retireAt !== null && t >= pin.retireAt.getTime()) return { accepted: false, reason: 'retired' };
  const certificate = new X509Certificate(pin.certificatePem);
  if (t + clockSkewMs < Date.parse(certificate.validFrom)) return { accepted: false, reason: 'certificate-not-yet-valid' };
  if (t - clockSkewMs >= Date.parse(certificate.validTo)) return { accepted: false, reason: 'certificate-expired' };
  return { accepted: true };
}

/** What `sts trust list` (and `sts aws provider list`) shows for a pin at `now`: its stored state, or the state its schedule has moved it to. */
export function effectivePinState(pin: CertificatePin, now: Date): CertificatePin['state'] {
  const t = now.getTime();
  if (pin.state === 'pending' && pin.activateAt !== null && t >= pin.activateAt.getTime()) {
    return pin.retireAt !== null && t >= pin.retireAt.getTime() ? 'retired' : 'active';
  }
  if (pin.state === 'active' && pin.retireAt !== null && t >= pin.retireAt.getTime()) return 'retired';
  return pin.state;
}
