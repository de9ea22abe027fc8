// `npm run bench`: how many WS-Trust 1.3 Issues per second Trustbridge turns out on this machine,
// against the ceiling that matters (Node's raw RSA-2048 signing rate, one signature per token),
// first on one worker, then on every core (DESIGN.md decisions 12 and 14).
import { availableParallelism, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { STRONG_SCRYPT } from '../src/identity/password-hash';
import { createBenchInstance, type BenchInstance } from './instance';
import { buildIssueRequest, ISSUE_PATH } from './issue-request';
import { runLoad } from './load';
import { measureRawRsa } from './raw-rsa';
import { machineCpu, otherCores, type MachineCpu } from './machine';
import { describeRun, fmt, ONE_WORKER_RATIO_TARGET, summaryTable, verdict, writeResults, type BenchReport, type RunFigures } from './report';
import { procCpuSeconds, procStatusKb, startSts, type StsProcess } from './server-process';

const REPO_ROOT = resolve(__dirname, '..', '..');
const HOST = '127.0.0.1';

interface Settings {
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly rawSeconds: number;
  readonly concurrencyPerWorker: number;
  /** Worker counts to run; by default one, then one per core. */
  readonly workerCounts: readonly number[];
  /** Overrides the instance's logLevel (one JSON line per token at the default "info"), to measure logging's share. */
  readonly logLevel: string | undefined;
}

function readSettings(): Settings {
  return {
    seconds: envNumber('BENCH_SECONDS', 12),
    warmupSeconds: envNumber('BENCH_WARMUP_SECONDS', 3),
    rawSeconds: envNumber('BENCH_RAW_SECONDS', 3),
    // Enough requests queued that a worker never waits on the network, few enough to keep p50 honest.
    concurrencyPerWorker: Math.round(envNumber('BENCH_CONCURRENCY_PER_WORKER', 8)),
    workerCounts: envWorkerCounts(),
    logLevel: process.env['BENCH_LOG_LEVEL'] || undefined,
  };
}

/** BENCH_WORKERS="1" or "1,2"; by default 1 then every core (os.availableParallelism()). */
function envWorkerCounts(): number[] {
  const raw = process.env['BENCH_WORKERS'];
  if (raw === undefined || raw === '') return [...new Set([1, availableParallelism()])];
  const counts = raw.split(',').map((w) => Number(w.trim()));
  if (counts.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`BENCH_WORKERS must list positive integers (got "${raw}")`);
  return counts;
}

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number (got "${raw}")`);
  return value;
}

// The server currently running, so the watchdog and Ctrl-C can stop it.
let current: StsProcess | undefined;
let instance: BenchInstance | undefined;

async function main(): Promise<void> {
  const settings = readSettings();
  armWatchdog(settings);
  const cores = availableParallelism();
  console.log('Trustbridge benchmark: WS-Trust 1.3 Issue (usernamemixed, SOAP 1.2, PasswordText) over HTTPS keep-alive');
  console.log(`machine: ${cores} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}, ${process.platform}/${process.arch}`);

  instance = await createBenchInstance(settings.logLevel);
  const s = instance.storedScrypt;
  console.log(`instance: ${instance.home} (throwaway)`);
  console.log(
    `benchmark user: scrypt N=${s.N} r=${s.r} p=${s.p} (CHEAPEST_SCRYPT, so password hashing does not dominate);` +
      ` real users get STRONG_SCRYPT N=${STRONG_SCRYPT.N} r=${STRONG_SCRYPT.r} p=${STRONG_SCRYPT.p}, tens of ms per Issue`,
  );

  const raw = measureRawRsaWatched(settings.rawSeconds);
  console.log(
    `raw RSA-2048 SHA-256 on one core (crypto.sign/verify, ${raw.messageBytes}-byte message, KeyObject): ` +
      `${fmt(raw.signsPerSecond)} signs/s, ${fmt(raw.verifiesPerSecond)} verifies/s` +
      ` (other processes kept ${fmt(raw.otherCpuCores, 2)} cores busy meanwhile)`,
  );

  const runs: RunFigures[] = [];
  if (settings.logLevel !== undefined) console.log(`log level: ${settings.logLevel} (BENCH_LOG_LEVEL; the instance default is info, one line per token)`);
  for (const workers of settings.workerCounts) {
    console.log(`\n--- sts serve --workers ${workers} ---`);
    if (workers >= cores) {
      console.log(
        `  caveat: on ${cores} cores the load generator competes with the workers for CPU, so this run` +
          ` understates what ${workers} workers do when clients are elsewhere; its own CPU use is shown below.`,
      );
    }
    const figures = await benchWorkers(instance, workers, settings, raw.signsPerSecond);
    runs.push(figures);
    console.log(describeRun(figures, raw, cores));
  }

  const oneWorker = runs.find((r) => r.workers === 1);
  const report: BenchReport = {
    when: new Date().toISOString(),
    machine: { cores, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${process.platform}/${process.arch}` },
    benchUserScrypt: s,
    rawRsa: { signsPerSecond: raw.signsPerSecond, verifiesPerSecond: raw.verifiesPerSecond, messageBytes: raw.messageBytes, seconds: settings.rawSeconds, otherCpuCores: raw.otherCpuCores },
    settings: {
      seconds: settings.seconds,
      warmupSeconds: settings.warmupSeconds,
      concurrencyPerWorker: settings.concurrencyPerWorker,
      logLevel: settings.logLevel ?? 'instance default',
    },
    runs,
    target: {
      oneWorkerRatioAtLeast: ONE_WORKER_RATIO_TARGET,
      oneWorkerRatio: oneWorker ? oneWorker.ratioPerCore : null,
      verdict: oneWorker ? verdict(oneWorker.ratioPerCore) : 'NOT RUN',
    },
  };
  console.log(`\nsummary (raw RSA ${fmt(raw.signsPerSecond)} signs/s per core; Node ${process.version}; ${cores} cores)`);
  console.log(summaryTable(report));
  console.log(`target: per-core ratio on one worker ≥ 0.5 → ${report.target.verdict}`);
  if (runs.some((r) => r.workers >= cores)) {
    console.log(`caveat: the ${cores}-worker row shares the machine with the load generator (see "loadgen cores").`);
  }
  console.log(`figures written to ${writeResults(REPO_ROOT, report)}`);
}

/**
 * The raw rates, plus how busy the rest of the machine was meanwhile: a sign rate measured while
 * something else competes for the core makes every ratio against it look better than it is.
 */
function measureRawRsaWatched(seconds: number): ReturnType<typeof measureRawRsa> & { otherCpuCores: number } {
  const before = machineCpu();
  const ownBefore = process.cpuUsage();
  const started = performance.now();
  const raw = measureRawRsa(seconds, Math.max(0.5, seconds / 2));
  const wall = (performance.now() - started) / 1000;
  const own = process.cpuUsage(ownBefore);
  const { other } = otherCores(before, machineCpu(), wall, (own.user + own.system) / 1e6 / wall);
  return { ...raw, otherCpuCores: other };
}

/** One server, one load run: start, warm up, measure, sample memory and CPU, stop. */
async function benchWorkers(inst: BenchInstance, workers: number, settings: Settings, signsPerSecond: number): Promise<RunFigures> {
  const sts = await startSts({
    repoRoot: REPO_ROOT,
    home: inst.home,
    workers,
    tlsCertificatePem: inst.tlsCertificatePem,
    logFile: join(inst.home, `serve-${workers}.log`),
  });
  current = sts;
  try {
    const body = buildIssueRequest({
      to: `https://localhost:${sts.port}${ISSUE_PATH}`,
      userName: inst.userName,
      password: inst.password,
      appliesTo: inst.appliesTo,
    });
    const memory = new PeakMemory(sts);
    const sampler = setInterval(() => memory.sample(), 500);
    const serverCpu = { start: 0, end: 0, wallStart: 0, wallEnd: 0 };
    const machine: { start?: MachineCpu; end?: MachineCpu } = {};
    const concurrency = settings.concurrencyPerWorker * workers;
    let load;
    try {
      load = await runLoad({
        host: HOST,
        port: sts.port,
        path: ISSUE_PATH,
        body,
        ca: inst.tlsCertificatePem,
        concurrency,
        warmupMs: settings.warmupSeconds * 1000,
        durationMs: settings.seconds * 1000,
        requestTimeoutMs: 10_000,
        onWindowStart: () => {
          machine.start = machineCpu();
          serverCpu.start = cpuSecondsOf(sts);
          serverCpu.wallStart = performance.now();
        },
        onWindowEnd: () => {
          serverCpu.end = cpuSecondsOf(sts);
          serverCpu.wallEnd = performance.now();
          machine.end = machineCpu();
        },
      });
    } finally {
      clearInterval(sampler);
    }
    memory.sample();
    const wallSeconds = (serverCpu.wallEnd - serverCpu.wallStart) / 1000;
    const serverCpuCores = (serverCpu.end - serverCpu.start) / wallSeconds;
    const serverCpuMsPerToken = (serverCpuCores * 1000) / load.tokensPerSecond;
    const rest = otherCores(machine.start, machine.end, wallSeconds, serverCpuCores + load.generatorCpuCores);
    return {
      workers,
      concurrency,
      seconds: load.seconds,
      completed: load.completed,
      tokensPerSecond: load.tokensPerSecond,
      p50Ms: load.p50Ms,
      p99Ms: load.p99Ms,
      errors: load.errors,
      warmupErrors: load.warmupErrors,
      errorSamples: load.errorSamples,
      peakRssMiB: memory.totalKb() / 1024,
      processes: memory.processes(),
      serverCpuCores,
      serverCpuMsPerToken,
      generatorCpuCores: load.generatorCpuCores,
      otherCpuCores: rest.other,
      stealCores: rest.steal,
      ratioPerCore: load.tokensPerSecond / (signsPerSecond * workers),
      cpuBoundRatio: 1000 / signsPerSecond / serverCpuMsPerToken,
    };
  } finally {
    current = undefined;
    await sts.stop();
  }
}

function cpuSecondsOf(sts: StsProcess): number {
  return sts.pids().reduce((sum, pid) => sum + (procCpuSeconds(pid) ?? 0), 0);
}

/** Each server process's peak resident set (VmHWM, already a high-water mark), summed over processes. */
class PeakMemory {
  private readonly peaks = new Map<number, number>();
  constructor(private readonly sts: StsProcess) {}

  sample(): void {
    for (const pid of this.sts.pids()) {
      const kb = procStatusKb(pid, 'VmHWM') ?? procStatusKb(pid, 'VmRSS');
      if (kb !== undefined) this.peaks.set(pid, Math.max(kb, this.peaks.get(pid) ?? 0));
    }
  }
  totalKb(): number {
    return [...this.peaks.values()].reduce((a, b) => a + b, 0);
  }
  processes(): number {
    return this.peaks.size;
  }
}

/** The benchmark stops by itself: a hung server or client cannot keep it (or the server) alive. */
function armWatchdog(settings: Settings): void {
  const perRunSeconds = settings.warmupSeconds + settings.seconds + 20;
  const limitMs = (settings.rawSeconds * 2 + perRunSeconds * settings.workerCounts.length + 60) * 1000;
  const timer = setTimeout(() => {
    console.error(`bench: still running after ${Math.round(limitMs / 1000)} s; stopping`);
    void cleanUp().finally(() => process.exit(2));
  }, limitMs);
  timer.unref();
  process.once('SIGINT', () => void cleanUp().finally(() => process.exit(130)));
}

async function cleanUp(): Promise<void> {
  await current?.stop(2000).catch(() => undefined);
  instance?.remove();
}

main().then(
  async () => {
    await cleanUp();
  },
  async (err: unknown) => {
    console.error(`bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    await cleanUp();
    process.exitCode = 1;
  },
);
