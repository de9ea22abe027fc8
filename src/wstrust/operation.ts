import type { Delegation } from '../core/delegation';
import type { OwnTokenValidator } from '../core/own-token-validator';
import type { TokenAlert } from '../core/token-forensics';
import type { TokenService } from '../core/token-service';
import type { AuthenticatedSubject } from '../identity/subject';
import type { RequestSecurityToken } from './rst';

/** What every WS-Trust operation receives: the parsed request, who asks, and the core services. */
export interface OperationContext {
  readonly rst: RequestSecurityToken;
  readonly caller: AuthenticatedSubject;
  readonly requestId: string;
  readonly tokens: TokenService;
  readonly validator: OwnTokenValidator;
  readonly delegation: Delegation;
  readonly now: () => Date;
  /** Reports what a presented token revealed (a forgery, a revoked key…); the transport audits and logs it. */
  readonly raiseAlert: (alert: TokenAlert) => void;
}

/** The body of the reply, its WS-Addressing action, and facts for the log. */
export interface OperationResult {
  readonly body: string;
  readonly action: string;
  readonly tokenId?: string;
  readonly targetTokenId?: string;
  readonly status?: string;
}

export type Operation = (ctx: OperationContext) => Promise<OperationResult>;
