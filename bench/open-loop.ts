import { performance } from 'node:perf_hooks';
import { percentile } from './load';
import { prepareRequest, sendRequest, serverAgent, type BenchRequest, type Target } from './request-sender';

// Open-loop load: requests leave at a fixed arrival rate whatever the server does, so a server that
// falls behind shows it as growing latency and a completed rate below the offered one. (A closed
// loop, bench/load.ts, slows down with the server and hides exactly that.)

/** One kind of request in the mix; the kinds are sent in turn, one of each per cycle. */
export interface MixRequest extends BenchRequest {
  readonly operation: string;
}

export interface OpenLoopOptions extends Target {
  readonly mix: readonly MixRequest[];
  readonly ratePerSecond: number;
  /**
   * Before the measured duration, the rate ramps up from zero over this long, so connections open
   * gradually (a burst of TLS handshakes would stall a cold server); nothing in it is counted.
   */
  readonly warmupMs: number;
  readonly durationMs: number;
  /** A summary of each window of this length is handed to onInterval. */
  readonly intervalMs: number;
  readonly onInterval?: (window: WindowReport) => void;
  /** Told of every successful reply (e.g. to check a token); must be cheap. */
  readonly onSuccess?: (operation: string, body: Buffer) => void;
  /**
   * Keep-alive connections at most, as a load balancer or a client's pool holds: a request that
   * finds them all busy waits for one (its wait counts in its latency, which runs from its due
   * time). Unbounded, a stall would open hundreds of new connections, and the burst of TLS
   * handshakes would load the server most just when it is behind.
   */
  readonly connections: number;
  /** Which free connection a request takes (see ConnectionChoice). */
  readonly connectionChoice: ConnectionChoice;
  /** Called synchronously as the measured seconds start and once their last reply is in, to sample the server alongside (see cpuWindow). */
  readonly onWindowStart?: () => void;
  readonly onWindowEnd?: () => void;
}

/**
 * 'fifo': the one free longest, so the connections, and with cluster workers the workers, get the
 * requests in turn whatever their backlog: each worker is a queue of its own. 'lifo': the one freed
 * last, as Node's own agent (so the AWS SDK) and nginx's upstream keep-alive cache choose; requests
 * then go where replies came from last. Measured against two workers (session 16, 30 s runs, fifo
 * and lifo interleaved): at 2,000/s lifo's p99 was 24.4 and 26.2 ms against 32.6 and 27.7 ms, at
 * 2,200/s 121.6 ms (112 errors) and 67.8 ms against 27.6 and 31.9 ms: near the maximum, the worker
 * that answered last is not the one with room, and one worker's backlog grows. The benches use fifo.
 */
export type ConnectionChoice = 'lifo' | 'fifo';

export interface OperationFigures {
  readonly completed: number;
  readonly errors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface WindowReport {
  /** Seconds since the start at the window's end. */
  readonly atSeconds: number;
  readonly seconds: number;
  /** Requests due to leave in the window, and replies (successes and failures) that arrived in it. */
  readonly offeredPerSecond: number;
  readonly completedPerSecond: number;
  readonly inFlight: number;
  readonly byOperation: ReadonlyMap<string, OperationFigures>;
  /** A few distinct failure descriptions. */
  readonly errorSamples: readonly string[];
}

export interface OpenLoopResult {
  /** The measured span: from the end of the warm-up until the last reply. */
  readonly seconds: number;
  /** Requests due after the warm-up. */
  readonly offered: number;
  readonly completed: number;
  readonly errors: number;
  /** Every reply, successful or not, the warm-up's included (to divide the server's CPU by). */
  readonly allReplies: number;
  readonly byOperation: ReadonlyMap<string, OperationFigures>;
  readonly all: OperationFigures;
  readonly errorSamples: readonly string[];
  readonly windows: readonly WindowReport[];
  /** How late requests left against their due time: the generator's share of the latencies. */
  readonly sendLagP50Ms: number;
  readonly sendLagP99Ms: number;
  /** CPU the generator itself used, as a fraction of one core. */
  readonly generatorCpuCores: number;
}

const MIN_WAKE_MS = 1;
const MAX_ERROR_SAMPLES = 5;
/** Requests in flight at most; an arrival beyond it counts as an error (the server has stalled). */
const MAX_IN_FLIGHT = 256;

/** Latencies and failures of one operation over some span. */
class Tally {
  latencies: number[] = [];
  errors = 0;
  figures(): OperationFigures {
    const sorted = Float64Array.from(this.latencies).sort();
    return {
      completed: sorted.length,
      errors: this.errors,
      p50Ms: percentile(sorted, 0.5),
      p99Ms: percentile(sorted, 0.99),
      maxMs: sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] as number),
    };
  }
}

/**
 * Sends the mix, ramping up over `warmupMs`, then at `ratePerSecond` for `durationMs`, then waits
 * for the replies still in flight. The n-th request is due at a fixed time (see arrivals()), and each
 * request's latency is counted from when it was due, not from when it left, so a generator or an
 * agent that fell behind adds to the latency instead of hiding it.
 */
export async function runOpenLoop(o: OpenLoopOptions): Promise<OpenLoopResult> {
  const agent = serverAgent(o, { keepAlive: true, maxSockets: o.connections, scheduling: o.connectionChoice });
  const prepared = o.mix.map(prepareRequest);
  const total = new Map(o.mix.map((m) => [m.operation, new Tally()]));
  let window = new Map(o.mix.map((m) => [m.operation, new Tally()]));
  const samples = new Set<string>();
  // How late each counted request left (the generator's own lag, part of every latency below).
  const lag: number[] = [];
  const windowSamples = new Set<string>();
  const windows: WindowReport[] = [];
  let sent = 0;
  let inFlight = 0;
  let allReplies = 0;
  let offeredInWindow = 0;
  let repliesInWindow = 0;
  let cpuAtStart = process.cpuUsage();
  const started = performance.now();
  const schedule = arrivals(o.ratePerSecond, o.warmupMs / 1000);
  const measuredFrom = started + o.warmupMs;
  const firstCounted = Math.ceil(schedule.warmupArrivals);
  let windowStarted = measuredFrom;
  const due = Math.floor(schedule.warmupArrivals + (o.ratePerSecond * o.durationMs) / 1000);
  let allSent: () => void = () => undefined;
  const sending = new Promise<void>((resolve) => (allSent = resolve));
  let settled: () => void = () => undefined;
  const drained = new Promise<void>((resolve) => (settled = resolve));

  const fail = (operation: string, why: string, counted: boolean): void => {
    if (!counted) return;
    (total.get(operation) as Tally).errors++;
    (window.get(operation) as Tally).errors++;
    if (samples.size < MAX_ERROR_SAMPLES) samples.add(`${operation}: ${why}`);
    if (windowSamples.size < MAX_ERROR_SAMPLES) windowSamples.add(`${operation}: ${why}`);
  };
  const answered = (operation: string, dueAt: number, counted: boolean, failure: string | undefined): void => {
    inFlight--;
    allReplies++;
    if (counted) repliesInWindow++;
    if (failure !== undefined) fail(operation, failure, counted);
    else if (counted) {
      const latency = performance.now() - dueAt;
      (total.get(operation) as Tally).latencies.push(latency);
      (window.get(operation) as Tally).latencies.push(latency);
    }
    if (inFlight === 0 && sent >= due) settled();
  };

  // One timer at a time, set for when the next request is due (at least 1 ms on): each wake sends
  // everything due by then, so a late wake sends a batch rather than drifting behind the schedule.
  let tick: NodeJS.Timeout | undefined;
  const wake = (): void => {
    const now = performance.now();
    // Request n is due at dueAt(n), so by time t those numbered up to byTime(t) are (a hair of slack for rounding).
    const shouldHaveSent = Math.min(due, Math.floor(schedule.byTime((now - started) / 1000) + 1e-6) + 1);
    for (; sent < shouldHaveSent; sent++) {
      const kind = prepared[sent % prepared.length] as (typeof prepared)[number];
      const dueAt = started + schedule.dueAt(sent) * 1000;
      const counted = sent >= firstCounted;
      if (counted) {
        offeredInWindow++;
        lag.push(now - dueAt);
      }
      if (inFlight >= MAX_IN_FLIGHT) {
        fail(kind.operation, `more than ${MAX_IN_FLIGHT} requests in flight`, counted);
        if (counted) repliesInWindow++;
        continue;
      }
      inFlight++;
      sendRequest(agent, o, kind, (failure, body) => {
        if (failure === undefined) o.onSuccess?.(kind.operation, body);
        answered(kind.operation, dueAt, counted, failure);
      });
    }
    if (sent >= due) {
      allSent();
      if (inFlight === 0) settled();
      return;
    }
    const next = started + schedule.dueAt(sent) * 1000;
    tick = setTimeout(wake, Math.max(MIN_WAKE_MS, next - performance.now()));
  };
  wake();

  const closeWindow = (): void => {
    const now = performance.now();
    const seconds = (now - windowStarted) / 1000;
    if (seconds <= 0) return;
    const byOperation = new Map([...window].map(([op, t]) => [op, t.figures()]));
    const report: WindowReport = {
      atSeconds: (now - measuredFrom) / 1000,
      seconds,
      offeredPerSecond: offeredInWindow / seconds,
      completedPerSecond: repliesInWindow / seconds,
      inFlight,
      byOperation,
      errorSamples: [...windowSamples],
    };
    windows.push(report);
    o.onInterval?.(report);
    window = new Map(o.mix.map((m) => [m.operation, new Tally()]));
    windowSamples.clear();
    offeredInWindow = 0;
    repliesInWindow = 0;
    windowStarted = now;
  };
  let reporter: NodeJS.Timeout | undefined;
  const measuring = setTimeout(() => {
    o.onWindowStart?.();
    cpuAtStart = process.cpuUsage();
    windowStarted = performance.now();
    reporter = setInterval(closeWindow, o.intervalMs);
  }, o.warmupMs);

  try {
    await sending;
    // Replies still in flight get the request timeout to arrive; each one times itself out.
    await drained;
    o.onWindowEnd?.();
  } finally {
    clearTimeout(tick);
    clearTimeout(measuring);
    clearInterval(reporter);
    agent.destroy();
  }
  // The tail (replies still arriving after the last request left) is reported when it is a real window.
  if (performance.now() - windowStarted >= o.intervalMs / 2) closeWindow();
  const seconds = (performance.now() - measuredFrom) / 1000;
  const cpu = process.cpuUsage(cpuAtStart);
  const all = new Tally();
  for (const t of total.values()) {
    all.latencies.push(...t.latencies);
    all.errors += t.errors;
  }
  const byOperation = new Map([...total].map(([op, t]) => [op, t.figures()]));
  const allFigures = all.figures();
  const sortedLag = Float64Array.from(lag).sort();
  return {
    seconds,
    offered: sent - firstCounted,
    completed: allFigures.completed,
    errors: allFigures.errors,
    allReplies,
    byOperation,
    all: allFigures,
    errorSamples: [...samples],
    windows,
    sendLagP50Ms: percentile(sortedLag, 0.5),
    sendLagP99Ms: percentile(sortedLag, 0.99),
    generatorCpuCores: (cpu.user + cpu.system) / 1e6 / seconds,
  };
}

/**
 * The arrival schedule: a linear ramp from 0 to `rate` over `warmup` seconds, then `rate`.
 * dueAt(n) is when request n (from 0) is due, and byTime its inverse: byTime(dueAt(n)) = n.
 */
function arrivals(rate: number, warmup: number): { warmupArrivals: number; byTime(t: number): number; dueAt(n: number): number } {
  const warmupArrivals = (rate * warmup) / 2;
  return {
    warmupArrivals,
    byTime: (t) => (t < warmup ? (rate * t * t) / (2 * warmup) : warmupArrivals + rate * (t - warmup)),
    dueAt: (n) => (n < warmupArrivals ? Math.sqrt((2 * warmup * n) / rate) : warmup + (n - warmupArrivals) / rate),
  };
}
