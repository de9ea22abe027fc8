import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { MetricsRegistry } from './registry';

// What every process reports about itself. Over a cluster, memory and CPU add up to the node's;
// event-loop lag takes the worst worker.

const LAG_RESOLUTION_MS = 10;

export function registerProcessMetrics(registry: MetricsRegistry): void {
  const rss = registry.gauge('process_resident_memory_bytes', 'Resident memory of the processes, in bytes.').labels();
  const cpu = registry.counter('process_cpu_seconds_total', 'CPU time (user and system) spent by the processes, in seconds.').labels();
  const lag = registry.gauge('nodejs_eventloop_lag_seconds', 'Mean event-loop delay since the previous scrape, in seconds (the worst process).', [], 'max').labels();
  const lagP99 = registry.gauge('nodejs_eventloop_lag_p99_seconds', '99th percentile of the event-loop delay since the previous scrape, in seconds (the worst process).', [], 'max').labels();
  registry
    .gauge('trustbridge_build_info', 'The running build: always 1, with the version in labels.', ['version', 'nodejs_version'], 'max')
    .labels(TRUSTBRIDGE_VERSION, process.version)
    .set(1);

  const delay = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  delay.enable();
  // The histogram records each timer's whole interval: the lag is what exceeds the resolution.
  const lagSeconds = (ns: number): number => (delay.count === 0 ? 0 : Math.max(0, ns / 1e6 - LAG_RESOLUTION_MS) / 1000);
  let cpuSecondsSeen = 0;
  registry.onCollect(() => {
    rss.set(process.memoryUsage.rss());
    const usage = process.cpuUsage();
    const cpuSeconds = (usage.user + usage.system) / 1e6;
    cpu.inc(cpuSeconds - cpuSecondsSeen);
    cpuSecondsSeen = cpuSeconds;
    lag.set(lagSeconds(delay.mean));
    lagP99.set(lagSeconds(delay.percentile(99)));
    delay.reset();
  });
}

/** The version in package.json, found from this file in src/ or in dist/. */
export const TRUSTBRIDGE_VERSION = readOwnVersion();

function readOwnVersion(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    try {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'trustbridge' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not ours, or unreadable: keep looking upwards
    }
  }
  return 'unknown';
}
