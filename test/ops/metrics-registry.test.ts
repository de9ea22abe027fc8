import { strict as assert } from 'node:assert';
import { renderExposition } from '../../src/server/metrics/exposition';
import { MetricsRegistry } from '../../src/server/metrics/registry';
import { mergeSnapshots } from '../../src/server/metrics/snapshot';
import { parseExposition, sampleValue } from '../support/exposition';

// The registry, the exposition and the merge of several processes' snapshots, without a server.

describe('ops: metrics registry and exposition', () => {
  it('renders counters, gauges and cumulative histogram buckets ending in +Inf = count', async () => {
    const r = new MetricsRegistry();
    r.counter('t_events_total', 'Events.', ['kind']).labels('a').inc(3);
    r.gauge('t_level', 'A level.').labels().set(0.25);
    const h = r.histogram('t_seconds', 'Durations.', ['op'], [0.1, 1]).labels('x');
    for (const v of [0.05, 0.1, 0.5, 7]) h.observe(v);
    const text = renderExposition(await r.snapshot());
    assert.equal(
      text,
      [
        '# HELP t_events_total Events.',
        '# TYPE t_events_total counter',
        't_events_total{kind="a"} 3',
        '# HELP t_level A level.',
        '# TYPE t_level gauge',
        't_level 0.25',
        '# HELP t_seconds Durations.',
        '# TYPE t_seconds histogram',
        // 0.1 falls in le="0.1": a bucket counts values less than or equal to its bound.
        't_seconds_bucket{op="x",le="0.1"} 2',
        't_seconds_bucket{op="x",le="1"} 3',
        't_seconds_bucket{op="x",le="+Inf"} 4',
        't_seconds_sum{op="x"} 7.65',
        't_seconds_count{op="x"} 4',
        '',
      ].join('\n'),
    );
    parseExposition(text);
  });

  it('escapes backslashes, quotes and newlines in label values and help', async () => {
    const r = new MetricsRegistry();
    r.counter('t_total', 'Help with \\ and\nnewline.', ['v']).labels('a"b\\c\nd').inc();
    const text = renderExposition(await r.snapshot());
    assert.ok(text.includes('# HELP t_total Help with \\\\ and\\nnewline.\n'), text);
    assert.ok(text.includes('t_total{v="a\\"b\\\\c\\nd"} 1\n'), text);
    assert.equal(sampleValue(parseExposition(text), 't_total', { v: 'a"b\\c\nd' }), 1);
  });

  it('refuses bad names, a wrong number of label values, and a family registered twice', () => {
    const r = new MetricsRegistry();
    assert.throws(() => r.counter('bad-name_total', 'x'), /invalid metric name/);
    assert.throws(() => r.counter('t_total', 'x', ['le']), /invalid label name le/);
    const c = r.counter('t_total', 'x', ['a', 'b']);
    assert.throws(() => c.labels('only-one'), /takes 2 label values, got 1/);
    assert.throws(() => r.gauge('t_total', 'again'), /registered twice/);
    assert.throws(() => r.histogram('t_h', 'x', [], [1, 0.5]), /ascending/);
  });

  it('merges processes: counters and histograms add up bucket by bucket, gauges add or take the largest', async () => {
    const make = async (n: number) => {
      const r = new MetricsRegistry();
      const c = r.counter('t_total', 'c', ['k']);
      c.labels('a').inc(n);
      if (n === 2) c.labels('only-in-two').inc();
      r.gauge('t_rss', 'sum').labels().set(100 * n);
      r.gauge('t_lag', 'max', [], 'max').labels().set(n === 1 ? 0.5 : 0.2);
      const h = r.histogram('t_h', 'h', [], [1, 2]).labels();
      h.observe(n === 1 ? 0.5 : 1.5);
      h.observe(3);
      return r.snapshot();
    };
    const merged = parseExposition(renderExposition(mergeSnapshots([await make(1), await make(2)])));
    assert.equal(sampleValue(merged, 't_total', { k: 'a' }), 3);
    assert.equal(sampleValue(merged, 't_total', { k: 'only-in-two' }), 1);
    assert.equal(sampleValue(merged, 't_rss'), 300);
    assert.equal(sampleValue(merged, 't_lag'), 0.5);
    assert.equal(sampleValue(merged, 't_h_bucket', { le: '1' }), 1);
    assert.equal(sampleValue(merged, 't_h_bucket', { le: '2' }), 2);
    assert.equal(sampleValue(merged, 't_h_bucket', { le: '+Inf' }), 4);
    assert.equal(sampleValue(merged, 't_h_sum'), 8);
  });

  it('keeps the first shape when two processes disagree on a family (another build), rather than mixing them', async () => {
    const a = new MetricsRegistry();
    a.counter('t_total', 'c', ['k']).labels('x').inc();
    const b = new MetricsRegistry();
    b.counter('t_total', 'c', ['other']).labels('y').inc(5);
    const merged = parseExposition(renderExposition(mergeSnapshots([await a.snapshot(), await b.snapshot()])));
    assert.deepEqual(merged.get('t_total')?.samples, [{ name: 't_total', labels: { k: 'x' }, value: 1 }]);
  });

  it('runs collectors before a snapshot; one that fails leaves its gauge as it was', async () => {
    const r = new MetricsRegistry();
    const g = r.gauge('t_g', 'g').labels();
    let fail = false;
    let n = 0;
    r.onCollect(() => {
      if (fail) throw new Error('store down');
      g.set(++n);
    });
    assert.equal(sampleValue(parseExposition(renderExposition(await r.snapshot())), 't_g'), 1);
    fail = true;
    assert.equal(sampleValue(parseExposition(renderExposition(await r.snapshot())), 't_g'), 1);
  });
});
