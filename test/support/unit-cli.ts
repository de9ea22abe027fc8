// Runs the real `sts` command (bin/sts.js over dist/) as a child process, for the CLI tests.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { basename, resolve } from 'node:path';

/** bin/sts.js, found from dist/test/support/ (compiled) or test/support/ (source). */
export const STS_BIN = resolve(__dirname, basename(resolve(__dirname, '../..')) === 'dist' ? '../../../bin/sts.js' : '../../bin/sts.js');

export interface CliResult {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The environment a child gets: ours, without anything that would point it at another instance or
 * key, plus `extra` (where a variable is undefined, the child does not get it).
 */
export function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env['STS_HOME'];
  delete env['STS_MASTER_KEY'];
  delete env['NODE_OPTIONS'];
  return env;
}

/** Runs `sts ARGS` to completion (bounded), with `input` on stdin. */
export function runSts(args: readonly string[], options: { input?: string; timeoutMs?: number } = {}): CliResult {
  const run = spawnSync(process.execPath, [STS_BIN, ...args], {
    input: options.input ?? '',
    encoding: 'utf8',
    env: cliEnv(),
    timeout: options.timeoutMs ?? 30_000,
    killSignal: 'SIGKILL',
  });
  if (run.error) throw run.error;
  return { status: run.status, signal: run.signal, stdout: run.stdout, stderr: run.stderr };
}

export interface AsyncRunOptions {
  /** Variables added to the child's environment (see cliEnv). */
  readonly env?: Record<string, string | undefined>;
  /** Standard input; the child reads end-of-file after it (or at once). */
  readonly input?: string;
  /** The child is killed and the run fails after this long (default 60 s). */
  readonly timeoutMs?: number;
}

/**
 * Runs `sts ARGS` to completion as a child process without blocking this one: the server under test
 * often runs in this process, and a synchronous spawn would keep it from answering. Resolves however
 * the command ends; rejects when it cannot start, outlives `timeoutMs`, or prints more than 64 MiB.
 */
export function runStsAsync(args: readonly string[], options: AsyncRunOptions = {}): Promise<CliResult> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise((resolveRun, reject) => {
    const child = execFile(
      process.execPath,
      [STS_BIN, ...args],
      { encoding: 'utf8', env: cliEnv(options.env), timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err === null) resolveRun({ status: 0, signal: null, stdout, stderr });
        else if (typeof err.code === 'number') resolveRun({ status: err.code, signal: null, stdout, stderr });
        else if (err.killed) reject(new Error(`sts ${args[0] ?? ''} did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
        else if (err.signal) resolveRun({ status: null, signal: err.signal, stdout, stderr });
        else reject(err);
      },
    );
    child.stdin?.end(options.input ?? '');
  });
}

/** A free TCP port on loopback (closed again before it is returned). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** The direct children of a process, by pgrep -P. */
export function childPids(pid: number): number[] {
  const run = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' });
  return run.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map(Number);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** What `sts serve` prints once it listens; the first group is the number of workers. */
export const SERVE_READY = /listening on https:\/\/\S+ \((\d+) workers?\)/;

/** A running `sts serve` (or any long-lived sts command). */
export class StsProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exited: Promise<void>;
  private readonly watchers: Array<() => void> = [];

  /** `nodeArgs`: options for node itself, before the script (as an operator's `node --… sts.js serve`). */
  constructor(args: readonly string[], env: Record<string, string> = {}, nodeArgs: readonly string[] = []) {
    this.child = spawn(process.execPath, [...nodeArgs, STS_BIN, ...args], { env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      this.stdout += d;
      this.notify();
    });
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
      this.notify();
    });
    this.exited = new Promise((done) => {
      this.child.once('close', (code, signal) => {
        this.exit = { code, signal };
        this.notify();
        done();
      });
    });
    LIVE.add(this);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  private notify(): void {
    for (const w of this.watchers.splice(0)) w();
  }

  /** Resolves when stdout matches `pattern`; rejects on exit or timeout, with what was printed. */
  waitForOutput(pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    return this.waitUntil(() => this.stdout.match(pattern) ?? undefined, String(pattern), timeoutMs);
  }

  /** Resolves with the stdout lines containing `marker` once there are at least `count`; rejects on exit or timeout. */
  waitForLines(marker: string, count: number, timeoutMs = 10_000): Promise<string[]> {
    return this.waitUntil(
      () => {
        const lines = this.stdout.split('\n').filter((l) => l.includes(marker));
        return lines.length >= count ? lines : undefined;
      },
      `${count} lines with ${marker}`,
      timeoutMs,
    );
  }

  /** Resolves with what `found` returns once it returns something, looking again at each output. */
  private async waitUntil<T>(found: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const result = found();
      if (result !== undefined) return result;
      if (this.exit) throw new Error(`sts exited (${JSON.stringify(this.exit)}) before printing ${what}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`);
      await new Promise<void>((wake) => {
        const timer = setTimeout(wake, Math.min(left, 250));
        this.watchers.push(() => {
          clearTimeout(timer);
          wake();
        });
      });
    }
  }

  /** Resolves with the exit once the process has ended; rejects after `timeoutMs`. */
  async waitForExit(timeoutMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.exited,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`sts did not exit within ${timeoutMs} ms\nstdout: ${this.stdout}\nstderr: ${this.stderr}`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
    return this.exit as { code: number | null; signal: NodeJS.Signals | null };
  }

  /** SIGKILLs the process and its children (workers), whatever state they are in. */
  forceKill(): void {
    if (this.exit) return;
    for (const pid of childPids(this.pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    this.child.kill('SIGKILL');
  }
}

const LIVE = new Set<StsProcess>();

/** Kills every StsProcess still running and waits for them; for after/afterEach hooks. */
export async function killAllStsProcesses(): Promise<void> {
  const running = [...LIVE];
  LIVE.clear();
  for (const p of running) p.forceKill();
  await Promise.all(running.map((p) => p.waitForExit(5_000).catch(() => undefined)));
}
