import { randomUUID } from 'node:crypto';
import Koa from 'koa';
import { Delegation } from '../core/delegation';
import { OwnTokenValidator } from '../core/own-token-validator';
import { TokenService } from '../core/token-service';
import { EmbeddedUserDirectory } from '../identity/embedded-users';
import { UsernameTokenAuthenticator } from '../identity/username-token';
import type { ServingInstance } from '../instance/open-instance';
import { OwnKeyRing } from '../keys/own-key-ring';
import { renderFederationMetadata } from '../metadata/federation-metadata';
import { renderMexWsdl } from '../metadata/mex';
import { createAwsApi } from '../aws/aws-api';
import { awsErrors } from '../aws/aws-error';
import { InvalidRequestError } from '../core/errors';
import { WsTrustEndpoint } from '../wstrust/endpoint';
import { certificateAuthentication, usernameTokenAuthentication } from '../wstrust/message-authentication';
import { SignedMessageReplayGuard } from '../soap/signed-message-replay';
import { describeError, type Logger } from './log';
import { BodyTooLargeError, readBody } from './read-body';

export const PATHS = {
  usernameMixed13: '/adfs/services/trust/13/usernamemixed',
  usernameMixed2005: '/adfs/services/trust/2005/usernamemixed',
  certificateMixed13: '/adfs/services/trust/13/certificatemixed',
  mex: '/adfs/services/trust/mex',
  federationMetadata: '/FederationMetadata/2007-06/FederationMetadata.xml',
  health: '/healthz',
  awsQuery: '/',
} as const;

export interface AppOptions {
  readonly instance: ServingInstance;
  readonly logger: Logger;
  /** The HTTPS base URL clients use, for mex and metadata; known only once the listener is bound. */
  readonly baseUrl: () => string;
  readonly now?: () => Date;
}

type Handler = (ctx: Koa.Context, requestId: string) => Promise<void>;

// Metadata is signed with xml-crypto (slow, off the hot path), so a rendering is reused for a while.
const METADATA_CACHE_MS = 5 * 60 * 1000;
const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** The Koa application: transport concerns only (limits, request ids, routing, logging); protocols live in adapters. */
export function createApp(options: AppOptions): Koa {
  const { instance, logger } = options;
  const now = options.now ?? (() => new Date());
  const { config, store, signingKeys } = instance;
  const clockSkewMs = config.clockSkewSeconds * 1000;
  // One freshness window for both kinds of replayable proof: UsernameToken Created and signed messages' Timestamps.
  const freshness = { clockSkewMs, maxAgeMs: config.usernameTokenMaxAgeSeconds * 1000 };
  const authenticator = new UsernameTokenAuthenticator(new EmbeddedUserDirectory(store.users, instance.masterKey), store.replay, freshness);
  const tokens = new TokenService({ store, issuer: config.issuer, activeSigningKey: () => signingKeys.current(), now });
  const limits = {
    maxBytes: config.limits.maxBodyBytes,
    maxDepth: config.limits.maxDepth,
    maxElements: config.limits.maxElements,
    maxAttributesPerElement: config.limits.maxAttributesPerElement,
  };
  // Re-read every 5 s: an emergency revocation on any node stops its tokens validating here within that.
  const ownKeys = new OwnKeyRing(store.signingKeys, { refreshMs: 5000, now });
  const validator = new OwnTokenValidator({ store, keys: ownKeys, clockSkewMs, now });
  const delegation = new Delegation({ store, validator, clockSkewMs, now });
  const endpointDeps = { limits, clockSkewMs, tokens, validator, delegation, now };
  const byUsername = usernameTokenAuthentication(authenticator);
  const byCertificate = certificateAuthentication(() => instance.clientCertificates, new SignedMessageReplayGuard(store.replay, freshness));
  const awsApi = createAwsApi({ config, store, masterKey: instance.masterKey, ownKeys, xmlLimits: limits, now });

  /** Reads the body within the size limit and hands it on; a larger one gets `refuse` with the reason instead. */
  const withBody = async <T>(ctx: Koa.Context, handle: (body: Buffer) => Promise<T>, refuse: (reason: string) => T): Promise<T> => {
    let body: Buffer;
    try {
      body = await readBody(ctx.req, config.limits.maxBodyBytes);
    } catch (err) {
      if (!(err instanceof BodyTooLargeError)) throw err;
      // The rest of the body is never read, so this connection cannot carry another request.
      ctx.set('Connection', 'close');
      return refuse(`The request was refused: ${err.message}.`);
    }
    return handle(body);
  };

  const awsQuery: Handler = async (ctx, requestId) => {
    const request = {
      method: ctx.method,
      path: ctx.path,
      rawQuery: ctx.querystring,
      headers: ctx.req.headersDistinct,
      sourceIp: ctx.req.socket.remoteAddress ?? '',
      userAgent: ctx.get('user-agent'),
      requestId,
    };
    const reply =
      ctx.method === 'POST'
        ? await withBody(
            ctx,
            (body) => awsApi.handle({ ...request, body }),
            (reason) => awsApi.refuse(awsErrors.invalidParameterValue(reason), requestId),
          )
        : await awsApi.handle({ ...request, body: Buffer.alloc(0) });
    ctx.set('x-amzn-RequestId', requestId);
    send(ctx, reply.status, reply.contentType, reply.body);
    const { action, error, internalError, facts } = reply.outcome;
    const base = { requestId, path: ctx.path, api: 'aws', action, sourceIp: request.sourceIp, ...facts };
    if (internalError !== undefined) logger.log('error', 'internal error', { ...base, ...describeError(internalError) });
    else if (error) logger.log(facts['alert'] ? 'error' : 'warn', 'request failed', { ...base, error: error.code, reason: error.message, detail: error.logDetail });
    else logger.log('info', 'request served', base);
  };

  const wsTrust =
    (endpoint: WsTrustEndpoint): Handler =>
    async (ctx, requestId) => {
      const contentType = ctx.get('content-type') || undefined;
      const result = await withBody(
        ctx,
        (body) => endpoint.handle({ body, contentType, soapAction: ctx.get('soapaction') || undefined, requestId }),
        (reason) => endpoint.refuse(new InvalidRequestError(reason), contentType, requestId),
      );
      send(ctx, result.reply.status, result.reply.contentType, result.reply.body);
      const { fault, internalError, ...facts } = result.outcome;
      if (internalError !== undefined) {
        logger.log('error', 'internal error', { requestId, path: ctx.path, ...facts, ...describeError(internalError) });
      } else if (fault) {
        logger.log('warn', 'request failed', { requestId, path: ctx.path, ...facts, fault: fault.code, reason: fault.reason, detail: fault.logDetail });
      } else {
        logger.log('info', 'request served', { requestId, path: ctx.path, ...facts });
      }
    };

  // Keyed on the published thumbprints (active first): a rotation seen by the key ring re-renders at once.
  let metadataCache: { xml: string; key: string; until: number } | undefined;
  const routes: Record<string, Handler> = {
    [`POST ${PATHS.usernameMixed13}`]: wsTrust(new WsTrustEndpoint('1.3', byUsername, endpointDeps)),
    [`POST ${PATHS.usernameMixed2005}`]: wsTrust(new WsTrustEndpoint('2005', byUsername, endpointDeps)),
    [`POST ${PATHS.certificateMixed13}`]: wsTrust(new WsTrustEndpoint('1.3', byCertificate, endpointDeps)),
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
    // AWS STS's Query API at the root, as AWS serves it: POST with a form body, or GET for presigned URLs.
    [`POST ${PATHS.awsQuery}`]: awsQuery,
    [`GET ${PATHS.awsQuery}`]: awsQuery,
  };
  const knownPaths = new Set(Object.keys(routes).map((r) => r.slice(r.indexOf(' ') + 1)));

  const app = new Koa();
  app.silent = true;
  app.use(async (ctx) => {
    const requestId = randomUUID();
    ctx.set('X-Request-Id', requestId);
    echoClientRequestId(ctx);
    const handler = routes[`${ctx.method} ${ctx.path}`];
    try {
      if (handler) await handler(ctx, requestId);
      else if (knownPaths.has(ctx.path)) send(ctx, 405, 'text/plain; charset=utf-8', 'Method Not Allowed\n');
      else send(ctx, 404, 'text/plain; charset=utf-8', 'Not Found\n');
    } catch (err) {
      logger.log('error', 'internal error', { requestId, path: ctx.path, ...describeError(err) });
      send(ctx, 500, 'text/plain; charset=utf-8', `Internal error (request id ${requestId})\n`);
    }
  });
  return app;
}

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

// ADAL asks AD FS to echo its correlation id; we do the same, for well-formed GUIDs only.
function echoClientRequestId(ctx: Koa.Context): void {
  const id = ctx.get('client-request-id');
  if (ctx.get('return-client-request-id').toLowerCase() === 'true' && GUID.test(id)) ctx.set('client-request-id', id);
}
