import type { FamilySnapshot, HistogramSeries, MergeRule, MetricsSnapshot, MetricType, ValueSeries } from './snapshot';

// A small Prometheus registry: counters, gauges and histograms with labels. Children (one per set
// of label values) are looked up once, where a caller is set up, and kept: counting on the request
// path is then an addition on an object it already holds, with no string built and no map read.

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Request latencies, in seconds: 1 ms to 2.5 s, the span between a cached answer and a slow store. */
export const LATENCY_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export interface CounterChild {
  inc(by?: number): void;
}
export interface GaugeChild {
  set(value: number): void;
}
export interface HistogramChild {
  observe(value: number): void;
}

abstract class Family<Child> {
  protected readonly children = new Map<string, Child>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {
    if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name ${name}`);
    for (const l of labelNames) if (!LABEL_NAME.test(l) || l === 'le') throw new Error(`invalid label name ${l} in ${name}`);
  }

  /** The child for these label values (created the first time): call it once and keep it. */
  labels(...values: string[]): Child {
    if (values.length !== this.labelNames.length) throw new Error(`${this.name} takes ${this.labelNames.length} label values, got ${values.length}`);
    const key = values.join('\u0000');
    let child = this.children.get(key);
    if (child === undefined) {
      child = this.create(values);
      this.children.set(key, child);
    }
    return child;
  }

  protected abstract create(labels: readonly string[]): Child;
  abstract snapshot(): FamilySnapshot;
}

class ValueChild implements CounterChild, GaugeChild {
  value = 0;
  constructor(readonly labels: readonly string[]) {}
  inc(by = 1): void {
    this.value += by;
  }
  set(value: number): void {
    this.value = value;
  }
}

export class Counter extends Family<CounterChild> {
  protected create(labels: readonly string[]): ValueChild {
    return new ValueChild(labels);
  }
  snapshot(): FamilySnapshot {
    return valueFamily(this, 'counter', 'sum', this.children as Map<string, ValueChild>);
  }
}

export class Gauge extends Family<GaugeChild> {
  constructor(name: string, help: string, labelNames: readonly string[], private readonly merge: MergeRule) {
    super(name, help, labelNames);
  }
  protected create(labels: readonly string[]): ValueChild {
    return new ValueChild(labels);
  }
  /** Forgets every series: for gauges rebuilt at each collection (keys come and go). */
  clear(): void {
    this.children.clear();
  }
  snapshot(): FamilySnapshot {
    return valueFamily(this, 'gauge', this.merge, this.children as Map<string, ValueChild>);
  }
}

class BucketsChild implements HistogramChild {
  readonly counts: number[];
  sum = 0;
  constructor(
    readonly labels: readonly string[],
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }
  observe(value: number): void {
    let i = 0;
    while (i < this.bounds.length && value > (this.bounds[i] as number)) i++;
    (this.counts[i] as number)++;
    this.sum += value;
  }
}

export class Histogram extends Family<HistogramChild> {
  constructor(name: string, help: string, labelNames: readonly string[], readonly buckets: readonly number[]) {
    super(name, help, labelNames);
    if (buckets.length === 0 || buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= (buckets[i - 1] as number)))) {
      throw new Error(`${name}: buckets must be finite and ascending`);
    }
  }
  protected create(labels: readonly string[]): BucketsChild {
    return new BucketsChild(labels, this.buckets);
  }
  snapshot(): FamilySnapshot {
    const series: HistogramSeries[] = [];
    for (const c of (this.children as Map<string, BucketsChild>).values()) series.push({ labels: c.labels, counts: [...c.counts], sum: c.sum });
    return { name: this.name, help: this.help, type: 'histogram', merge: 'sum', labelNames: this.labelNames, buckets: this.buckets, series };
  }
}

function valueFamily(f: Family<unknown>, type: MetricType, merge: MergeRule, children: Map<string, ValueChild>): FamilySnapshot {
  const series: ValueSeries[] = [];
  for (const c of children.values()) series.push({ labels: c.labels, value: c.value });
  return { name: f.name, help: f.help, type, merge, labelNames: f.labelNames, series };
}

/** The metrics of one process, and the collectors that refresh its gauges just before a snapshot. */
export class MetricsRegistry {
  private readonly families: Family<unknown>[] = [];
  private readonly collectors: Array<() => void | Promise<void>> = [];

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = [], merge: MergeRule = 'sum'): Gauge {
    return this.add(new Gauge(name, help, labelNames, merge));
  }

  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[] = LATENCY_BUCKETS): Histogram {
    return this.add(new Histogram(name, help, labelNames, buckets));
  }

  /** Runs before every snapshot; one that fails (it reports its own failure) leaves its gauges as they were. */
  onCollect(collector: () => void | Promise<void>): void {
    this.collectors.push(collector);
  }

  async snapshot(): Promise<MetricsSnapshot> {
    await Promise.allSettled(this.collectors.map(async (c) => c()));
    return this.families.map((f) => f.snapshot());
  }

  private add<F extends Family<unknown>>(family: F): F {
    if (this.families.some((f) => f.name === family.name)) throw new Error(`metric ${family.name} is registered twice`);
    this.families.push(family);
    return family;
  }
}
