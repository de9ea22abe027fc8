import { performance } from 'node:perf_hooks';
import { prepareRequest, sendRequest, serverAgent, type BenchRequest, type PreparedRequest, type Target } from './request-sender';

export interface LoadOptions extends Target {
  /** The request every send repeats, or one built for each send (a storm of different users, say). */
  readonly request: BenchRequest | (() => BenchRequest);
  readonly concurrency: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Called synchronously as the measured window opens and closes, to sample the server alongside. */
  readonly onWindowStart?: () => void;
  readonly onWindowEnd?: () => void;
}

export interface LoadResult {
  /** Successful requests completed inside the measured window. */
  readonly completed: number;
  /** Failures (non-200, a success marker missing from the body, socket errors, timeouts) completed inside the window. */
  readonly errors: number;
  readonly warmupErrors: number;
  /** A few distinct failure descriptions, to tell what went wrong without a log. */
  readonly errorSamples: readonly string[];
  readonly seconds: number;
  /** Successful requests per second in the window (tokens for Issue and Renew, verdicts for Validate). */
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** CPU the load generator itself used in the window, as a fraction of one core (user + system). */
  readonly generatorCpuCores: number;
}

type Phase = 'warmup' | 'measure' | 'done';
const MAX_ERROR_SAMPLES = 3;

/**
 * Closed-loop load: `concurrency` loops each keep one request in flight over their own keep-alive
 * connection. Kept deliberately cheap (prebuilt Buffer body, one status check and a byte search
 * per success marker per reply) because it shares the machine's cores with the server.
 */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const agent = serverAgent(o, { keepAlive: true, maxSockets: o.concurrency });
  const { request } = o;
  const next = typeof request === 'function' ? (): PreparedRequest => prepareRequest(request()) : always(prepareRequest(request));
  const send = (): Promise<string | undefined> => new Promise((resolve) => sendRequest(agent, o, next(), resolve));
  const stats = { phase: 'warmup' as Phase, completed: 0, errors: 0, warmupErrors: 0, samples: new Set<string>(), latencies: [] as number[] };
  let windowStart = 0;
  let windowEnd = 0;
  let cpuAtStart = process.cpuUsage();

  const startWindow = setTimeout(() => {
    stats.phase = 'measure';
    o.onWindowStart?.();
    cpuAtStart = process.cpuUsage();
    windowStart = performance.now();
  }, o.warmupMs);
  let cpuInWindow = { user: 0, system: 0 };
  const endWindow = setTimeout(() => {
    windowEnd = performance.now();
    cpuInWindow = process.cpuUsage(cpuAtStart);
    stats.phase = 'done';
    o.onWindowEnd?.();
  }, o.warmupMs + o.durationMs);

  try {
    await Promise.all(Array.from({ length: o.concurrency }, () => loop(send, stats)));
  } finally {
    clearTimeout(startWindow);
    clearTimeout(endWindow);
    agent.destroy();
  }
  const seconds = (windowEnd - windowStart) / 1000;
  const sorted = Float64Array.from(stats.latencies).sort();
  return {
    completed: stats.completed,
    errors: stats.errors,
    warmupErrors: stats.warmupErrors,
    errorSamples: [...stats.samples],
    seconds,
    perSecond: stats.completed / seconds,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    generatorCpuCores: (cpuInWindow.user + cpuInWindow.system) / 1e6 / seconds,
  };
}

interface LoopStats {
  phase: Phase;
  completed: number;
  errors: number;
  warmupErrors: number;
  readonly samples: Set<string>;
  readonly latencies: number[];
}

/** One in-flight slot: send, wait, record, repeat until the window closes. */
async function loop(send: () => Promise<string | undefined>, stats: LoopStats): Promise<void> {
  while (stats.phase !== 'done') {
    const started = performance.now();
    const failure = await send();
    const latency = performance.now() - started;
    // A request counts in the phase in which it completed.
    if (stats.phase === 'measure') {
      if (failure === undefined) {
        stats.completed++;
        stats.latencies.push(latency);
      } else stats.errors++;
    } else if (stats.phase === 'warmup' && failure !== undefined) stats.warmupErrors++;
    if (failure !== undefined && stats.samples.size < MAX_ERROR_SAMPLES) stats.samples.add(failure);
  }
}

/** Nearest-rank percentile of an ascending array, in the array's unit (NaN when empty). */
export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

/** A request prepared once and sent every time. */
const always = (prepared: PreparedRequest) => (): PreparedRequest => prepared;
