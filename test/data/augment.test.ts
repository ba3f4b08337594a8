// RandomResizedCrop and random erasing (src/data/augment.ts): their sampling statistics and geometry.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RRC_DEFAULTS, checkRandomResizedCrop, randomErase, randomResizedCropBox, resizedCrop } from '../../src/data/augment.ts';
import { Batches } from '../../src/data/batches.ts';
import { imageSet } from '../../src/data/image-set.ts';
import { Rng } from '../../src/rng.ts';

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

test('RandomResizedCrop boxes: inside the image, area and log-ratio uniform within their ranges', () => {
  const rng = new Rng(1);
  const draw = (scale: [number, number], ratio: [number, number]) =>
    Array.from({ length: 4000 }, () => {
      const b = randomResizedCropBox(64, 64, { scale, ratio }, rng);
      assert.ok(b.top >= 0 && b.left >= 0 && b.top + b.height <= 64 && b.left + b.width <= 64, JSON.stringify(b));
      return { area: (b.height * b.width) / 4096, logRatio: Math.log(b.width / b.height) };
    });
  // The defaults: every box within the ranges, up to rounding to whole pixels.
  const d = draw([0.08, 1], [3 / 4, 4 / 3]);
  assert.ok(Math.min(...d.map((b) => b.area)) >= 0.07 && Math.max(...d.map((b) => b.area)) <= 1);
  assert.ok(Math.max(...d.map((b) => Math.abs(b.logRatio))) <= Math.log(4 / 3) + 0.05);
  // Ranges where no draw is rejected (every box fits): the statistics of the uniform distributions.
  const sq = draw([0.25, 0.5], [1, 1]).map((b) => b.area);
  assert.ok(Math.abs(mean(sq) - 0.375) < 0.01, `mean area ${mean(sq)}`);
  assert.ok(Math.abs(sq.filter((a) => a < 0.3125).length / sq.length - 0.25) < 0.03);
  const lr = draw([0.1, 0.2], [3 / 4, 4 / 3]).map((b) => b.logRatio);
  const sd = Math.sqrt(mean(lr.map((v) => v * v)));
  assert.ok(Math.abs(mean(lr)) < 0.01 && Math.abs(sd - Math.log(16 / 9) / Math.sqrt(12)) < 0.01, `log ratio mean ${mean(lr)}, sd ${sd}`);
});

test('RandomResizedCrop falls back to a centre crop of clamped ratio, and a whole-image box is the identity', () => {
  const tall = randomResizedCropBox(40, 4, { scale: [1, 1], ratio: [1, 1] }, new Rng(2));
  assert.deepEqual(tall, { top: 18, left: 0, height: 4, width: 4 });
  const image = Uint8Array.from({ length: 3 * 6 * 5 }, (_, i) => (i * 7) % 256);
  const dims = { channels: 3, height: 6, width: 5 } as const;
  assert.deepEqual(resizedCrop(image, dims, { top: 0, left: 0, height: 6, width: 5 }), image);
  // A 2×2 corner blown up to 6×5 keeps that corner's values range.
  const corner = resizedCrop(image, dims, { top: 0, left: 0, height: 2, width: 2 });
  const src = [0, 1, 5, 6].map((i) => image[i]!);
  for (let i = 0; i < 30; i++) assert.ok(corner[i]! >= Math.min(...src) && corner[i]! <= Math.max(...src));
  assert.throws(() => checkRandomResizedCrop({ scale: [0.5, 0.2], ratio: [1, 1] }), /scale \[0.5, 0.2\] is invalid/);
});

test('random erasing: applied with probability p, a box of 2–33% of the image filled with standard normal noise', () => {
  const dims = { channels: 1, height: 32, width: 32 } as const;
  const rng = new Rng(3);
  const noise: number[] = [];
  let erased = 0;
  for (let i = 0; i < 2000; i++) {
    const x = new Float32Array(32 * 32).fill(100);
    const box = randomErase(x, dims, 0.25, rng);
    if (!box) {
      assert.ok(x.every((v) => v === 100));
      continue;
    }
    erased++;
    const frac = (box.height * box.width) / 1024;
    assert.ok(frac > 0.015 && frac < 0.36, `area ${frac}`);
    for (let y = 0; y < 32; y++) {
      for (let xx = 0; xx < 32; xx++) {
        const inside = y >= box.top && y < box.top + box.height && xx >= box.left && xx < box.left + box.width;
        if (inside) noise.push(x[y * 32 + xx]!);
        else assert.equal(x[y * 32 + xx], 100);
      }
    }
  }
  assert.ok(Math.abs(erased / 2000 - 0.25) < 0.03, `erased ${erased / 2000}`);
  const m = mean(noise);
  const sd = Math.sqrt(mean(noise.map((v) => (v - m) ** 2)));
  assert.ok(Math.abs(m) < 0.02 && Math.abs(sd - 1) < 0.02, `noise mean ${m}, sd ${sd}`);
});

test('batches with RandomResizedCrop, RandAugment and erasing are seeded, and turning one on leaves the others unchanged', () => {
  const set = imageSet({
    name: 'toy',
    classes: ['a', 'b'],
    images: Uint8Array.from({ length: 12 * 3 * 8 * 8 }, (_, i) => (i * 29) % 256),
    labels: Int32Array.from({ length: 12 }, (_, i) => i % 2),
    channels: 3,
    height: 8,
    width: 8,
  });
  const base = { batchSize: 4, seed: 5, augment: { flip: true, padCrop: 1 } };
  const all = { ...base, augment: { ...base.augment, randomResizedCrop: RRC_DEFAULTS, randAugment: { n: 2, m: 9 }, erasing: 0.5 } };
  const a = new Batches(set, all).next();
  assert.deepEqual(new Batches(set, all).next().x.data, a.x.data);
  assert.notDeepEqual(new Batches(set, { ...all, seed: 6 }).next().x.data, a.x.data);
  // Flip and crop draw from their own stream: same flips/offsets with or without the new augmentations.
  const plain = new Batches(set, base).next();
  const noFlip = new Batches(set, { ...base, augment: { padCrop: 1 } }).next();
  assert.deepEqual(plain.indices, a.indices);
  assert.notDeepEqual(plain.x.data, noFlip.x.data);
});
