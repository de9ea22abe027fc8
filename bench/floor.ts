import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { readConfigFile } from '../src/instance/config-file';
import { isEncryptedPem } from '../src/instance/tls-credentials';
import { inHome } from '../src/instance/paths';
import { cpuWindow } from './cpu-window';
import { FLOOR_REPLY_MARKER } from './floor-reply';
import type { FloorSignOn } from './floor-server';
import { runLoad } from './load';
import { loadFigures, type FloorFigures } from './report';
import { loopbackTarget, postOnce, type BenchRequest } from './request-sender';
import { stopProcess } from './server-process';

// The floor run of `npm run bench`: bench/floor-server.ts started as a process of its own, driven by
// the same load generator as the STS and measured the same way (its CPU from /proc, over the window).

/** A running floor server. */
export interface FloorProcess {
  readonly pid: number;
  readonly port: number;
  stop(): Promise<void>;
}

export interface FloorStartOptions {
  readonly tlsCertificateFile: string;
  readonly tlsKeyFile: string;
  readonly replyBytes: number;
  readonly signOn: FloorSignOn;
  /** Where its stderr goes (a failure to start is reported from it). */
  readonly logFile: string;
  readonly readyTimeoutMs?: number;
}

const READY_LINE = /^floor listening on [\d.]+:(\d+)$/m;

/** Starts the floor server and waits for the port it prints. */
export async function startFloorServer(o: FloorStartOptions): Promise<FloorProcess> {
  const logFd = openSync(o.logFile, 'w');
  const args = [
    join(__dirname, 'floor-server.js'),
    '--tls-certificate', o.tlsCertificateFile,
    '--tls-key', o.tlsKeyFile,
    '--reply-bytes', String(o.replyBytes),
    '--sign-on', o.signOn,
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', logFd] });
  closeSync(logFd);
  const { pid, stdout } = child;
  if (pid === undefined || stdout === null) throw new Error('the floor server could not be started');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = (): Promise<void> => stopProcess(child, pid, exited, 5000);
  try {
    const port = await portPrinted(stdout, exited, o.readyTimeoutMs ?? 15_000);
    return { pid, port, stop };
  } catch (err) {
    await stop();
    throw new Error(`the floor server did not start: ${err instanceof Error ? err.message : String(err)}\n${readFileSync(o.logFile, 'utf8').trim()}`);
  }
}

function portPrinted(stdout: Readable, exited: Promise<void>, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let printed = '';
    const timer = setTimeout(() => reject(new Error(`no port printed within ${timeoutMs} ms`)), timeoutMs);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error('it exited'));
    });
    stdout.on('data', (chunk: Buffer) => {
      printed += chunk.toString('utf8');
      const match = READY_LINE.exec(printed);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
  });
}

/** The bench instance's TLS certificate and key files, which the floor server serves with as the STS does. */
export function instanceTlsFiles(home: string): { certificateFile: string; keyFile: string } {
  const { tls } = readConfigFile(home);
  const keyFile = inHome(home, tls.privateKeyFile);
  // The bench instance's key is the plain PEM `sts init` writes; a passphrase would have to reach the floor server too.
  if (isEncryptedPem(readFileSync(keyFile, 'utf8'))) throw new Error(`the floor run needs a plain PEM TLS key; ${keyFile} is encrypted`);
  return { certificateFile: inHome(home, tls.certificateFile), keyFile };
}

/** The size of one real Issue reply from the STS at `port`: the floor's replies are made as large. */
export async function issueReplyBytes(port: number, tlsCertificatePem: string, issue: BenchRequest): Promise<number> {
  const reply = await postOnce(loopbackTarget(port, tlsCertificatePem), issue);
  if (reply.status !== 200) throw new Error(`the Issue that sizes the floor's replies failed with HTTP ${reply.status}: ${reply.body.slice(0, 500)}`);
  return Buffer.byteLength(reply.body);
}

export interface FloorRun {
  /** The Issue request, replayed unchanged so the floor reads as many bytes per request as the STS. */
  readonly request: BenchRequest;
  readonly tlsCertificatePem: string;
  readonly concurrency: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
  readonly rawSignsPerSecond: number;
}

/** One load run against a floor server, with its CPU per request and its ratio taken as Issue's are. */
export async function measureFloor(floor: FloorProcess, signOn: FloorSignOn, run: FloorRun): Promise<FloorFigures> {
  const cpu = cpuWindow(() => [floor.pid]);
  const load = await runLoad({
    ...loopbackTarget(floor.port, run.tlsCertificatePem),
    request: { ...run.request, markers: [FLOOR_REPLY_MARKER] },
    concurrency: run.concurrency,
    warmupMs: run.warmupSeconds * 1000,
    durationMs: run.seconds * 1000,
    ...cpu.hooks,
  });
  const used = cpu.figures(load);
  const coresCounted = Math.max(1, used.serverCpuCores);
  return {
    signOn,
    concurrency: run.concurrency,
    ...loadFigures(load),
    ...used,
    coresCounted,
    ratioPerCore: load.perSecond / (run.rawSignsPerSecond * coresCounted),
    cpuBoundRatio: 1000 / run.rawSignsPerSecond / used.serverCpuMsPerOp,
  };
}
