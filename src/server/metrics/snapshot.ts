// A registry's values as plain data: what a worker sends its primary over cluster IPC, what the
// primary adds up for the whole node, and what the exposition renders.

export type MetricType = 'counter' | 'gauge' | 'histogram';

/**
 * How one family's series from several processes combine into the node's: counters and histograms
 * add up; a gauge either adds up (memory) or takes the largest (event-loop lag, a key's age, which
 * every worker reads from the same store).
 */
export type MergeRule = 'sum' | 'max';

export interface ValueSeries {
  readonly labels: readonly string[];
  readonly value: number;
}

export interface HistogramSeries {
  readonly labels: readonly string[];
  /** Observations per bucket, not cumulative; one more than the family's bounds (the last is +Inf). */
  readonly counts: readonly number[];
  readonly sum: number;
}

export interface FamilySnapshot {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly merge: MergeRule;
  readonly labelNames: readonly string[];
  /** Histogram bucket upper bounds, ascending, without +Inf. */
  readonly buckets?: readonly number[];
  readonly series: readonly (ValueSeries | HistogramSeries)[];
}

export type MetricsSnapshot = readonly FamilySnapshot[];

export const isHistogramSeries = (s: ValueSeries | HistogramSeries): s is HistogramSeries => 'counts' in s;

const seriesKey = (labels: readonly string[]): string => labels.join('\u0000');

/**
 * Combines the snapshots of several processes, family by family and series by series (histograms
 * bucket by bucket). Families keep the order in which they are first seen; a family whose shape
 * differs between processes (another build) keeps the first one seen.
 */
export function mergeSnapshots(snapshots: readonly MetricsSnapshot[]): MetricsSnapshot {
  const families = new Map<string, { family: FamilySnapshot; series: Map<string, ValueSeries | HistogramSeries> }>();
  for (const snapshot of snapshots) {
    for (const family of snapshot) {
      let merged = families.get(family.name);
      if (merged === undefined) {
        merged = { family, series: new Map() };
        families.set(family.name, merged);
      } else if (!sameShape(merged.family, family)) {
        continue;
      }
      for (const s of family.series) {
        const key = seriesKey(s.labels);
        const before = merged.series.get(key);
        merged.series.set(key, before === undefined ? s : combine(before, s, family.merge));
      }
    }
  }
  return [...families.values()].map(({ family, series }) => ({ ...family, series: [...series.values()] }));
}

function combine(a: ValueSeries | HistogramSeries, b: ValueSeries | HistogramSeries, rule: MergeRule): ValueSeries | HistogramSeries {
  if (isHistogramSeries(a) && isHistogramSeries(b)) {
    return { labels: a.labels, counts: a.counts.map((c, i) => c + (b.counts[i] ?? 0)), sum: a.sum + b.sum };
  }
  if (isHistogramSeries(a) || isHistogramSeries(b)) return a;
  return { labels: a.labels, value: rule === 'max' ? Math.max(a.value, b.value) : a.value + b.value };
}

function sameShape(a: FamilySnapshot, b: FamilySnapshot): boolean {
  return (
    a.type === b.type &&
    a.labelNames.join(',') === b.labelNames.join(',') &&
    (a.buckets ?? []).join(',') === (b.buckets ?? []).join(',')
  );
}
