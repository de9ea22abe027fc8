import type { TokenAlert } from '../../core/token-forensics';
import type { ResultFields } from '../query/query-response';
import type { QueryParams } from '../query/query-params';
import type { SessionClaims } from '../credentials/session-claims';

/** One Query API call, once the transport has parsed it (and verified its signature, where required). */
export interface ActionRequest {
  readonly params: QueryParams;
  readonly requestId: string;
  readonly sourceIp: string;
  readonly userAgent: string;
  /** The verified signer, for actions that require SigV4. */
  readonly caller: SessionClaims | undefined;
  /** Reports what a presented assertion revealed (a forgery made with our key…); audited and logged. */
  readonly raiseAlert: (alert: TokenAlert) => void;
}

/** Facts for the log and the audit trail: never a secret, a token or an assertion. */
export type ActionFacts = Record<string, string | number | boolean | undefined>;

export interface AwsAction {
  readonly name: string;
  /** Whether the caller must sign with SigV4 (AssumeRoleWithSAML is unsigned, as in AWS). */
  readonly requiresSignature: boolean;
  /** Runs the call; `facts` is filled as it goes, so a refusal is logged with what was known by then. */
  run(request: ActionRequest, facts: ActionFacts): Promise<ResultFields>;
}
