// ImageFolder directories as torchvision lays them out: root/<class>/<image> (class = sorted folder names, images
// found recursively), either already split as root/train/<class>/… + root/test/<class>/… (or val/), or unsplit,
// in which case a seeded per-class shuffle holds out a fraction as test. Images are decoded with sharp in parallel
// and resized to one square size into an in-memory ImageSet.
import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { UserError } from '../errors.ts';
import { Rng } from '../rng.ts';
import { decodeImage, defaultConcurrency, mapConcurrent } from './decode.ts';
import { NOTHING_SKIPPED, imageSet } from './image-set.ts';
import type { Dataset, ImageSet } from './image-set.ts';
import { toChannels, writeChw } from './raw-image.ts';
import type { Channels } from './raw-image.ts';

/** File extensions treated as images (case-insensitive). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif'];

export interface ImageFolderOptions {
  /** Square side images are resized to (shorter side, then centre crop). Default: the first image's shorter side. */
  readonly imageSize?: number;
  /** 1 converts to grayscale (PIL luma), 3 to RGB. Default 3. */
  readonly channels?: Channels;
  /** Unsplit folders only: fraction of each class held out as test, in [0, 1). Default 0.2. */
  readonly valSplit?: number;
  /** Seed of the shuffle that picks the held-out images. Default 0. */
  readonly seed?: number;
  /** Images decoded at once. Default twice the core count. */
  readonly concurrency?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

interface Listing {
  readonly files: string[];
  readonly labels: number[];
}

/** Whether `path` is an existing directory. */
export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Folder names that mark a split rather than a class. */
const SPLIT_NAMES: readonly string[] = ['train', 'test', 'val'];

/** The train and test (or val) folders of an already split ImageFolder, or undefined for an unsplit one. */
export function splitFolders(root: string): { train: string; test: string } | undefined {
  const test = ['test', 'val'].map((d) => join(root, d)).find(isDirectory);
  const train = join(root, 'train');
  return test && isDirectory(train) ? { train, test } : undefined;
}

function subdirs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
}

function imagesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.'))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .flatMap((e) => {
      const p = join(dir, e.name);
      if (e.isDirectory()) return imagesUnder(p);
      return IMAGE_EXTENSIONS.includes(extname(e.name).toLowerCase()) ? [p] : [];
    });
}

/** Files per class of one split folder; every class folder must hold at least one image. */
function listClasses(dir: string, classes: readonly string[]): string[][] {
  return classes.map((c) => {
    const files = isDirectory(join(dir, c)) ? imagesUnder(join(dir, c)) : [];
    if (files.length === 0 && isDirectory(join(dir, c))) {
      throw new UserError(`${join(dir, c)}: no images (${IMAGE_EXTENSIONS.join(', ')}) in this class folder: add images or remove the folder`);
    }
    return files;
  });
}

function classFolders(dir: string): string[] {
  const classes = subdirs(dir);
  if (classes.length === 0) {
    throw new UserError(`${dir}: no class folders: expected ${dir}/<class>/<image>.jpg (or train/ and test/ folders of those)`);
  }
  return classes;
}

function flatten(perClass: readonly string[][]): Listing {
  return { files: perClass.flat(), labels: perClass.flatMap((f, c) => f.map(() => c)) };
}

/** The train/test file lists and class names of `root`, without decoding anything. */
function plan(root: string, valSplit: number, seed: number): { classes: string[]; train: Listing; test: Listing } {
  const split = splitFolders(root);
  if (split) {
    const classes = classFolders(split.train);
    const extra = subdirs(split.test).find((c) => !classes.includes(c));
    if (extra) throw new UserError(`${join(split.test, extra)}: class '${extra}' has no folder in ${split.train}: add it there or remove it`);
    return { classes, train: flatten(listClasses(split.train, classes)), test: flatten(listClasses(split.test, classes)) };
  }
  if (!(valSplit >= 0 && valSplit < 1)) throw new UserError(`valSplit ${valSplit} is out of range: pass a fraction in [0, 1)`);
  const classes = classFolders(root);
  const rng = new Rng(seed);
  const train: string[][] = [];
  const test: string[][] = [];
  for (const files of listClasses(root, classes)) {
    const shuffled = rng.shuffle([...files]);
    const k = Math.round(files.length * valSplit);
    train.push(shuffled.slice(0, files.length - k));
    test.push(shuffled.slice(files.length - k));
  }
  return { classes, train: flatten(train), test: flatten(test) };
}

/**
 * Loads an ImageFolder directory into memory (C×size×size uint8 per image). Missing or empty folders and
 * unreadable images are UserErrors naming the path.
 */
export async function loadImageFolder(root: string, opts: ImageFolderOptions = {}): Promise<Dataset> {
  if (!isDirectory(root)) throw new UserError(`${root}: no such directory: pass a folder of class folders`);
  const { channels = 3, valSplit = 0.2, seed = 0, concurrency = defaultConcurrency(), onProgress } = opts;
  const { classes, train, test } = plan(root, valSplit, seed);
  const first = train.files[0] ?? test.files[0];
  const size: number = opts.imageSize ?? (await decodeImage(first).then((im) => Math.min(im.width, im.height)));
  if (!Number.isInteger(size) || size < 1) throw new UserError(`image size ${size} is invalid: pass a positive integer`);
  const per = channels * size * size;
  const total = train.files.length + test.files.length;
  let done = 0;
  const load = async (listing: Listing, name: string): Promise<ImageSet> => {
    const images = new Uint8Array(listing.files.length * per);
    await mapConcurrent(listing.files, concurrency, async (file, i) => {
      writeChw(toChannels(await decodeImage(file, { resizeTo: size }), channels), images, i * per);
      onProgress?.(++done, total);
    });
    return imageSet({ name, classes, images, labels: Int32Array.from(listing.labels), channels, height: size, width: size });
  };
  return { train: await load(train, `${root}/train`), test: await load(test, `${root}/test`), skipped: NOTHING_SKIPPED };
}

/** root/test (or root/val) of a folder holding nothing but split folders, e.g. a test split downloaded alone. */
function testOnlyFolder(root: string): string | undefined {
  const dirs = subdirs(root);
  if (!dirs.every((d) => SPLIT_NAMES.includes(d))) return undefined;
  return ['test', 'val'].filter((d) => dirs.includes(d)).map((d) => join(root, d))[0];
}

/**
 * The files to evaluate on in an ImageFolder, without decoding: root/test (or root/val) when the folder is split,
 * else every image under root/<class>/. Evaluation preprocesses each file with the model's own transform.
 */
export function listEvalImages(root: string): { classes: string[]; files: string[]; labels: number[] } {
  if (!isDirectory(root)) throw new UserError(`${root}: no such directory: pass a folder of class folders`);
  const dir = splitFolders(root)?.test ?? testOnlyFolder(root) ?? root;
  const classes = classFolders(dir);
  const listing = flatten(listClasses(dir, classes));
  if (listing.files.length === 0) throw new UserError(`${dir}: no images (${IMAGE_EXTENSIONS.join(', ')}) in its class folders`);
  return { classes, ...listing };
}
