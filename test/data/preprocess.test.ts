import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readSafetensors } from '../../src/weights/safetensors.ts';
import { decodeImage, preprocessFile } from '../../src/data/decode.ts';
import { preprocess, resizePlan, resolvePreprocessOptions } from '../../src/data/preprocess.ts';
import { resample } from '../../src/data/resample.ts';
import { rawImage, toChannels } from '../../src/data/raw-image.ts';
import { UserError } from '../../src/errors.ts';

const FIXTURES = join(import.meta.dirname, '../../../shared/fixtures');

function expected(folder: string, name = 'input'): Float32Array {
  const t = readSafetensors(join(FIXTURES, folder, 'expected.safetensors')).tensors.get(name);
  assert.ok(t, `${folder}/expected.safetensors has no '${name}'`);
  return t.data as Float32Array;
}

function diffs(a: Float32Array, b: Float32Array): { mean: number; max: number } {
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

test("timm's eval transform (resize shorter side 256 bicubic, centre crop 224) matches PIL/torchvision", async () => {
  const x = await preprocessFile(join(FIXTURES, 'preprocess/photo_320x240.png'), { imgSize: 224 });
  assert.deepEqual(x.shape, [3, 224, 224]);
  const { mean, max } = diffs(x.data, expected('preprocess'));
  assert.ok(mean < 1e-6 && max < 1e-5, `mean ${mean} max ${max}`);
});

for (const [folder, inChans] of [['micro_p16_224', 3], ['micro_gray_p4_28', 1]] as const) {
  test(`${folder}: no-resize path is exact (crop_pct 1, mean = std = 0.5)`, async () => {
    const want = expected(folder);
    const size = folder === 'micro_p16_224' ? 224 : 28;
    for (const k of [0, 1]) {
      const x = await preprocessFile(join(FIXTURES, folder, `img_${k}.png`), { imgSize: size, inChans, cropPct: 1, mean: [0.5], std: [0.5] });
      assert.deepEqual(x.shape, [inChans, size, size]);
      const per = inChans * size * size;
      const { max } = diffs(x.data, want.subarray(k * per, (k + 1) * per));
      assert.ok(max < 1e-6, `img_${k}: max diff ${max}`);
    }
  });
}

test('resize plan follows torchvision: shorter side to floor(S / crop_pct), long side truncated, crop rounded half-even', () => {
  const o = resolvePreprocessOptions({ imgSize: 224 });
  assert.deepEqual(resizePlan(320, 240, o), { width: 341, height: 256, left: 58, top: 16, size: 224 });
  assert.deepEqual(resizePlan(240, 320, o), { width: 256, height: 341, left: 16, top: 58, size: 224 });
  const sq = resolvePreprocessOptions({ imgSize: 224, resize: 'squash' });
  assert.equal(sq.interpolation, 'bilinear');
  assert.deepEqual(resizePlan(320, 240, sq), { width: 224, height: 224, left: 0, top: 0, size: 224 });
  assert.deepEqual(resizePlan(500, 500, resolvePreprocessOptions({ imgSize: 224, cropPct: 1 })), { width: 224, height: 224, left: 0, top: 0, size: 224 });
});

test('resample: constant images stay constant, shrinking antialiases, same size is a no-op', () => {
  const flat = rawImage(new Uint8Array(30 * 20 * 3).fill(77), 30, 20, 3);
  for (const f of ['bilinear', 'bicubic'] as const) {
    for (const [w, h] of [[7, 5], [61, 47]]) {
      const r = resample(flat, w, h, f);
      assert.equal(r.data.length, w * h * 3);
      assert.ok(r.data.every((v) => v === 77), `${f} ${w}x${h}`);
    }
  }
  assert.equal(resample(flat, 30, 20, 'bicubic'), flat);
  // A 1-px checkerboard shrunk 4x averages to mid-grey instead of aliasing.
  const checker = new Uint8Array(64 * 64).map((_, i) => (((i % 64) + Math.floor(i / 64)) % 2) * 255);
  const small = resample(rawImage(checker, 64, 64, 1), 16, 16, 'bicubic');
  assert.ok(small.data.every((v) => Math.abs(v - 127.5) < 3), `${small.data.slice(0, 8)}`);
});

test('grayscale ↔ RGB follow PIL: ITU-R 601 luma in fixed point, replication the other way', () => {
  const rgb = rawImage(Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 200, 30]), 4, 1, 3);
  assert.deepEqual([...toChannels(rgb, 1).data], [76, 150, 29, 124]);
  const gray = rawImage(Uint8Array.from([9, 200]), 2, 1, 1);
  assert.deepEqual([...toChannels(gray, 3).data], [9, 9, 9, 200, 200, 200]);
  const x = preprocess(gray, { imgSize: 2, cropPct: 1, mean: [0], std: [1] });
  assert.deepEqual(x.shape, [3, 2, 2]);
});

test('bad options and images are UserErrors naming the problem', async () => {
  assert.throws(() => resolvePreprocessOptions({ imgSize: 224, mean: [0.5, 0.5] }), /mean has 2 values/);
  assert.throws(() => resolvePreprocessOptions({ imgSize: 224, cropPct: 1.5 }), UserError);
  assert.throws(() => resolvePreprocessOptions({ imgSize: 0 }), UserError);
  await assert.rejects(decodeImage('/nonexistent/cat.jpg'), /cat\.jpg: no such file/);
  await assert.rejects(decodeImage(Buffer.from('not an image'), { name: 'cat.jpg' }), /cat\.jpg: not a decodable image .*: pass a JPEG/);
  const png = join(FIXTURES, 'micro_p16_224/img_0.png');
  await assert.rejects(decodeImage(png, { maxPixels: 1000 }), /img_0\.png: image is 224x224, over the limit/);
  const { readFileSync } = await import('node:fs');
  const bytes = readFileSync(png);
  await assert.rejects(decodeImage(bytes.subarray(0, bytes.length >> 1), { name: 'half.png' }), /half\.png: image data is corrupt or truncated/);
});

test('decodeImage keeps grayscale files one channel and RGB three', async () => {
  const g = await decodeImage(join(FIXTURES, 'micro_gray_p4_28/img_0.png'));
  assert.deepEqual([g.width, g.height, g.channels], [28, 28, 1]);
  const c = await decodeImage(join(FIXTURES, 'preprocess/photo_320x240.png'));
  assert.deepEqual([c.width, c.height, c.channels, c.data.length], [320, 240, 3, 320 * 240 * 3]);
});
