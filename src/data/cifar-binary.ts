// CIFAR-10's binary release (cifar-10-batches-bin): data_batch_{1..5}.bin and test_batch.bin, each a run of
// 3,073-byte records: one label byte, then 32×32 red, 32×32 green, 32×32 blue (already CHW, as ImageSet stores it).
// Class names come from batches.meta.txt when present.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.ts';
import { NOTHING_SKIPPED, imageSet } from './image-set.ts';
import type { Dataset, ImageSet } from './image-set.ts';

export const CIFAR10_CLASSES: readonly string[] = [
  'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck',
];

const SIDE = 32;
const IMAGE_BYTES = 3 * SIDE * SIDE;
const RECORD = 1 + IMAGE_BYTES;
const TRAIN_FILES = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
const TEST_FILE = 'test_batch.bin';

/** The folder holding the batches: `dir` itself or its cifar-10-batches-bin/ (as the archive unpacks); else undefined. */
export function findCifarDir(dir: string): string | undefined {
  return [dir, join(dir, 'cifar-10-batches-bin')].find((d) => existsSync(join(d, TEST_FILE)) || existsSync(join(d, TRAIN_FILES[0])));
}

function readBatches(dir: string, files: readonly string[], classes: readonly string[], name: string): ImageSet {
  const bufs = files.map((f) => {
    const path = join(dir, f);
    const b = readFileSync(path);
    if (b.length === 0 || b.length % RECORD !== 0) {
      throw new UserError(`${path}: ${b.length} bytes is not a whole number of ${RECORD}-byte CIFAR-10 records: re-download the file`);
    }
    return { path, b };
  });
  const n = bufs.reduce((a, { b }) => a + b.length / RECORD, 0);
  const images = new Uint8Array(n * IMAGE_BYTES);
  const labels = new Int32Array(n);
  let i = 0;
  for (const { path, b } of bufs) {
    for (let off = 0; off < b.length; off += RECORD, i++) {
      if (b[off] >= classes.length) throw new UserError(`${path}: record ${off / RECORD} has label ${b[off]}, outside the ${classes.length} classes`);
      labels[i] = b[off];
      images.set(b.subarray(off + 1, off + RECORD), i * IMAGE_BYTES);
    }
  }
  return imageSet({ name, classes, images, labels, channels: 3, height: SIDE, width: SIDE });
}

/**
 * Loads CIFAR-10 binary batches from `dir` (or its cifar-10-batches-bin/): train = the data_batch_*.bin present
 * (in order; all five in the official release), test = test_batch.bin.
 */
export function loadCifarBinary(dir: string): Dataset {
  const root = findCifarDir(dir);
  const train = TRAIN_FILES.filter((f) => root && existsSync(join(root, f)));
  if (!root || train.length === 0 || !existsSync(join(root, TEST_FILE))) {
    throw new UserError(`${dir}: missing CIFAR-10 batches: expected data_batch_1.bin … data_batch_5.bin and test_batch.bin`);
  }
  const meta = join(root, 'batches.meta.txt');
  const named = existsSync(meta) ? readFileSync(meta, 'utf8').split(/\r?\n/).map((s) => s.trim()).filter(Boolean) : [];
  // labels are single bytes: a longer list names classes no record can have (and would size the model's head)
  if (named.length > 256) throw new UserError(`${meta}: ${named.length} class names, but CIFAR labels are bytes (at most 256 classes): fix the file`);
  const classes = named.length ? named : CIFAR10_CLASSES;
  return {
    train: readBatches(root, train, classes, `${dir}/train`),
    test: readBatches(root, [TEST_FILE], classes, `${dir}/test`),
    skipped: NOTHING_SKIPPED,
  };
}
