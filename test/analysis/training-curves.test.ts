import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { metricsPath, parseMetrics, readMetrics } from '../../src/analysis/training-curves.ts';
import { tempDir } from '../data/helpers.ts';

const log = [
  { kind: 'step', step: 1, epoch: 0, loss: 2.3, acc: 0.1, lr: 1e-4, images_per_sec: 900, time: 0.1 },
  { kind: 'step', step: 2, epoch: 0, loss: 2.1, acc: 0.2, lr: 2e-4, images_per_sec: 910, time: 0.2 },
  { kind: 'epoch', epoch: 0, step: 2, train_loss: 2.2, train_acc: 0.15, test_loss: 2.25, test_acc: 0.12, lr: 2e-4, time: 0.3 },
]
  .map((r) => JSON.stringify(r))
  .join('\n');

test('step and epoch records become metrics with per-step, train and test series against the step', () => {
  const c = parseMetrics(`${log}\n{"kind":"step","step":3,"lo`);
  assert.equal(c.xField, 'step');
  assert.equal(c.records, 3);
  assert.equal(c.skipped, 1);
  assert.deepEqual(c.kinds, { step: 2, epoch: 1 });
  assert.deepEqual(c.metrics, ['loss', 'acc', 'lr', 'images_per_sec']);
  const series = (m: string) => [...new Set(c.points.filter((p) => p.metric === m).map((p) => p.series))].sort();
  assert.deepEqual(series('loss'), ['per step', 'test', 'train']);
  // lr is logged unprefixed by both kinds: drawn once, from the kind that logs it most.
  assert.deepEqual(series('lr'), ['per step']);
  assert.deepEqual(
    c.points.filter((p) => p.metric === 'loss' && p.series === 'test'),
    [{ metric: 'loss', series: 'test', x: 2, value: 2.25, dense: false }],
  );
});

test('without steps the x axis is the epoch, then the record position; non-numeric fields are ignored', () => {
  const byEpoch = parseMetrics('{"epoch":1,"val_acc":0.5,"note":"x"}\n{"epoch":2,"val_acc":0.6,"flag":true}');
  assert.equal(byEpoch.xField, 'epoch');
  assert.deepEqual(byEpoch.metrics, ['acc']);
  assert.deepEqual(byEpoch.points.map((p) => [p.series, p.x, p.value]), [['val', 1, 0.5], ['val', 2, 0.6]]);
  const byRecord = parseMetrics('{"loss":1}\n[1,2]\n{"loss":0.5,"epoch":3}');
  assert.equal(byRecord.xField, 'record');
  assert.equal(byRecord.skipped, 1);
  assert.deepEqual(byRecord.points.map((p) => [p.series, p.x]), [['record', 0], ['record', 1]]);
});

test('long series are averaged down and marked dense', () => {
  const lines = Array.from({ length: 6000 }, (_, i) => JSON.stringify({ kind: 'step', step: i, loss: i % 2 }));
  const c = parseMetrics(lines.join('\n'));
  assert.equal(c.points.length, 1000);
  assert.ok(c.points.every((p) => p.dense && p.value === 0.5));
});

test('metricsPath and readMetrics: a run directory or its file; clear errors otherwise', () => {
  const dir = tempDir('curves');
  assert.throws(() => metricsPath(join(dir, 'nope')), /no such file or directory: pass a run directory or its metrics\.jsonl/);
  assert.throws(() => metricsPath(dir), /no metrics\.jsonl in this directory/);
  writeFileSync(join(dir, 'metrics.jsonl'), log);
  assert.equal(metricsPath(dir), join(dir, 'metrics.jsonl'));
  assert.equal(readMetrics(dir).records, 3);
  mkdirSync(join(dir, 'bad'));
  writeFileSync(join(dir, 'bad', 'metrics.jsonl'), 'not json\n{"kind":"step"}\n');
  assert.throws(() => readMetrics(join(dir, 'bad')), /no numeric metrics in 1 records \(1 unreadable lines\)/);
});
