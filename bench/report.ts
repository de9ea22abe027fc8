import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ScryptParameters } from '../src/identity/password-hash';
import type { WindowCpu } from './cpu-window';
import type { FloorSignOn } from './floor-server';
import type { LoadResult } from './load';
import type { RawRsaRates } from './raw-rsa';

/** Issue 6's target (issue 4 asked for 0.5): Issue at 0.7 or more of the raw signing rate per core it uses. */
export const ONE_WORKER_RATIO_TARGET = 0.7;

/** Issue 6's memory target: a node (all its processes, by PSS) under 200 MB at load, in every run. */
export const NODE_MEMORY_TARGET_MB = 200;

export const mebibytesToMegabytes = (mib: number): number => (mib * 1024 * 1024) / 1e6;

/** The WS-Trust 1.3 operations the benchmark drives, each against one server in turn. */
export type BenchOperation = 'Issue' | 'Validate' | 'Renew' | 'AssumeRoleWithSAML' | 'GetCallerIdentity';

/**
 * The raw RSA operation each request costs at least once, and is compared against: Issue and Renew
 * sign one new token (Renew also verifies the old one), Validate verifies one signature.
 */
export const OPERATION_INFO: Readonly<
  Record<BenchOperation, { readonly unit: string; readonly units: string; readonly ceiling: 'sign' | 'verify'; readonly rsaWork: string; readonly signs: number; readonly verifies: number }>
> = {
  Issue: { unit: 'token', units: 'tokens', ceiling: 'sign', rsaWork: 'one RSA sign is', signs: 1, verifies: 0 },
  Validate: { unit: 'validation', units: 'validations', ceiling: 'verify', rsaWork: 'one RSA verify is', signs: 0, verifies: 1 },
  Renew: { unit: 'renewal', units: 'renewals', ceiling: 'sign', rsaWork: 'one RSA verify + one sign are', signs: 1, verifies: 1 },
  AssumeRoleWithSAML: { unit: 'exchange', units: 'exchanges', ceiling: 'verify', rsaWork: 'one RSA verify is', signs: 0, verifies: 1 },
  // No RSA at all: one SigV4 HMAC chain and one AES-GCM open; compared with a verify as the issue asks.
  GetCallerIdentity: { unit: 'call', units: 'calls', ceiling: 'verify', rsaWork: 'RSA (none: HMAC and AES-GCM only) is', signs: 0, verifies: 0 },
};

const RAW_UNITS = { sign: 'signs', verify: 'verifies' } as const;

/** What one closed-loop load run measured, for the STS's runs and the floor's alike. */
export type LoadFigures = Pick<LoadResult, 'seconds' | 'completed' | 'perSecond' | 'p50Ms' | 'p99Ms' | 'errors' | 'warmupErrors' | 'errorSamples'>;

export function loadFigures(load: LoadResult): LoadFigures {
  const { seconds, completed, perSecond, p50Ms, p99Ms, errors, warmupErrors, errorSamples } = load;
  return { seconds, completed, perSecond, p50Ms, p99Ms, errors, warmupErrors, errorSamples };
}

export interface RunFigures extends LoadFigures, WindowCpu {
  readonly operation: BenchOperation;
  readonly workers: number;
  readonly concurrency: number;
  /**
   * Sum over the primary and workers of each process's peak resident set (VmHWM): a high-water mark
   * since the server started, so for Validate and Renew it includes the earlier operations on it.
   */
  readonly peakRssMiB: number;
  /** Sum over processes of the largest VmRSS sampled during this operation's load (every 500 ms). */
  readonly maxRssDuringMiB: number;
  /** The largest PSS of the server's processes together sampled during this operation's load: the node's own memory. */
  readonly maxPssDuringMiB: number;
  readonly processes: number;
  /** Which raw RSA rate the ratios use (signs for Issue and Renew, verifies for Validate), and its value. */
  readonly ratioAgainst: 'sign' | 'verify';
  readonly rawPerSecond: number;
  /**
   * The cores the ratio divides by: the workers, or the cores the server kept busy when that is more
   * (a worker signs on its thread pool beside its event loop, so one worker can use more than a core).
   */
  readonly coresCounted: number;
  /** operations/s ÷ (raw signs or verifies/s × coresCounted). */
  readonly ratioPerCore: number;
  /**
   * Raw sign (or verify) time ÷ server CPU time per operation: the ratio the server would reach with
   * every worker on a core of its own. Less sensitive than ratioPerCore to other load on a shared machine.
   */
  readonly cpuBoundRatio: number;
}

/**
 * One floor run: bench/floor-server.ts (bare node:https, one RSA signature per request, a reply of an
 * Issue reply's size) under Issue's load, measured as Issue is. The least CPU per token a Node STS can spend.
 */
export interface FloorFigures extends LoadFigures, WindowCpu {
  readonly signOn: FloorSignOn;
  readonly concurrency: number;
  /** max(1, serverCpuCores), as for Issue on one worker. */
  readonly coresCounted: number;
  /** requests/s ÷ (raw signs/s × coresCounted): Issue's per-core ratio, for the floor. */
  readonly ratioPerCore: number;
  readonly cpuBoundRatio: number;
}

/** Of the two floor runs, the one that signs where `signOn` says. */
export function floorSigningOn(floor: Pick<FloorReport, 'eventLoop' | 'threadPool'>, signOn: FloorSignOn): FloorFigures {
  return signOn === 'event-loop' ? floor.eventLoop : floor.threadPool;
}

/** Both floor runs, and Issue on one worker set against the one that signs where Issue does. */
export interface FloorReport {
  readonly requestBytes: number;
  readonly replyBytes: number;
  readonly eventLoop: FloorFigures;
  readonly threadPool: FloorFigures;
  readonly issueOneWorker: {
    /** Where one worker signs tokens (the thread pool when the machine has a core to spare). */
    readonly signsOn: FloorSignOn;
    readonly cpuMsPerToken: number;
    /** Issue's CPU per token minus that floor's CPU per request: what the STS itself costs. */
    readonly cpuMsAboveFloor: number;
  };
}

export interface BenchReport {
  readonly when: string;
  readonly machine: { readonly cores: number; readonly cpuModel: string; readonly node: string; readonly platform: string };
  readonly benchUserScrypt: ScryptParameters;
  readonly rawRsa: RawRsaRates & { readonly seconds: number; readonly otherCpuCores: number };
  readonly settings: {
    /** Issue's measured window and warm-up. */
    readonly seconds: number;
    readonly warmupSeconds: number;
    /** Validate's and Renew's (the server is already warm from Issue). */
    readonly opSeconds: number;
    readonly opWarmupSeconds: number;
    readonly operations: readonly BenchOperation[];
    readonly concurrencyPerWorker: number;
    readonly logLevel: string;
    readonly maxConcurrentRequests: number | string;
  };
  readonly runs: readonly RunFigures[];
  /** About Issue on one worker. */
  readonly target: { readonly oneWorkerRatioAtLeast: number; readonly oneWorkerRatio: number | null; readonly verdict: 'PASS' | 'BELOW' | 'NOT RUN' };
  /** About every run: the largest node PSS any of them reached. */
  readonly memoryTarget: { readonly nodeUnderMb: number; readonly largestNodeMb: number; readonly verdict: 'PASS' | 'ABOVE' | 'NOT MEASURED' };
  /** The floor runs, after Issue on one worker; null when that run was not asked for. */
  readonly floor: FloorReport | null;
}

export const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a';

export function verdict(ratio: number): 'PASS' | 'BELOW' {
  return ratio >= ONE_WORKER_RATIO_TARGET ? 'PASS' : 'BELOW';
}

/** Above this, other processes took a noticeable share of the machine and the run should be repeated. */
const NOISY_OTHER_CORES = 0.25;

/** The block printed after each operation's run. */
export function describeRun(r: RunFigures, raw: RawRsaRates, cores: number): string {
  const info = OPERATION_INFO[r.operation];
  const rate = `${info.units}/s:`;
  const rsaMs = (info.signs * 1000) / raw.signsPerSecond + (info.verifies * 1000) / raw.verifiesPerSecond;
  const rawMs = 1000 / r.rawPerSecond;
  const isTarget = r.operation === 'Issue' && r.workers === 1;
  const lines = [
    `  ${rate.padEnd(22)} ${fmt(r.perSecond, 1)}  (${fmt(r.completed)} ${info.units} in ${fmt(r.seconds, 1)} s, ${r.concurrency} in flight)`,
    ...latencyAndErrorLines(r),
    `  RSS (server):          peak ${fmt(r.peakRssMiB, 1)} MiB since start (sum of VmHWM over ${r.processes} process${r.processes === 1 ? '' : 'es'}); at most ${fmt(r.maxRssDuringMiB, 1)} MiB during this load`,
    `  PSS (server):          at most ${fmt(r.maxPssDuringMiB, 1)} MiB during this load (${fmt(mebibytesToMegabytes(r.maxPssDuringMiB), 1)} MB), shared pages split between the processes: the node's own memory`,
    `  server CPU:            ${fmt(r.serverCpuCores, 2)} cores busy; ${fmt(r.serverCpuMsPerOp, 3)} ms CPU per ${info.unit}, of which ${info.rsaWork} ${fmt(rsaMs, 3)} ms (${fmt((100 * rsaMs) / r.serverCpuMsPerOp, 0)}%)`,
    `  load generator CPU:    ${fmt(r.generatorCpuCores, 2)} cores (of ${cores} on the machine)`,
    otherProcessesLine(r, 'the server'),
    `  per core used:         ${fmt(r.ratioPerCore, 3)} = ${info.units}/s ÷ (${fmt(r.rawPerSecond)} raw ${RAW_UNITS[r.ratioAgainst]}/s × ${fmt(r.coresCounted, 2)} cores: the ${r.workers === 1 ? 'worker' : `${r.workers} workers`}, or the cores the server kept busy if more)` +
      (isTarget ? `   target ≥ ${ONE_WORKER_RATIO_TARGET}: ${verdict(r.ratioPerCore)}` : ''),
    `  CPU-bound ratio:       ${fmt(r.cpuBoundRatio, 3)} = raw ${r.ratioAgainst} time (${fmt(rawMs, 3)} ms) ÷ server CPU per ${info.unit} (what a whole core per worker would give)`,
  ];
  return lines.join('\n');
}

/** The lines every run's block has alike: latency, then errors with a few samples. */
function latencyAndErrorLines(l: LoadFigures): string[] {
  return [
    `  latency:               p50 ${fmt(l.p50Ms, 2)} ms, p99 ${fmt(l.p99Ms, 2)} ms`,
    `  errors:                ${l.errors} in the window (${l.warmupErrors} during warm-up)${l.errorSamples.length ? ` e.g. ${l.errorSamples.join(' | ')}` : ''}`,
  ];
}

/** What the rest of the machine did meanwhile, with a warning when it was busy enough to understate `measured`. */
function otherProcessesLine(c: WindowCpu, measured: string): string {
  return (
    `  other processes:       ${fmt(c.otherCpuCores, 2)} cores busy, steal ${fmt(c.stealCores, 2)}` +
    (c.otherCpuCores > NOISY_OTHER_CORES ? `  ← the machine was not quiet: figures understate ${measured}; rerun` : '')
  );
}

const SIGN_PLACE: Readonly<Record<FloorSignOn, string>> = { 'event-loop': 'event loop', 'thread-pool': 'thread pool' };

/** The block printed after each floor run. */
export function describeFloor(f: FloorFigures, raw: RawRsaRates, replyBytes: number): string {
  const signMs = 1000 / raw.signsPerSecond;
  return [
    `  floor, signing on the ${SIGN_PLACE[f.signOn]} (bare node:https, one RSA signature per request, ${fmt(replyBytes)}-byte replies, no STS):`,
    `  requests/s:            ${fmt(f.perSecond, 1)}  (${fmt(f.completed)} in ${fmt(f.seconds, 1)} s, ${f.concurrency} in flight)`,
    ...latencyAndErrorLines(f),
    `  server CPU:            ${fmt(f.serverCpuCores, 2)} cores busy; ${fmt(f.serverCpuMsPerOp, 3)} ms CPU per request, of which one RSA sign is ${fmt(signMs, 3)} ms (${fmt((100 * signMs) / f.serverCpuMsPerOp, 0)}%)`,
    `  load generator CPU:    ${fmt(f.generatorCpuCores, 2)} cores`,
    otherProcessesLine(f, 'the floor'),
    `  per core used:         ${fmt(f.ratioPerCore, 3)} = requests/s ÷ (${fmt(raw.signsPerSecond)} raw signs/s × ${fmt(f.coresCounted, 2)} cores), as for Issue on one worker`,
    `  CPU-bound ratio:       ${fmt(f.cpuBoundRatio, 3)} = raw sign time (${fmt(signMs, 3)} ms) ÷ server CPU per request`,
  ].join('\n');
}

/** The floor's lines under the summary table: both runs, and how much more Issue costs per token. */
export function floorSummary(floor: FloorReport): string {
  const variant = (f: FloorFigures): string => `${fmt(f.perSecond)}/s, ${fmt(f.serverCpuMsPerOp, 3)} ms CPU per request, ${fmt(f.ratioPerCore, 3)} of raw per core`;
  const issue = floor.issueOneWorker;
  const matching = floorSigningOn(floor, issue.signsOn);
  return [
    `floor (bare HTTPS + one RSA signature per request, no STS): event loop ${variant(floor.eventLoop)}; thread pool ${variant(floor.threadPool)}.`,
    `Issue (1 worker) costs ${fmt(issue.cpuMsAboveFloor, 3)} ms more CPU per token than the floor that signs where it does` +
      ` (${SIGN_PLACE[issue.signsOn]}: ${fmt(issue.cpuMsPerToken, 3)} against ${fmt(matching.serverCpuMsPerOp, 3)} ms).`,
  ].join('\n');
}

export function summaryTable(report: BenchReport): string {
  const header = ['operation', 'workers', 'C', 'per s', 'p50 ms', 'p99 ms', 'errors', 'peak RSS MiB', 'PSS MiB', 'server cores', 'CPU ms/op', 'loadgen cores', 'other cores', 'per core', 'of raw', 'target', 'CPU-bound'];
  const rows = report.runs.map((r) => [
    r.operation,
    String(r.workers),
    String(r.concurrency),
    fmt(r.perSecond, 1),
    fmt(r.p50Ms, 2),
    fmt(r.p99Ms, 2),
    String(r.errors),
    fmt(r.peakRssMiB, 1),
    fmt(r.maxPssDuringMiB, 1),
    fmt(r.serverCpuCores, 2),
    fmt(r.serverCpuMsPerOp, 3),
    fmt(r.generatorCpuCores, 2),
    fmt(r.otherCpuCores, 2),
    fmt(r.ratioPerCore, 3),
    RAW_UNITS[r.ratioAgainst],
    r.operation === 'Issue' && r.workers === 1 ? `≥${ONE_WORKER_RATIO_TARGET} ${verdict(r.ratioPerCore)}` : '-',
    fmt(r.cpuBoundRatio, 3),
  ]);
  return table([header, ...rows]);
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]): string => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/** Writes the figures to bench/results/latest.json; the directory's .gitignore keeps them out of git. */
export function writeResults(repoRoot: string, report: BenchReport): string {
  const dir = join(repoRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, '.gitignore'), '# Benchmark figures are per machine and per run; they are printed by `npm run bench`, not kept.\n*.json\n');
  const file = join(dir, 'latest.json');
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  return file;
}
