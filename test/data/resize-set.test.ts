// Resizing an in-memory ImageSet (src/data/resize-set.ts) and loading any dataset at a chosen size.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { imageSet } from '../../src/data/image-set.ts';
import { loadDataset } from '../../src/data/load-dataset.ts';
import { readChw } from '../../src/data/raw-image.ts';
import { resample } from '../../src/data/resample.ts';
import { resizeImageSet } from '../../src/data/resize-set.ts';
import { tempDir, writeTinyIdx } from './helpers.ts';

const set = imageSet({
  name: 'toy',
  classes: ['a', 'b'],
  images: Uint8Array.from({ length: 3 * 36 }, (_, i) => (i * 37) % 256),
  labels: Int32Array.of(0, 1, 0),
  channels: 1,
  height: 6,
  width: 6,
});

test('every image is resized bicubic as PIL, labels and classes kept; the same size is a no-op', () => {
  const big = resizeImageSet(set, 9);
  assert.deepEqual([big.n, big.channels, big.height, big.width], [3, 1, 9, 9]);
  assert.deepEqual(big.labels, set.labels);
  const second = resample(readChw(set.images, 36, 6, 6, 1), 9, 9, 'bicubic').data;
  assert.deepEqual(big.images.subarray(81, 162), second);
  assert.equal(resizeImageSet(set, 6), set);
  const rgb = resizeImageSet(set, 6, 3);
  assert.deepEqual(rgb.images.subarray(0, 36), set.images.subarray(0, 36)); // gray replicated to each plane
  assert.deepEqual(rgb.images.subarray(72, 108), set.images.subarray(0, 36));
  assert.throws(() => resizeImageSet({ ...set, width: 4, height: 9 }, 8), /images are 4×9; only square images are resized/);
});

test('loadDataset resizes in-memory formats to imageSize and converts channels', async () => {
  const dir = join(tempDir('resize'), 'idx');
  writeTinyIdx(dir, { train: 8, test: 4, size: 6 });
  const native = await loadDataset(dir);
  assert.equal(native.train.height, 6);
  const d = await loadDataset(dir, { imageSize: 12, channels: 3 });
  assert.deepEqual([d.train.n, d.train.channels, d.train.height, d.test.height], [8, 3, 12, 12]);
});
