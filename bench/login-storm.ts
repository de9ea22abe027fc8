// `node dist/bench/login-storm.js`: a storm of first logins against `sts serve` (one worker per core).
// Every Issue comes from another user whose password hash has `sts user add`'s parameters
// (STRONG_SCRYPT), so none is remembered and every request pays a real scrypt check: what a
// morning's first logins, or a password-spraying run, cost a node. Prints the logins per second and
// the node's memory (all its processes' PSS), with the verdict against issue 6's 200 MB.
//
// STORM_USERS (3000: more than a run logs in, so no password is checked twice), STORM_SECONDS (15),
// STORM_CONCURRENCY (16 requests in flight), STORM_WORKERS (one per core), STORM_PASSWORD_CHECKS (sets
// passwordChecks.maxConcurrent; by default the config's own, automatic).
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { hashPassword, STRONG_SCRYPT } from '../src/identity/password-hash';
import { AUTOMATIC_CHECKS_AT_ONCE, checksAtOnce } from '../src/identity/password-check-limiter';
import { readConfigFile } from '../src/instance/config-file';
import { openInstance } from '../src/instance/open-instance';
import { armWatchdog, envNumber, runTool } from './bench-process';
import { createBenchInstance, updateConfig, type BenchInstance } from './instance';
import { buildIssueRequest, ISSUE_PATH, SUCCESS_MARKER } from './issue-request';
import { fmt, mebibytesToMegabytes, NODE_MEMORY_TARGET_MB } from './report';
import { runLoad, type LoadResult } from './load';
import { loopbackTarget } from './request-sender';
import { RssMonitor } from './rss-monitor';
import { startSts, type StsProcess } from './server-process';

const REPO_ROOT = resolve(__dirname, '..', '..');
const PASSWORD = 'storm-password-not-a-secret';
const EMAIL = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress';

let instance: BenchInstance | undefined;
let sts: StsProcess | undefined;

async function main(): Promise<void> {
  const users = Math.round(envNumber('STORM_USERS', 3000));
  const seconds = envNumber('STORM_SECONDS', 15);
  const concurrency = Math.round(envNumber('STORM_CONCURRENCY', 16));
  const workers = Math.round(envNumber('STORM_WORKERS', availableParallelism()));
  armWatchdog('login-storm', (seconds + 120) * 1000, cleanUp);
  const checksSetting = process.env['STORM_PASSWORD_CHECKS'];
  instance = await createBenchInstance();
  if (checksSetting !== undefined && checksSetting !== '') {
    updateConfig(instance.home, (config) => ({ ...config, passwordChecks: { ...(config['passwordChecks'] as object), maxConcurrent: Number(checksSetting) } }));
  }
  await addStormUsers(instance.home, users);
  const configured = readConfigFile(instance.home).passwordChecks.maxConcurrent;
  const share = checksAtOnce(configured, availableParallelism(), workers);
  const atOnce = configured === AUTOMATIC_CHECKS_AT_ONCE ? `automatic: ${share} per worker` : `${configured} per worker`;
  console.log(`Trustbridge login storm: ${users} users with STRONG_SCRYPT hashes, each Issue another user's first login`);
  console.log(`server: sts serve --workers ${workers}; password checks at once: ${atOnce} (passwordChecks.maxConcurrent)`);
  sts = await startSts({ repoRoot: REPO_ROOT, home: instance.home, workers, tlsCertificatePem: instance.tlsCertificatePem, logFile: join(instance.home, 'serve.log') });
  const { load, nodePssMb } = await storm(sts, instance, users, seconds, concurrency);
  const failed = load.errors + load.warmupErrors;
  console.log(
    `first logins: ${load.completed} in ${fmt(load.seconds)} s after 1 s not counted (${fmt(load.perSecond, 1)}/s, p99 ${fmt(load.p99Ms, 1)} ms), ` +
      `${failed} failed${load.errorSamples.length ? `, e.g. ${load.errorSamples.join(' | ')}` : ''}`,
  );
  console.log(`memory: the node's PSS at most ${fmt(nodePssMb, 1)} MB (${sts.pids().length} processes)`);
  const pass = failed === 0 && nodePssMb < NODE_MEMORY_TARGET_MB;
  console.log(`${pass ? 'PASS' : 'FAIL'}  no errors, and memory per node < ${NODE_MEMORY_TARGET_MB} MB during a storm of first logins`);
  if (!pass) process.exitCode = 1;
}

/** Adds `count` users sharing one STRONG_SCRYPT hash: each name's first login still pays the full check. */
async function addStormUsers(home: string, count: number): Promise<void> {
  const hash = await hashPassword(PASSWORD, STRONG_SCRYPT);
  const opened = await openInstance(home);
  try {
    for (let n = 0; n < count; n++) {
      await opened.store.users.add({ name: stormUser(n), passwordHash: hash, sealedPassword: null, claims: [{ name: EMAIL, value: stormUser(n) }], createdAt: new Date() });
    }
  } finally {
    await opened.close();
  }
}

const stormUser = (n: number): string => `storm-${n}@trustbridge.localhost`;

interface StormResult {
  readonly load: LoadResult;
  readonly nodePssMb: number;
}

/** Closed loop (bench/load.ts): each send the next user's Issue, the node's memory sampled over the window. */
async function storm(server: StsProcess, inst: BenchInstance, users: number, seconds: number, concurrency: number): Promise<StormResult> {
  const monitor = new RssMonitor(() => server.pids());
  let next = 0;
  const to = `https://localhost:${server.port}${ISSUE_PATH}`;
  let load: LoadResult;
  try {
    load = await runLoad({
      ...loopbackTarget(server.port, inst.tlsCertificatePem),
      request: () => ({
        path: ISSUE_PATH,
        body: buildIssueRequest({ to, userName: stormUser(next++ % users), password: PASSWORD, appliesTo: inst.appliesTo }),
        markers: [SUCCESS_MARKER],
      }),
      concurrency,
      warmupMs: 1000,
      durationMs: seconds * 1000,
      onWindowStart: () => monitor.start(500),
    });
  } finally {
    await monitor.stop();
  }
  return { load, nodePssMb: mebibytesToMegabytes(monitor.serverPssMb()) };
}

async function cleanUp(): Promise<void> {
  await sts?.stop(15_000).catch(() => undefined);
  instance?.remove();
}

runTool('login-storm', main, cleanUp);
