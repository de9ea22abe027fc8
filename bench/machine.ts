import { readFileSync } from 'node:fs';
import { clockTicksPerSecond } from './server-process';

/** Whole-machine CPU seconds so far, from the first line of /proc/stat. */
export interface MachineCpu {
  /** user + nice + system + irq + softirq, summed over all cores. */
  readonly busySeconds: number;
  /** Time the hypervisor ran someone else while we wanted the CPU. */
  readonly stealSeconds: number;
}

/**
 * Reads /proc/stat, so the report can say how much CPU went to processes other than the server and
 * the load generator during a window: on a shared machine that is what makes two runs disagree.
 */
export function machineCpu(): MachineCpu | undefined {
  try {
    const first = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    // cpu  user nice system idle iowait irq softirq steal ...
    const [user, nice, system, , , irq, softirq, steal] = first.trim().split(/\s+/).slice(1).map(Number);
    const tick = clockTicksPerSecond();
    const busy = (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0);
    return { busySeconds: busy / tick, stealSeconds: (steal ?? 0) / tick };
  } catch {
    return undefined;
  }
}

/** Cores the rest of the machine kept busy between two readings, net of what we account for ourselves. */
export function otherCores(before: MachineCpu | undefined, after: MachineCpu | undefined, wallSeconds: number, ownCores: number): { other: number; steal: number } {
  if (!before || !after || wallSeconds <= 0) return { other: Number.NaN, steal: Number.NaN };
  const busy = (after.busySeconds - before.busySeconds) / wallSeconds;
  return { other: Math.max(0, busy - ownCores), steal: (after.stealSeconds - before.stealSeconds) / wallSeconds };
}
