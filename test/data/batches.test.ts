import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Batches } from '../../src/data/batches.ts';
import type { Batch, BatchOptions } from '../../src/data/batches.ts';
import { imageSet } from '../../src/data/image-set.ts';

// 23 RGB 4×5 images whose pixels encode (image, channel, position), labels i % 3.
const N = 23;
const set = imageSet({
  name: 'toy',
  classes: ['a', 'b', 'c'],
  images: Uint8Array.from({ length: N * 60 }, (_, i) => (i * 13) % 251),
  labels: Int32Array.from({ length: N }, (_, i) => i % 3),
  channels: 3,
  height: 4,
  width: 5,
});

const take = (it: Batches, k: number): Batch[] => Array.from({ length: k }, () => it.next());

test('evaluation order: no shuffle, the last batch is kept, values are (x/255 - mean)/std, labels int64', () => {
  const it = new Batches(set, { batchSize: 10, shuffle: false, mean: [0.5], std: [0.25] });
  assert.equal(it.batchesPerEpoch, 3);
  const [a, , c] = take(it, 3);
  assert.deepEqual(a.x.shape, [10, 3, 4, 5]);
  assert.deepEqual(c.x.shape, [3, 3, 4, 5]);
  assert.deepEqual([...c.indices], [20, 21, 22]);
  assert.deepEqual([...c.y.data], [2n, 0n, 1n]);
  assert.equal(c.y.dtype, 'int64');
  for (const i of [0, 59, 61, 599]) assert.ok(Math.abs(a.x.data[i] - (set.images[i] / 255 - 0.5) / 0.25) < 1e-6);
  assert.deepEqual(it.position(), { epoch: 1, batch: 0 });
});

test('shuffling: seeded, a permutation per epoch, different across epochs and seeds; the ragged batch is dropped', () => {
  const opts: BatchOptions = { batchSize: 4, seed: 7 };
  const it = new Batches(set, opts);
  assert.equal(it.batchesPerEpoch, 5);
  const epoch0 = [...it.restOfEpoch()].flatMap((b) => [...b.indices]);
  const epoch1 = [...it.restOfEpoch()].flatMap((b) => [...b.indices]);
  assert.equal(new Set(epoch0).size, 20);
  assert.notDeepEqual(epoch0, epoch1);
  const again = [...new Batches(set, opts).restOfEpoch()].flatMap((b) => [...b.indices]);
  assert.deepEqual(again, epoch0);
  const other = [...new Batches(set, { ...opts, seed: 8 }).restOfEpoch()].flatMap((b) => [...b.indices]);
  assert.notDeepEqual(other, epoch0);
});

test('resuming from a saved position gives identical batches, across an epoch boundary, with augmentation', () => {
  const opts: BatchOptions = { batchSize: 6, seed: 11, augment: { padCrop: 2, flip: true } };
  const full = take(new Batches(set, opts), 9);
  const first = new Batches(set, opts);
  take(first, 4);
  const saved = JSON.parse(JSON.stringify(first.position()));
  assert.deepEqual(saved, { epoch: 1, batch: 1 });
  const resumed = take(new Batches(set, opts, saved), 5);
  resumed.forEach((b, k) => {
    const want = full[4 + k];
    assert.deepEqual([b.epoch, b.batch], [want.epoch, want.batch]);
    assert.deepEqual(b.indices, want.indices);
    assert.deepEqual(b.x.data, want.x.data);
    assert.deepEqual(b.y.data, want.y.data);
  });
});

test('nextIndices walks the positions and images next() does, from any start, building no batch', () => {
  const opts: BatchOptions = { batchSize: 6, seed: 11 };
  const full = take(new Batches(set, opts), 9);
  const walk = new Batches(set, opts, { epoch: 0, batch: 2 });
  for (const want of full.slice(2)) {
    assert.deepEqual(walk.nextIndices(), { epoch: want.epoch, batch: want.batch, indices: want.indices });
  }
  assert.deepEqual(walk.position(), { epoch: 3, batch: 0 }, 'three epochs of 3 batches walked');
});

test('augmentation: deterministic per seed, crops and flips within the padded image', () => {
  const ramp = imageSet({
    name: 'ramp',
    classes: ['a'],
    images: Uint8Array.from({ length: 50 * 16 }, (_, i) => 10 + (i % 4) * 50),
    labels: new Int32Array(50),
    channels: 1,
    height: 4,
    width: 4,
  });
  const opts: BatchOptions = { batchSize: 50, shuffle: false, mean: [0], std: [1], augment: { padCrop: 1, flip: true } };
  const a = new Batches(ramp, opts).next();
  assert.deepEqual(a.x.data, new Batches(ramp, opts).next().x.data);
  assert.notDeepEqual(a.x.data, new Batches(ramp, { ...opts, seed: 1 }).next().x.data);
  // Every row is a shifted (and maybe mirrored) piece of [10, 60, 110, 160] padded with black.
  const allowed = new Set([0, 10, 60, 110, 160].map((v) => Math.fround(v / 255)));
  assert.ok(a.x.data.every((v) => allowed.has(v)));
  const rows = new Set<string>();
  for (let k = 0; k < 50; k++) rows.add([...a.x.data.subarray(k * 16 + 4, k * 16 + 8)].map((v) => Math.round(v * 255)).join(','));
  assert.ok(rows.has('10,60,110,160') || rows.has('160,110,60,10'));
  assert.ok([...rows].some((r) => r.startsWith('0,') || r.endsWith(',0')), 'some rows are shifted into the padding');
  assert.ok([...rows].some((r) => r.startsWith('160') || r.startsWith('110')), 'some rows are mirrored');
});

test('bad settings are UserErrors', () => {
  assert.throws(() => new Batches(set, { batchSize: 0 }), /batch size 0 is invalid/);
  assert.throws(() => new Batches(set, { batchSize: 24 }), /23 images make no full batch of 24/);
  assert.throws(() => new Batches(set, { batchSize: 4 }, { epoch: 0, batch: 9 }), /cannot resume at epoch 0, batch 9/);
  assert.throws(() => new Batches(set, { batchSize: 4, mean: [0.1, 0.2] }), /mean has 2 values/);
});
