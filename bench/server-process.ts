import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface StartOptions {
  readonly repoRoot: string;
  readonly home: string;
  readonly workers: number;
  readonly tlsCertificatePem: string;
  /** Where the server's stdout and stderr go: a file, so the load generator spends no CPU draining the log. */
  readonly logFile: string;
  /** Extra arguments for node itself (e.g. --cpu-prof), placed before the script. */
  readonly nodeArgs?: readonly string[];
  readonly readyTimeoutMs?: number;
}

/** A running `sts serve` started by the benchmark. */
export interface StsProcess {
  readonly pid: number;
  readonly port: number;
  /** The primary and, in cluster mode, its worker processes. */
  pids(): number[];
  stop(timeoutMs?: number): Promise<void>;
}

const HOST = '127.0.0.1';
const START_ATTEMPTS = 3;

/**
 * Starts `node bin/sts.js serve` on a free loopback port. `--port 0` cannot be used: each cluster
 * worker would bind its own random port. So we pick a port, and retry if someone took it meanwhile.
 */
export async function startSts(options: StartOptions): Promise<StsProcess> {
  let lastError: unknown;
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    const port = await freeLoopbackPort();
    try {
      return await startOnPort(options, port);
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

async function startOnPort(options: StartOptions, port: number): Promise<StsProcess> {
  const logFd = openSync(options.logFile, 'w');
  const args = [
    ...(options.nodeArgs ?? []),
    join(options.repoRoot, 'bin', 'sts.js'),
    'serve',
    '--home', options.home,
    '--workers', String(options.workers),
    '--port', String(port),
  ];
  const child = spawn(process.execPath, args, { cwd: options.repoRoot, stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const sts = stsProcess(child, port, exited);
  try {
    await waitUntilReady(options, port, exited, options.readyTimeoutMs ?? 30_000);
    return sts;
  } catch (err) {
    await sts.stop();
    throw err;
  }
}

function stsProcess(child: ChildProcess, port: number, exited: Promise<void>): StsProcess {
  const pid = child.pid;
  if (pid === undefined) throw new Error('the STS process could not be started');
  return {
    pid,
    port,
    pids: () => [pid, ...childPids(pid)],
    stop: (timeoutMs = 5000) => stopProcess(child, pid, exited, timeoutMs),
  };
}

/**
 * SIGTERM lets the primary disconnect its workers and close cleanly; SIGKILL follows if it hangs.
 * Any server the bench started (the STS, the floor) is stopped so.
 */
export async function stopProcess(child: ChildProcess, pid: number, exited: Promise<void>, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const workers = childPids(pid);
  child.kill('SIGTERM');
  const timedOut = await Promise.race([exited.then(() => false), sleep(timeoutMs).then(() => true)]);
  if (timedOut) child.kill('SIGKILL');
  // Workers whose primary was killed would otherwise linger; these are pids we started (via the primary).
  for (const w of workers) {
    try {
      process.kill(w, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await exited;
}

/** Waits for the "listening" line in the log, then for /healthz to answer 200. */
async function waitUntilReady(options: StartOptions, port: number, exited: Promise<void>, timeoutMs: number): Promise<void> {
  let hasExited = false;
  void exited.then(() => (hasExited = true));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (hasExited) throw new Error(`the STS exited before it was ready:\n${tail(options.logFile)}`);
    if (readFileSync(options.logFile, 'utf8').includes(' listening on ') && (await healthy(port, options.tlsCertificatePem))) {
      return;
    }
    await sleep(100);
  }
  throw new Error(`the STS was not ready within ${timeoutMs} ms:\n${tail(options.logFile)}`);
}

function healthy(port: number, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      { host: HOST, port, path: '/healthz', method: 'GET', ca, servername: 'localhost', agent: false, timeout: 2000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
    req.end();
  });
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Asks the kernel for a free port by binding port 0, then releases it for the STS to take. */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Direct children of a process (the cluster workers of a primary); pgrep exits 1 when there are none. */
export function childPids(pid: number): number[] {
  try {
    const out = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return out.split('\n').filter((l) => l.trim() !== '').map(Number);
  } catch {
    return [];
  }
}

/** A process's resident set now (VmRSS) and its peak since it started (VmHWM), in kB; undefined once gone. */
export function procMemoryKb(pid: number): { rssKb: number; peakKb: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string): number | undefined => {
      const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
      return match ? Number(match[1]) : undefined;
    };
    const rssKb = field('VmRSS');
    return rssKb === undefined ? undefined : { rssKb, peakKb: field('VmHWM') ?? rssKb };
  } catch {
    return undefined;
  }
}

/**
 * A process's proportional set size (PSS): its resident pages, each shared page divided by the
 * processes that map it. Summed over a cluster's processes it counts the Node binary's pages and
 * the primary's copied-on-fork pages once, where a sum of RSS counts them once per process.
 * Read on libuv's thread pool: for smaps_rollup the kernel walks the process's page tables, 1-7 ms
 * for a loaded worker (measured), which read synchronously would stall the caller's event loop.
 */
export async function procPssKb(pid: number): Promise<number | undefined> {
  try {
    const match = /^Pss:\s+(\d+) kB/m.exec(await readFile(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

let ticksPerSecond: number | undefined;

/** The kernel's clock tick (USER_HZ) that /proc CPU times are counted in; asked once. */
export function clockTicksPerSecond(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticksPerSecond;
}

/** CPU seconds a server's processes (the primary and its workers) have used so far, together. */
export function serverCpuSeconds(sts: Pick<StsProcess, 'pids'>): number {
  return cpuSecondsOf(sts.pids());
}

/** CPU seconds these processes have used so far, together (one that has gone counts nothing). */
export function cpuSecondsOf(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + (procCpuSeconds(pid) ?? 0), 0);
}

/** User + system CPU seconds a process has used so far, from /proc/PID/stat (fields 14 and 15). */
function procCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the numeric fields start after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond();
  } catch {
    return undefined;
  }
}
