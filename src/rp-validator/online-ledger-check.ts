import { problem, type OnlineStatus, type Problem, type Verdict } from './verdict';

/** What an online check answers: the status, or the status with the issuer's reason. */
export type OnlineLedgerAnswer = OnlineStatus | { readonly status: OnlineStatus; readonly reason?: string };

/**
 * Asks the issuer whether it issued this exact assertion: a forgery made with a stolen signing key
 * (Golden SAML) has a valid signature but no issuance record. trustbridgeLedgerCheck is Trustbridge's.
 */
export interface OnlineLedgerCheck {
  check(assertionXml: string, assertionId: string): Promise<OnlineLedgerAnswer>;
}

/** Fail closed (the default): an assertion is refused when the check cannot be completed. */
export type UnreachablePolicy = 'fail-closed' | 'fail-open';

export interface OnlineOutcome {
  readonly online: NonNullable<Verdict['online']>;
  readonly problems: Problem[];
  readonly warnings: Problem[];
}

const STATUSES: readonly OnlineStatus[] = ['valid', 'invalid', 'unreachable'];

/**
 * Runs the check. A check that throws, or answers anything but the three statuses (one written in
 * plain JavaScript may), counts as unreachable: nothing but "valid" ever lets a token through.
 */
export async function runOnlineCheck(
  online: OnlineLedgerCheck,
  assertionXml: string,
  assertionId: string,
  policy: UnreachablePolicy,
): Promise<OnlineOutcome> {
  const answer = await ask(online, assertionXml, assertionId);
  const because = answer.reason === undefined ? '' : `: ${answer.reason}`;
  if (answer.status === 'valid') return { online: answer, problems: [], warnings: [] };
  if (answer.status === 'invalid') {
    return { online: answer, problems: [problem('ledger-unknown', `the issuer does not vouch for this assertion${because}`)], warnings: [] };
  }
  const found = problem('online-unreachable', `the online check could not be completed${because}`);
  return policy === 'fail-open' ? { online: answer, problems: [], warnings: [found] } : { online: answer, problems: [found], warnings: [] };
}

async function ask(online: OnlineLedgerCheck, assertionXml: string, assertionId: string): Promise<{ status: OnlineStatus; reason?: string }> {
  try {
    const raw: unknown = await online.check(assertionXml, assertionId);
    const status: unknown = typeof raw === 'object' && raw !== null ? (raw as { status?: unknown }).status : raw;
    const reason: unknown = typeof raw === 'object' && raw !== null ? (raw as { reason?: unknown }).reason : undefined;
    if (!STATUSES.includes(status as OnlineStatus)) return { status: 'unreachable', reason: 'the online check gave no valid answer' };
    return { status: status as OnlineStatus, ...(typeof reason === 'string' ? { reason } : {}) };
  } catch (err) {
    return { status: 'unreachable', reason: err instanceof Error ? err.message : String(err) };
  }
}
