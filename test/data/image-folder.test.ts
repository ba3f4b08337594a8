import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadImageFolder } from '../../src/data/image-folder.ts';
import { decodeImage } from '../../src/data/decode.ts';
import { DATASETS, tempDir } from './helpers.ts';

// A few CIFAR-10 JPEGs (32×32) from the shared archive: train/{cat,dog}/0000–0004, test/{cat,dog}/0000–0002.
const tmp = tempDir('imagefolder');
execFileSync('tar', [
  '-xzf', join(DATASETS, 'cifar10-jpeg.tar.gz'), '-C', tmp, '--wildcards',
  'cifar10/train/cat/000[0-4].jpg', 'cifar10/train/dog/000[0-4].jpg', 'cifar10/test/cat/000[0-2].jpg', 'cifar10/test/dog/000[0-2].jpg',
]);
const root = join(tmp, 'cifar10');

test('train/ and test/ folders load as the two splits, classes sorted, images CHW at their own size', async () => {
  const seen: number[] = [];
  const ds = await loadImageFolder(root, { concurrency: 3, onProgress: (done, total) => seen.push(done * 100 + total) });
  assert.deepEqual(ds.train.classes, ['cat', 'dog']);
  assert.deepEqual([ds.train.n, ds.test.n, ds.train.channels, ds.train.height, ds.train.width], [10, 6, 3, 32, 32]);
  assert.deepEqual([...ds.train.labels], [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
  assert.deepEqual([...ds.test.labels], [0, 0, 0, 1, 1, 1]);
  assert.equal(seen.length, 16);
  assert.equal(seen.at(-1), 1616);
  // Image 6 of train is dog/0001.jpg; its green plane equals the decoded pixels' green channel.
  const raw = await decodeImage(join(root, 'train/dog/0001.jpg'));
  const green = ds.train.images.subarray(6 * 3072 + 1024, 6 * 3072 + 2048);
  assert.ok(green.every((v, i) => v === raw.data[i * 3 + 1]));
});

test('imageSize and channels: resized squares, grayscale by luma', async () => {
  const ds = await loadImageFolder(root, { imageSize: 16, channels: 1 });
  assert.deepEqual([ds.test.channels, ds.test.height, ds.test.width, ds.test.images.length], [1, 16, 16, 6 * 256]);
});

test('an unsplit folder holds out a seeded, deterministic fraction of each class', async () => {
  const a = await loadImageFolder(join(root, 'train'), { valSplit: 0.4, seed: 3 });
  const b = await loadImageFolder(join(root, 'train'), { valSplit: 0.4, seed: 3 });
  assert.deepEqual([a.train.n, a.test.n], [6, 4]);
  assert.deepEqual([...a.test.labels], [0, 0, 1, 1]);
  assert.deepEqual(a.test.images, b.test.images);
  assert.deepEqual(a.train.images, b.train.images);
  await assert.rejects(loadImageFolder(join(root, 'train'), { valSplit: 1 }), /valSplit 1 is out of range/);
});

test('empty folders, class folders without images and unreadable images are UserErrors naming the path', async () => {
  const dir = tempDir('imagefolder-bad');
  await assert.rejects(loadImageFolder(join(dir, 'nope')), /nope: no such directory/);
  await assert.rejects(loadImageFolder(dir), new RegExp(`${dir}: no class folders`));
  mkdirSync(join(dir, 'cat'));
  mkdirSync(join(dir, 'dog'));
  copyFileSync(join(root, 'train/cat/0000.jpg'), join(dir, 'cat/a.jpg'));
  writeFileSync(join(dir, 'dog/notes.txt'), 'not an image');
  await assert.rejects(loadImageFolder(dir), /dog: no images \(\.jpg, .*\) in this class folder/);
  writeFileSync(join(dir, 'dog/broken.jpg'), 'not really a jpeg');
  await assert.rejects(loadImageFolder(dir, { valSplit: 0 }), /dog\/broken\.jpg: not a decodable image/);
});

test('a test class missing from train/ is a UserError', async () => {
  const dir = tempDir('imagefolder-extra');
  for (const p of ['train/cat', 'test/cat', 'test/bird']) mkdirSync(join(dir, p), { recursive: true });
  for (const p of ['train/cat', 'test/cat', 'test/bird']) copyFileSync(join(root, 'train/cat/0000.jpg'), join(dir, p, 'x.jpg'));
  await assert.rejects(loadImageFolder(dir), /test\/bird: class 'bird' has no folder in .*train/);
});
