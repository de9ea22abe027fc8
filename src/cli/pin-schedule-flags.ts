import { X509Certificate } from 'node:crypto';
import { effectivePinState } from '../keys/pin-policy';
import type { CertificatePin } from '../store/store';
import { instantFlag, UsageError, type FlagSpec, type ParsedArgs } from './args';

/** When a newly trusted certificate counts: at once, or once promoted or from activateAt; until retireAt. */
export interface PinSchedule {
  readonly state: 'pending' | 'active';
  readonly activateAt: Date | null;
  readonly retireAt: Date | null;
}

/**
 * --pending, --activate-at and --retire-at, shared by `sts trust pin` and `sts aws provider cert add`
 * (a partner's certificate has one lifecycle whichever protocol trusts it). `verb` is what the help
 * says is done to the certificate ("pin", "add").
 */
export function pinScheduleFlags(verb: string): FlagSpec[] {
  return [
    { name: 'pending', kind: 'boolean', help: `${verb} it as pending: not accepted until promoted or --activate-at` },
    { name: 'activate-at', kind: 'string', help: 'with --pending: accepted from this time (ISO 8601) without a promote' },
    { name: 'retire-at', kind: 'string', help: 'refused from this time (ISO 8601)' },
  ];
}

export function readPinSchedule(args: ParsedArgs): PinSchedule {
  const pending = args.booleans.has('pending');
  const activateAt = instantFlag(args, 'activate-at');
  const retireAt = instantFlag(args, 'retire-at');
  if (activateAt && !pending) throw new UsageError('--activate-at goes with --pending');
  if (activateAt && retireAt && retireAt <= activateAt) throw new UsageError('--retire-at must be after --activate-at');
  return { state: pending ? 'pending' : 'active', activateAt, retireAt };
}

/**
 * A trusted certificate as `sts trust list` and `sts aws provider list` show it: thumbprint, subject
 * and expiry, then the state it is in now and its schedule, each line after `indent`.
 */
export function describePin(pin: CertificatePin, now: Date, indent: string): string {
  const cert = new X509Certificate(pin.certificatePem);
  const schedule = [pin.activateAt ? `activates ${pin.activateAt.toISOString()}` : '', pin.retireAt ? `retires ${pin.retireAt.toISOString()}` : ''].filter(
    (s) => s !== '',
  );
  const when = schedule.length > 0 ? ` (${schedule.join(', ')})` : '';
  return `${indent}${pin.thumbprint}  ${cert.subject.replace(/\n/g, ', ')}  valid to ${cert.validTo}\n${indent}  ${effectivePinState(pin, now)}${when}\n`;
}
