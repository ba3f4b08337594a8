import { test } from 'node:test';
import assert from 'node:assert/strict';
import { duplicateIndices, imageSet, splitPerClass, subset } from '../../src/data/image-set.ts';

// Six 1×1×2 images: labels 0,1,0,0,1,0; image i holds [i, i] except image 4, which repeats image 1.
const set = imageSet({
  name: 'toy',
  classes: ['a', 'b'],
  images: Uint8Array.from([0, 0, 1, 1, 2, 2, 3, 3, 1, 1, 5, 5]),
  labels: Int32Array.from([0, 1, 0, 0, 1, 0]),
  channels: 1,
  height: 1,
  width: 2,
});

test('imageSet checks sizes and labels', () => {
  assert.equal(set.n, 6);
  assert.throws(() => imageSet({ ...set, labels: Int32Array.from([0, 2, 0, 0, 1, 0]) }), /label 2 outside the 2 classes/);
  assert.throws(() => imageSet({ ...set, images: new Uint8Array(5) }), /do not fit/);
});

test('subset copies images and labels in the given order', () => {
  const s = subset(set, [5, 0], 'sub');
  assert.deepEqual([...s.images], [5, 5, 0, 0]);
  assert.deepEqual([...s.labels], [0, 0]);
});

test('splitPerClass holds out the last images of each class, keeping order, after dropping some', () => {
  const { train, test: held } = splitPerClass(set, (n) => Math.round(n / 2), 'toy');
  assert.deepEqual([...held.images], [3, 3, 1, 1, 5, 5]);
  assert.deepEqual([...train.images], [0, 0, 1, 1, 2, 2]);
  const dropped = splitPerClass(set, () => 1, 'toy', new Set(duplicateIndices(set)));
  assert.deepEqual([...dropped.test.images], [1, 1, 5, 5]);
  assert.deepEqual([...dropped.train.images], [0, 0, 2, 2, 3, 3]);
  assert.equal(dropped.train.name, 'toy/train');
});

test('duplicateIndices finds byte-identical repeats, not the first copy', () => {
  assert.deepEqual(duplicateIndices(set), [4]);
});
