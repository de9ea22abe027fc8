// What every benchmark tool (run, sustained, nodes, profile) does around its measurements: read its
// settings from the environment, never outlive a hang or a Ctrl-C with its servers left running, and
// stop what it started however it ends.

/** A positive number from the environment variable `name`, or `fallback` when it is unset or empty. */
export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number (got "${raw}")`);
  return value;
}

/** BENCH_MAX_CONCURRENT_REQUESTS: limits.maxConcurrentRequests for the bench instance (0 or more), or undefined when unset. */
export function envMaxConcurrentRequests(): number | undefined {
  const raw = process.env['BENCH_MAX_CONCURRENT_REQUESTS'];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`BENCH_MAX_CONCURRENT_REQUESTS must be a whole number, 0 or more (got "${raw}")`);
  return value;
}

/**
 * Stops the tool (exit 2) once it has run `limitMs`, and on Ctrl-C (exit 130), after `cleanUp` has
 * stopped what it started: a hung server must not keep a benchmark, or the machine, busy for ever.
 */
export function armWatchdog(tool: string, limitMs: number, cleanUp: () => Promise<void>): void {
  const timer = setTimeout(() => {
    console.error(`${tool}: still running after ${Math.round(limitMs / 1000)} s; stopping`);
    void cleanUp().finally(() => process.exit(2));
  }, limitMs);
  timer.unref();
  process.once('SIGINT', () => void cleanUp().finally(() => process.exit(130)));
}

/**
 * Runs the tool's `main`, then `cleanUp` whether main succeeded or not; a failure is printed under
 * the tool's name and exits 1 (a tool may also set exit code 1 itself, e.g. for a failed verdict).
 */
export function runTool(tool: string, main: () => Promise<void>, cleanUp: () => Promise<void>): void {
  main().then(
    () => cleanUp(),
    async (err: unknown) => {
      console.error(`${tool}: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      await cleanUp();
      process.exitCode = 1;
    },
  );
}
