// `npm run bench`: how many WS-Trust 1.3 Issues per second Trustbridge turns out on this machine,
// against the ceiling that matters (Node's raw RSA-2048 signing rate, one signature per token),
// first on one worker, then on every core (DESIGN.md decisions 12 and 14). On the same server it
// then measures Validate (against the raw verification rate: one signature checked per request),
// Renew (against the raw signing rate: one new token per request, after checking the old one), and
// the AWS Query API: AssumeRoleWithSAML (one assertion signature verified per exchange) and
// GetCallerIdentity (SigV4 over a sealed session token, no RSA), both against the verification rate.
// Right after Issue on one worker it runs the floor, bench/floor-server.ts (bare HTTPS and one RSA
// signature per request, no STS), to show how much of Issue's CPU per token is Trustbridge's own.
import { availableParallelism, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { STRONG_SCRYPT } from '../src/identity/password-hash';
import { signsTokensOffThread } from '../src/server/token-signing';
import { instanceTlsFiles, issueReplyBytes, measureFloor, startFloorServer, type FloorProcess, type FloorRun } from './floor';
import type { FloorSignOn } from './floor-server';
import { createBenchInstance, type BenchInstance } from './instance';
import { runLoad } from './load';
import { operationRequests } from './operation-requests';
import { measureRawRsa } from './raw-rsa';
import { cpuWindow } from './cpu-window';
import { machineCpu, otherCores } from './machine';
import {
  describeFloor,
  loadFigures,
  describeRun,
  floorSigningOn,
  floorSummary,
  fmt,
  mebibytesToMegabytes,
  NODE_MEMORY_TARGET_MB,
  ONE_WORKER_RATIO_TARGET,
  OPERATION_INFO,
  summaryTable,
  verdict,
  writeResults,
  type BenchOperation,
  type BenchReport,
  type FloorFigures,
  type FloorReport,
  type RunFigures,
} from './report';
import type { RawRsaRates } from './raw-rsa';
import { loopbackTarget, type BenchRequest } from './request-sender';
import { RssMonitor, type ProcessMemory } from './rss-monitor';
import { startSts, type StsProcess } from './server-process';
import { armWatchdog, envMaxConcurrentRequests, envNumber, runTool } from './bench-process';

const REPO_ROOT = resolve(__dirname, '..', '..');

interface Settings {
  /** Issue's measured window and warm-up (the server's first load, so it also warms the JIT). */
  readonly seconds: number;
  readonly warmupSeconds: number;
  /** Validate's and Renew's: shorter, so both worker counts still fit in about two minutes. */
  readonly opSeconds: number;
  readonly opWarmupSeconds: number;
  /** Operations to run on each server, in this order (BENCH_OPERATIONS="issue,validate,renew"). */
  readonly operations: readonly BenchOperation[];
  readonly rawSeconds: number;
  readonly concurrencyPerWorker: number;
  /** Worker counts to run; by default one, then one per core. */
  readonly workerCounts: readonly number[];
  /** Overrides the instance's logLevel (one JSON line per token at the default "info"), to measure logging's share. */
  readonly logLevel: string | undefined;
  /** BENCH_PG_URL: an empty PostgreSQL database to hold the store instead of SQLite (password in STS_PG_PASSWORD). */
  readonly postgresUrl: string | undefined;
  /** BENCH_MAX_CONCURRENT_REQUESTS: overrides the instance's limits.maxConcurrentRequests (0, no limit, by default). */
  readonly maxConcurrentRequests: number | undefined;
}

function readSettings(): Settings {
  return {
    seconds: envNumber('BENCH_SECONDS', 12),
    warmupSeconds: envNumber('BENCH_WARMUP_SECONDS', 3),
    opSeconds: envNumber('BENCH_OP_SECONDS', 10),
    opWarmupSeconds: envNumber('BENCH_OP_WARMUP_SECONDS', 2),
    operations: envOperations(),
    rawSeconds: envNumber('BENCH_RAW_SECONDS', 3),
    // Enough requests queued that a worker never waits on the network, few enough to keep p50 honest.
    concurrencyPerWorker: Math.round(envNumber('BENCH_CONCURRENCY_PER_WORKER', 8)),
    workerCounts: envWorkerCounts(),
    logLevel: process.env['BENCH_LOG_LEVEL'] || undefined,
    postgresUrl: process.env['BENCH_PG_URL'] || undefined,
    maxConcurrentRequests: envMaxConcurrentRequests(),
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

const ALL_OPERATIONS: readonly BenchOperation[] = ['Issue', 'Validate', 'Renew', 'AssumeRoleWithSAML', 'GetCallerIdentity'];

/** BENCH_OPERATIONS="validate" or "issue,assumerolewithsaml" (any case); always run in ALL_OPERATIONS' order. */
function envOperations(): BenchOperation[] {
  const raw = process.env['BENCH_OPERATIONS'];
  if (raw === undefined || raw === '') return [...ALL_OPERATIONS];
  const wanted = raw.split(',').map((o) => o.trim().toLowerCase());
  const unknown = wanted.filter((w) => !ALL_OPERATIONS.some((op) => op.toLowerCase() === w));
  if (unknown.length > 0 || wanted.length === 0) throw new Error(`BENCH_OPERATIONS must list some of ${ALL_OPERATIONS.join(', ')} (got "${raw}")`);
  return ALL_OPERATIONS.filter((op) => wanted.includes(op.toLowerCase()));
}

// The servers currently running, so the watchdog and Ctrl-C can stop them.
let current: StsProcess | undefined;
let currentFloor: FloorProcess | undefined;
let instance: BenchInstance | undefined;

async function main(): Promise<void> {
  const settings = readSettings();
  armWatchdog('bench', watchdogLimitMs(settings), cleanUp);
  const benchStarted = performance.now();
  const cores = availableParallelism();
  console.log(
    `Trustbridge benchmark: ${settings.operations.join(', ')} (WS-Trust 1.3 usernamemixed, SOAP 1.2, PasswordText; AWS Query API at /) over HTTPS keep-alive`,
  );
  console.log(
    `durations: Issue ${settings.warmupSeconds} s warm-up + ${settings.seconds} s measured (BENCH_WARMUP_SECONDS, BENCH_SECONDS);` +
      ` the others ${settings.opWarmupSeconds} s + ${settings.opSeconds} s each on the same, already warm server` +
      ` (BENCH_OP_WARMUP_SECONDS, BENCH_OP_SECONDS)`,
  );
  console.log(`machine: ${cores} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}, ${process.platform}/${process.arch}`);

  instance = await createBenchInstance(settings);
  const s = instance.storedScrypt;
  console.log(`instance: ${instance.home} (throwaway), store: ${settings.postgresUrl === undefined ? 'SQLite' : `PostgreSQL ${settings.postgresUrl} (BENCH_PG_URL)`}`);
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
  let floor: FloorReport | null = null;
  if (settings.logLevel !== undefined) console.log(`log level: ${settings.logLevel} (BENCH_LOG_LEVEL; the instance default is info, one line per token)`);
  if (settings.maxConcurrentRequests !== undefined) console.log(`limits.maxConcurrentRequests: ${settings.maxConcurrentRequests} (BENCH_MAX_CONCURRENT_REQUESTS; the instance default is 0, no limit)`);
  for (const workers of settings.workerCounts) {
    console.log(`\n--- sts serve --workers ${workers} ---`);
    if (workers >= cores) {
      console.log(
        `  caveat: on ${cores} cores the load generator competes with the workers for CPU, so this run` +
          ` understates what ${workers} workers do when clients are elsewhere; its own CPU use is shown below.`,
      );
    }
    const benched = await benchWorkers(instance, workers, settings, raw, cores);
    runs.push(...benched.runs);
    floor = benched.floor ?? floor;
  }

  const oneWorker = runs.find((r) => r.operation === 'Issue' && r.workers === 1);
  const largestNodeMb = mebibytesToMegabytes(Math.max(...runs.map((r) => r.maxPssDuringMiB)));
  const report: BenchReport = {
    when: new Date().toISOString(),
    machine: { cores, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${process.platform}/${process.arch}` },
    benchUserScrypt: s,
    rawRsa: { signsPerSecond: raw.signsPerSecond, verifiesPerSecond: raw.verifiesPerSecond, messageBytes: raw.messageBytes, seconds: settings.rawSeconds, otherCpuCores: raw.otherCpuCores },
    settings: {
      seconds: settings.seconds,
      warmupSeconds: settings.warmupSeconds,
      opSeconds: settings.opSeconds,
      opWarmupSeconds: settings.opWarmupSeconds,
      operations: settings.operations,
      concurrencyPerWorker: settings.concurrencyPerWorker,
      logLevel: settings.logLevel ?? 'instance default',
      maxConcurrentRequests: settings.maxConcurrentRequests ?? 'instance default',
    },
    runs,
    target: {
      oneWorkerRatioAtLeast: ONE_WORKER_RATIO_TARGET,
      oneWorkerRatio: oneWorker ? oneWorker.ratioPerCore : null,
      verdict: oneWorker ? verdict(oneWorker.ratioPerCore) : 'NOT RUN',
    },
    memoryTarget: {
      nodeUnderMb: NODE_MEMORY_TARGET_MB,
      largestNodeMb,
      // 0 when no PSS could be read (smaps_rollup needs Linux and the right to read it): not a pass.
      verdict: largestNodeMb === 0 ? 'NOT MEASURED' : largestNodeMb < NODE_MEMORY_TARGET_MB ? 'PASS' : 'ABOVE',
    },
    floor,
  };
  console.log(
    `\nsummary (raw RSA ${fmt(raw.signsPerSecond)} signs/s and ${fmt(raw.verifiesPerSecond)} verifies/s per core; Node ${process.version}; ${cores} cores)`,
  );
  console.log(summaryTable(report));
  console.log(
    `"per core" = operations/s ÷ (raw rate in "of raw" × the workers, or the server's busy cores if more): Issue and Renew against signs; Validate, AssumeRoleWithSAML and GetCallerIdentity against verifies.`,
  );
  if (floor !== null) console.log(floorSummary(floor));
  console.log(`target: Issue's per-core ratio on one worker ≥ ${ONE_WORKER_RATIO_TARGET} → ${report.target.verdict}`);
  console.log(`target: memory per node < ${NODE_MEMORY_TARGET_MB} MB at load (PSS of all its processes, every run) → ${report.memoryTarget.verdict} (largest ${fmt(largestNodeMb, 1)} MB)`);
  if (runs.some((r) => r.workers >= cores)) {
    console.log(`caveat: the ${cores}-worker rows share the machine with the load generator (see "loadgen cores").`);
  }
  console.log(`figures written to ${writeResults(REPO_ROOT, report)}`);
  console.log(`bench took ${fmt((performance.now() - benchStarted) / 1000, 0)} s`);
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

/**
 * One server, one load run per operation (Issue, then Validate, then Renew): start, take one token
 * for Validate and Renew to present, then for each operation warm up, measure, sample memory and
 * CPU, print; stop. On one worker, the floor runs right after Issue.
 */
async function benchWorkers(
  inst: BenchInstance,
  workers: number,
  settings: Settings,
  raw: RawRsaRates,
  cores: number,
): Promise<{ runs: RunFigures[]; floor?: FloorReport }> {
  const sts = await startSts({
    repoRoot: REPO_ROOT,
    home: inst.home,
    workers,
    tlsCertificatePem: inst.tlsCertificatePem,
    logFile: join(inst.home, `serve-${workers}.log`),
  });
  current = sts;
  try {
    const { requests, presentedAssertion } = await operationRequests(sts.port, inst, settings.operations);
    if (presentedAssertion !== undefined) {
      console.log(`  token for Validate and Renew: one SAML 2.0 assertion of ${fmt(Buffer.byteLength(presentedAssertion))} bytes, issued by this server`);
    }
    const runs: RunFigures[] = [];
    let floor: FloorReport | undefined;
    for (const operation of settings.operations) {
      const request = requests[operation];
      const isIssue = operation === 'Issue';
      console.log(`  ${operation}${isIssue ? '' : ` (${fmt(request.body.length)}-byte request)`}:`);
      const figures = await measureOperation(sts, inst, {
        operation,
        workers,
        request,
        concurrency: settings.concurrencyPerWorker * workers,
        warmupSeconds: isIssue ? settings.warmupSeconds : settings.opWarmupSeconds,
        seconds: isIssue ? settings.seconds : settings.opSeconds,
        rawPerSecond: OPERATION_INFO[operation].ceiling === 'verify' ? raw.verifiesPerSecond : raw.signsPerSecond,
      });
      console.log(describeRun(figures, raw, cores));
      runs.push(figures);
      if (isIssue && workers === 1) floor = await benchFloor(sts.port, inst, request, figures, settings, raw, cores);
    }
    return { runs, floor };
  } finally {
    current = undefined;
    await sts.stop();
  }
}

/**
 * The floor (bench/floor-server.ts) signing on its event loop, then on the thread pool, each with
 * Issue's request, concurrency, warm-up and window. Run right after Issue, while the one-worker STS
 * waits idle, because this machine's speed drifts within minutes and the two are compared.
 */
async function benchFloor(
  stsPort: number,
  inst: BenchInstance,
  issue: BenchRequest,
  issueRun: RunFigures,
  settings: Settings,
  raw: RawRsaRates,
  cores: number,
): Promise<FloorReport> {
  const replyBytes = await issueReplyBytes(stsPort, inst.tlsCertificatePem, issue);
  const tls = instanceTlsFiles(inst.home);
  const run: FloorRun = {
    request: issue,
    tlsCertificatePem: inst.tlsCertificatePem,
    concurrency: issueRun.concurrency,
    warmupSeconds: settings.warmupSeconds,
    seconds: settings.seconds,
    rawSignsPerSecond: raw.signsPerSecond,
  };
  const floorRun = async (signOn: FloorSignOn): Promise<FloorFigures> => {
    const floor = await startFloorServer({ tlsCertificateFile: tls.certificateFile, tlsKeyFile: tls.keyFile, replyBytes, signOn, logFile: join(inst.home, `floor-${signOn}.log`) });
    currentFloor = floor;
    try {
      const figures = await measureFloor(floor, signOn, run);
      console.log(describeFloor(figures, raw, replyBytes));
      return figures;
    } finally {
      currentFloor = undefined;
      await floor.stop();
    }
  };
  const eventLoop = await floorRun('event-loop');
  const threadPool = await floorRun('thread-pool');
  // Where sts serve's one worker signs, by its own rule.
  const signsOn: FloorSignOn = signsTokensOffThread(1, cores) ? 'thread-pool' : 'event-loop';
  const matching = floorSigningOn({ eventLoop, threadPool }, signsOn);
  return {
    requestBytes: issue.body.length,
    replyBytes,
    eventLoop,
    threadPool,
    issueOneWorker: { signsOn, cpuMsPerToken: issueRun.serverCpuMsPerOp, cpuMsAboveFloor: issueRun.serverCpuMsPerOp - matching.serverCpuMsPerOp },
  };
}

interface OperationRun {
  readonly operation: BenchOperation;
  readonly workers: number;
  readonly request: BenchRequest;
  readonly concurrency: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
  /** The raw RSA rate (signs or verifies per second on one core) the ratios are taken against. */
  readonly rawPerSecond: number;
}

async function measureOperation(sts: StsProcess, inst: BenchInstance, run: OperationRun): Promise<RunFigures> {
  const memory = new RssMonitor(() => sts.pids());
  memory.start(500);
  const cpu = cpuWindow(() => sts.pids());
  let load;
  try {
    load = await runLoad({
      ...loopbackTarget(sts.port, inst.tlsCertificatePem),
      request: run.request,
      concurrency: run.concurrency,
      warmupMs: run.warmupSeconds * 1000,
      durationMs: run.seconds * 1000,
      ...cpu.hooks,
    });
  } finally {
    await memory.stop();
  }
  const processes = memory.processes();
  const sumMb = (mb: (p: ProcessMemory) => number): number => processes.reduce((a, p) => a + mb(p), 0);
  const used = cpu.figures(load);
  const coresCounted = Math.max(run.workers, used.serverCpuCores);
  return {
    operation: run.operation,
    workers: run.workers,
    concurrency: run.concurrency,
    ...loadFigures(load),
    peakRssMiB: sumMb((p) => p.peakRssMb),
    maxRssDuringMiB: sumMb((p) => p.maxRssMb),
    maxPssDuringMiB: memory.serverPssMb(),
    processes: processes.length,
    ...used,
    ratioAgainst: OPERATION_INFO[run.operation].ceiling,
    rawPerSecond: run.rawPerSecond,
    coresCounted,
    ratioPerCore: load.perSecond / (run.rawPerSecond * coresCounted),
    cpuBoundRatio: 1000 / run.rawPerSecond / used.serverCpuMsPerOp,
  };
}

/** How long the whole run may take before the watchdog stops it: well beyond what it should need. */
function watchdogLimitMs(settings: Settings): number {
  const opCount = settings.operations.filter((op) => op !== 'Issue').length;
  const withIssue = settings.operations.includes('Issue');
  const perRunSeconds =
    (withIssue ? settings.warmupSeconds + settings.seconds : 0) +
    opCount * (settings.opWarmupSeconds + settings.opSeconds + 10) +
    20;
  const floorSeconds = withIssue && settings.workerCounts.includes(1) ? 2 * (settings.warmupSeconds + settings.seconds + 10) : 0;
  return (settings.rawSeconds * 2 + perRunSeconds * settings.workerCounts.length + floorSeconds + 60) * 1000;
}

async function cleanUp(): Promise<void> {
  await currentFloor?.stop().catch(() => undefined);
  await current?.stop(2000).catch(() => undefined);
  instance?.remove();
}

runTool('bench', main, cleanUp);
