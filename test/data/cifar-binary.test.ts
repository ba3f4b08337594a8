import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CIFAR10_CLASSES, loadCifarBinary } from '../../src/data/cifar-binary.ts';
import { tempDir } from './helpers.ts';

/** n records whose label is i % 10 and whose pixels are (i + channel) for easy checking. */
function batch(n: number, first = 0): Uint8Array {
  const out = new Uint8Array(n * 3073);
  for (let i = 0; i < n; i++) {
    out[i * 3073] = (first + i) % 10;
    for (let c = 0; c < 3; c++) out.fill(first + i + c, i * 3073 + 1 + c * 1024, i * 3073 + 1 + (c + 1) * 1024);
  }
  return out;
}

test('binary batches load as train (data_batch_*) and test (test_batch), CHW as stored', () => {
  const root = tempDir('cifar');
  const dir = join(root, 'cifar-10-batches-bin');
  mkdirSync(dir);
  writeFileSync(join(dir, 'data_batch_1.bin'), batch(4));
  writeFileSync(join(dir, 'data_batch_2.bin'), batch(3, 4));
  writeFileSync(join(dir, 'test_batch.bin'), batch(2, 20));
  const ds = loadCifarBinary(root);
  assert.deepEqual([ds.train.n, ds.test.n, ds.train.channels, ds.train.height, ds.train.width], [7, 2, 3, 32, 32]);
  assert.deepEqual([...ds.train.labels], [0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual(ds.train.classes, CIFAR10_CLASSES);
  const img5 = ds.train.images.subarray(5 * 3072, 6 * 3072);
  assert.deepEqual([img5[0], img5[1024], img5[2048], img5[3071]], [5, 6, 7, 7]);
  writeFileSync(join(dir, 'batches.meta.txt'), 'a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\n');
  assert.equal(loadCifarBinary(dir).test.classes[9], 'j');
});

test('a file that is not whole records, a bad label, or missing batches are UserErrors', () => {
  const dir = tempDir('cifar-bad');
  writeFileSync(join(dir, 'data_batch_1.bin'), batch(2).subarray(0, 5000));
  writeFileSync(join(dir, 'test_batch.bin'), batch(1));
  assert.throws(() => loadCifarBinary(dir), /data_batch_1\.bin: 5000 bytes is not a whole number of 3073-byte/);
  const bad = batch(1);
  bad[0] = 12;
  writeFileSync(join(dir, 'data_batch_1.bin'), bad);
  assert.throws(() => loadCifarBinary(dir), /record 0 has label 12/);
  assert.throws(() => loadCifarBinary(tempDir('cifar-none')), /missing CIFAR-10 batches/);
});
