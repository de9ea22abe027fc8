import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ServingInstance } from '../instance/open-instance';
import { createApp, requestTurns } from './app';
import { InFlightRequests } from './in-flight';
import type { Logger } from './log';
import { singleProcessSnapshot, workerSnapshot } from './metrics/cluster-metrics';
import { registerKeyMetrics } from './metrics/key-metrics';
import { registerProcessMetrics } from './metrics/process-metrics';
import { MetricsRegistry } from './metrics/registry';
import { httpRouteMetrics, requestMetrics } from './metrics/request-metrics';
import { operationsEndpoints } from './operations-endpoints';
import { readinessCheck } from './readiness';

export interface RunningServer {
  readonly server: Server;
  readonly port: number;
  readonly baseUrl: string;
  /** Requests being answered now. */
  inFlight(): number;
  /**
   * The first step of a graceful shutdown: /readyz answers 503 from now on, and connections close
   * after their answer; new connections and requests are still served.
   */
  beginShutdown(): void;
  /**
   * Stops accepting connections, lets the requests in flight finish (for up to `timeoutMs`, by
   * default the config's shutdownTimeoutSeconds), closing each connection once idle, then cuts off
   * what is left. Resolves with how many requests were in flight when it began and how many were cut off.
   */
  close(timeoutMs?: number): Promise<{ drained: number; unfinished: number }>;
}

export interface ListenOptions {
  readonly port?: number;
  readonly host?: string;
  /** A cluster worker: /metrics asks the primary, which adds up every worker's metrics. */
  readonly clusterWorker?: boolean;
  /** The protocols' clock (tests move it); the system clock by default. */
  readonly now?: () => Date;
  /** See AppOptions.signTokensOffThread. */
  readonly signTokensOffThread?: boolean;
  /** The serving processes of this host (its cluster's workers), 1 by default: see requestTurns. */
  readonly servingProcesses?: number;
  /** See AppOptions.verifyPassword. */
  readonly verifyPassword?: (password: string, storedHash: string) => Promise<boolean>;
}

/** Starts the HTTPS listener for one process, with its metrics, readiness and graceful close. */
export async function listen(instance: ServingInstance, logger: Logger, options: ListenOptions = {}): Promise<RunningServer> {
  let baseUrl = instance.config.publicBaseUrl;
  let shuttingDown = false;
  const { key, cert, passphrase } = instance.tls;
  const server = createServer({ key, cert, ...(passphrase === undefined ? {} : { passphrase }) });
  const inFlight = new InFlightRequests(server);

  const registry = new MetricsRegistry();
  registerProcessMetrics(registry);
  registerKeyMetrics(registry, instance.store.signingKeys, logger);
  const requests = requestMetrics(registry, instance.audit);
  const inFlightGauge = registry.gauge('trustbridge_http_requests_in_flight', 'Requests being answered (including this scrape).').labels();
  const { admission, passwordChecks } = requestTurns(instance.config, options.servingProcesses);
  const queuedGauge = registry.gauge('trustbridge_http_requests_queued', 'Requests read and waiting for a turn (limits.maxConcurrentRequests).').labels();
  // A queue that stays long is scrypt's backlog: a password-spraying run, or too few turns for the logins.
  const passwordChecksQueuedGauge = registry
    .gauge('trustbridge_password_checks_queued', 'Password checks (scrypt) waiting for a turn (passwordChecks.maxConcurrent).')
    .labels();
  registry.onCollect(() => {
    inFlightGauge.set(inFlight.count);
    queuedGauge.set(admission.queued);
    passwordChecksQueuedGauge.set(passwordChecks.queued);
  });
  const operations = operationsEndpoints({
    nodeSnapshot: options.clusterWorker ? workerSnapshot(registry) : singleProcessSnapshot(registry),
    readiness: readinessCheck({ store: instance.store, signingKeys: instance.signingKeys, shuttingDown: () => shuttingDown, logger }),
    served: httpRouteMetrics(registry),
    logger,
  });

  const app = createApp({
    instance,
    logger,
    baseUrl: () => baseUrl,
    observers: [requests],
    operations,
    admission,
    passwordChecks,
    ...(options.now ? { now: options.now } : {}),
    ...(options.signTokensOffThread === undefined ? {} : { signTokensOffThread: options.signTokensOffThread }),
    ...(options.verifyPassword ? { verifyPassword: options.verifyPassword } : {}),
  });
  server.on('request', app.callback());
  // Longer than typical client and load-balancer idle timeouts, so they close first, not us.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 30_000;
  const host = options.host ?? instance.config.listen.host;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? instance.config.listen.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  if (baseUrl === '') baseUrl = `https://localhost:${port}`;
  let closing: Promise<{ drained: number; unfinished: number }> | undefined;
  return {
    server,
    port,
    baseUrl,
    inFlight: () => inFlight.count,
    beginShutdown: () => {
      shuttingDown = true;
      inFlight.closeConnectionsWhenDone();
    },
    close: (timeoutMs = instance.config.shutdownTimeoutSeconds * 1000) => {
      closing ??= (async () => {
        shuttingDown = true;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        const drained = inFlight.count;
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, timeoutMs);
        });
        await Promise.race([inFlight.drain(), timedOut]);
        clearTimeout(timer);
        const unfinished = inFlight.count;
        if (unfinished > 0) server.closeAllConnections();
        await closed;
        return { drained, unfinished };
      })();
      return closing;
    },
  };
}
