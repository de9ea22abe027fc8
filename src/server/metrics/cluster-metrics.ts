import cluster, { type Worker } from 'node:cluster';
import type { MetricsRegistry } from './registry';
import { mergeSnapshots, type MetricsSnapshot } from './snapshot';
import { within } from '../within';

// With N workers behind one port a scrape lands on any one of them, yet it must describe the whole
// node. The worker that serves /metrics asks the primary; the primary asks every worker for its
// snapshot, waits a short while, adds them up (histograms bucket by bucket) with its own process
// metrics, and answers. A worker too slow to answer is counted with the last snapshot it sent, and
// a worker that exits leaves its counters behind, so the node's counters never go backwards when a
// worker is replaced (only what it counted since its last snapshot is lost).

/** How long the primary waits for the workers' snapshots. */
export const WORKER_SNAPSHOT_TIMEOUT_MS = 1000;
/** How long a worker waits for the primary's answer before /metrics fails (503). */
export const NODE_SNAPSHOT_TIMEOUT_MS = 3000;

type MetricsMessage =
  | { readonly trustbridge: 'metrics-request'; readonly id: number }
  | { readonly trustbridge: 'metrics-snapshot-request'; readonly id: number }
  | { readonly trustbridge: 'metrics-snapshot'; readonly id: number; readonly snapshot: MetricsSnapshot }
  | { readonly trustbridge: 'metrics-node'; readonly id: number; readonly snapshot: MetricsSnapshot };

const isMetricsMessage = (m: unknown): m is MetricsMessage =>
  typeof m === 'object' && m !== null && typeof (m as { trustbridge?: unknown }).trustbridge === 'string' && typeof (m as { id?: unknown }).id === 'number';

/** Where /metrics gets the node's snapshot from. */
export type NodeSnapshot = () => Promise<MetricsSnapshot>;

/** A process serving alone: the node is this process. */
export const singleProcessSnapshot =
  (registry: MetricsRegistry): NodeSnapshot =>
  () =>
    registry.snapshot();

/** A cluster worker: answers the primary's requests for its snapshot, and asks the primary for the node's. */
export function workerSnapshot(registry: MetricsRegistry, timeoutMs = NODE_SNAPSHOT_TIMEOUT_MS): NodeSnapshot {
  const waiting = new Map<number, (snapshot: MetricsSnapshot) => void>();
  let nextId = 1;
  process.on('message', (m: unknown) => {
    if (!isMetricsMessage(m)) return;
    if (m.trustbridge === 'metrics-snapshot-request') {
      void registry.snapshot().then((snapshot) => send({ trustbridge: 'metrics-snapshot', id: m.id, snapshot }));
    } else if (m.trustbridge === 'metrics-node') {
      waiting.get(m.id)?.(m.snapshot);
    }
  });
  return async () => {
    const id = nextId++;
    const answer = new Promise<MetricsSnapshot>((resolve) => waiting.set(id, resolve));
    send({ trustbridge: 'metrics-request', id });
    try {
      return await within(timeoutMs, answer);
    } finally {
      waiting.delete(id);
    }
  };
}

function send(message: MetricsMessage): void {
  // The channel is gone when the primary is: the scrape then times out.
  if (process.connected) process.send?.(message);
}

/**
 * The primary's side: answers workers' requests for the node's snapshot. `own` holds the primary's
 * process metrics (its memory and CPU are the node's too).
 */
export function gatherNodeMetrics(own: MetricsRegistry, timeoutMs = WORKER_SNAPSHOT_TIMEOUT_MS): void {
  const latest = new Map<number, MetricsSnapshot>();
  let departed: MetricsSnapshot = [];
  const gathering = new Map<number, { readonly expected: Set<number>; readonly answered: (workerId: number) => void }>();
  let nextId = 1;

  const workers = (): Worker[] => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected());

  const gather = async (): Promise<MetricsSnapshot> => {
    const id = nextId++;
    const asked = workers();
    const expected = new Set(asked.map((w) => w.id));
    const fresh = new Set<number>();
    const done = new Promise<void>((resolve) => {
      const answered = (workerId: number): void => {
        fresh.add(workerId);
        if (fresh.size === expected.size) resolve();
      };
      gathering.set(id, { expected, answered });
      if (expected.size === 0) resolve();
    });
    for (const w of asked) w.send({ trustbridge: 'metrics-snapshot-request', id } satisfies MetricsMessage);
    await within(timeoutMs, done).catch(() => undefined);
    gathering.delete(id);
    const live = asked.map((w) => latest.get(w.id)).filter((s): s is MetricsSnapshot => s !== undefined);
    return mergeSnapshots([await own.snapshot(), ...live, departed, clusterStatus(asked.length, fresh.size)]);
  };

  cluster.on('message', (worker: Worker, m: unknown) => {
    if (!isMetricsMessage(m)) return;
    if (m.trustbridge === 'metrics-snapshot') {
      const g = gathering.get(m.id);
      latest.set(worker.id, m.snapshot);
      if (g?.expected.has(worker.id)) g.answered(worker.id);
    } else if (m.trustbridge === 'metrics-request') {
      void gather().then((snapshot) => {
        if (worker.isConnected()) worker.send({ trustbridge: 'metrics-node', id: m.id, snapshot } satisfies MetricsMessage);
      });
    }
  });
  cluster.on('exit', (worker: Worker) => {
    const last = latest.get(worker.id);
    latest.delete(worker.id);
    // Gauges describe a process that is gone; counters and histograms stay part of the node's totals.
    if (last !== undefined) departed = mergeSnapshots([departed, last.filter((f) => f.type !== 'gauge')]);
  });
}

/** How many workers this scrape heard from; the others are counted with their previous snapshot. */
function clusterStatus(workers: number, answered: number): MetricsSnapshot {
  return [
    {
      name: 'trustbridge_cluster_workers',
      help: 'Worker processes of this node: fresh answered this scrape, stale are counted with their previous snapshot.',
      type: 'gauge',
      merge: 'max',
      labelNames: ['state'],
      series: [
        { labels: ['fresh'], value: answered },
        { labels: ['stale'], value: workers - answered },
      ],
    },
  ];
}
