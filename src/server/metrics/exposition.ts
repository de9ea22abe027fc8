import { isHistogramSeries, type FamilySnapshot, type MetricsSnapshot } from './snapshot';

// The Prometheus text exposition format, version 0.0.4: HELP and TYPE for each family, then one
// `name{label="value"} number` line per series; histograms as cumulative _bucket lines ending in
// le="+Inf", then _sum and _count.

export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export function renderExposition(snapshot: MetricsSnapshot): string {
  const lines: string[] = [];
  for (const family of snapshot) renderFamily(family, lines);
  return lines.join('\n') + '\n';
}

function renderFamily(f: FamilySnapshot, lines: string[]): void {
  lines.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${f.name} ${f.type}`);
  for (const s of f.series) {
    if (!isHistogramSeries(s)) {
      lines.push(`${f.name}${labelSet(f.labelNames, s.labels)} ${formatNumber(s.value)}`);
      continue;
    }
    const bounds = f.buckets ?? [];
    let cumulative = 0;
    s.counts.forEach((c, i) => {
      cumulative += c;
      const le = i < bounds.length ? formatNumber(bounds[i] as number) : '+Inf';
      lines.push(`${f.name}_bucket${labelSet([...f.labelNames, 'le'], [...s.labels, le])} ${cumulative}`);
    });
    lines.push(`${f.name}_sum${labelSet(f.labelNames, s.labels)} ${formatNumber(s.sum)}`);
    lines.push(`${f.name}_count${labelSet(f.labelNames, s.labels)} ${cumulative}`);
  }
}

function labelSet(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return '';
  return `{${names.map((n, i) => `${n}="${escapeLabelValue(values[i] ?? '')}"`).join(',')}}`;
}

const escapeLabelValue = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}
