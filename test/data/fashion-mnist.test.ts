import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FASHION_MNIST_CLASSES, loadFashionMnist, parseRecordArray } from '../../src/data/fashion-mnist.ts';
import { fingerprint } from './helpers.ts';

// Loaded once for the whole file (about a second).
const ds = loadFashionMnist();

function classCounts(labels: Int32Array): number[] {
  const counts = new Array<number>(10).fill(0);
  for (const l of labels) counts[l]++;
  return counts;
}

test('split sizes: 1,000 test images per class, the rest train, 1×28×28', () => {
  assert.equal(ds.test.n, 10_000);
  assert.equal(ds.train.n, 59_946);
  assert.deepEqual(classCounts(ds.test.labels), new Array(10).fill(1000));
  assert.deepEqual(classCounts(ds.train.labels), [5997, 5994, 5987, 5993, 5994, 6000, 5987, 5996, 6000, 5998]);
  for (const s of [ds.train, ds.test]) {
    assert.deepEqual([s.channels, s.height, s.width, s.images.length], [1, 28, 28, s.n * 784]);
    assert.deepEqual(s.classes, FASHION_MNIST_CLASSES);
  }
  assert.equal(FASHION_MNIST_CLASSES[9], 'Ankle boot');
});

test('validation: the two empty records and 54 repeated images are dropped and counted', () => {
  assert.deepEqual(ds.skipped, { malformed: 2, duplicates: 54 });
});

test('the split is deterministic and pinned (changing it changes every reported accuracy)', () => {
  assert.equal(fingerprint(ds.train.images, ds.train.labels), '7b9c0aad');
  assert.equal(fingerprint(ds.test.images, ds.test.labels), '42f13ac6');
});

test('no image is in both train and test', () => {
  const key = (s: typeof ds.train, i: number) => Buffer.from(s.images.subarray(i * 784, (i + 1) * 784)).toString('latin1');
  const testKeys = new Set(Array.from({ length: ds.test.n }, (_, i) => key(ds.test, i)));
  for (let i = 0; i < ds.train.n; i++) assert.ok(!testKeys.has(key(ds.train, i)), `train image ${i} is also in test`);
});

test('parseRecordArray skips records that are not 784 integers in 0–255', () => {
  const good = new Array(784).fill(7);
  const records = [good, [], good.slice(1), [...good.slice(1), 256], [...good.slice(1), 1.5], [...good.slice(1), -1], good];
  const parsed = parseRecordArray(Buffer.from(JSON.stringify({ data: records })), 'x.json');
  assert.equal(parsed.n, 2);
  assert.equal(parsed.malformed, 5);
  assert.ok(parsed.images.every((v) => v === 7));
  assert.throws(() => parseRecordArray(Buffer.from('{"data": 5}'), 'bad.json'), /bad\.json: not a .* record file/);
  assert.throws(() => parseRecordArray(Buffer.from('{"data": [[1, 2'), 'cut.json'), /cut\.json: ends inside a record/);
});
