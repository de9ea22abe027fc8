import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { CheckpointFailure } from './wal-checkpoint-worker';

// Why a thread: a WAL checkpoint copies the log's pages into the database file and fsyncs it. Run
// by SQLite's autocheckpoint it happens inside whichever COMMIT crossed the threshold, on the
// thread that serves requests: every ~40 MB of log, that request (and every one queued behind it)
// waited ~45 ms, and at 80% load such a stall takes five times as long to drain. Here a second
// connection on its own thread copies the log every CHECKPOINT_INTERVAL_MS, so the serving
// connection's autocheckpoint (kept as the backstop that also lets the log restart from its
// beginning) finds almost nothing left to copy. A checkpoint copies what every connection wrote, so
// one thread per host is enough: a cluster's primary runs it for all its workers.

const CHECKPOINT_INTERVAL_MS = 500;
// The thread needs a connection and a timer, not a heap: cap it so it costs a few MB, not a V8 default.
const RESOURCE_LIMITS = { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 1 };
const STOP_TIMEOUT_MS = 2000;

export interface WalCheckpointerOptions {
  readonly intervalMs?: number;
  /**
   * Told of each failure: the thread unable to open the file or ending on an error, or its
   * checkpoints starting to fail (once, not every round, until one succeeds again). Meanwhile the
   * log grows up to the serving connection's autocheckpoint, which copies it inside a request: an
   * operator should know.
   */
  readonly onError?: (err: Error) => void;
}

export interface WalCheckpointer {
  /** Runs a last checkpoint and closes the thread's connection (terminates it if that hangs). */
  stop(): Promise<void>;
}

/**
 * Starts the checkpointing thread for the SQLite file at `path`. If the thread fails, nothing is
 * lost: the serving connection's autocheckpoint still bounds the log, at the old cost.
 */
export function startWalCheckpointer(path: string, options: WalCheckpointerOptions = {}): WalCheckpointer {
  const onError = options.onError ?? (() => undefined);
  const worker = new Worker(join(__dirname, 'wal-checkpoint-worker.js'), {
    workerData: { path, intervalMs: options.intervalMs ?? CHECKPOINT_INTERVAL_MS },
    resourceLimits: RESOURCE_LIMITS,
  });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  // What the thread does not catch itself (its heap cap reached, say).
  worker.on('error', onError);
  worker.on('message', (failure: CheckpointFailure) => onError(new Error(failure.checkpointFailed)));
  // The thread must not keep a finished process alive, and its failure is not the server's: it is
  // reported, never thrown. After the listeners: a 'message' listener refs the worker again.
  worker.unref();
  return {
    stop: async () => {
      worker.postMessage('stop');
      const timer = setTimeout(() => void worker.terminate(), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
