import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { displaySize, modelView, overlayPng, viewPng } from '../../src/analysis/overlay.ts';
import { preprocess } from '../../src/data/preprocess.ts';
import type { RawImage } from '../../src/data/raw-image.ts';

function gradient(width: number, height: number): RawImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set([x * 6, y * 8, 100], (y * width + x) * 3);
  return { data, width, height, channels: 3 };
}

async function raw(png: Buffer): Promise<{ data: Buffer; width: number; channels: number }> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, channels: info.channels };
}

test('modelView is exactly the crop preprocessing feeds the model (before normalisation)', () => {
  const image = gradient(40, 30);
  const opts = { imgSize: 16, mean: [0, 0, 0], std: [1, 1, 1] };
  const view = modelView(image, opts);
  const input = preprocess(image, opts);
  assert.deepEqual([view.width, view.height, view.channels], [16, 16, 3]);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < 256; i++) assert.ok(Math.abs(view.data[i * 3 + c]! / 255 - input.data[c * 256 + i]!) < 1e-6);
  }
  const gray = modelView(image, { imgSize: 16, inChans: 1 });
  assert.equal(gray.channels, 3);
  assert.ok(gray.data[0] === gray.data[1] && gray.data[1] === gray.data[2]);
});

test('displaySize scales small models up by a whole factor to at least 256 px', () => {
  assert.deepEqual([28, 32, 64, 224, 384].map(displaySize), [280, 256, 256, 448, 384]);
});

test('mask style keeps the image where attention peaks and blacks it out where attention is lowest', async () => {
  const view = modelView(gradient(32, 32), { imgSize: 32, cropPct: 1 });
  const values = new Float64Array(16);
  values[0] = 1; // top-left patch of a 4×4 grid
  const png = await overlayPng(view, { values, grid: 4, readout: 'class-token' }, 64, 'mask');
  const { data, width, channels } = await raw(png);
  assert.equal(width, 64);
  const at = (x: number, y: number) => Array.from(data.subarray((y * width + x) * channels, (y * width + x) * channels + 3));
  assert.deepEqual(at(60, 60), [0, 0, 0]);
  const base = await raw(await viewPng(view, 64));
  assert.deepEqual(at(2, 2), Array.from(base.data.subarray((2 * 64 + 2) * 3, (2 * 64 + 2) * 3 + 3)));
});

test('heat style colours the image and keeps its size; a flat map is drawn without dividing by zero', async () => {
  const view = modelView(gradient(32, 32), { imgSize: 32, cropPct: 1 });
  for (const values of [Float64Array.from({ length: 16 }, (_, i) => i), new Float64Array(16).fill(0.2)]) {
    const png = await overlayPng(view, { values, grid: 4, readout: 'mean-tokens' }, 48, 'heat');
    const m = await sharp(png).metadata();
    assert.deepEqual([m.width, m.height], [48, 48]);
  }
  const hot = await raw(
    await overlayPng(view, { values: Float64Array.from({ length: 16 }, (_, i) => i), grid: 4, readout: 'class-token' }, 48, 'heat'),
  );
  const base = await raw(await viewPng(view, 48));
  assert.notDeepEqual(hot.data.subarray(0, 30), base.data.subarray(0, 30));
});
