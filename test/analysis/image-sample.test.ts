import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { sampleImages } from '../../src/analysis/image-sample.ts';
import { tempDir } from '../data/helpers.ts';

async function png(path: string, shade: number): Promise<void> {
  await sharp({ create: { width: 6, height: 4, channels: 3, background: { r: shade, g: 0, b: 0 } } }).png().toFile(path);
}

test('a folder of images: spread evenly, sorted, decoded on demand', async () => {
  const dir = tempDir('sample');
  for (let i = 0; i < 6; i++) await png(join(dir, `img${i}.png`), i * 40);
  const all = await sampleImages(dir, 10);
  assert.deepEqual(all.map((s) => s.name), ['img0.png', 'img1.png', 'img2.png', 'img3.png', 'img4.png', 'img5.png']);
  const some = await sampleImages(dir, 3);
  assert.deepEqual(some.map((s) => s.name), ['img0.png', 'img2.png', 'img4.png']);
  const image = await some[1]!.load();
  assert.deepEqual([image.width, image.height, image.data[0], some[1]!.native], [6, 4, 80, false]);
});

test('an ImageFolder (class folders) samples its files; a bad spec names itself', async () => {
  const dir = tempDir('sample');
  for (const c of ['cat', 'dog']) {
    mkdirSync(join(dir, c));
    await png(join(dir, c, 'a.png'), 10);
  }
  assert.deepEqual((await sampleImages(dir, 5)).map((s) => s.name), ['a.png', 'a.png']);
  await assert.rejects(sampleImages(join(dir, 'missing'), 5), /unknown dataset/);
});
