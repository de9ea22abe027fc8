import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the old generation grow past what survived the last full collection before it
 * collects again, in percent. Serving, V8's own choice is three to four times the live heap: a
 * worker's live heap is some 18 MB, but objects of requests in flight that a young-generation
 * collection happens to catch are promoted (about 1 MB per collection, 13 MB/s at 2,000 tokens/s),
 * so the old generation swung between 15 and 63 MB and a one-worker node peaked at 188-195 MiB.
 * At 100% it peaks at 152-154 MiB. Measured on 2 cores against V8's own choice: no throughput lost
 * with one worker (the concurrent marking runs on the spare core), about 5% with a worker on every
 * core; at 50% (143 MiB) one worker lost about 7% and two workers 12-18%.
 */
export const SERVING_OLD_GENERATION_GROWTH_PERCENT = 100;

/**
 * Caps the old generation's growth for the rest of the process. V8 reads this setting each time it
 * sets the next full collection's threshold, so unlike the heap's size limits it takes effect after
 * start-up (Node's caution about changing V8 flags at run time is about flags read only once).
 */
export function capOldGenerationGrowth(percent: number): void {
  if (!Number.isInteger(percent) || percent < 1) throw new RangeError(`the old generation's growth must be a positive whole percent (got ${percent})`);
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}

/**
 * The largest semispace of a cluster worker's young generation, in MB. V8's default grows it to 16
 * MB under load, and two are committed: 32 MB of each worker. At 8 a two-worker node's peak PSS under
 * Issue load fell by 27 MB, with no CPU per token lost in interleaved runs (0.467-0.527 ms against
 * 0.490-0.643); at 4 more was promoted and the old generation grew instead (only 8 MB saved), and
 * 10 saved nothing (V8 rounds it up to a power of two). The size is fixed when the heap is made, so it can be given only on
 * a process's command line: the primary gives it to its workers. A process serving alone keeps
 * V8's default: it peaks well under 200 MB, and at 8 it saved 13 MiB but looked slower in interleaved
 * runs (0.504-0.562 ms of CPU per token against 0.484-0.515).
 */
export const WORKER_SEMI_SPACE_MB = 8;

/** Node options for a cluster worker's heap, placed before the primary's own so that an operator's (later) wins. */
export const WORKER_HEAP_ARGUMENTS: readonly string[] = [`--max-semi-space-size=${WORKER_SEMI_SPACE_MB}`];
