import { randomUUID } from 'node:crypto';
import Koa from 'koa';
import { Delegation } from '../core/delegation';
import { OwnTokenValidator } from '../core/own-token-validator';
import { TokenService } from '../core/token-service';
import { EmbeddedUserDirectory } from '../identity/embedded-users';
import type { LdapUserDirectory } from '../identity/ldap/ldap-user-directory';
import { PasswordCheckLimiter } from '../identity/password-check-limiter';
import { UsernameTokenAuthenticator } from '../identity/username-token';
import type { StsConfig } from '../config/config';
import type { ServingInstance } from '../instance/open-instance';
import { OwnKeyRing } from '../keys/own-key-ring';
import { renderFederationMetadata } from '../metadata/federation-metadata';
import { renderMexWsdl } from '../metadata/mex';
import { createAwsApi } from '../aws/aws-api';
import { awsErrors } from '../aws/aws-error';
import type { AwsQueryReply } from '../aws/query/endpoint';
import { InvalidRequestError, ServerBusyError } from '../core/errors';
import { WsTrustEndpoint } from '../wstrust/endpoint';
import type { TrustVersion } from '../wstrust/trust-version';
import { certificateAuthentication, usernameTokenAuthentication } from '../wstrust/message-authentication';
import { SignedMessageReplayGuard } from '../soap/signed-message-replay';
import { describeError, type Logger } from './log';
import { BodyTooLargeError, readBody } from './read-body';
import type { RequestObserver, RequestRecord } from '../audit/request-record';
import { awsRecordFields, wsTrustRecordFields } from '../audit/record-fields';
import { requestAuditObserver } from '../audit/request-audit';
import { burstDetector } from '../audit/burst-detector';
import { AbandonedWhileWaitingError, Turns } from '../core/turns';
import { PATHS } from './endpoint-paths';

/**
 * The WS-Trust endpoints, each with its protocol version and way of authenticating the caller: the
 * one list both the routes and stsAudiences read, so an endpoint cannot be served yet refused as an
 * audience (a partner may address a token for OnBehalfOf/ActAs to any of them, as clients address them).
 */
const WS_TRUST_ENDPOINTS = [
  { path: PATHS.usernameMixed13, version: '1.3', authentication: 'username' },
  { path: PATHS.usernameMixed2005, version: '2005', authentication: 'username' },
  { path: PATHS.certificateMixed13, version: '1.3', authentication: 'certificate' },
] as const satisfies ReadonlyArray<{ path: string; version: TrustVersion; authentication: 'username' | 'certificate' }>;

/** What a partner's token must be addressed to for delegation: our issuer identifier, or one of our WS-Trust endpoints' URLs. */
export function stsAudiences(issuer: string, baseUrl: string): string[] {
  const base = baseUrl.replace(/\/+$/, '');
  return [issuer, ...WS_TRUST_ENDPOINTS.map((endpoint) => base + endpoint.path)];
}

export interface AppOptions {
  readonly instance: ServingInstance;
  readonly logger: Logger;
  /** Told of every answered request (the audit trail, metrics, detectors). */
  readonly observers?: readonly RequestObserver[];
  /** The HTTPS base URL clients use, for mex and metadata; known only once the listener is bound. */
  readonly baseUrl: () => string;
  readonly now?: () => Date;
  /** /metrics and /readyz, and the count of requests outside the protocols; without them those paths are 404. */
  readonly operations?: OperationsEndpoints;
  /**
   * Sign tokens on libuv's thread pool (the default), so that signing runs beside this process's
   * event loop: right when the process has cores to spare. `sts serve` turns it off when it runs a
   * worker per core, where the hand-over to another thread only adds CPU (measured 5-10% per token).
   */
  readonly signTokensOffThread?: boolean;
  /** The turns requests take once their body is read (config.limits.maxConcurrentRequests, .maxQueuedRequests; see requestTurns). */
  readonly admission: Turns;
  /** The turns embedded users' password checks (scrypt) take (config.passwordChecks; see requestTurns). */
  readonly passwordChecks: PasswordCheckLimiter;
  /** The scrypt check of embedded users' passwords (tests count the checks through it); the real one by default. */
  readonly verifyPassword?: (password: string, storedHash: string) => Promise<boolean>;
}

/** A plain answer: status, media type and body. */
export interface PlainReply {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** The operational endpoints (see src/server/operations-endpoints.ts). */
export interface OperationsEndpoints {
  metrics(): Promise<PlainReply>;
  readiness(): Promise<PlainReply>;
  /** Told of each answer outside WS-Trust and AWS: route is one of PATHS, or 'unmatched'. */
  served(route: string, status: number): void;
}

type Handler = (ctx: Koa.Context, requestId: string, startedAt: bigint) => Promise<void>;

// Metadata is signed with xml-crypto (slow, off the hot path), so a rendering is reused for a while.
const METADATA_CACHE_MS = 5 * 60 * 1000;
const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * The turns a serving process's requests and password checks take, as the config sets them
 * (password checks left automatic share the host's cores among its `servingProcesses`).
 *
 * Why requests may take turns (limits.maxConcurrentRequests): every Issue has turns on the event loop
 * (after its signature on the thread pool, after its ledger commit), and with many requests in flight
 * each turn waits behind all the others': a burst (after a full garbage collection, say) delays every
 * Issue in it by the work of the whole burst. Taking turns, the oldest finish first. Off (0) by default:
 * a turn is held while its request waits on anything (an LDAP bind, a PostgreSQL commit, a password
 * check queued behind scrypt), and measured at 80% load it helped by less than this machine's drift
 * (README, "Sustained load").
 */
export function requestTurns(config: StsConfig, servingProcesses = 1): Pick<AppOptions, 'admission' | 'passwordChecks'> {
  return {
    admission: new Turns(config.limits.maxConcurrentRequests, config.limits.maxQueuedRequests),
    passwordChecks: new PasswordCheckLimiter(config.passwordChecks, servingProcesses),
  };
}

/**
 * Loaded only for an instance whose users are in a directory: ldapts costs every process that imports
 * it some 5 MB, and the embedded users need none of it.
 */
function ldapUserDirectory(settings: ConstructorParameters<typeof LdapUserDirectory>[0]): LdapUserDirectory {
  const directory = require('../identity/ldap/ldap-user-directory') as typeof import('../identity/ldap/ldap-user-directory');
  return new directory.LdapUserDirectory(settings);
}

/** The Koa application: transport concerns only (limits, request ids, routing, logging); protocols live in adapters. */
export function createApp(options: AppOptions): Koa {
  const { instance, logger } = options;
  const now = options.now ?? (() => new Date());
  const { config, store, signingKeys } = instance;
  const clockSkewMs = config.clockSkewSeconds * 1000;
  // One freshness window for both kinds of replayable proof: UsernameToken Created and signed messages' Timestamps.
  const freshness = { clockSkewMs, maxAgeMs: config.usernameTokenMaxAgeSeconds * 1000 };
  const authenticator = new UsernameTokenAuthenticator(
    instance.ldapDirectory
      ? ldapUserDirectory(instance.ldapDirectory)
      : new EmbeddedUserDirectory(store.users, instance.masterKey, {
          lockout: config.passwordLockout,
          limiter: options.passwordChecks,
          now,
          ...(options.verifyPassword ? { verify: options.verifyPassword } : {}),
        }),
    store.replay,
    freshness,
  );
  const tokens = new TokenService({
    store,
    issuer: config.issuer,
    activeSigningKey: () => signingKeys.current(),
    now,
    signOffThread: options.signTokensOffThread ?? true,
  });
  const limits = {
    maxBytes: config.limits.maxBodyBytes,
    maxDepth: config.limits.maxDepth,
    maxElements: config.limits.maxElements,
    maxAttributesPerElement: config.limits.maxAttributesPerElement,
  };
  // Re-read every 5 s: an emergency revocation on any node stops its tokens validating here within that.
  const ownKeys = new OwnKeyRing(store.signingKeys, { refreshMs: 5000, now });
  const validator = new OwnTokenValidator({
    store,
    keys: ownKeys,
    clockSkewMs,
    now,
    // The ledger records the relying party's AppliesTo as a token's audience.
    policyLifetimeSeconds: (appliesTo) => tokens.relyingParty(appliesTo).then((rp) => rp.tokenLifetimeSeconds, () => undefined),
    tokenAudience: (appliesTo) => tokens.relyingParty(appliesTo).then((rp) => rp.audience ?? undefined, () => undefined),
  });
  // The base URL is settled before the first request, and delegation runs only inside one: built once, on first use.
  let ownAudiences: readonly string[] | undefined;
  const delegation = new Delegation({ store, validator, clockSkewMs, now, ownAudiences: () => (ownAudiences ??= stsAudiences(config.issuer, options.baseUrl())) });
  const endpointDeps = { limits, clockSkewMs, tokens, validator, delegation, now };
  const authenticators = {
    username: usernameTokenAuthentication(authenticator),
    certificate: certificateAuthentication(() => instance.clientCertificates, new SignedMessageReplayGuard(store.replay, freshness)),
  };
  // The audit trail and the burst detector see every request; callers may add more (metrics).
  const observers = [
    requestAuditObserver(instance.audit),
    burstDetector(config.burstDetector, instance.audit, now),
    ...(options.observers ?? []),
  ];
  /** Hands the record to every observer; one that throws is logged and never fails the request. */
  const observe = (record: RequestRecord): void => {
    for (const observer of observers) {
      try {
        observer.observe(record);
      } catch (err) {
        logger.log('error', 'request observer failed', { requestId: record.requestId, ...describeError(err) });
      }
    }
  };
  const awsApi = createAwsApi({ config, store, masterKey: instance.masterKey, ownKeys, xmlLimits: limits, now });

  const { admission } = options;
  /**
   * Runs `work` in the request's turn. One that would wait while limits.maxQueuedRequests already do
   * gets `refuse` at once (the protocol's "busy, retry later"). One that waited, and whose client left
   * meanwhile (`stillWanted`), is dropped when its turn comes (AbandonedWhileWaitingError, logged as
   * 499): no token is signed and no ledger row written for nobody, and the turn passes on at once.
   */
  const inTurn = <T>(stillWanted: () => boolean, work: () => Promise<T>, refuse: (refusal: Refusal) => T): Promise<T> => {
    const refused = admission.refusal();
    if (refused) return Promise.resolve(refuse({ kind: 'busy', detail: `request refused: ${refused.message}` }));
    return admission.run(work, stillWanted);
  };
  /**
   * Reads the body within the size limit and hands it on in its turn; a larger one gets `refuse` at
   * once. The body is read before the turn, so a client sending it slowly holds none.
   */
  const withBody = async <T>(ctx: Koa.Context, stillWanted: () => boolean, handle: (body: Buffer) => Promise<T>, refuse: (refusal: Refusal) => T): Promise<T> => {
    let body: Buffer;
    try {
      body = await readBody(ctx.req, config.limits.maxBodyBytes);
    } catch (err) {
      if (!(err instanceof BodyTooLargeError)) throw err;
      // The rest of the body is never read, so this connection cannot carry another request.
      ctx.set('Connection', 'close');
      return refuse({ kind: 'too-large', reason: `The request was refused: ${err.message}.` });
    }
    return inTurn(stillWanted, () => handle(body), refuse);
  };

  const awsQuery: Handler = async (ctx, requestId, startedAt) => {
    const request = {
      method: ctx.method,
      path: ctx.path,
      rawQuery: ctx.querystring,
      headers: ctx.req.headersDistinct,
      sourceIp: ctx.req.socket.remoteAddress ?? '',
      userAgent: ctx.get('user-agent'),
      requestId,
    };
    const refuse = (refusal: Refusal): AwsQueryReply =>
      awsApi.refuse(refusal.kind === 'busy' ? awsErrors.throttling(refusal.detail) : awsErrors.invalidParameterValue(refusal.reason), requestId);
    const stillWanted = answerStillWanted(ctx);
    const reply =
      ctx.method === 'POST'
        ? await withBody(ctx, stillWanted, (body) => awsApi.handle({ ...request, body }), refuse)
        : await inTurn(stillWanted, () => awsApi.handle({ ...request, body: Buffer.alloc(0) }), refuse);
    ctx.set('x-amzn-RequestId', requestId);
    send(ctx, reply.status, reply.contentType, reply.body);
    const durationMs = elapsedMs(startedAt);
    const { action, error, internalError, facts, alerts } = reply.outcome;
    const record = awsRecordFields(reply.outcome);
    const base = { requestId, path: ctx.path, api: 'aws', action, sourceIp: request.sourceIp, ...facts, ...alertNames(alerts), httpStatus: reply.status, durationMs: roundMs(durationMs) };
    // The error code the caller got (InternalFailure), as a 'request failed' line names it.
    if (internalError !== undefined) logger.log('error', 'internal error', { ...base, error: record.errorCode, ...describeError(internalError) });
    else if (error) logger.log(reply.outcome.alerts.length > 0 ? 'error' : 'warn', 'request failed', { ...base, error: error.code, reason: error.message, detail: error.logDetail });
    else logger.log('info', 'request served', base);
    observe({
      ...record,
      requestId,
      path: ctx.path,
      sourceAddress: request.sourceIp || null,
      userAgent: request.userAgent || null,
      status: reply.status,
      internalError: internalError !== undefined,
      durationMs,
    });
  };

  const wsTrust =
    (endpoint: WsTrustEndpoint): Handler =>
    async (ctx, requestId, startedAt) => {
      const contentType = ctx.get('content-type') || undefined;
      const stillWanted = answerStillWanted(ctx);
      const result = await withBody(
        ctx,
        stillWanted,
        (body) => endpoint.handle({ body, contentType, soapAction: ctx.get('soapaction') || undefined, requestId, stillWanted }),
        (refusal) =>
          endpoint.refuse(refusal.kind === 'busy' ? new ServerBusyError(refusal.detail) : new InvalidRequestError(refusal.reason), contentType, requestId),
      );
      send(ctx, result.reply.status, result.reply.contentType, result.reply.body);
      const durationMs = elapsedMs(startedAt);
      const { fault, internalError, alerts, ...facts } = result.outcome;
      // httpStatus, since `status` is already Validate's verdict.
      Object.assign(facts, alertNames(alerts ?? []), { httpStatus: result.reply.status, durationMs: roundMs(durationMs) });
      if (internalError !== undefined) {
        logger.log('error', 'internal error', { requestId, path: ctx.path, ...facts, fault: fault?.code, ...describeError(internalError) });
      } else if (fault) {
        logger.log(alerts?.length ? 'error' : 'warn', 'request failed', { requestId, path: ctx.path, ...facts, fault: fault.code, reason: fault.reason, detail: fault.logDetail });
      } else {
        logger.log('info', 'request served', { requestId, path: ctx.path, ...facts });
      }
      observe({
        ...wsTrustRecordFields(result.outcome),
        requestId,
        path: ctx.path,
        sourceAddress: ctx.req.socket.remoteAddress ?? null,
        userAgent: ctx.get('user-agent') || null,
        status: result.reply.status,
        internalError: internalError !== undefined,
        durationMs,
      });
    };

  // Keyed on the published thumbprints (active first): a rotation seen by the key ring re-renders at once.
  let metadataCache: { xml: string; key: string; until: number } | undefined;
  // Requests to these are counted and logged as protocol requests (RequestRecord); the others by route.
  const protocolRoutes: Record<string, Handler> = {
    ...Object.fromEntries(
      WS_TRUST_ENDPOINTS.map((e) => [`POST ${e.path}`, wsTrust(new WsTrustEndpoint(e.version, authenticators[e.authentication], endpointDeps))]),
    ),
    // AWS STS's Query API at the root, as AWS serves it: POST with a form body, or GET for presigned URLs.
    [`POST ${PATHS.awsQuery}`]: awsQuery,
    [`GET ${PATHS.awsQuery}`]: awsQuery,
  };
  const operations = options.operations;
  const plain = (reply: () => Promise<PlainReply>): Handler => async (ctx) => {
    const r = await reply();
    send(ctx, r.status, r.contentType, r.body);
  };
  const routes: Record<string, Handler> = {
    ...protocolRoutes,
    [`GET ${PATHS.mex}`]: async (ctx) => send(ctx, 200, 'text/xml; charset=utf-8', renderMexWsdl(options.baseUrl())),
    [`GET ${PATHS.federationMetadata}`]: async (ctx) => {
      const baseUrl = options.baseUrl();
      const signWith = signingKeys.current();
      const published = signingKeys.publishedCertificates();
      // The signing key is always published, even if the ring's list is a moment behind it.
      const certificates = published.some((c) => c.thumbprint === signWith.thumbprintSha256)
        ? published
        : [{ thumbprint: signWith.thumbprintSha256, certificateBase64: signWith.certificateBase64 }, ...published];
      const key = [baseUrl, signWith.thumbprintSha256, ...certificates.map((c) => c.thumbprint)].join(' ');
      if (!metadataCache || metadataCache.key !== key || metadataCache.until < Date.now()) {
        const xml = renderFederationMetadata({ entityId: config.issuer, baseUrl, certificates, signWith });
        metadataCache = { xml, key, until: Date.now() + METADATA_CACHE_MS };
      }
      send(ctx, 200, 'text/xml; charset=utf-8', metadataCache.xml);
    },
    [`GET ${PATHS.health}`]: async (ctx) => send(ctx, 200, 'application/json', '{"status":"ok"}'),
    ...(operations && {
      [`GET ${PATHS.ready}`]: plain(() => operations.readiness()),
      [`GET ${PATHS.metrics}`]: plain(() => operations.metrics()),
    }),
  };
  const knownPaths = new Set(Object.keys(routes).map((r) => r.slice(r.indexOf(' ') + 1)));

  const app = new Koa();
  app.silent = true;
  app.use(async (ctx) => {
    const startedAt = process.hrtime.bigint();
    const requestId = randomUUID();
    ctx.set('X-Request-Id', requestId);
    echoClientRequestId(ctx);
    const route = `${ctx.method} ${ctx.path}`;
    const handler = routes[route];
    let protocolRequest = route in protocolRoutes;
    try {
      if (handler) await handler(ctx, requestId, startedAt);
      else if (knownPaths.has(ctx.path)) send(ctx, 405, 'text/plain; charset=utf-8', 'Method Not Allowed\n');
      else send(ctx, 404, 'text/plain; charset=utf-8', 'Not Found\n');
    } catch (err) {
      // Not recorded by a protocol handler: counted by route instead, so it shows somewhere.
      protocolRequest = false;
      if (err instanceof AbandonedWhileWaitingError) {
        // Nothing can be sent; the status is set only for the count by route below.
        ctx.res.statusCode = CLIENT_CLOSED_REQUEST;
        logger.log('warn', 'client closed request', { requestId, path: ctx.path, httpStatus: CLIENT_CLOSED_REQUEST, durationMs: roundMs(elapsedMs(startedAt)) });
      } else {
        // A bare page carries no fault or error code: its status is the answer (or the status of a reply already sent).
        logger.log('error', 'internal error', { requestId, path: ctx.path, httpStatus: ctx.res.headersSent ? ctx.res.statusCode : 500, ...describeError(err) });
        send(ctx, 500, 'text/plain; charset=utf-8', `Internal error (request id ${requestId})\n`);
      }
    }
    // The path is a label only when it is one of ours; anything else a caller made up is 'unmatched'.
    if (operations && !protocolRequest) operations.served(knownPaths.has(ctx.path) ? ctx.path : 'unmatched', ctx.res.statusCode);
  });
  return app;
}

// nginx's 499 "client closed request": HTTP has no status for an answer nobody is there to read, and
// log and metrics readers already know this one.
const CLIENT_CLOSED_REQUEST = 499;

/** Whether the request's answer can still be written: false once its client has closed the connection. */
const answerStillWanted =
  (ctx: Koa.Context): (() => boolean) =>
  () =>
    ctx.writable;

/** Why the transport answers a request without processing it: a body over the limit, or no turn and no room to wait for one. */
type Refusal = { readonly kind: 'too-large'; readonly reason: string } | { readonly kind: 'busy'; readonly detail: string };

/**
 * Writes the whole response in one end() (headers and body leave in one TLS record), bypassing
 * Koa's body and type setters and its respond step: every body here is a string whose media type
 * we know, so they would only redo (per request) what is written out below.
 */
function send(ctx: Koa.Context, status: number, contentType: string, body: string): void {
  ctx.respond = false;
  if (!ctx.writable) return;
  const res = ctx.res;
  res.statusCode = status;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

/** The request's log line names its alerts (the alert lines themselves carry the details). */
const alertNames = (alerts: readonly { readonly name: string }[]): { alert?: string } =>
  alerts.length === 0 ? {} : { alert: alerts.map((a) => a.name).join(',') };

const elapsedMs = (startedAt: bigint): number => Number(process.hrtime.bigint() - startedAt) / 1e6;
/** Milliseconds to the microsecond, for log lines. */
const roundMs = (ms: number): number => Math.round(ms * 1000) / 1000;

// ADAL asks AD FS to echo its correlation id; we do the same, for well-formed GUIDs only.
function echoClientRequestId(ctx: Koa.Context): void {
  const id = ctx.get('client-request-id');
  if (ctx.get('return-client-request-id').toLowerCase() === 'true' && GUID.test(id)) ctx.set('client-request-id', id);
}
