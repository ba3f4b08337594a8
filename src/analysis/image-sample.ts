// The images an analysis runs over: a few, evenly spread, from a folder of image files, an ImageFolder, or any
// dataset vitkit reads (its test split), each decoded only when needed.
import { readdirSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { decodeImage } from '../data/decode.ts';
import { IMAGE_EXTENSIONS, isDirectory, listEvalImages } from '../data/image-folder.ts';
import { imageBytes } from '../data/image-set.ts';
import { detectFormat, loadDataset } from '../data/load-dataset.ts';
import { type RawImage, readChw } from '../data/raw-image.ts';
import { UserError } from '../errors.ts';

/** One image to analyse. */
export interface SampleImage {
  /** For captions: the file name, or the dataset position and class. */
  readonly name: string;
  /** Stored at its dataset's native size (like eval, such images are not centre-cropped by default). */
  readonly native: boolean;
  load(): Promise<RawImage>;
}

/** `count` indices spread evenly over [0, n). */
function spread(n: number, count: number): number[] {
  const k = Math.min(n, count);
  return Array.from({ length: k }, (_, i) => Math.floor((i * n) / k));
}

/** Image files directly inside `dir` (not in subfolders), sorted. */
function looseImages(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => !f.startsWith('.') && IMAGE_EXTENSIONS.includes(extname(f).toLowerCase()))
    .sort()
    .map((f) => join(dir, f));
}

/**
 * Up to `max` images from `spec`: a directory of image files, an ImageFolder (its test/val split when it has one),
 * a directory of IDX or CIFAR-10 batches, or fashion-mnist | mnist (test splits).
 */
export async function sampleImages(spec: string, max: number): Promise<SampleImage[]> {
  if (isDirectory(spec)) {
    const loose = looseImages(spec);
    const files = loose.length > 0 ? loose : detectFormat(spec) === 'image-folder' ? listEvalImages(spec).files : undefined;
    if (files) return spread(files.length, max).map((i) => ({ name: basename(files[i]!), native: false, load: () => decodeImage(files[i]!) }));
  }
  const set = (await loadDataset(spec)).test;
  if (set.n === 0) throw new UserError(`${spec}: the test split is empty: pass a folder of images instead`);
  const per = imageBytes(set);
  return spread(set.n, max).map((i) => ({
    name: `${set.name} #${i} (${set.classes[set.labels[i]!]})`,
    native: true,
    load: async () => readChw(set.images, i * per, set.width, set.height, set.channels),
  }));
}
