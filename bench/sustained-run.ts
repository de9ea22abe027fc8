import { cpuWindow, type WindowCpu } from './cpu-window';
import type { BenchInstance } from './instance';
import { runLoad } from './load';
import { loopbackTarget } from './request-sender';
import { fmt, mebibytesToMegabytes, NODE_MEMORY_TARGET_MB } from './report';
import { runOpenLoop, type ConnectionChoice, type MixRequest, type OpenLoopResult, type OperationFigures, type WindowReport } from './open-loop';
import { FLAT_SLOPE_MB_PER_MIN, RssMonitor, type ProcessMemory } from './rss-monitor';
import type { StsProcess } from './server-process';

// The sustained run shared by `node dist/bench/sustained.js` and test/load/sustained-load.test.ts:
// the mix at a fixed arrival rate against one running `sts serve`, with its processes' memory
// sampled alongside, and the verdicts the issue asks for.

const P99_LIMIT_MS = 20;

export interface SustainedOptions {
  readonly sts: StsProcess;
  readonly inst: BenchInstance;
  readonly mix: readonly MixRequest[];
  readonly ratePerSecond: number;
  /** The ramp up to the rate before the measured seconds (not counted). */
  readonly warmupSeconds: number;
  readonly seconds: number;
  readonly intervalSeconds: number;
  /** Keep-alive connections the generator holds (see OpenLoopOptions.connections). */
  readonly connections: number;
  readonly connectionChoice: ConnectionChoice;
  readonly onInterval?: (window: WindowReport, memory: readonly ProcessMemory[]) => void;
  readonly onSuccess?: (operation: string, body: Buffer) => void;
}

export interface SustainedResult {
  readonly load: OpenLoopResult;
  readonly memory: readonly ProcessMemory[];
  /** The largest PSS sampled of all the server's processes together (MB): the node's memory. */
  readonly nodePssMb: number;
  /** Where the machine's CPU went over the measured seconds (ramp not included); per op is per successful reply. */
  readonly cpu: WindowCpu;
}

export async function runSustained(o: SustainedOptions): Promise<SustainedResult> {
  const monitor = new RssMonitor(() => o.sts.pids());
  // Memory is sampled from the end of the ramp, so the second half's slope is well after warm-up.
  const sampling = setTimeout(() => monitor.start(), o.warmupSeconds * 1000);
  const cpu = cpuWindow(() => o.sts.pids());
  try {
    const load = await runOpenLoop({
      ...loopbackTarget(o.sts.port, o.inst.tlsCertificatePem),
      mix: o.mix,
      ratePerSecond: o.ratePerSecond,
      warmupMs: o.warmupSeconds * 1000,
      durationMs: o.seconds * 1000,
      intervalMs: o.intervalSeconds * 1000,
      connections: o.connections,
      connectionChoice: o.connectionChoice,
      ...(o.onSuccess ? { onSuccess: o.onSuccess } : {}),
      onInterval: (w) => o.onInterval?.(w, monitor.processes()),
      ...cpu.hooks,
    });
    await monitor.stop();
    return {
      load,
      memory: monitor.processes(),
      nodePssMb: mebibytesToMegabytes(monitor.serverPssMb()),
      cpu: cpu.figures({ perSecond: load.completed / load.seconds, generatorCpuCores: load.generatorCpuCores }),
    };
  } finally {
    clearTimeout(sampling);
    await monitor.stop();
  }
}

/**
 * Each operation's closed-loop maximum on this server (a short bench/load.ts run each), and the
 * mix's: the rate at which the mix, one of each in turn, keeps the server exactly as busy, n / Σ(1 / max).
 * A fresh server is slower for its first seconds (compiling, sizing its heaps, filling caches): on
 * one server, a first 4 s probe put the mix at 2,323/s and the three after it at 2,757-2,874/s, so
 * 80% of the first would have been 68% of the server's maximum. A pass over the mix whose figures
 * are thrown away (`warmupSeconds` per operation) comes first. The server's CPU per reply in each
 * closed loop is kept too, to compare with the open loop's: a request that arrives alone costs more
 * than one of a closed loop's batches, so the same rate keeps the machine busier in an open loop.
 */
export async function measureMixMaximum(
  sts: StsProcess,
  inst: BenchInstance,
  mix: readonly MixRequest[],
  concurrency: number,
  seconds: number,
  warmupSeconds: number,
): Promise<MixMaximum> {
  const closedLoop = async (m: MixRequest, durationSeconds: number): Promise<{ perSecond: number; cpuMsPerReply: number }> => {
    const cpu = cpuWindow(() => sts.pids());
    const run = await runLoad({
      ...loopbackTarget(sts.port, inst.tlsCertificatePem),
      request: m,
      concurrency,
      warmupMs: 1000,
      durationMs: durationSeconds * 1000,
      ...cpu.hooks,
    });
    if (run.errors > 0) throw new Error(`${m.operation} failed while measuring its maximum: ${run.errorSamples.join('; ')}`);
    return { perSecond: run.perSecond, cpuMsPerReply: cpu.figures(run).serverCpuMsPerOp };
  };
  if (warmupSeconds > 0) for (const m of mix) await closedLoop(m, warmupSeconds);
  const perOperation = new Map<string, number>();
  let cpuMs = 0;
  for (const m of mix) {
    const run = await closedLoop(m, seconds);
    perOperation.set(m.operation, run.perSecond);
    cpuMs += run.cpuMsPerReply;
  }
  const busy = mix.reduce((a, m) => a + 1 / (perOperation.get(m.operation) as number), 0);
  return { perOperation, mixPerSecond: mix.length / busy, mixCpuMsPerReply: cpuMs / mix.length };
}

export interface MixMaximum {
  /** Each operation's closed-loop maximum, per second. */
  readonly perOperation: Map<string, number>;
  /** The rate at which the mix keeps the server as busy as each operation's maximum does. */
  readonly mixPerSecond: number;
  /** The server's CPU per reply in the closed loops, averaged one of each (ms). */
  readonly mixCpuMsPerReply: number;
}

export interface Verdict {
  readonly name: string;
  readonly pass: boolean;
  readonly detail: string;
}

/** Zero errors, p99 under 20 ms for every operation, the node (PSS) under 200 MB, each process flat over the second half. */
export function verdicts(result: SustainedResult): Verdict[] {
  const { load, memory, nodePssMb } = result;
  const worstP99 = Math.max(...[...load.byOperation.values()].map((f) => f.p99Ms));
  const steepest = Math.max(...memory.map((m) => m.secondHalfSlopeMbPerMin));
  return [
    { name: 'errors == 0', pass: load.errors === 0, detail: `${load.errors} of ${load.offered}` },
    { name: `p99 < ${P99_LIMIT_MS} ms (each operation)`, pass: worstP99 < P99_LIMIT_MS, detail: `worst p99 ${fmt(worstP99, 1)} ms` },
    {
      name: `memory per node < ${NODE_MEMORY_TARGET_MB} MB (PSS of all its processes)`,
      // 0 when no PSS could be read (smaps_rollup needs Linux and the right to read it): not a pass.
      pass: nodePssMb > 0 && nodePssMb < NODE_MEMORY_TARGET_MB,
      detail: nodePssMb > 0 ? `largest ${fmt(nodePssMb, 0)} MB` : 'not measured: no PSS could be read',
    },
    {
      name: `RSS flat: slope < ${FLAT_SLOPE_MB_PER_MIN} MB/min over the second half`,
      pass: steepest < FLAT_SLOPE_MB_PER_MIN,
      detail: `steepest ${fmt(steepest, 2)} MB/min`,
    },
  ];
}

/** One line per operation: completed, errors, p50/p99/max. */
export function describeOperations(byOperation: ReadonlyMap<string, OperationFigures>): string[] {
  return [...byOperation].map(
    ([op, f]) =>
      `${op.padEnd(19)} ok ${String(f.completed).padStart(7)}  errors ${String(f.errors).padStart(4)}  ` +
      `p50 ${fmt(f.p50Ms, 1).padStart(6)} ms  p99 ${fmt(f.p99Ms, 1).padStart(6)} ms  max ${fmt(f.maxMs, 1).padStart(7)} ms`,
  );
}

/** Each process's RSS: now, peak, and the second half's slope. */
export function describeMemory(memory: readonly ProcessMemory[]): string {
  return memory
    .map((m) => `pid ${m.pid} ${fmt(m.lastRssMb, 0)} MB (max ${fmt(m.maxRssMb, 0)}, 2nd-half slope ${fmt(m.secondHalfSlopeMbPerMin, 2)} MB/min)`)
    .join('; ');
}
