// `node dist/bench/profile.js`: runs a one-worker `sts serve` under `node --cpu-prof` while the
// benchmark's load runs, then prints where the server's CPU went. Not part of `npm run bench`:
// profiling slows the server, so its tokens/s are not the benchmark's. BENCH_PROFILE_OP=validate or
// renew profiles that operation instead of Issue (against a token the server issued just before).
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { summarizeProfile, type Entry } from './cpu-profile';
import { createBenchInstance } from './instance';
import {
  buildIssueRequest,
  buildRenewRequest,
  buildValidateRequest,
  cutAssertion,
  ISSUE_PATH,
  RENEW_SUCCESS_MARKERS,
  SUCCESS_MARKER,
  VALID_STATUS_MARKER,
} from './issue-request';
import { postOnce, runLoad } from './load';
import { fmt } from './report';
import { startSts } from './server-process';

const REPO_ROOT = resolve(__dirname, '..', '..');
const TOP = Number(process.env['BENCH_PROFILE_TOP'] ?? 30);
const OP = (process.env['BENCH_PROFILE_OP'] ?? 'issue').toLowerCase();

async function main(): Promise<void> {
  const seconds = Number(process.env['BENCH_SECONDS'] ?? 10);
  const instance = await createBenchInstance();
  const profileDir = mkdtempSync(join(tmpdir(), 'trustbridge-profile-'));
  try {
    const sts = await startSts({
      repoRoot: REPO_ROOT,
      home: instance.home,
      workers: 1,
      tlsCertificatePem: instance.tlsCertificatePem,
      logFile: join(instance.home, 'serve-profile.log'),
      // A finer interval than the 1 ms default: a token costs about half a millisecond.
      nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-interval', '100'],
    });
    try {
      const caller = { to: `https://localhost:${sts.port}${ISSUE_PATH}`, userName: instance.userName, password: instance.password };
      const issueBody = buildIssueRequest({ ...caller, appliesTo: instance.appliesTo });
      let body = issueBody;
      let successMarkers: readonly Buffer[] = [SUCCESS_MARKER];
      if (OP === 'validate' || OP === 'renew') {
        const reply = await postOnce({ host: '127.0.0.1', port: sts.port, path: ISSUE_PATH, body: issueBody, ca: instance.tlsCertificatePem, requestTimeoutMs: 10_000 });
        const assertion = cutAssertion(reply.body);
        body = OP === 'validate' ? buildValidateRequest(caller, assertion) : buildRenewRequest(caller, assertion);
        successMarkers = OP === 'validate' ? [VALID_STATUS_MARKER] : RENEW_SUCCESS_MARKERS;
      } else if (OP !== 'issue') throw new Error(`BENCH_PROFILE_OP must be issue, validate or renew (got "${OP}")`);
      const load = await runLoad({
        host: '127.0.0.1',
        port: sts.port,
        path: ISSUE_PATH,
        body,
        successMarkers,
        ca: instance.tlsCertificatePem,
        concurrency: 8,
        warmupMs: 2000,
        durationMs: seconds * 1000,
        requestTimeoutMs: 10_000,
      });
      console.log(`under the profiler: ${OP} ${fmt(load.perSecond, 1)}/s, ${load.errors} errors${load.errorSamples.length ? ` e.g. ${load.errorSamples.join(' | ')}` : ''}`);
    } finally {
      // The profile is written when the server exits cleanly (SIGTERM → process.exit).
      await sts.stop(15_000);
    }
    const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error('the server wrote no .cpuprofile');
    printSummary(join(profileDir, file));
  } finally {
    rmSync(profileDir, { recursive: true, force: true });
    instance.remove();
  }
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

main().catch((err: unknown) => {
  console.error(`profile: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exitCode = 1;
});
