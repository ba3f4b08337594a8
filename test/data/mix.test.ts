// Mixup / CutMix (src/data/mix.ts), the Beta sampler behind them, and the dropout keep-masks (src/data/noise.ts):
// their distributions, and what they do to images and targets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Batches } from '../../src/data/batches.ts';
import { imageSet } from '../../src/data/image-set.ts';
import { checkMix, mixBatch } from '../../src/data/mix.ts';
import { checkNoise, keepMasks } from '../../src/data/noise.ts';
import { Rng } from '../../src/rng.ts';

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const variance = (xs: number[]) => {
  const m = mean(xs);
  return mean(xs.map((x) => (x - m) ** 2));
};

test('Beta(a, b) samples have the right mean and variance (a, b below and above 1)', () => {
  for (const [a, b] of [[0.2, 0.2], [0.8, 0.8], [2, 5]] as const) {
    const rng = new Rng(7);
    const xs = Array.from({ length: 20000 }, () => rng.beta(a, b));
    const m = a / (a + b);
    const v = (a * b) / ((a + b) ** 2 * (a + b + 1));
    assert.ok(xs.every((x) => x >= 0 && x <= 1));
    assert.ok(Math.abs(mean(xs) - m) < 0.01, `Beta(${a}, ${b}) mean ${mean(xs)} vs ${m}`);
    assert.ok(Math.abs(variance(xs) - v) < 0.01, `Beta(${a}, ${b}) variance ${variance(xs)} vs ${v}`);
  }
});

const dims = { channels: 1, height: 8, width: 8 } as const;
const per = 64;

test('mixup: λ ~ Beta(α, α) per batch; images blended with the reversed batch; targets blend the labels', () => {
  const rng = new Rng(1);
  const lams: number[] = [];
  for (let i = 0; i < 3000; i++) {
    lams.push(mixBatch(new Float32Array(2 * per), [0, 1], dims, { mixup: 0.4, cutmix: 0, labelSmoothing: 0, classes: 2 }, rng).info.lam);
  }
  assert.ok(Math.abs(mean(lams) - 0.5) < 0.015, `mean λ ${mean(lams)}`);
  assert.ok(Math.abs(variance(lams) - 1 / (4 * (2 * 0.4 + 1))) < 0.01, `var λ ${variance(lams)}`); // Beta(α, α): 1/(4(2α+1))
  assert.ok(lams.filter((l) => l < 0.1 || l > 0.9).length / lams.length > 0.3, 'α < 1 puts mass near 0 and 1');

  const x = Float32Array.from({ length: 3 * per }, (_, i) => Math.floor(i / per)); // images 0, 1, 2 filled with 0, 1, 2
  const { targets, info } = mixBatch(x, [0, 1, 2], dims, { mixup: 1, cutmix: 0, labelSmoothing: 0.3, classes: 3 }, new Rng(2));
  const lam = info.lam;
  assert.equal(info.kind, 'mixup');
  assert.ok(Math.abs(x[0]! - (lam * 0 + (1 - lam) * 2)) < 1e-6 && Math.abs(x[2 * per]! - (lam * 2 + (1 - lam) * 0)) < 1e-6);
  assert.ok(x.subarray(per, 2 * per).every((v) => v === 1), 'the middle image pairs with itself');
  const [off, on] = [0.1, 0.8]; // ε/K and 1 − ε + ε/K
  const row0 = [lam * on + (1 - lam) * off, off, lam * off + (1 - lam) * on];
  row0.forEach((t, k) => assert.ok(Math.abs(targets[k]! - t) < 1e-6, `target[0][${k}]`));
  for (let b = 0; b < 3; b++) assert.ok(Math.abs(targets.subarray(b * 3, b * 3 + 3).reduce((s, v) => s + v, 0) - 1) < 1e-6);
});

test('cutmix: boxes swapped between pairs, λ is the kept area; with both on, each is chosen half the time', () => {
  const rng = new Rng(3);
  for (let i = 0; i < 200; i++) {
    const x = Float32Array.from({ length: 2 * per }, (_, k) => (k < per ? 0 : 1));
    const { targets, info } = mixBatch(x, [0, 1], dims, { mixup: 0, cutmix: 1, labelSmoothing: 0, classes: 2 }, rng);
    assert.equal(info.kind, 'cutmix');
    const taken = x.subarray(0, per).filter((v) => v === 1).length;
    assert.equal(1 - taken / per, info.lam);
    assert.equal(x.subarray(per).filter((v) => v === 0).length, taken);
    assert.ok(Math.abs(targets[0]! - info.lam) < 1e-6 && Math.abs(targets[1]! - (1 - info.lam)) < 1e-6);
  }
  const kinds = Array.from(
    { length: 1000 },
    () => mixBatch(new Float32Array(2 * per), [0, 1], dims, { mixup: 0.8, cutmix: 1, labelSmoothing: 0, classes: 2 }, rng).info.kind,
  );
  assert.ok(Math.abs(kinds.filter((k) => k === 'cutmix').length / 1000 - 0.5) < 0.05);
  assert.throws(() => checkMix({ mixup: -1, cutmix: 0 }), /mixup α -1 is invalid/);
});

test('batches carry soft targets with Mixup/CutMix, and keep-masks drawn with the batch', () => {
  const set = imageSet({
    name: 't',
    classes: ['a', 'b', 'c'],
    images: new Uint8Array(12 * 16),
    labels: Int32Array.from({ length: 12 }, (_, i) => i % 3),
    channels: 1,
    height: 4,
    width: 4,
  });
  const opts = { batchSize: 6, seed: 1, augment: { mixup: 0.2 }, labelSmoothing: 0.1, noise: [{ name: 'm', shape: [2, 3], rate: 0.25 }] };
  const b = new Batches(set, opts).next();
  assert.deepEqual(b.targets!.shape, [6, 3]);
  assert.equal(b.mix!.kind, 'mixup');
  assert.equal(b.masks!.get('m')!.length, 36);
  assert.equal(new Batches(set, { batchSize: 6 }).next().targets, undefined);
});

test('keep-masks: each element kept with probability 1 − rate, one stream per batch, rates checked', () => {
  const masks = keepMasks([{ name: 'a', shape: [100], rate: 0.1 }, { name: 'b', shape: [1], rate: 0.5 }], 200, new Rng(5));
  const a = masks.get('a')!;
  assert.equal(a.length, 20000);
  assert.ok(Math.abs(a.reduce((s, v) => s + v, 0) / a.length - 0.9) < 0.01);
  assert.ok(Math.abs(masks.get('b')!.reduce((s, v) => s + v, 0) / 200 - 0.5) < 0.1);
  assert.ok(a.every((v) => v === 0 || v === 1));
  assert.deepEqual(keepMasks([{ name: 'a', shape: [100], rate: 0.1 }], 200, new Rng(5)).get('a'), a);
  assert.throws(() => checkNoise([{ name: 'mask.pos', shape: [4], rate: 1 }]), /mask.pos: drop rate 1 is invalid/);
});
