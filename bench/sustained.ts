// `node dist/bench/sustained.js`: Issue, Validate and AssumeRoleWithSAML mixed 1:1:1 at a fixed
// arrival rate (open loop) against one `sts serve` for a sustained period, reporting every 10 s the
// offered and completed rates, errors, latency per operation and each server process's memory, then
// the CPU (the server's per reply against the closed loops' that set the rate, and the whole machine's:
// an open loop's "80%" can keep the cores far busier than 80%) and the verdicts: no errors, p99 under
// 20 ms, the node under 200 MB, memory flat.
//
// SUSTAINED_RATE=N sets the rate; otherwise each operation's closed-loop maximum is measured first
// (SUSTAINED_PROBE_SECONDS each, after a pass of SUSTAINED_PROBE_WARMUP_SECONDS each not counted: a fresh
// server is slower for its first seconds) and the run goes at SUSTAINED_FRACTION (0.8) of the mix's maximum.
// SUSTAINED_SECONDS (120) after SUSTAINED_WARMUP_SECONDS (10) of ramp, SUSTAINED_WORKERS (one per core, as
// `sts serve` runs by default: issue 6 asks for p99 at 80% load with all cores used),
// SUSTAINED_INTERVAL_SECONDS (10), SUSTAINED_CONNECTIONS (32: the generator's keep-alive pool), SUSTAINED_CONNECTION_CHOICE (fifo: the
// connection free longest, so the workers get the requests in turn; lifo: the one freed last, as Node's own
// agent chooses; see ConnectionChoice in open-loop.ts); BENCH_PG_URL
// puts the store on PostgreSQL and BENCH_MAX_CONCURRENT_REQUESTS sets limits.maxConcurrentRequests, as for `npm run bench`. For investigating a run: SUSTAINED_NODE_ARGS (space-separated,
// e.g. "--trace-gc") go to the server's node, and SUSTAINED_KEEP_LOG=FILE keeps a copy of the server's log.
import { copyFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { createBenchInstance, type BenchInstance } from './instance';
import { buildMix } from './mix-requests';
import { fmt } from './report';
import { startSts, type StsProcess } from './server-process';
import { describeMemory, describeOperations, measureMixMaximum, runSustained, verdicts } from './sustained-run';
import { FLAT_SLOPE_MB_PER_MIN } from './rss-monitor';
import type { ConnectionChoice } from './open-loop';
import type { WindowCpu } from './cpu-window';
import { armWatchdog, envMaxConcurrentRequests, envNumber, runTool } from './bench-process';

const REPO_ROOT = resolve(__dirname, '..', '..');

interface Settings {
  readonly rate: number | undefined;
  readonly fraction: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly workers: number;
  readonly connections: number;
  readonly connectionChoice: ConnectionChoice;
  readonly probeSeconds: number;
  readonly probeWarmupSeconds: number;
  readonly intervalSeconds: number;
  readonly postgresUrl: string | undefined;
  readonly maxConcurrentRequests: number | undefined;
  readonly nodeArgs: readonly string[];
  readonly keepLog: string | undefined;
}

function readSettings(): Settings {
  const rate = process.env['SUSTAINED_RATE'];
  return {
    rate: rate === undefined || rate === '' ? undefined : envNumber('SUSTAINED_RATE', 0),
    fraction: envNumber('SUSTAINED_FRACTION', 0.8),
    seconds: envNumber('SUSTAINED_SECONDS', 120),
    warmupSeconds: envNumber('SUSTAINED_WARMUP_SECONDS', 10),
    workers: Math.round(envNumber('SUSTAINED_WORKERS', availableParallelism())),
    connections: Math.round(envNumber('SUSTAINED_CONNECTIONS', 32)),
    connectionChoice: envConnectionChoice(),
    probeSeconds: envNumber('SUSTAINED_PROBE_SECONDS', 4),
    probeWarmupSeconds: envNumber('SUSTAINED_PROBE_WARMUP_SECONDS', 2),
    intervalSeconds: envNumber('SUSTAINED_INTERVAL_SECONDS', 10),
    postgresUrl: process.env['BENCH_PG_URL'] || undefined,
    maxConcurrentRequests: envMaxConcurrentRequests(),
    nodeArgs: (process.env['SUSTAINED_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== ''),
    keepLog: process.env['SUSTAINED_KEEP_LOG'] || undefined,
  };
}

function envConnectionChoice(): ConnectionChoice {
  const value = process.env['SUSTAINED_CONNECTION_CHOICE'] || 'fifo';
  if (value !== 'lifo' && value !== 'fifo') throw new Error(`SUSTAINED_CONNECTION_CHOICE must be lifo or fifo, not "${value}"`);
  return value;
}

let sts: StsProcess | undefined;
let instance: BenchInstance | undefined;
let keepLog: string | undefined;

async function main(): Promise<void> {
  const settings = readSettings();
  keepLog = settings.keepLog;
  armWatchdog('sustained', watchdogLimitMs(settings), cleanUp);
  console.log(`Trustbridge sustained load: Issue, Validate and AssumeRoleWithSAML 1:1:1, open loop, HTTPS keep-alive`);
  console.log(`machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}`);
  instance = await createBenchInstance(settings);
  console.log(`instance: ${instance.home} (throwaway), store: ${settings.postgresUrl === undefined ? 'SQLite' : `PostgreSQL ${settings.postgresUrl}`}`);
  sts = await startSts({
    repoRoot: REPO_ROOT,
    home: instance.home,
    workers: settings.workers,
    tlsCertificatePem: instance.tlsCertificatePem,
    logFile: join(instance.home, 'serve.log'),
    nodeArgs: settings.nodeArgs,
  });
  console.log(`server: sts serve --workers ${settings.workers}, pids ${sts.pids().join(', ')}`);
  const mix = await buildMix(sts.port, instance);

  let rate = settings.rate;
  let closedLoopCpuMsPerReply: number | undefined;
  if (rate === undefined) {
    const max = await measureMixMaximum(sts, instance, mix, 8 * settings.workers, settings.probeSeconds, settings.probeWarmupSeconds);
    const each = [...max.perOperation].map(([op, r]) => `${op} ${fmt(r)}/s`).join(', ');
    rate = settings.fraction * max.mixPerSecond;
    closedLoopCpuMsPerReply = max.mixCpuMsPerReply;
    console.log(
      `closed-loop maximum (${settings.probeSeconds} s each, after a ${settings.probeWarmupSeconds} s pass each not counted): ${each}; the 1:1:1 mix ${fmt(max.mixPerSecond)}/s`,
    );
    console.log(`rate: ${fmt(settings.fraction * 100)}% of it = ${fmt(rate)} requests/s (SUSTAINED_FRACTION)`);
  } else {
    console.log(`rate: ${fmt(rate)} requests/s (SUSTAINED_RATE)`);
  }
  console.log(
    `connections: at most ${settings.connections}, kept alive (SUSTAINED_CONNECTIONS); a request takes the one ${settings.connectionChoice === 'lifo' ? 'freed last' : 'free longest'} (SUSTAINED_CONNECTION_CHOICE=${settings.connectionChoice})`,
  );
  console.log(`limits.maxConcurrentRequests: ${settings.maxConcurrentRequests ?? 'the instance default (0, no limit)'} (BENCH_MAX_CONCURRENT_REQUESTS)`);
  console.log(`running ${settings.seconds} s after a ${settings.warmupSeconds} s ramp up to the rate (SUSTAINED_SECONDS, SUSTAINED_WARMUP_SECONDS), a report every ${settings.intervalSeconds} s\n`);

  const result = await runSustained({
    sts,
    inst: instance,
    mix,
    ratePerSecond: rate,
    warmupSeconds: settings.warmupSeconds,
    seconds: settings.seconds,
    intervalSeconds: settings.intervalSeconds,
    connections: settings.connections,
    connectionChoice: settings.connectionChoice,
    onInterval: (w, memory) => {
      const p99 = [...w.byOperation].map(([op, f]) => `${op} ${fmt(f.p99Ms, 1)}`).join(', ');
      const errors = [...w.byOperation.values()].reduce((a, f) => a + f.errors, 0);
      console.log(
        `[${fmt(w.atSeconds).padStart(4)} s] offered ${fmt(w.offeredPerSecond, 1)}/s, completed ${fmt(w.completedPerSecond, 1)}/s, ` +
          `in flight ${w.inFlight}, errors ${errors}; p99 ms: ${p99}; RSS: ${describeMemory(memory)}`,
      );
      for (const sample of w.errorSamples) console.log(`         error: ${sample}`);
    },
  });

  const { load, memory, cpu } = result;
  console.log(`\nsummary: ${load.offered} requests offered in ${fmt(settings.seconds)} s (${fmt(load.offered / settings.seconds, 1)}/s), ${load.completed} succeeded, ${load.errors} failed`);
  for (const line of describeOperations(load.byOperation)) console.log(`  ${line}`);
  for (const line of describeOperations(new Map([['all', load.all]]))) console.log(`  ${line}`);
  for (const sample of load.errorSamples) console.log(`  error sample: ${sample}`);
  console.log(`  memory: ${describeMemory(memory)}; the node's PSS at most ${fmt(result.nodePssMb, 1)} MB`);
  const closedLoopComparison =
    closedLoopCpuMsPerReply === undefined
      ? ''
      : `, against ${fmt(closedLoopCpuMsPerReply, 3)} ms in the closed loops that measured the maximum (${fmt(cpu.serverCpuMsPerOp / closedLoopCpuMsPerReply, 2)}×)`;
  console.log(`  server CPU: ${fmt(cpu.serverCpuCores, 2)} cores, ${fmt(cpu.serverCpuMsPerOp, 3)} ms per reply${closedLoopComparison}`);
  console.log(`  ${describeMachine(cpu)}`);
  console.log(
    `  load generator: requests left p50 ${fmt(load.sendLagP50Ms, 1)} ms, p99 ${fmt(load.sendLagP99Ms, 1)} ms` +
      ` after they were due (included in the latencies above)`,
  );
  console.log(`verdicts (RSS slope over the second half, after warm-up; flat means under ${FLAT_SLOPE_MB_PER_MIN} MB/min):`);
  const all = verdicts(result);
  for (const v of all) console.log(`  ${v.pass ? 'PASS' : 'FAIL'}  ${v.name}: ${v.detail}`);
  if (all.some((v) => !v.pass)) process.exitCode = 1;
}

/** How busy the whole machine was over the measured seconds, and with what: past some 80% of its cores, queues grow fast. */
function describeMachine(cpu: WindowCpu): string {
  const cores = availableParallelism();
  const busy = cpu.serverCpuCores + cpu.generatorCpuCores + cpu.otherCpuCores;
  if (Number.isNaN(busy)) return 'machine: /proc/stat could not be read';
  return (
    `machine: ${fmt(busy, 2)} of ${cores} cores busy (${fmt((100 * busy) / cores)}%): the server ${fmt(cpu.serverCpuCores, 2)}, ` +
    `the load generator ${fmt(cpu.generatorCpuCores, 2)}, the rest ${fmt(cpu.otherCpuCores, 2)}; steal ${fmt(cpu.stealCores, 2)}`
  );
}

/** How long the whole run may take before the watchdog stops it: well beyond what it should need. */
function watchdogLimitMs(settings: Settings): number {
  return (settings.seconds + settings.warmupSeconds + (settings.probeWarmupSeconds + settings.probeSeconds + 2) * 3 + 120) * 1000;
}

async function cleanUp(): Promise<void> {
  await sts?.stop(2000).catch(() => undefined);
  if (keepLog !== undefined && instance !== undefined) copyFileSync(join(instance.home, 'serve.log'), keepLog);
  instance?.remove();
}

runTool('sustained', main, cleanUp);
