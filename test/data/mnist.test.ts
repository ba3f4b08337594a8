import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MNIST_CLASSES, loadMnistPackage } from '../../src/data/mnist.ts';
import { fingerprint } from './helpers.ts';

const ds = loadMnistPackage();

test('8,000 / 2,000 stratified split of the 10,000 digits', () => {
  assert.equal(ds.train.n, 8000);
  assert.equal(ds.test.n, 2000);
  const counts = new Array<number>(10).fill(0);
  for (const l of ds.test.labels) counts[l]++;
  assert.deepEqual(counts, [200, 225, 198, 206, 196, 173, 203, 214, 189, 196]);
  assert.deepEqual(ds.train.classes, MNIST_CLASSES);
  assert.deepEqual([ds.train.channels, ds.train.height, ds.train.width], [1, 28, 28]);
  assert.deepEqual(ds.skipped, { malformed: 0, duplicates: 0 });
});

test('pixels come back as the original bytes and the split is pinned', () => {
  let max = 0;
  for (const v of ds.train.images) max = Math.max(max, v);
  assert.equal(max, 255);
  assert.equal(fingerprint(ds.train.images, ds.train.labels), '6c42de87');
  assert.equal(fingerprint(ds.test.images, ds.test.labels), 'ff3a4485');
});
