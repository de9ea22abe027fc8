// `node dist/bench/profile.js`: runs a one-worker `sts serve` under `node --cpu-prof` while the
// benchmark's load runs, then prints where the server's CPU went. Not part of `npm run bench`:
// profiling slows the server, so its tokens/s are not the benchmark's. BENCH_PROFILE_OP=validate,
// renew or assumerolewithsaml profiles that operation instead of Issue (against a token the server
// issued just before).
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { armWatchdog, envNumber, runTool } from './bench-process';
import { summarizeProfile, type Entry } from './cpu-profile';
import { createBenchInstance, type BenchInstance } from './instance';
import { runLoad } from './load';
import { operationRequests } from './operation-requests';
import { loopbackTarget } from './request-sender';
import { fmt, type BenchOperation } from './report';
import { startSts, type StsProcess } from './server-process';

const REPO_ROOT = resolve(__dirname, '..', '..');
const TOP = Number(process.env['BENCH_PROFILE_TOP'] ?? 30);
const OP = (process.env['BENCH_PROFILE_OP'] ?? 'issue').toLowerCase();
const PROFILED: Readonly<Record<string, BenchOperation>> = { issue: 'Issue', validate: 'Validate', renew: 'Renew', assumerolewithsaml: 'AssumeRoleWithSAML' };

let instance: BenchInstance | undefined;
let profileDir: string | undefined;
let sts: StsProcess | undefined;

async function main(): Promise<void> {
  const seconds = envNumber('BENCH_SECONDS', 10);
  // Start-up, the 2 s warm-up, the load and a profile written at exit, with room to spare.
  armWatchdog('profile', (seconds + 90) * 1000, cleanUp);
  const operation = PROFILED[OP];
  if (operation === undefined) throw new Error(`BENCH_PROFILE_OP must be ${Object.keys(PROFILED).join(', ')} (got "${OP}")`);
  instance = await createBenchInstance();
  profileDir = mkdtempSync(join(tmpdir(), 'trustbridge-profile-'));
  sts = await startSts({
    repoRoot: REPO_ROOT,
    home: instance.home,
    workers: 1,
    tlsCertificatePem: instance.tlsCertificatePem,
    logFile: join(instance.home, 'serve-profile.log'),
    // A finer interval than the 1 ms default: a token costs about half a millisecond.
    nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-interval', '100'],
  });
  const { requests } = await operationRequests(sts.port, instance, [operation]);
  const load = await runLoad({
    ...loopbackTarget(sts.port, instance.tlsCertificatePem),
    request: requests[operation],
    concurrency: 8,
    warmupMs: 2000,
    durationMs: seconds * 1000,
  });
  console.log(`under the profiler: ${OP} ${fmt(load.perSecond, 1)}/s, ${load.errors} errors${load.errorSamples.length ? ` e.g. ${load.errorSamples.join(' | ')}` : ''}`);
  // The profile is written when the server exits cleanly (SIGTERM → process.exit).
  await sts.stop(15_000);
  const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error('the server wrote no .cpuprofile');
  printSummary(join(profileDir, file));
}

function printSummary(file: string): void {
  const s = summarizeProfile(file);
  console.log(`profile: ${fmt(s.totalMs)} ms sampled (whole server lifetime: start-up, warm-up, load, shutdown)`);
  printTop('self time by function', s.selfByFunction, TOP);
  printTop('self time by area', s.selfByArea, 25);
  printTop('inclusive time by function', s.inclusiveByFunction, TOP);
}

function printTop(title: string, entries: readonly Entry[], n: number): void {
  console.log(`\n${title}:`);
  for (const e of entries.slice(0, n)) console.log(`  ${fmt(100 * e.share, 1).padStart(5)}%  ${fmt(e.ms).padStart(7)} ms  ${e.name}`);
}

async function cleanUp(): Promise<void> {
  await sts?.stop(15_000).catch(() => undefined);
  if (profileDir !== undefined) rmSync(profileDir, { recursive: true, force: true });
  instance?.remove();
}

runTool('profile', main, cleanUp);
