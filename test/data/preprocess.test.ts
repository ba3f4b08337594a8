import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readSafetensors } from '../../src/weights/safetensors.ts';
import { preprocessFile } from '../../src/data/decode.ts';
import { preprocess, resizePlan, resolvePreprocessOptions } from '../../src/data/preprocess.ts';
import { rawImage } from '../../src/data/raw-image.ts';
import { UserError } from '../../src/errors.ts';
import { FIXTURES } from './helpers.ts';

function expected(folder: string): Float32Array {
  const t = readSafetensors(join(FIXTURES, folder, 'expected.safetensors')).tensors.get('input');
  assert.ok(t, `${folder}/expected.safetensors has no 'input'`);
  return t.data as Float32Array;
}

function maxDiff(a: Float32Array, b: Float32Array): { mean: number; max: number } {
  assert.equal(a.length, b.length);
  let sum = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    sum += d;
    max = Math.max(max, d);
  }
  return { mean: sum / a.length, max };
}

test("timm's eval transform (shorter side 256 bicubic, centre crop 224, ImageNet mean/std) matches torchvision + PIL", async () => {
  const x = await preprocessFile(join(FIXTURES, 'preprocess/photo_320x240.png'), { imgSize: 224 });
  assert.deepEqual(x.shape, [3, 224, 224]);
  const { mean, max } = maxDiff(x.data, expected('preprocess'));
  // The resampler reproduces PIL exactly, so this is float rounding only (the README allows 0.02 mean).
  assert.ok(mean < 1e-6 && max < 1e-5, `mean ${mean} max ${max}`);
});

for (const [folder, size, inChans] of [['micro_p16_224', 224, 3], ['micro_gray_p4_28', 28, 1]] as const) {
  test(`${folder}: without resizing the input is exact (crop_pct 1, mean = std = 0.5)`, async () => {
    const want = expected(folder);
    const per = inChans * size * size;
    for (const k of [0, 1]) {
      const x = await preprocessFile(join(FIXTURES, folder, `img_${k}.png`), { imgSize: size, inChans, cropPct: 1, mean: [0.5], std: [0.5] });
      assert.deepEqual(x.shape, [inChans, size, size]);
      const { max } = maxDiff(x.data, want.subarray(k * per, (k + 1) * per));
      assert.ok(max < 1e-6, `img_${k}: max diff ${max}`);
    }
  });
}

test('resize plan follows torchvision: shorter side to floor(S / crop_pct), long side truncated, crop offset rounded half-even', () => {
  const o = resolvePreprocessOptions({ imgSize: 224 });
  assert.deepEqual(resizePlan(320, 240, o), { width: 341, height: 256, left: 58, top: 16, size: 224 });
  assert.deepEqual(resizePlan(240, 320, o), { width: 256, height: 341, left: 16, top: 58, size: 224 });
  const squash = resolvePreprocessOptions({ imgSize: 224, resize: 'squash' });
  assert.equal(squash.interpolation, 'bilinear');
  assert.deepEqual(resizePlan(320, 240, squash), { width: 224, height: 224, left: 0, top: 0, size: 224 });
  assert.deepEqual(resizePlan(500, 500, resolvePreprocessOptions({ imgSize: 224, cropPct: 1 })), {
    width: 224,
    height: 224,
    left: 0,
    top: 0,
    size: 224,
  });
});

test('channel conversion and normalisation: gray input to a 3-channel model, RGB input to a 1-channel model', () => {
  const gray = rawImage(Uint8Array.from([0, 255, 51, 102]), 2, 2, 1);
  const x = preprocess(gray, { imgSize: 2, cropPct: 1, mean: [0], std: [1] });
  assert.deepEqual(x.shape, [3, 2, 2]);
  assert.deepEqual([...x.data.subarray(0, 4)], [...x.data.subarray(8, 12)]);
  assert.ok(Math.abs(x.data[2] - 0.2) < 1e-7);
  const rgb = rawImage(Uint8Array.from([255, 0, 0]), 1, 1, 3);
  const g = preprocess(rgb, { imgSize: 1, inChans: 1, cropPct: 1, mean: [0.5], std: [0.5] });
  assert.deepEqual(g.shape, [1, 1, 1]);
  assert.ok(Math.abs(g.data[0] - ((76 / 255 - 0.5) / 0.5)) < 1e-6);
  // Default normalisation for one channel: the average of ImageNet's.
  assert.deepEqual(resolvePreprocessOptions({ imgSize: 8, inChans: 1 }).mean, [(0.485 + 0.456 + 0.406) / 3]);
});

test('bad options are UserErrors naming the option and the allowed values', () => {
  assert.throws(() => resolvePreprocessOptions({ imgSize: 224, mean: [0.5, 0.5] }), /mean has 2 values .* pass 1 or 3 values/);
  assert.throws(() => resolvePreprocessOptions({ imgSize: 224, std: [0] }), UserError);
  assert.throws(() => resolvePreprocessOptions({ imgSize: 224, cropPct: 1.5 }), /crop_pct 1.5 .* \(0, 1\]/);
  assert.throws(() => resolvePreprocessOptions({ imgSize: 0 }), UserError);
  assert.throws(() => resolvePreprocessOptions({ imgSize: 8, resize: 'fit' as never }), /expected shorter-crop\|squash/);
});
