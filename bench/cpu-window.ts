import { performance } from 'node:perf_hooks';
import type { LoadOptions, LoadResult } from './load';
import { machineCpu, otherCores, type MachineCpu } from './machine';
import { cpuSecondsOf } from './server-process';

/** Where the CPU went over a load run's measured window: the server's processes, the generator, the rest of the machine. */
export interface WindowCpu {
  /** Cores the server's processes kept busy in the window (CPU seconds / wall seconds). */
  readonly serverCpuCores: number;
  /** Server CPU time per successful operation (all its processes, threads included), in ms. */
  readonly serverCpuMsPerOp: number;
  readonly generatorCpuCores: number;
  /** Cores kept busy by everything else on the machine in the window (from /proc/stat). */
  readonly otherCpuCores: number;
  readonly stealCores: number;
}

/**
 * Samples the server's processes and the machine as runLoad's window opens and closes (give it
 * `hooks`), then works the figures out from the load's result: the STS's runs and the floor's alike.
 */
export function cpuWindow(serverPids: () => readonly number[]): {
  readonly hooks: Required<Pick<LoadOptions, 'onWindowStart' | 'onWindowEnd'>>;
  figures(load: Pick<LoadResult, 'perSecond' | 'generatorCpuCores'>): WindowCpu;
} {
  const server = { start: 0, end: 0, wallStart: 0, wallEnd: 0 };
  const machine: { start?: MachineCpu; end?: MachineCpu } = {};
  return {
    hooks: {
      onWindowStart: () => {
        machine.start = machineCpu();
        server.start = cpuSecondsOf(serverPids());
        server.wallStart = performance.now();
      },
      onWindowEnd: () => {
        server.end = cpuSecondsOf(serverPids());
        server.wallEnd = performance.now();
        machine.end = machineCpu();
      },
    },
    figures: (load) => {
      const wallSeconds = (server.wallEnd - server.wallStart) / 1000;
      const serverCpuCores = (server.end - server.start) / wallSeconds;
      const rest = otherCores(machine.start, machine.end, wallSeconds, serverCpuCores + load.generatorCpuCores);
      return {
        serverCpuCores,
        serverCpuMsPerOp: (serverCpuCores * 1000) / load.perSecond,
        generatorCpuCores: load.generatorCpuCores,
        otherCpuCores: rest.other,
        stealCores: rest.steal,
      };
    },
  };
}
