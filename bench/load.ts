import { Agent, request } from 'node:https';
import { performance } from 'node:perf_hooks';
import { SOAP12_CONTENT_TYPE, SUCCESS_MARKER } from './issue-request';

export interface LoadOptions {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly body: Buffer;
  /** Request headers besides content-length; by default a SOAP 1.2 content type. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Byte strings every successful reply contains (all of them); by default the Issue reply's RSTRC. */
  readonly successMarkers?: readonly Buffer[];
  /** The server's TLS certificate, trusted as the only CA. */
  readonly ca: string;
  readonly concurrency: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly requestTimeoutMs: number;
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
const OK = '';
const MAX_ERROR_SAMPLES = 3;

/**
 * Closed-loop load: `concurrency` loops each keep one request in flight over their own keep-alive
 * connection. Kept deliberately cheap (prebuilt Buffer body, one status check and a byte search
 * per success marker per reply) because it shares the machine's cores with the server.
 */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: o.concurrency, ca: o.ca, servername: 'localhost' });
  const headers = requestHeaders(o);
  const markers = o.successMarkers ?? [SUCCESS_MARKER];
  const send = (): Promise<string> => sendOnce(agent, o, headers, markers);
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
async function loop(send: () => Promise<string>, stats: LoopStats): Promise<void> {
  while (stats.phase !== 'done') {
    const started = performance.now();
    const failure = await send();
    const latency = performance.now() - started;
    // A request counts in the phase in which it completed.
    if (stats.phase === 'measure') {
      if (failure === OK) {
        stats.completed++;
        stats.latencies.push(latency);
      } else stats.errors++;
    } else if (stats.phase === 'warmup' && failure !== OK) stats.warmupErrors++;
    if (failure !== OK && stats.samples.size < MAX_ERROR_SAMPLES) stats.samples.add(failure);
  }
}

/** Sends one request; resolves with '' on success or a short description of the failure (never rejects). */
function sendOnce(agent: Agent, o: LoadOptions, headers: Record<string, string>, markers: readonly Buffer[]): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ agent, host: o.host, port: o.port, path: o.path, method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
        if (res.statusCode !== 200) resolve(`HTTP ${res.statusCode}${failureDetail(body)}`);
        else {
          const missing = markers.find((m) => !body.includes(m));
          resolve(missing === undefined ? OK : `HTTP 200 without "${missing.toString()}"${failureDetail(body)}`);
        }
      });
      res.on('error', (err) => resolve(`response: ${err.message}`));
    });
    req.setTimeout(o.requestTimeoutMs, () => req.destroy(new Error(`no answer within ${o.requestTimeoutMs} ms`)));
    req.on('error', (err) => resolve(`request: ${err.message}`));
    req.end(o.body);
  });
}

/** The fault's or status's reason text, if the body has one (only read for failures, so cost does not matter). */
export function failureDetail(body: Buffer): string {
  const match = /<(?:[\w-]+:)?(?:Reason|Text|Message)\b[^>]*>([^<]{1,200})</.exec(body.toString('utf8'));
  return match ? `: ${match[1]}` : '';
}

/**
 * One POST outside any load run (e.g. to get a token to validate): status and whole body.
 * Rejects on a network error.
 */
export function postOnce(
  o: Pick<LoadOptions, 'host' | 'port' | 'path' | 'body' | 'ca' | 'requestTimeoutMs' | 'headers'>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers = requestHeaders(o);
    const req = request(
      { host: o.host, port: o.port, path: o.path, method: 'POST', headers, ca: o.ca, servername: 'localhost', agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.setTimeout(o.requestTimeoutMs, () => req.destroy(new Error(`no answer within ${o.requestTimeoutMs} ms`)));
    req.on('error', reject);
    req.end(o.body);
  });
}

function requestHeaders(o: Pick<LoadOptions, 'body' | 'headers'>): Record<string, string> {
  return { 'content-type': SOAP12_CONTENT_TYPE, ...o.headers, 'content-length': String(o.body.length) };
}

/** Nearest-rank percentile of an ascending array, in the array's unit (NaN when empty). */
export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}
