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
import { InvalidRequestError } from '../core/errors';
import { WsTrustEndpoint, type WsTrustResult } from '../wstrust/endpoint';
import { certificateAuthentication, usernameTokenAuthentication } from '../wstrust/message-authentication';
import { describeError, type Logger } from './log';
import { BodyTooLargeError, readBody } from './read-body';

export const PATHS = {
  usernameMixed13: '/adfs/services/trust/13/usernamemixed',
  usernameMixed2005: '/adfs/services/trust/2005/usernamemixed',
  certificateMixed13: '/adfs/services/trust/13/certificatemixed',
  mex: '/adfs/services/trust/mex',
  federationMetadata: '/FederationMetadata/2007-06/FederationMetadata.xml',
  health: '/healthz',
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
  const { config, store, signingKey } = instance;
  const clockSkewMs = config.clockSkewSeconds * 1000;
  const authenticator = new UsernameTokenAuthenticator(
    new EmbeddedUserDirectory(store.users, instance.masterKey),
    store.replay,
    { clockSkewMs, maxAgeMs: config.usernameTokenMaxAgeSeconds * 1000 },
  );
  const tokens = new TokenService({ store, issuer: config.issuer, activeSigningKey: () => signingKey, now });
  const limits = {
    maxBytes: config.limits.maxBodyBytes,
    maxDepth: config.limits.maxDepth,
    maxElements: config.limits.maxElements,
    maxAttributesPerElement: config.limits.maxAttributesPerElement,
  };
  const validator = new OwnTokenValidator({ store, keys: new OwnKeyRing(store.signingKeys), clockSkewMs, now });
  const delegation = new Delegation({ store, validator, clockSkewMs, now });
  const endpointDeps = { limits, clockSkewMs, tokens, validator, delegation, now };
  const byUsername = usernameTokenAuthentication(authenticator);
  const byCertificate = certificateAuthentication(() => instance.clientCertificates);

  const wsTrust =
    (endpoint: WsTrustEndpoint): Handler =>
    async (ctx, requestId) => {
      const contentType = ctx.get('content-type') || undefined;
      let result: WsTrustResult;
      try {
        const body = await readBody(ctx.req, config.limits.maxBodyBytes);
        result = await endpoint.handle({ body, contentType, soapAction: ctx.get('soapaction') || undefined, requestId });
      } catch (err) {
        if (!(err instanceof BodyTooLargeError)) throw err;
        // The rest of the body is never read, so this connection cannot carry another request.
        ctx.set('Connection', 'close');
        result = endpoint.refuse(new InvalidRequestError(`The request was refused: ${err.message}.`), contentType, requestId);
      }
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

  let metadataCache: { xml: string; baseUrl: string; until: number } | undefined;
  const routes: Record<string, Handler> = {
    [`POST ${PATHS.usernameMixed13}`]: wsTrust(new WsTrustEndpoint('1.3', byUsername, endpointDeps)),
    [`POST ${PATHS.usernameMixed2005}`]: wsTrust(new WsTrustEndpoint('2005', byUsername, endpointDeps)),
    [`POST ${PATHS.certificateMixed13}`]: wsTrust(new WsTrustEndpoint('1.3', byCertificate, endpointDeps)),
    [`GET ${PATHS.mex}`]: async (ctx) => send(ctx, 200, 'text/xml; charset=utf-8', renderMexWsdl(options.baseUrl())),
    [`GET ${PATHS.federationMetadata}`]: async (ctx) => {
      const baseUrl = options.baseUrl();
      if (!metadataCache || metadataCache.baseUrl !== baseUrl || metadataCache.until < Date.now()) {
        const xml = renderFederationMetadata({
          entityId: config.issuer,
          baseUrl,
          certificates: [signingKey],
          signWith: signingKey,
        });
        metadataCache = { xml, baseUrl, until: Date.now() + METADATA_CACHE_MS };
      }
      send(ctx, 200, 'text/xml; charset=utf-8', metadataCache.xml);
    },
    [`GET ${PATHS.health}`]: async (ctx) => send(ctx, 200, 'application/json', '{"status":"ok"}'),
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
