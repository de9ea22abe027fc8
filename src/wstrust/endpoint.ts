import {
  FailedAuthenticationError,
  InvalidRequestError,
  InvalidSecurityError,
  ProtocolError,
  RequestFailedError,
  StoreUnavailableError,
} from '../core/errors';
import type { Delegation } from '../core/delegation';
import { AbandonedWhileWaitingError } from '../core/turns';
import type { OwnTokenValidator } from '../core/own-token-validator';
import type { TokenService } from '../core/token-service';
import { readAddressing, resolveAction, transportActionOf, type AddressingHeaders } from '../soap/addressing';
import { checkTimestamp } from '../soap/check-timestamp';
import { readEnvelope, soapVersionFromContentType, type SoapEnvelope, type SoapVersion } from '../soap/envelope';
import { buildFault } from '../soap/fault';
import { buildReplyEnvelope, soapContentType, type SoapReply } from '../soap/response';
import { readSecurityHeader, type SecurityHeader } from '../soap/security-header';
import { isStoreUnavailable } from '../store/store-unavailable';
import { NS } from '../xml/namespaces';
import type { XmlElementLike } from '../xml/dom';
import { checkXmlSafely, XmlRejectedError, type XmlLimits } from '../xml/safe-parse';
import { claimedUserName, type ClaimedUserName } from '../audit/claimed-user-name';
import type { AuthenticatedSubject } from '../identity/subject';
import { cancel } from './cancel';
import type { TokenAlert } from '../core/token-forensics';
import type { MessageAuthenticator } from './message-authentication';
import { issue } from './issue';
import type { Operation } from './operation';
import { operationOf, type TrustOperation } from './operations';
import { renew } from './renew';
import { readRequestSecurityToken, withoutElements, type RequestSecurityToken } from './rst';
import { validate } from './validate';
import { trustUris, type TrustVersion } from './trust-version';

export interface SoapHttpRequest {
  readonly body: Buffer;
  readonly contentType: string | undefined;
  readonly soapAction: string | undefined;
  readonly requestId: string;
  /** Whether the client is still there to read the answer (work that waits its turn checks it). */
  readonly stillWanted?: () => boolean;
}

/** What happened, for the log and (later) the audit trail; never holds a secret. */
export interface WsTrustOutcome {
  readonly operation?: TrustOperation;
  readonly subject?: string;
  readonly appliesTo?: string;
  readonly tokenId?: string;
  readonly targetTokenId?: string;
  readonly status?: string;
  /** The user name a request that failed to authenticate claimed (never on one that did: see subject). */
  readonly claimedUserName?: ClaimedUserName;
  /** Alerts raised while serving it, whether it succeeded or failed. */
  readonly alerts?: readonly TokenAlert[];
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

/** What a fault needs to know, filled in as the request is read. */
interface Progress {
  soapVersion: SoapVersion;
  addressing: AddressingHeaders | undefined;
  readonly partial: { operation?: TrustOperation; subject?: string; claimedUserName?: ClaimedUserName; appliesTo?: string; alerts?: TokenAlert[] };
}

/** A request read from one of the two trees. */
interface ReadMessage<E extends XmlElementLike> {
  readonly envelope: SoapEnvelope<E>;
  readonly addressing: AddressingHeaders;
  readonly security: SecurityHeader<E>;
  readonly now: Date;
  readonly rst: RequestSecurityToken<E>;
  readonly operation: TrustOperation;
}

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
    const progress: Progress = { soapVersion: declaredVersion ?? '1.2', addressing: undefined, partial: {} };
    const { partial } = progress;
    try {
      if (!declaredVersion) {
        throw new InvalidRequestError('The Content-Type must be application/soap+xml (SOAP 1.2) or text/xml (SOAP 1.1).');
      }
      // A plain request (no signature anywhere, no token or key inside the RST) is read from the
      // lean tree the hardened parser builds in its checking pass (it builds none for any other);
      // every other one, and every one whose authentication verifies a signature, from xmldom's
      // DOM. The readers are the same and the trees read alike: same values, same faults.
      const authentication = this.authenticate;
      const xml = checkXmlSafely(request.body, this.deps.limits, !authentication.verifiesSignature);
      const lean = xml.lean && this.read(xml.lean.documentElement, declaredVersion, request, progress);
      const leanRst = lean && withoutElements(lean.rst);
      let rst: RequestSecurityToken;
      let subject: AuthenticatedSubject;
      let message: ReadMessage<XmlElementLike>;
      // Set once the message is read, so a refused login can say which name it claimed.
      let security: SecurityHeader<XmlElementLike> | undefined;
      try {
        if (lean && leanRst && !authentication.verifiesSignature) {
          message = lean;
          rst = leanRst;
          security = lean.security;
          subject = await authentication.authenticate({ envelope: lean.envelope, security: lean.security, now: lean.now, stillWanted: request.stillWanted });
        } else {
          const dom = this.read<Element>(xml.dom().documentElement, declaredVersion, request, progress);
          message = dom;
          rst = dom.rst;
          security = dom.security;
          subject = await authentication.authenticate({ envelope: dom.envelope, security: dom.security, now: dom.now, stillWanted: request.stillWanted });
        }
      } catch (err) {
        // A refused login records who was tried: the name the message claims, read and made inert
        // only once the check has failed, so a login that succeeds costs nothing for it.
        const claimed = security && authentication.claimedUserName?.(security);
        if (claimed !== undefined) partial.claimedUserName = claimedUserName(claimed);
        throw err;
      }
      partial.subject = subject.name;
      const result = await OPERATIONS[message.operation]({
        rst,
        caller: subject,
        requestId: request.requestId,
        tokens: this.deps.tokens,
        validator: this.deps.validator,
        delegation: this.deps.delegation,
        now: this.deps.now,
        raiseAlert: (alert) => (partial.alerts ??= []).push(alert),
      });
      const reply = buildReplyEnvelope(
        message.envelope.version,
        { namespace: message.addressing.namespace, action: result.action, relatesTo: message.addressing.messageId },
        result.body,
        message.now,
        true,
      );
      const { body: _body, action: _action, ...facts } = result;
      return {
        reply: { status: 200, contentType: soapContentType(message.envelope.version), body: reply },
        outcome: { ...partial, ...facts },
      };
    } catch (err) {
      // Nobody is there to read a fault: the transport logs and counts it (499).
      if (err instanceof AbandonedWhileWaitingError) throw err;
      if (err instanceof FailedAuthenticationError && err.alert) (partial.alerts ??= []).push(err.alert);
      return this.fail(err, progress.soapVersion, progress.addressing, request.requestId, partial);
    }
  }

  /**
   * Reads the envelope, WS-Addressing, the Security header (checking its Timestamp) and the RST,
   * recording in `progress` what a fault needs as soon as it is known.
   */
  private read<E extends XmlElementLike>(
    root: E,
    declaredVersion: SoapVersion,
    request: SoapHttpRequest,
    progress: Progress,
  ): ReadMessage<E> {
    const envelope = readEnvelope({ documentElement: root }, declaredVersion);
    progress.soapVersion = envelope.version;
    const addressing = readAddressing(envelope);
    progress.addressing = addressing;
    const action = resolveAction(addressing, transportActionOf(request.soapAction, request.contentType));
    const security = readSecurityHeader(envelope);
    if (!security) throw new InvalidSecurityError('The message has no wsse:Security header.');
    const now = this.deps.now();
    if (security.timestamp) checkTimestamp(security.timestamp, now, this.deps.clockSkewMs);
    const rst = readRequestSecurityToken(envelope.payload, this.version);
    const operation = operationOf(this.version, rst.requestType, action);
    progress.partial.operation = operation;
    progress.partial.appliesTo = rst.appliesTo;
    return { envelope, addressing, security, now, rst, operation };
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
      { family: error.family, code: error.code, reason: error.message, receiver: known === undefined || known.receiver },
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
  if (isStoreUnavailable(err)) return new StoreUnavailableError(`store unavailable: ${(err as Error).message}`);
  if (err instanceof XmlRejectedError) return new InvalidRequestError(`The request was refused: ${err.message}.`);
  return undefined;
}
