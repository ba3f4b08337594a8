import assert from 'node:assert/strict';
import { test } from 'node:test';
import { imageSet } from '../../src/data/image-set.ts';
import { checkConfig, defaultConfig } from '../../src/model/config.ts';
import { initParameters } from '../../src/model/init.ts';
import { FrozenPart } from '../../src/runtime/frozen-part.ts';
import { nodeEngine } from '../../src/runtime/node-engine.ts';
import { frozenRows, gatherRows } from '../../src/train/frozen-rows.ts';

const config = checkConfig({
  ...defaultConfig, imgSize: 8, patchSize: 4, inChans: 1, embedDim: 16, depth: 2, numHeads: 2, mlpDim: 32, numClasses: 3,
});
const n = 70; // three runs of the part: 32, 32, 6
const set = imageSet({
  name: 'toy', classes: ['a', 'b', 'c'], channels: 1, height: 8, width: 8,
  images: Uint8Array.from({ length: n * 64 }, (_, i) => (i * 37) % 256), labels: Int32Array.from({ length: n }, (_, i) => i % 3),
});
const norm = { mean: [0.5], std: [0.5] };

test('frozenRows: every image through the part in stored order, as one run gives them; a signal stops it', async () => {
  const part = await FrozenPart.create(nodeEngine, config, initParameters(config, { seed: 1 }), { block: 1 }, { threads: 1 });
  const seen: number[] = [];
  const rows = (await frozenRows(part, set, norm, { onProgress: (d) => seen.push(d) }))!;
  assert.deepEqual(seen, [32, 64, 70]);
  assert.equal(rows.length, n * part.size);
  const images = Float32Array.from(set.images, (v) => (v / 255 - 0.5) / 0.5);
  const whole = await part.run(images, n);
  rows.forEach((v, i) => assert.ok(Math.abs(v - whole[i]!) <= 1e-5 * Math.max(1, Math.abs(v)), `row value ${i}`));
  const controller = new AbortController();
  const stopped = await frozenRows(part, set, norm, { onProgress: () => controller.abort(), signal: controller.signal });
  assert.equal(stopped, null);
  await part.release();
});

test('gatherRows: the rows and labels of a batch', () => {
  const rows = Float32Array.from({ length: 4 * 6 }, (_, i) => i);
  const { x, y } = gatherRows(rows, [2, 3], Int32Array.of(0, 1, 2, 0), Int32Array.of(2, 0));
  assert.deepEqual(x.shape, [2, 2, 3]);
  assert.deepEqual([...x.data], [12, 13, 14, 15, 16, 17, 0, 1, 2, 3, 4, 5]);
  assert.deepEqual([...y.data], [2n, 0n]);
});
