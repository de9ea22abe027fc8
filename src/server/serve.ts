import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { openServingInstance } from '../instance/open-instance';
import { readConfigFile } from '../instance/config-file';
import { listen } from './listen';
import { startKeyRolloverTask } from './key-rollover-task';
import { createJsonLogger, describeError } from './log';

export interface ServeOptions {
  readonly home: string;
  readonly workers?: number;
  readonly port?: number;
  /** Called once every worker listens, with the base URL. */
  readonly onReady?: (baseUrl: string, workers: number) => void;
}

const RESTART_DELAY_MS = 1000;

/**
 * Serves with one process per worker (Node's cluster shares the port): nothing is shared in
 * memory, all state goes through the store, so workers are interchangeable.
 */
export async function serve(options: ServeOptions): Promise<void> {
  const config = readConfigFile(options.home);
  const workers = options.workers ?? (config.workers === 0 ? availableParallelism() : config.workers);
  if (workers <= 1) return serveInProcess(options, 1);
  if (cluster.isPrimary) return superviseWorkers(options, workers);
  return serveInProcess(options, workers);
}

async function serveInProcess(options: ServeOptions, workers: number): Promise<void> {
  const logger = createJsonLogger(readConfigFile(options.home).logLevel);
  const instance = await openServingInstance(
    options.home,
    {
      onEvent: (e) =>
        e.kind === 'changed'
          ? logger.log('info', 'token-signing key changed', { from: e.from, to: e.to })
          : logger.log('error', 'token-signing key refresh failed; the previous key keeps signing', describeError(e.error)),
    },
    { logger },
  );
  const running = await listen(instance, logger, options.port === undefined ? {} : { port: options.port });
  if (cluster.isWorker) process.send?.({ ready: running.baseUrl });
  else options.onReady?.(running.baseUrl, workers);
  // Key rollover runs in one process per host: this one when it serves alone, else the primary.
  const rollover = cluster.isWorker ? undefined : await startKeyRolloverTask(options.home, logger);
  const shutdown = async (): Promise<void> => {
    await rollover?.stop();
    await running.close();
    await instance.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
  if (cluster.isWorker) process.once('disconnect', () => void shutdown());
}

async function superviseWorkers(options: ServeOptions, workers: number): Promise<void> {
  let ready = 0;
  let stopping = false;
  const config = readConfigFile(options.home);
  const rollover = await startKeyRolloverTask(options.home, createJsonLogger(config.logLevel));
  const fork = (): void => {
    // A worker runs the same command line, so it reads the same options.
    const worker = cluster.fork();
    worker.on('message', (m: { ready?: string }) => {
      if (m.ready !== undefined && ++ready === workers) options.onReady?.(m.ready, workers);
    });
  };
  cluster.on('exit', (_worker, code, signal) => {
    if (stopping) return;
    process.stderr.write(`sts: a worker exited (${signal ?? code}); starting another\n`);
    setTimeout(fork, RESTART_DELAY_MS);
  });
  const stop = (): void => {
    stopping = true;
    void rollover.stop();
    for (const w of Object.values(cluster.workers ?? {})) w?.disconnect();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  for (let i = 0; i < workers; i++) fork();
}
