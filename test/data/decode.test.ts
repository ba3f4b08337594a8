import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { decodeImage, mapConcurrent, preprocessBatch, preprocessFile } from '../../src/data/decode.ts';
import { FIXTURES, tempDir } from './helpers.ts';

const PNG = join(FIXTURES, 'micro_p16_224/img_0.png');

test('grayscale files stay one channel, RGB three, alpha is dropped', async () => {
  const g = await decodeImage(join(FIXTURES, 'micro_gray_p4_28/img_0.png'));
  assert.deepEqual([g.width, g.height, g.channels, g.data.length], [28, 28, 1, 784]);
  const c = await decodeImage(join(FIXTURES, 'preprocess/photo_320x240.png'));
  assert.deepEqual([c.width, c.height, c.channels], [320, 240, 3]);
  const rgba = await sharp(Buffer.from([10, 20, 30, 40]), { raw: { width: 1, height: 1, channels: 4 } }).png().toBuffer();
  assert.deepEqual([...(await decodeImage(rgba)).data], [10, 20, 30]);
});

test('resizeTo gives a centre-cropped square', async () => {
  const c = await decodeImage(join(FIXTURES, 'preprocess/photo_320x240.png'), { resizeTo: 32 });
  assert.deepEqual([c.width, c.height, c.channels], [32, 32, 3]);
});

test('missing, non-image, truncated and oversized inputs are UserErrors naming the file', async () => {
  await assert.rejects(decodeImage('/nonexistent/cat.jpg'), /^UserError: \/nonexistent\/cat\.jpg: no such file: check the path$/);
  await assert.rejects(decodeImage(FIXTURES), /is a directory, not an image/);
  await assert.rejects(decodeImage(Buffer.from('not an image'), { name: 'cat.jpg' }), /cat\.jpg: not a decodable image \(.*\): pass a JPEG, PNG/);
  await assert.rejects(decodeImage(PNG, { maxPixels: 1000 }), /img_0\.png: image is 224x224, over the limit of 1000 pixels/);
  const dir = tempDir('decode');
  const half = join(dir, 'half.png');
  const bytes = readFileSync(PNG);
  writeFileSync(half, bytes.subarray(0, bytes.length >> 1));
  await assert.rejects(decodeImage(half), /half\.png: image data is corrupt or truncated/);
});

test('preprocessBatch stacks files in order into [B, C, S, S]', async () => {
  const files = [0, 1].map((k) => join(FIXTURES, `micro_p16_224/img_${k}.png`));
  const opts = { imgSize: 224, cropPct: 1, mean: [0.5], std: [0.5] };
  const batch = await preprocessBatch(files, opts, 1);
  assert.deepEqual(batch.shape, [2, 3, 224, 224]);
  const second = await preprocessFile(files[1], opts);
  assert.deepEqual(batch.data.subarray(3 * 224 * 224), second.data);
  await assert.rejects(preprocessBatch([], opts), /no images given/);
});

test('mapConcurrent keeps order, bounds concurrency and reports progress', async () => {
  let inFlight = 0;
  let peak = 0;
  const progress: number[] = [];
  const out = await mapConcurrent([5, 1, 4, 2, 3], 2, async (v, i) => {
    peak = Math.max(peak, ++inFlight);
    await new Promise((r) => setTimeout(r, v));
    inFlight--;
    return v * 10 + i;
  }, (done) => progress.push(done));
  assert.deepEqual(out, [50, 11, 42, 23, 34]);
  assert.equal(peak, 2);
  assert.deepEqual(progress, [1, 2, 3, 4, 5]);
});
