import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { openInstance, openServingInstance, type Instance } from '../instance/open-instance';
import { readConfigFile } from '../instance/config-file';
import type { StsConfig } from '../config/config';
import { capOldGenerationGrowth, SERVING_OLD_GENERATION_GROWTH_PERCENT, WORKER_HEAP_ARGUMENTS } from './heap-growth';
import { startKeyRolloverTask, type KeyRolloverTask } from './key-rollover-task';
import { signsTokensOffThread } from './token-signing';
import { checksAtOnce } from '../identity/password-check-limiter';
import { createJsonLogger, describeError, type Logger } from './log';
import { batchingLineWriter } from './log-writer';
import { gatherNodeMetrics } from './metrics/cluster-metrics';
import { registerProcessMetrics } from './metrics/process-metrics';
import { MetricsRegistry } from './metrics/registry';

export interface ServeOptions {
  readonly home: string;
  readonly workers?: number;
  readonly port?: number;
  /** Called once every worker listens, with the base URL. */
  readonly onReady?: (baseUrl: string, workers: number) => void;
}

const RESTART_DELAY_MS = 1000;
const WORKER_EXIT_MARGIN_MS = 2_000;
/**
 * What the primary allows a worker beyond its own shutdown budget before killing it: closing the
 * store and exiting, plus storing its last audit events, which may take two of the store's busy
 * timeouts (tried again for one, and a last try started just before that bound may wait another).
 */
const workerExitGraceMs = (store: StsConfig['store']): number => WORKER_EXIT_MARGIN_MS + 2 * store.busyTimeoutMs;
const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;
/** Of the audit events a shutdown could not store, this many are named in its log line. */
const MAX_UNSTORED_IDS_LOGGED = 10;

/**
 * Serves with one process per worker (Node's cluster shares the port): nothing is shared in
 * memory, all state goes through the store, so workers are interchangeable.
 */
export async function serve(options: ServeOptions): Promise<void> {
  const config = readConfigFile(options.home);
  const workers = options.workers ?? (config.workers === 0 ? availableParallelism() : config.workers);
  if (workers <= 1) return serveInProcess(options, config, 1);
  if (cluster.isPrimary) {
    const logger = createJsonLogger(config.logLevel, batchingLineWriter());
    logFatalErrors(logger);
    // What a worker would refuse to start with (secrets in clear, a token that refuses the PIN) is
    // refused here once, with its message, rather than by workers restarted forever; what is only
    // worth a warning (the database's durability, unkeyed ledger entries) is said here once, not by every worker.
    const instance = await openServingInstance(options.home);
    try {
      await logStoreWarnings(instance, logger);
    } finally {
      await instance.close();
    }
    return superviseWorkers(options, config, workers, logger);
  }
  return serveInProcess(options, config, workers);
}

async function serveInProcess(options: ServeOptions, config: StsConfig, workers: number): Promise<void> {
  // First, before serving has grown the heap.
  capOldGenerationGrowth(SERVING_OLD_GENERATION_GROWTH_PERCENT);
  const logger = createJsonLogger(config.logLevel, batchingLineWriter());
  logFatalErrors(logger);
  const instance = await openServingInstance(
    options.home,
    {
      onEvent: (e) =>
        e.kind === 'changed'
          ? logger.log('info', 'token-signing key changed', { from: e.from, to: e.to })
          : logger.log('error', 'token-signing key refresh failed; the previous key keeps signing', describeError(e.error)),
    },
    // Alone, this process copies SQLite's log back; in a cluster the primary does it for every worker.
    { logger, walCheckpointThread: !cluster.isWorker },
  );
  for (const found of instance.secretsInClear) logger.log('info', 'development mode: production mode would refuse to start with this secret in clear', { found });
  if (!cluster.isWorker) await logStoreWarnings(instance, logger);
  const cores = availableParallelism();
  const signTokensOffThread = signsTokensOffThread(workers, cores);
  logger.log('info', 'token signing', { on: signTokensOffThread ? 'thread pool' : 'event loop', workers, cores });
  logger.log('info', 'password checks', { atOnce: checksAtOnce(config.passwordChecks.maxConcurrent, cores, workers), queued: config.passwordChecks.maxQueued });
  logger.log('info', 'heap', { oldGenerationGrowthPercent: SERVING_OLD_GENERATION_GROWTH_PERCENT });
  if (config.store.kind === 'sqlite') logger.log('info', 'SQLite checkpoints', { by: cluster.isWorker ? 'the primary' : 'this process' });
  // The application (Koa, the protocols, XML) is loaded only by a process that serves, not by a
  // cluster's primary, which only supervises: some 10 MB less in it.
  const { listen } = require('./listen') as typeof import('./listen');
  const running = await listen(instance, logger, {
    ...(options.port === undefined ? {} : { port: options.port }),
    clusterWorker: cluster.isWorker,
    signTokensOffThread,
    servingProcesses: workers,
  });
  if (cluster.isWorker) process.send?.({ ready: running.baseUrl });
  else options.onReady?.(running.baseUrl, workers);
  // Key rollover runs in one process per host: this one when it serves alone, else the primary.
  const rollover = cluster.isWorker ? undefined : startKeyRolloverTask(instance, logger);

  // Not ready at once, still serving for shutdownDelaySeconds (a load balancer takes us out), then
  // no new connections, the requests in flight finish (bounded), the audit trail and store flush.
  let stopping = false;
  const shutDown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    const started = Date.now();
    logger.log('info', 'shutting down', {
      signal,
      inFlight: running.inFlight(),
      delaySeconds: config.shutdownDelaySeconds,
      timeoutSeconds: config.shutdownTimeoutSeconds,
    });
    running.beginShutdown();
    if (config.shutdownDelaySeconds > 0) await new Promise((r) => setTimeout(r, config.shutdownDelaySeconds * 1000));
    const { drained, unfinished } = await running.close(config.shutdownTimeoutSeconds * 1000);
    const closed = await closeServingInstance(instance, rollover, logger, config.store.busyTimeoutMs);
    logger.log(unfinished > 0 ? 'warn' : 'info', 'shut down', { signal, inFlight: drained, unfinished, durationMs: Date.now() - started });
    process.exit(closed ? 0 : 1);
  };
  for (const signal of STOP_SIGNALS) process.on(signal, () => void shutDown(signal));
  // The primary is gone (killed): nobody will pass a signal on, so stop now.
  if (cluster.isWorker) process.once('disconnect', () => void shutDown('disconnect'));
}

async function superviseWorkers(options: ServeOptions, config: StsConfig, workers: number, logger: Logger): Promise<void> {
  let ready = 0;
  let stopping = false;
  // The primary's own instance does the host's housekeeping: key rollover and, with SQLite, the log's
  // checkpoints for every worker (one thread per host instead of one per worker).
  const housekeeping = await openInstance(options.home, { logger, walCheckpointThread: true });
  if (config.store.kind === 'sqlite') logger.log('info', 'SQLite checkpoints', { by: 'this process', for: 'its workers' });
  const rollover = startKeyRolloverTask(housekeeping, logger);
  const own = new MetricsRegistry();
  registerProcessMetrics(own);
  gatherNodeMetrics(own);
  // The workers' young generation is capped (heap-growth.ts); node options given to `sts serve` come after, so they win.
  cluster.setupPrimary({ execArgv: [...WORKER_HEAP_ARGUMENTS, ...process.execArgv] });
  const fork = (): void => {
    // A worker runs the same command line, so it reads the same options.
    const worker = cluster.fork();
    worker.on('message', (m: { ready?: string }) => {
      if (m.ready !== undefined && ++ready === workers) options.onReady?.(m.ready, workers);
    });
  };
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    logger.log('error', 'a worker exited; starting another', { workerPid: worker.process.pid, code, signal });
    setTimeout(fork, RESTART_DELAY_MS);
  });

  // Each worker drains by itself (see serveInProcess); the primary passes the signal on, waits for
  // every worker to exit, and kills any that outlives its shutdown budget.
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    const started = Date.now();
    const live = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    logger.log('info', 'shutting down', { signal, workers: live.length });
    const budgetMs = (config.shutdownDelaySeconds + config.shutdownTimeoutSeconds) * 1000 + workerExitGraceMs(config.store);
    const outcomes = await Promise.all(live.map((w) => stopWorker(w, budgetMs)));
    const killed = outcomes.filter((o) => o === 'killed').length;
    const closed = await closeServingInstance(housekeeping, rollover, logger, config.store.busyTimeoutMs);
    const code = killed > 0 || !closed ? 1 : 0;
    logger.log(code !== 0 ? 'error' : 'info', 'shut down', { signal, workers: live.length, killed, durationMs: Date.now() - started });
    process.exit(code);
  };
  for (const signal of STOP_SIGNALS) process.on(signal, () => void stop(signal));
  for (let i = 0; i < workers; i++) fork();
}

/**
 * What the store holds that an operator should know at start-up, one warning each: the host's
 * database settings under which a crash loses acknowledged writes, and unkeyed ledger entries
 * beyond those the config accepts (after an upgrade from before keying, until the config says how
 * many there were; otherwise rows someone rewrote without the key).
 */
async function logStoreWarnings(instance: Instance, logger: Logger): Promise<void> {
  for (const risk of await instance.store.durabilityRisks()) logger.log('warn', 'a database setting lets acknowledged writes be lost', { ...risk });
  const unkeyed = instance.store.ledger.unkeyedAtOpen;
  const accepted = instance.ledgerTrust.unkeyedEntries;
  if (unkeyed > accepted) {
    logger.log('warn', 'the issuance ledger starts with more entries chained without the key than audit.unkeyedLedgerEntries accepts', {
      unkeyedEntries: unkeyed,
      accepted,
      consequence:
        accepted + 1 === unkeyed
          ? `entry ${unkeyed} counts as never issued: its token raises forged-token`
          : `entries ${accepted + 1} to ${unkeyed} count as never issued: their tokens raise forged-token`,
      action: 'if they were written before the chain was keyed (sts audit verify), set audit.unkeyedLedgerEntries to their number',
    });
  }
}

/**
 * The last step of a serving process's shutdown: the key rollover it runs (if any) stops, then its
 * audit trail and its instance close (the ledger flushes). The audit trail's last events are tried
 * again on its retry schedule for `auditStoreWithinMs` (a store restarting as the node stops, say),
 * which the primary's patience allows for (workerExitGraceMs). Resolves false, the failure logged
 * without a stack, if either fails or the store refused audit events: the process then exits 1.
 */
export async function closeServingInstance(
  instance: Pick<Instance, 'close' | 'audit'>,
  rollover: KeyRolloverTask | undefined,
  logger: Logger,
  auditStoreWithinMs: number,
): Promise<boolean> {
  try {
    await rollover?.stop();
    // Not dropped unsaid: events the store refused are only in the JSON lines file, where `sts audit` does not look.
    const unstored = await instance.audit.close(auditStoreWithinMs);
    if (unstored !== undefined) {
      logger.log('error', 'audit events not stored at shutdown: they are only in the audit file', {
        events: unstored.events.length,
        eventIds: unstored.events.slice(0, MAX_UNSTORED_IDS_LOGGED).map((e) => e.eventId),
        ...describeError(unstored.storeError),
      });
    }
    await instance.close();
    return unstored === undefined;
  } catch (err) {
    logger.log('error', 'closing the store failed', describeError(err));
    return false;
  }
}

/** SIGTERM to one worker; resolves once it has exited, SIGKILLing it after `budgetMs`. */
function stopWorker(worker: Worker, budgetMs: number): Promise<'exited' | 'killed'> {
  return new Promise((resolve) => {
    if (worker.isDead()) return resolve('exited');
    const timer = setTimeout(() => {
      worker.process.kill('SIGKILL');
      resolve('killed');
    }, budgetMs);
    worker.once('exit', () => {
      clearTimeout(timer);
      resolve('exited');
    });
    worker.process.kill('SIGTERM');
  });
}

/** An error nothing caught ends the process, as one JSON log line rather than a stack trace on stderr. */
function logFatalErrors(logger: Logger): void {
  const fatal = (what: string) => (err: unknown) => {
    logger.log('error', what, describeError(err));
    if (err instanceof Error) logger.log('debug', what, { stack: err.stack });
    process.exit(1);
  };
  process.on('uncaughtException', fatal('uncaught exception; exiting'));
  process.on('unhandledRejection', fatal('unhandled promise rejection; exiting'));
}
