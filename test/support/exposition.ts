import { strict as assert } from 'node:assert';

// A strict reader of the Prometheus text exposition format (0.0.4), for the metrics tests: it fails
// on any line that is neither a HELP or TYPE comment nor a `name{labels} value` sample, on a family
// without HELP and TYPE, on a sample outside its family, on a repeated series, and on a histogram
// whose buckets are not cumulative or whose +Inf bucket is not its count.

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  readonly samples: Sample[];
}

export type Exposition = ReadonlyMap<string, MetricFamily>;

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`);
const LABEL_PAIR = new RegExp(`^(${LABEL})="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"(,|$)`);
const VALUE = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]Inf|NaN)$/;

export function parseExposition(text: string): Exposition {
  assert.ok(text.endsWith('\n'), 'the exposition ends with a newline');
  const families = new Map<string, MetricFamily & { samples: Sample[] }>();
  const seen = new Set<string>();
  let current: (MetricFamily & { samples: Sample[] }) | undefined;
  let help: { name: string; text: string } | undefined;
  for (const line of text.slice(0, -1).split('\n')) {
    const comment = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (comment) {
      const [, kind, name = '', rest = ''] = comment;
      assert.match(name, new RegExp(`^${NAME}$`), `metric name in: ${line}`);
      if (kind === 'HELP') {
        assert.ok(!families.has(name), `a second HELP for ${name}`);
        help = { name, text: rest };
      } else {
        assert.equal(help?.name, name, `TYPE ${name} follows its HELP`);
        assert.match(rest, /^(counter|gauge|histogram|summary|untyped)$/, `type in: ${line}`);
        current = { name, help: help?.text ?? '', type: rest as MetricFamily['type'], samples: [] };
        families.set(name, current);
      }
      continue;
    }
    assert.ok(!line.startsWith('#'), `an unexpected comment: ${line}`);
    const m = SAMPLE.exec(line);
    assert.ok(m, `not a sample line: ${JSON.stringify(line)}`);
    const [, name = '', labelText = '', valueText = ''] = m;
    assert.ok(current, `a sample before any TYPE: ${line}`);
    const allowed = current.type === 'histogram' ? [`${current.name}_bucket`, `${current.name}_sum`, `${current.name}_count`] : [current.name];
    assert.ok(allowed.includes(name), `sample ${name} outside its family ${current.name}`);
    assert.match(valueText, VALUE, `value in: ${line}`);
    const labels = parseLabels(labelText, line);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    assert.ok(!seen.has(key), `series repeated: ${line}`);
    seen.add(key);
    current.samples.push({ name, labels, value: Number(valueText.replace('Inf', 'Infinity')) });
  }
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest !== '') {
    const m = LABEL_PAIR.exec(rest);
    assert.ok(m, `label syntax in: ${line}`);
    const [whole, name = '', value = ''] = m;
    assert.ok(!(name in labels), `label ${name} repeated in: ${line}`);
    labels[name] = value.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
    rest = rest.slice(whole.length);
  }
  return labels;
}

function checkHistogram(f: MetricFamily): void {
  const groups = new Map<string, { buckets: Sample[]; sum?: number; count?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const g = groups.get(key) ?? { buckets: [] };
    groups.set(key, g);
    if (s.name.endsWith('_bucket')) {
      assert.ok(le !== undefined, `${s.name} without le`);
      g.buckets.push(s);
    } else {
      assert.equal(le, undefined, `${s.name} with le`);
      if (s.name.endsWith('_sum')) g.sum = s.value;
      else g.count = s.value;
    }
  }
  for (const [key, g] of groups) {
    const bounds = g.buckets.map((b) => Number((b.labels['le'] as string).replace('Inf', 'Infinity')));
    assert.equal(bounds[bounds.length - 1], Infinity, `${f.name}${key}: the last bucket is +Inf`);
    for (let i = 1; i < bounds.length; i++) {
      assert.ok((bounds[i] as number) > (bounds[i - 1] as number), `${f.name}${key}: le ascending`);
      assert.ok((g.buckets[i] as Sample).value >= (g.buckets[i - 1] as Sample).value, `${f.name}${key}: buckets cumulative`);
    }
    assert.ok(g.sum !== undefined, `${f.name}${key}: _sum`);
    assert.equal(g.count, (g.buckets[g.buckets.length - 1] as Sample).value, `${f.name}${key}: +Inf bucket = _count`);
  }
}

/** The value of the one sample of `name` with exactly these labels; undefined when there is none. */
export function sampleValue(exposition: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  const family = exposition.get(name) ?? exposition.get(name.replace(/_(bucket|sum|count)$/, ''));
  const want = JSON.stringify(Object.entries(labels).sort());
  return family?.samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want)?.value;
}

/** Every non-zero sample of a family, as `labels → value` with the labels written `k=v,k=v` (sorted by key). */
export function nonZeroSamples(exposition: Exposition, family: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of exposition.get(family)?.samples ?? []) {
    if (s.value === 0) continue;
    out[Object.entries(s.labels).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join(',')] = s.value;
  }
  return out;
}
