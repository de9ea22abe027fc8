import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ScryptParameters } from '../src/identity/password-hash';
import type { RawRsaRates } from './raw-rsa';

/** The issue's target: one worker must turn at least half of the raw signing rate into tokens. */
export const ONE_WORKER_RATIO_TARGET = 0.5;

export interface RunFigures {
  readonly workers: number;
  readonly concurrency: number;
  readonly seconds: number;
  readonly completed: number;
  readonly tokensPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly warmupErrors: number;
  readonly errorSamples: readonly string[];
  /** Sum over the primary and workers of each process's peak resident set (VmHWM). */
  readonly peakRssMiB: number;
  readonly processes: number;
  /** Cores the server processes kept busy in the window (CPU seconds / wall seconds). */
  readonly serverCpuCores: number;
  /** Server CPU time per token (all processes, threads included). */
  readonly serverCpuMsPerToken: number;
  readonly generatorCpuCores: number;
  /** Cores kept busy by everything else on the machine in the window (from /proc/stat). */
  readonly otherCpuCores: number;
  readonly stealCores: number;
  /** tokens/s ÷ (raw signs/s × workers). */
  readonly ratioPerCore: number;
  /**
   * Raw sign time ÷ server CPU time per token: the ratio the server would reach with every worker on
   * a core of its own. Less sensitive than ratioPerCore to other load on a shared machine.
   */
  readonly cpuBoundRatio: number;
}

export interface BenchReport {
  readonly when: string;
  readonly machine: { readonly cores: number; readonly cpuModel: string; readonly node: string; readonly platform: string };
  readonly benchUserScrypt: ScryptParameters;
  readonly rawRsa: RawRsaRates & { readonly seconds: number; readonly otherCpuCores: number };
  readonly settings: { readonly seconds: number; readonly warmupSeconds: number; readonly concurrencyPerWorker: number; readonly logLevel: string };
  readonly runs: readonly RunFigures[];
  readonly target: { readonly oneWorkerRatioAtLeast: number; readonly oneWorkerRatio: number | null; readonly verdict: 'PASS' | 'BELOW' | 'NOT RUN' };
}

export const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a';

export function verdict(ratio: number): 'PASS' | 'BELOW' {
  return ratio >= ONE_WORKER_RATIO_TARGET ? 'PASS' : 'BELOW';
}

/** The block printed after each worker count's run. */
/** Above this, other processes took a noticeable share of the machine and the run should be repeated. */
const NOISY_OTHER_CORES = 0.25;

export function describeRun(r: RunFigures, raw: RawRsaRates, cores: number): string {
  const cpuPerTokenMs = r.serverCpuMsPerToken;
  const signMs = 1000 / raw.signsPerSecond;
  const lines = [
    `  tokens/s:              ${fmt(r.tokensPerSecond, 1)}  (${fmt(r.completed)} tokens in ${fmt(r.seconds, 1)} s, ${r.concurrency} in flight)`,
    `  latency:               p50 ${fmt(r.p50Ms, 2)} ms, p99 ${fmt(r.p99Ms, 2)} ms`,
    `  errors:                ${r.errors} in the window (${r.warmupErrors} during warm-up)${r.errorSamples.length ? ` e.g. ${r.errorSamples.join(' | ')}` : ''}`,
    `  peak RSS (server):     ${fmt(r.peakRssMiB, 1)} MiB over ${r.processes} process${r.processes === 1 ? '' : 'es'} (sum of VmHWM)`,
    `  server CPU:            ${fmt(r.serverCpuCores, 2)} cores busy; ${fmt(cpuPerTokenMs, 3)} ms CPU per token, of which one RSA sign is ${fmt(signMs, 3)} ms (${fmt((100 * signMs) / cpuPerTokenMs, 0)}%)`,
    `  load generator CPU:    ${fmt(r.generatorCpuCores, 2)} cores (of ${cores} on the machine)`,
    `  other processes:       ${fmt(r.otherCpuCores, 2)} cores busy, steal ${fmt(r.stealCores, 2)}` +
      (r.otherCpuCores > NOISY_OTHER_CORES ? '  ← the machine was not quiet: figures understate the server; rerun' : ''),
    `  per core used:         ${fmt(r.ratioPerCore, 3)} = tokens/s ÷ (${fmt(raw.signsPerSecond)} raw signs/s × ${r.workers})` +
      (r.workers === 1 ? `   target ≥ ${ONE_WORKER_RATIO_TARGET}: ${verdict(r.ratioPerCore)}` : ''),
    `  CPU-bound ratio:       ${fmt(r.cpuBoundRatio, 3)} = raw sign time ÷ server CPU per token (what a whole core per worker would give)`,
  ];
  return lines.join('\n');
}

export function summaryTable(report: BenchReport): string {
  const header = ['workers', 'C', 'tokens/s', 'p50 ms', 'p99 ms', 'errors', 'peak RSS MiB', 'server cores', 'CPU ms/token', 'loadgen cores', 'other cores', 'per core', 'target', 'CPU-bound'];
  const rows = report.runs.map((r) => [
    String(r.workers),
    String(r.concurrency),
    fmt(r.tokensPerSecond, 1),
    fmt(r.p50Ms, 2),
    fmt(r.p99Ms, 2),
    String(r.errors),
    fmt(r.peakRssMiB, 1),
    fmt(r.serverCpuCores, 2),
    fmt(r.serverCpuMsPerToken, 3),
    fmt(r.generatorCpuCores, 2),
    fmt(r.otherCpuCores, 2),
    fmt(r.ratioPerCore, 3),
    r.workers === 1 ? `≥${ONE_WORKER_RATIO_TARGET} ${verdict(r.ratioPerCore)}` : '-',
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
