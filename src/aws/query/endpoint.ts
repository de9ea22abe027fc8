import type { TokenAlert } from '../../core/token-forensics';
import type { ActionFacts, AwsAction } from '../actions/action';
import { isStoreUnavailable } from '../../store/store-unavailable';
import { AwsError, awsErrors } from '../aws-error';
import type { SessionClaims } from '../credentials/session-claims';
import { parseQueryParams } from './query-params';
import { renderQueryError, renderQueryResult } from './query-response';

const API_VERSION = '2011-06-15';
const FORM_CONTENT_TYPE = /^application\/x-www-form-urlencoded\s*(;|$)/i;

/** One HTTP request to the Query API, as the transport received it. */
export interface AwsQueryRequest {
  readonly method: string;
  readonly path: string;
  /** The URL's query string without '?'. */
  readonly rawQuery: string;
  /** Header name (lower case) → values, as Node's headersDistinct gives them. */
  readonly headers: Record<string, string[] | undefined>;
  readonly body: Buffer;
  readonly sourceIp: string;
  readonly userAgent: string;
  readonly requestId: string;
}

export interface AwsQueryOutcome {
  readonly action: string | undefined;
  readonly error: AwsError | undefined;
  /** An unexpected failure: logged in full, answered with a bare InternalFailure. */
  readonly internalError: unknown;
  readonly facts: ActionFacts;
  /** Alerts raised while serving it, whether it succeeded or failed. */
  readonly alerts: readonly TokenAlert[];
}

export interface AwsQueryReply {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  readonly outcome: AwsQueryOutcome;
}

/** Verifies a request's SigV4 signature and returns who signed it; throws AwsError. */
export type Authenticate = (request: AwsQueryRequest) => SessionClaims;

/** The AWS Query protocol adapter: parameters in, an action from the table, AWS's XML out. */
export class AwsQueryEndpoint {
  private readonly actions: ReadonlyMap<string, AwsAction>;

  constructor(
    actions: readonly AwsAction[],
    private readonly authenticate: Authenticate,
  ) {
    this.actions = new Map(actions.map((a) => [a.name, a]));
  }

  async handle(request: AwsQueryRequest): Promise<AwsQueryReply> {
    let actionName: string | undefined;
    const facts: ActionFacts = {};
    const alerts: TokenAlert[] = [];
    try {
      const params = parseQueryParams(this.parameterText(request));
      actionName = params.get('Action');
      if (actionName === undefined || actionName === '') throw awsErrors.missingAction();
      const version = params.get('Version');
      const action = this.actions.get(actionName);
      if (!action || (version !== undefined && version !== API_VERSION)) {
        throw awsErrors.invalidAction(/^\w{1,64}$/.test(actionName) ? actionName : '(unknown)');
      }
      const caller = action.requiresSignature ? this.authenticate(request) : undefined;
      const result = await action.run(
        {
          params,
          requestId: request.requestId,
          sourceIp: request.sourceIp,
          userAgent: request.userAgent,
          caller,
          raiseAlert: (alert) => alerts.push(alert),
        },
        facts,
      );
      return {
        status: 200,
        contentType: 'text/xml',
        body: renderQueryResult(action.name, result, request.requestId),
        outcome: { action: action.name, error: undefined, internalError: undefined, facts, alerts },
      };
    } catch (err) {
      // Facts gathered before a refusal (alerts, the assertion's id) are kept for the log.
      if (err instanceof AwsError) return this.refuse(err, request.requestId, actionName, facts, alerts);
      if (isStoreUnavailable(err)) {
        return this.refuse(awsErrors.serviceUnavailable(`store unavailable: ${(err as Error).message}`), request.requestId, actionName, facts, alerts);
      }
      return {
        ...this.refuse(awsErrors.internalFailure(), request.requestId, actionName, facts, alerts),
        outcome: { action: actionName, error: undefined, internalError: err, facts, alerts },
      };
    }
  }

  /** An error reply without running anything (for example a body over the size limit). */
  refuse(error: AwsError, requestId: string, action?: string, facts: ActionFacts = {}, alerts: readonly TokenAlert[] = []): AwsQueryReply {
    return {
      status: error.status,
      contentType: 'text/xml',
      body: renderQueryError(error, requestId),
      outcome: { action, error, internalError: undefined, facts, alerts },
    };
  }

  private parameterText(request: AwsQueryRequest): string {
    if (request.method === 'GET') return request.rawQuery;
    const contentType = request.headers['content-type']?.[0] ?? '';
    if (!FORM_CONTENT_TYPE.test(contentType)) {
      throw awsErrors.invalidParameterValue('The request body must be application/x-www-form-urlencoded (the AWS Query protocol).');
    }
    return request.body.toString('utf8');
  }
}
