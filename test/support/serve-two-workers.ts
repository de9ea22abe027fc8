// The start of a two-worker `sts serve`, for the tests of what a cluster's primary does and its workers do not.
import { strict as assert } from 'node:assert';
import { childPids, freePort, SERVE_READY, StsProcess } from './unit-cli';

export interface TwoWorkers {
  readonly sts: StsProcess;
  /** The port it listens on (a free one, chosen here). */
  readonly port: number;
  /** The workers' pids, both forked by the time the primary says it listens. */
  readonly workers: number[];
}

/**
 * `sts serve --home HOME --workers 2` on a free port, once it says it listens with 2 workers and
 * both are running; `nodeArgs` are node's own options for it (see StsProcess). Stopped by
 * killAllStsProcesses.
 */
export async function serveTwoWorkers(home: string, nodeArgs: readonly string[] = []): Promise<TwoWorkers> {
  const port = await freePort();
  const sts = new StsProcess(['serve', '--home', home, '--workers', '2', '--port', String(port)], {}, nodeArgs);
  const [, listeningWith] = await sts.waitForOutput(SERVE_READY, 30_000);
  assert.equal(listeningWith, '2', 'sts serve says it listens with 2 workers');
  const workers = childPids(sts.pid);
  assert.equal(workers.length, 2, `the primary's children: ${workers.join(', ')}`);
  return { sts, port, workers };
}
