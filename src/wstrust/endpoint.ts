import {
  InvalidRequestError,
  InvalidSecurityError,
  ProtocolError,
  RequestFailedError,
} from '../core/errors';
import type { Delegation } from '../core/delegation';
import type { OwnTokenValidator } from '../core/own-token-validator';
import type { TokenService } from '../core/token-service';
import { readAddressing, resolveAction, transportActionOf, type AddressingHeaders } from '../soap/addressing';
import { checkTimestamp } from '../soap/check-timestamp';
import { readEnvelope, soapVersionFromContentType, type SoapVersion } from '../soap/envelope';
import { buildFault } from '../soap/fault';
import { buildReplyEnvelope, soapContentType, type SoapReply } from '../soap/response';
import { readSecurityHeader } from '../soap/security-header';
import { NS } from '../xml/namespaces';
import { parseXmlSafely, XmlRejectedError, type XmlLimits } from '../xml/safe-parse';
import { cancel } from './cancel';
import type { MessageAuthenticator } from './message-authentication';
import { issue } from './issue';
import type { Operation } from './operation';
import { operationOf, type TrustOperation } from './operations';
import { renew } from './renew';
import { readRequestSecurityToken } from './rst';
import { validate } from './validate';
import { trustUris, type TrustVersion } from './trust-version';

export interface SoapHttpRequest {
  readonly body: Buffer;
  readonly contentType: string | undefined;
  readonly soapAction: string | undefined;
  readonly requestId: string;
}

/** What happened, for the log and (later) the audit trail; never holds a secret. */
export interface WsTrustOutcome {
  readonly operation?: TrustOperation;
  readonly subject?: string;
  readonly appliesTo?: string;
  readonly tokenId?: string;
  readonly targetTokenId?: string;
  readonly status?: string;
  readonly fault?: { readonly code: string; readonly reason: string; readonly logDetail?: string };
  readonly internalError?: unknown;
}

export interface WsTrustResult {
  readonly reply: SoapReply;
  readonly outcome: WsTrustOutcome;
}

export interface WsTrustEndpointDependencies {
  readonly limits: XmlLimits;
  readonly clockSkewMs: number;
  readonly tokens: TokenService;
  readonly validator: OwnTokenValidator;
  readonly delegation: Delegation;
  readonly now: () => Date;
}

const OPERATIONS: Record<TrustOperation, Operation> = { Issue: issue, Validate: validate, Renew: renew, Cancel: cancel };

/**
 * One WS-Trust endpoint (1.3 or February 2005, with its way of authenticating the caller): hardened
 * parse, SOAP envelope, WS-Addressing, WS-Security, then the RST, dispatched by RequestType. Every
 * failure becomes the SOAP fault of the request's SOAP version.
 */
export class WsTrustEndpoint {
  constructor(
    private readonly version: TrustVersion,
    private readonly authenticate: MessageAuthenticator,
    private readonly deps: WsTrustEndpointDependencies,
  ) {}

  async handle(request: SoapHttpRequest): Promise<WsTrustResult> {
    // Until the envelope is read, the Content-Type is our only hint of the SOAP version to fault in.
    const declaredVersion = soapVersionFromContentType(request.contentType);
    let soapVersion: SoapVersion = declaredVersion ?? '1.2';
    let addressing: AddressingHeaders | undefined;
    const partial: { operation?: TrustOperation; subject?: string; appliesTo?: string } = {};
    try {
      if (!declaredVersion) {
        throw new InvalidRequestError('The Content-Type must be application/soap+xml (SOAP 1.2) or text/xml (SOAP 1.1).');
      }
      const doc = parseXmlSafely(request.body, this.deps.limits);
      const envelope = readEnvelope(doc, declaredVersion);
      soapVersion = envelope.version;
      addressing = readAddressing(envelope);
      const action = resolveAction(addressing, transportActionOf(request.soapAction, request.contentType));
      const security = readSecurityHeader(envelope);
      if (!security) throw new InvalidSecurityError('The message has no wsse:Security header.');
      const now = this.deps.now();
      if (security.timestamp) checkTimestamp(security.timestamp, now, this.deps.clockSkewMs);
      const rst = readRequestSecurityToken(envelope.payload, this.version);
      partial.operation = operationOf(this.version, rst.requestType, action);
      partial.appliesTo = rst.appliesTo;
      const subject = await this.authenticate({ envelope, security, now });
      partial.subject = subject.name;
      const result = await OPERATIONS[partial.operation]({
        rst,
        caller: subject,
        requestId: request.requestId,
        tokens: this.deps.tokens,
        validator: this.deps.validator,
        delegation: this.deps.delegation,
        now: this.deps.now,
      });
      const reply = buildReplyEnvelope(
        soapVersion,
        { namespace: addressing.namespace, action: result.action, relatesTo: addressing.messageId },
        result.body,
        now,
        true,
      );
      const { body: _body, action: _action, ...facts } = result;
      return {
        reply: { status: 200, contentType: soapContentType(soapVersion), body: reply },
        outcome: { ...partial, ...facts },
      };
    } catch (err) {
      return this.fail(err, soapVersion, addressing, request.requestId, partial);
    }
  }

  /** Answers a request the transport refused before the endpoint could read it (a body over the limit). */
  refuse(error: ProtocolError, contentType: string | undefined, requestId: string): WsTrustResult {
    return this.fail(error, soapVersionFromContentType(contentType) ?? '1.2', undefined, requestId, {});
  }

  private fail(
    err: unknown,
    version: SoapVersion,
    addressing: AddressingHeaders | undefined,
    requestId: string,
    partial: WsTrustOutcome,
  ): WsTrustResult {
    const known = toProtocolError(err);
    const error = known ?? new RequestFailedError(`The request failed inside the STS (request id ${requestId}).`);
    const reply = buildFault(
      { family: error.family, code: error.code, reason: error.message, receiver: known === undefined },
      {
        version,
        trustNamespace: trustUris(this.version).ns,
        addressingNamespace: addressing?.namespace ?? NS.wsa10,
        relatesTo: addressing?.messageId,
        requestId,
      },
    );
    return {
      reply,
      outcome: {
        ...partial,
        fault: { code: `${error.family}:${error.code}`, reason: error.message, ...(error.logDetail ? { logDetail: error.logDetail } : {}) },
        ...(known === undefined ? { internalError: err } : {}),
      },
    };
  }
}

function toProtocolError(err: unknown): ProtocolError | undefined {
  if (err instanceof ProtocolError) return err;
  if (err instanceof XmlRejectedError) return new InvalidRequestError(`The request was refused: ${err.message}.`);
  return undefined;
}
