import { performance } from 'node:perf_hooks';
import { procMemoryKb, procPssKb } from './server-process';

// The resident set of each server process over a run, sampled at an interval: the largest one
// sampled, the kernel's high-water mark, and whether memory is flat: its slope over the second half
// of the run (for a long run the first half holds the warm-up: JIT, caches and pools filling).
// Beside them, the whole server's PSS at each sample (see procPssKb): what the node takes. The
// monitor runs in the load generator's process, so nothing it reads may hold up its event loop.

/** Samples slower than this over the second half count as flat (MB per minute). */
export const FLAT_SLOPE_MB_PER_MIN = 2;

export interface ProcessMemory {
  readonly pid: number;
  /** The largest resident set sampled. */
  readonly maxRssMb: number;
  /** The kernel's high-water mark (VmHWM) at the last sample: the peak since the process started, between samples too. */
  readonly peakRssMb: number;
  readonly lastRssMb: number;
  /** Least-squares slope of RSS over the second half of the samples, in MB per minute. */
  readonly secondHalfSlopeMbPerMin: number;
  /** RSS at the end of the run minus RSS at the middle (MB). */
  readonly secondHalfGrowthMb: number;
  readonly samples: number;
}

interface Sample {
  readonly at: number;
  readonly mb: number;
}

export class RssMonitor {
  private readonly series = new Map<number, Sample[]>();
  private readonly peaks = new Map<number, number>();
  private largestServerPssMb = 0;
  /** The PSS read in flight, if any: a sample taken meanwhile reads RSS only. */
  private pssRead: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly started = performance.now();

  constructor(private readonly pids: () => readonly number[]) {}

  start(everyMs = 1000): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  /** Stops sampling, with one last sample, once the PSS read in flight is done; does nothing if not sampling. */
  async stop(): Promise<void> {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
    await this.pssRead;
  }

  sample(): void {
    const at = (performance.now() - this.started) / 1000;
    const pids = this.pids();
    this.pssRead ??= this.readServerPss(pids).finally(() => {
      this.pssRead = undefined;
    });
    for (const pid of pids) {
      const memory = procMemoryKb(pid);
      if (memory === undefined) continue;
      let list = this.series.get(pid);
      if (list === undefined) this.series.set(pid, (list = []));
      list.push({ at, mb: memory.rssKb / 1024 });
      this.peaks.set(pid, memory.peakKb / 1024);
    }
  }

  private async readServerPss(pids: readonly number[]): Promise<void> {
    const kb = await Promise.all(pids.map(procPssKb));
    const serverPssMb = kb.reduce((sum: number, k) => sum + (k ?? 0), 0) / 1024;
    this.largestServerPssMb = Math.max(this.largestServerPssMb, serverPssMb);
  }

  /** The largest PSS sampled of all the server's processes together (MiB): one node's memory. */
  serverPssMb(): number {
    return this.largestServerPssMb;
  }

  /** Each process's figures so far. */
  processes(): ProcessMemory[] {
    return [...this.series].map(([pid, samples]) => {
      const secondHalf = samples.slice(Math.floor(samples.length / 2));
      return {
        pid,
        maxRssMb: Math.max(...samples.map((s) => s.mb)),
        peakRssMb: this.peaks.get(pid) as number,
        lastRssMb: (samples[samples.length - 1] as Sample).mb,
        secondHalfSlopeMbPerMin: slopePerSecond(secondHalf) * 60,
        secondHalfGrowthMb: (secondHalf[secondHalf.length - 1] as Sample).mb - (secondHalf[0] as Sample).mb,
        samples: samples.length,
      };
    });
  }
}

/** Least-squares slope of mb over at (per second); 0 with fewer than two samples. */
function slopePerSecond(samples: readonly Sample[]): number {
  if (samples.length < 2) return 0;
  const n = samples.length;
  const meanAt = samples.reduce((a, s) => a + s.at, 0) / n;
  const meanMb = samples.reduce((a, s) => a + s.mb, 0) / n;
  let num = 0;
  let den = 0;
  for (const s of samples) {
    num += (s.at - meanAt) * (s.mb - meanMb);
    den += (s.at - meanAt) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
