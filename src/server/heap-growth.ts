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
