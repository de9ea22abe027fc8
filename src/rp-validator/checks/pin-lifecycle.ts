import { pinVerdictAt, type PinRefusal } from '../../keys/pin-policy';
import type { RelyingPartyPin } from '../relying-party-pin';
import { problem, type Problem, type ProblemCode } from '../verdict';

const CODES: Record<PinRefusal['reason'], { code: ProblemCode; says: string }> = {
  pending: { code: 'pin-pending', says: 'is pending (not yet active)' },
  retired: { code: 'pin-retired', says: 'is retired' },
  revoked: { code: 'pin-revoked', says: 'is revoked' },
  'certificate-not-yet-valid': { code: 'certificate-not-yet-valid', says: 'holds a certificate that is not yet valid' },
  'certificate-expired': { code: 'certificate-expired', says: 'holds a certificate that has expired' },
};

/** Whether the pin whose certificate signed may vouch at `now`: Trustbridge's own rule for pins (pinVerdictAt). */
export function checkPinLifecycle(pin: RelyingPartyPin, now: Date, clockSkewMs: number): Problem[] {
  const verdict = pinVerdictAt(pin, now, clockSkewMs);
  if (verdict.accepted) return [];
  const { code, says } = CODES[verdict.reason];
  return [problem(code, `the pin for the signing certificate ${pin.thumbprint} ${says} at ${now.toISOString()}`)];
}
