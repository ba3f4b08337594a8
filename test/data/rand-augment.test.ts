// RandAugment (src/data/rand-augment.ts): each op's effect on small images, and the op draw statistics.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RAND_AUGMENT_OPS, applyRandAugmentOp, checkRandAugment, randAugment } from '../../src/data/rand-augment.ts';
import { Rng } from '../../src/rng.ts';

const gray = { channels: 1, height: 4, width: 4 } as const;
/** A 4×4 ramp 0, 16, 32, … 240. */
const ramp = Uint8Array.from({ length: 16 }, (_, i) => i * 16);

test('magnitude 0 changes nothing, for every op that has a magnitude', () => {
  for (const op of RAND_AUGMENT_OPS) {
    if (op !== 'autocontrast' && op !== 'equalize') assert.deepEqual(applyRandAugmentOp(op, ramp, gray, 0), ramp, op);
  }
});

test('colour ops: solarize, posterize, brightness, contrast, autocontrast, equalize', () => {
  assert.deepEqual(applyRandAugmentOp('solarize', ramp, gray, 1), ramp.map((v) => 255 - v)); // threshold 0: all inverted
  assert.deepEqual(applyRandAugmentOp('solarize', ramp, gray, 0.5), ramp.map((v) => (v >= 128 ? 255 - v : v)));
  assert.deepEqual(applyRandAugmentOp('posterize', ramp, gray, 1), ramp.map((v) => v & 0xf0)); // 4 bits kept
  assert.deepEqual(applyRandAugmentOp('posterize', Uint8Array.of(255, 77), { ...gray, height: 1, width: 2 }, 0.5), Uint8Array.of(252, 76));
  assert.deepEqual(applyRandAugmentOp('brightness', ramp, gray, -1), ramp.map((v) => Math.round(v * 0.1)));
  assert.deepEqual(applyRandAugmentOp('brightness', ramp, gray, 1), ramp.map((v) => Math.min(255, Math.round(v * 1.9))));
  const contrast = applyRandAugmentOp('contrast', ramp, gray, -1); // towards the mean gray 120
  assert.deepEqual(contrast, ramp.map((v) => Math.round(120 + 0.1 * (v - 120))));
  const dull = Uint8Array.from(ramp, (v) => 100 + (v >> 3)); // 100 … 130
  assert.deepEqual(applyRandAugmentOp('autocontrast', dull, gray, 1), dull.map((v) => Math.floor(((v - 100) * 255) / 30)));
  // Equalize (PIL's) spreads a bunched histogram over the full range, keeping the order: 32 levels 100…131.
  const bunched = Uint8Array.from({ length: 1024 }, (_, i) => 100 + (i >> 5));
  const eq = applyRandAugmentOp('equalize', bunched, { channels: 1, height: 32, width: 32 }, 1);
  assert.equal(eq[0], 0);
  assert.equal(eq[1023], 255);
  assert.ok([...eq].every((v, i) => i === 0 || v >= eq[i - 1]!));
  assert.deepEqual(applyRandAugmentOp('equalize', dull, gray, 1), dull); // too few pixels for PIL to act
  // Per channel: an RGB image whose channels differ is stretched channel by channel.
  const rgb = Uint8Array.from([...dull, ...ramp, ...ramp.map(() => 7)]);
  const ac = applyRandAugmentOp('autocontrast', rgb, { ...gray, channels: 3 }, 1);
  assert.deepEqual(ac.subarray(16, 32), Uint8Array.from(ramp, (v) => Math.floor((v * 255) / 240)));
  assert.ok(ac.subarray(32).every((v) => v === 7)); // a flat channel is left alone
});

test('geometric ops: translate shifts whole pixels, shear and rotate move pixels about the centre, black fill', () => {
  const dims = { channels: 1, height: 10, width: 10 } as const;
  const img = Uint8Array.from({ length: 100 }, (_, i) => 1 + i);
  // Level ±1: 0.45 of the width = 4.5 → 5 pixels either way.
  const right = applyRandAugmentOp('translate-x', img, dims, 1);
  for (let y = 0; y < 10; y++) {
    for (let x = 0; x < 10; x++) assert.equal(right[y * 10 + x], x < 5 ? 0 : img[y * 10 + x - 5], `(${x}, ${y})`);
  }
  const left = applyRandAugmentOp('translate-x', img, dims, -1);
  assert.deepEqual(left.subarray(0, 5), img.subarray(5, 10));
  const up = applyRandAugmentOp('translate-y', img, dims, -0.2); // 0.09 · 10 → 1 pixel up
  assert.deepEqual(up.subarray(0, 90), img.subarray(10));
  assert.ok(up.subarray(90).every((v) => v === 0));
  // A centred plus sign keeps its centre under rotation and shear; a full-field image gets black corners.
  const rot = applyRandAugmentOp('rotate', img, dims, 1);
  assert.equal(rot[5 * 10 + 5], img[5 * 10 + 5]);
  assert.equal(rot[0], 0);
  assert.notDeepEqual(rot, img);
  const shear = applyRandAugmentOp('shear-x', img, dims, 1);
  assert.deepEqual(shear.subarray(50, 60), img.subarray(50, 60)); // the row through the centre does not move
  assert.notDeepEqual(shear.subarray(0, 10), img.subarray(0, 10));
});

test('ops are drawn uniformly, N per image, seeded; bad settings are UserErrors', () => {
  const rng = new Rng(4);
  const counts = new Map<string, number>();
  for (let i = 0; i < 3000; i++) {
    const { ops } = randAugment(ramp, gray, { n: 2, m: 9 }, rng);
    assert.equal(ops.length, 2);
    for (const op of ops) counts.set(op, (counts.get(op) ?? 0) + 1);
  }
  const expected = 6000 / RAND_AUGMENT_OPS.length;
  for (const op of RAND_AUGMENT_OPS) assert.ok(Math.abs(counts.get(op)! - expected) < 5 * Math.sqrt(expected), `${op}: ${counts.get(op)}`);
  const a = randAugment(ramp, gray, { n: 3, m: 5 }, new Rng(9));
  assert.deepEqual(randAugment(ramp, gray, { n: 3, m: 5 }, new Rng(9)), a);
  assert.throws(() => checkRandAugment({ n: 2, m: 11 }), /RandAugment M 11 is invalid/);
  assert.throws(() => checkRandAugment({ n: 1.5, m: 9 }), /RandAugment N 1.5 is invalid/);
});
