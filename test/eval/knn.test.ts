import assert from 'node:assert/strict';
import { test } from 'node:test';
import { knnClassify } from '../../src/eval/knn.ts';
import { clusters } from './helpers.ts';

test('kNN (cosine) classifies separable clusters; batches cover every test feature', async () => {
  const train = clusters({ classes: 5, dim: 12, perClass: 40, seed: 1 });
  const test = clusters({ classes: 5, dim: 12, perClass: 20, seed: 2, means: train.means });
  const seen: number[] = [];
  const r = await knnClassify(train, test, { k: 20, batch: 32, threads: 1, onProgress: (done) => seen.push(done) });
  assert.equal(r.n, 100);
  assert.equal(seen.at(-1), 100);
  assert.equal(seen.length, 4);
  assert.ok(r.accuracy > 0.95, `accuracy ${r.accuracy}`);
});

test('kNN votes by majority of the k nearest, breaking ties by summed similarity', async () => {
  const classes = ['a', 'b', 'c'];
  // unit directions at 0°, 10°, 20° (class a, a, b) and 170° (class c); queries at 14°, 180° and 16°
  const angle = (deg: number) => [Math.cos((deg * Math.PI) / 180), Math.sin((deg * Math.PI) / 180)];
  const train = { features: Float32Array.from([0, 10, 20, 170].flatMap(angle)), labels: Int32Array.of(0, 0, 1, 2), n: 4, dim: 2, classes };
  const test = { features: Float32Array.from([14, 180, 16].flatMap(angle)), labels: Int32Array.of(0, 2, 0), n: 3, dim: 2, classes };
  // k = 3 at 14°: neighbours 10° (a), 20° (b), 0° (a) → majority a
  assert.deepEqual([...(await knnClassify(train, test, { k: 3, threads: 1 })).predictions.slice(0, 1)], [0]);
  // k = 2: every query gets a 1–1 tie, won by the more similar class: a at 14°, c (170°) over b (20°) at 180°, b at 16°
  const r = await knnClassify(train, test, { k: 2, threads: 1 });
  assert.deepEqual([...r.predictions], [0, 2, 1]);
  assert.equal(r.accuracy, 2 / 3);
});

test('kNN refuses k above the train size and mismatched feature dimensions', async () => {
  const train = clusters({ classes: 2, dim: 4, perClass: 5 });
  await assert.rejects(knnClassify(train, train, { k: 20 }), /k 20 is more than the 10 train images/);
  const other = clusters({ classes: 2, dim: 3, perClass: 5 });
  await assert.rejects(knnClassify(train, other, { k: 3 }), /feature dimension mismatch/);
});
