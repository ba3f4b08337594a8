import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Gauge, Histogram, Registry } from '../../src/serve/metrics.ts';

test('counters, gauges and histograms render in the Prometheus text format', () => {
  const r = new Registry();
  const c = r.add(new Counter('reqs_total', 'Requests.'));
  const h = r.add(new Histogram('lat_seconds', 'Latency.', [0.1, 1]));
  r.add(new Gauge('depth', 'Queue depth.', () => 3));
  c.inc({ route: '/a', code: '200' });
  c.inc({ code: '200', route: '/a' }, 2); // label order does not make a new series
  c.inc({ route: 'say "hi"\n', code: '400' });
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  assert.equal(
    r.render(),
    [
      '# HELP reqs_total Requests.',
      '# TYPE reqs_total counter',
      'reqs_total{route="/a",code="200"} 3',
      'reqs_total{route="say \\"hi\\"\\n",code="400"} 1',
      '# HELP lat_seconds Latency.',
      '# TYPE lat_seconds histogram',
      'lat_seconds_bucket{le="0.1"} 1',
      'lat_seconds_bucket{le="1"} 2',
      'lat_seconds_bucket{le="+Inf"} 3',
      'lat_seconds_sum 5.55',
      'lat_seconds_count 3',
      '# HELP depth Queue depth.',
      '# TYPE depth gauge',
      'depth 3',
      '',
    ].join('\n'),
  );
});

test('histogram buckets must ascend', () => {
  assert.throws(() => new Histogram('h', 'h', [1, 1]), /must ascend/);
});
