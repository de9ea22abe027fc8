import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WORKER_SEMI_SPACE_MB } from '../../src/server/heap-growth';
import { initDemoInstance } from '../support/ops-client';
import { serveTwoWorkers } from '../support/serve-two-workers';
import { killAllStsProcesses } from '../support/unit-cli';

// A cluster's workers get a capped young generation (src/server/heap-growth.ts), which is what keeps
// a node with a worker per core under 200 MB; an operator's own node options still win over it.

/** A process's node options: what its command line holds before the sts script. */
function nodeOptionsOf(pid: number): string[] {
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  const script = argv.findIndex((a) => a.endsWith('sts.js'));
  assert.ok(script > 0, `pid ${pid} runs the sts script: ${argv.join(' ')}`);
  return argv.slice(1, script);
}

describe("ops: a cluster worker's heap options", function () {
  this.timeout(60_000);
  let parent: string;
  let home: string;

  beforeEach(() => {
    parent = mkdtempSync(join(tmpdir(), 'trustbridge-ops-worker-heap-'));
    home = join(parent, 'instance');
    initDemoInstance(home);
  });
  afterEach(async () => {
    await killAllStsProcesses();
    rmSync(parent, { recursive: true, force: true });
  });

  it(`each worker runs with --max-semi-space-size=${WORKER_SEMI_SPACE_MB}; the primary keeps node's default`, async () => {
    const { sts, workers } = await serveTwoWorkers(home);
    for (const pid of workers) assert.deepEqual(nodeOptionsOf(pid), [`--max-semi-space-size=${WORKER_SEMI_SPACE_MB}`]);
    assert.deepEqual(nodeOptionsOf(sts.pid), []);
  });

  it("an operator's node options for `sts serve` reach the workers after the cap, so the operator's own cap wins", async () => {
    const operators = ['--max-semi-space-size=16', '--max-old-space-size=512'];
    const { sts, workers } = await serveTwoWorkers(home, operators);
    for (const pid of workers) assert.deepEqual(nodeOptionsOf(pid), [`--max-semi-space-size=${WORKER_SEMI_SPACE_MB}`, ...operators]);
    assert.deepEqual(nodeOptionsOf(sts.pid), operators);
  });
});
