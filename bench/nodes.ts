// `node dist/bench/nodes.js`: Issue throughput of one `sts serve` node on a PostgreSQL store, then
// of two nodes on the same database with the load split across both (one worker each), and where
// the CPU went in each run: the nodes, PostgreSQL (all its processes), the load generator and the
// rest of the machine. Two nodes can only reach twice one node's rate if the machine has the cores
// for a second node AND for the extra database and generator work; the CPU table says whether it did.
//
// It starts a private PostgreSQL cluster (the tests' own, test/support/postgres.ts: initdb in a temp
// directory, loopback, a free port; fsync off since the data is thrown away) and gives the benchmark
// database synchronous_commit on, PostgreSQL's default, so commits wait for the WAL as in production.
// BENCH_SECONDS (15) measured after BENCH_WARMUP_SECONDS (3) per run; BENCH_CONCURRENCY_PER_NODE (8).
import { cpSync, mkdirSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { createTestDatabase, type TestDatabase } from '../test/support/postgres';
import { createBenchInstance, type BenchInstance } from './instance';
import { runLoad, type LoadResult } from './load';
import { machineCpu, otherCores } from './machine';
import { issueRequest } from './operation-requests';
import { loopbackTarget } from './request-sender';
import { fmt } from './report';
import { childPids, cpuSecondsOf, serverCpuSeconds, startSts, type StsProcess } from './server-process';
import { armWatchdog, envNumber, runTool } from './bench-process';

const REPO_ROOT = resolve(__dirname, '..', '..');

interface Settings {
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly concurrencyPerNode: number;
}

/** CPU cores each party used during one measured window. */
interface CpuShares {
  readonly nodes: number[];
  readonly postgres: number;
  readonly generator: number;
  /** Everything else on the machine (other processes), from /proc/stat. */
  readonly other: number;
}

interface RunFigures {
  readonly label: string;
  readonly perNode: number[];
  readonly total: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly cpu: CpuShares;
}

const started: StsProcess[] = [];
let db: TestDatabase | undefined;
let instance: BenchInstance | undefined;

async function main(): Promise<void> {
  const settings: Settings = {
    seconds: envNumber('BENCH_SECONDS', 15),
    warmupSeconds: envNumber('BENCH_WARMUP_SECONDS', 3),
    concurrencyPerNode: Math.round(envNumber('BENCH_CONCURRENCY_PER_NODE', 8)),
  };
  const cores = availableParallelism();
  armWatchdog('nodes bench', watchdogLimitMs(settings), cleanUp);
  console.log(`Trustbridge nodes benchmark: WS-Trust 1.3 Issue, one node then two nodes (1 worker each) on one PostgreSQL`);
  console.log(`machine: ${cores} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}`);
  db = await createTestDatabase();
  await db.query(`ALTER DATABASE ${db.name} SET synchronous_commit = on`);
  const postmaster = await postmasterPid(db);
  console.log(`PostgreSQL: private cluster on 127.0.0.1:${db.port} (postmaster pid ${postmaster}), database ${db.name}, synchronous_commit on, fsync off`);
  process.env['STS_PG_PASSWORD'] = db.password;
  instance = await createBenchInstance({ postgresUrl: db.url });
  const homes = [instance.home, copyNode(instance.home, 'node-2')];

  const startNode = async (i: number): Promise<StsProcess> => {
    const home = homes[i] as string;
    const sts = await startSts({ repoRoot: REPO_ROOT, home, workers: 1, tlsCertificatePem: (instance as BenchInstance).tlsCertificatePem, logFile: join(home, `serve-${i + 1}.log`) });
    started.push(sts);
    return sts;
  };
  const first = await startNode(0);
  const one = await measure('1 node', [first], instance, settings, postmaster);
  const second = await startNode(1);
  const two = await measure('2 nodes', [first, second], instance, settings, postmaster);

  console.log(`\n${'run'.padEnd(8)} ${'tokens/s'.padStart(9)}  ${'per node'.padEnd(16)} ${'p99 ms'.padStart(7)} ${'errors'.padStart(6)}   CPU cores: nodes | postgres | generator | other | total`);
  for (const r of [one, two]) {
    const c = r.cpu;
    const total = c.nodes.reduce((a, b) => a + b, 0) + c.postgres + c.generator + c.other;
    console.log(
      `${r.label.padEnd(8)} ${fmt(r.total).padStart(9)}  ${r.perNode.map((n) => fmt(n)).join(' + ').padEnd(16)} ${fmt(r.p99Ms, 1).padStart(7)} ${String(r.errors).padStart(6)}   ` +
        `${c.nodes.map((n) => fmt(n, 2)).join(' + ')} | ${fmt(c.postgres, 2)} | ${fmt(c.generator, 2)} | ${fmt(c.other, 2)} | ${fmt(total, 2)} of ${cores}`,
    );
  }
  const ratio = two.total / one.total;
  console.log(`\nratio 2 nodes / 1 node: ${fmt(ratio, 2)} (target ≥ 1.6 when CPU allows)`);
  const perToken = (r: RunFigures): number => ((r.cpu.nodes.reduce((a, b) => a + b, 0) + r.cpu.postgres + r.cpu.generator) * 1000) / r.total;
  console.log(
    `CPU per token (nodes + PostgreSQL + generator): ${fmt(perToken(one), 2)} ms with 1 node, ${fmt(perToken(two), 2)} ms with 2; ` +
      `at that cost ${cores} cores allow at most ${fmt((cores * 1000) / perToken(two))} tokens/s, ${fmt((cores * 1000) / perToken(two) / one.total, 2)}× one node's rate`,
  );
}

/** The postmaster: the parent of our own backend. */
async function postmasterPid(database: TestDatabase): Promise<number> {
  // This connection's backend, read while the connection is open (it exits with it); its parent is the postmaster.
  const client = new Client({ host: database.host, port: database.port, user: database.user, password: database.password, database: database.name });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const stat = readFileSync(`/proc/${rows[0]?.pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } finally {
    await client.end();
  }
}

/** A second node's directory: the same config, master key and TLS files (as `sts init` output copied to another host). */
function copyNode(home: string, name: string): string {
  const other = join(home, name);
  mkdirSync(other, { mode: 0o700 });
  for (const part of ['config.json', 'master.key', 'tls']) cpSync(join(home, part), join(other, part), { recursive: true });
  return other;
}

/** Closed-loop Issue against every node at once (its own connections each); the CPU each party used in the window. */
async function measure(label: string, nodes: readonly StsProcess[], inst: BenchInstance, settings: Settings, postmaster: number): Promise<RunFigures> {
  console.log(`\n--- ${label}: ${settings.concurrencyPerNode} requests in flight per node, ${settings.warmupSeconds} s warm-up + ${settings.seconds} s ---`);
  const windows = nodes.map(() => ({ start: 0, end: 0 }));
  let postgresStart = 0;
  let postgresEnd = 0;
  let machineStart: ReturnType<typeof machineCpu>;
  let machineEnd: ReturnType<typeof machineCpu>;
  let wallStart = 0;
  let wallEnd = 0;
  const postgresPids = (): number[] => [postmaster, ...childPids(postmaster)];
  const loads: LoadResult[] = await Promise.all(
    nodes.map((sts, i) =>
      runLoad({
        ...loopbackTarget(sts.port, inst.tlsCertificatePem),
        request: issueRequest(sts.port, inst),
        concurrency: settings.concurrencyPerNode,
        warmupMs: settings.warmupSeconds * 1000,
        durationMs: settings.seconds * 1000,
        // Every node's window opens and closes on the same timers, so the first one samples the shared parties.
        onWindowStart: () => {
          (windows[i] as { start: number }).start = serverCpuSeconds(sts);
          if (i === 0) {
            postgresStart = cpuSecondsOf(postgresPids());
            machineStart = machineCpu();
            wallStart = performance.now();
          }
        },
        onWindowEnd: () => {
          (windows[i] as { end: number }).end = serverCpuSeconds(sts);
          if (i === 0) {
            postgresEnd = cpuSecondsOf(postgresPids());
            machineEnd = machineCpu();
            wallEnd = performance.now();
          }
        },
      }),
    ),
  );
  const wall = (wallEnd - wallStart) / 1000;
  const nodeCores = windows.map((w) => (w.end - w.start) / wall);
  const postgres = (postgresEnd - postgresStart) / wall;
  // Each load run measured its own share of this process's CPU over the same window: one process, so one figure.
  const generator = (loads[0] as LoadResult).generatorCpuCores;
  const { other } = otherCores(machineStart, machineEnd, wall, nodeCores.reduce((a, b) => a + b, 0) + postgres + generator);
  for (const [i, l] of loads.entries()) {
    console.log(`  node ${i + 1}: ${fmt(l.perSecond, 1)} tokens/s, p50 ${fmt(l.p50Ms, 1)} ms, p99 ${fmt(l.p99Ms, 1)} ms, errors ${l.errors}${l.errorSamples.length ? ` (${l.errorSamples.join('; ')})` : ''}`);
  }
  return {
    label,
    perNode: loads.map((l) => l.perSecond),
    total: loads.reduce((a, l) => a + l.perSecond, 0),
    p99Ms: Math.max(...loads.map((l) => l.p99Ms)),
    errors: loads.reduce((a, l) => a + l.errors, 0),
    cpu: { nodes: nodeCores, postgres, generator, other },
  };
}

/** How long the whole run may take before the watchdog stops it: well beyond what it should need. */
function watchdogLimitMs(settings: Settings): number {
  return ((settings.seconds + settings.warmupSeconds) * 2 + 180) * 1000;
}

async function cleanUp(): Promise<void> {
  for (const sts of started.splice(0)) await sts.stop(2000).catch(() => undefined);
  await db?.drop().catch(() => undefined);
  db = undefined;
  instance?.remove();
  instance = undefined;
}

runTool('nodes bench', main, cleanUp);
