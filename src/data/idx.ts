// MNIST-style IDX files (http://yann.lecun.com/exdb/mnist/): two zero bytes, a type code (0x08 = unsigned byte),
// the number of dimensions, each dimension as a big-endian uint32, then the data. Optionally gzip-compressed.
// A directory holds train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
// t10k-labels-idx1-ubyte (each possibly .gz; the '.idx3-ubyte' spelling some mirrors use is accepted too).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { UserError } from '../errors.ts';
import { NOTHING_SKIPPED, imageSet } from './image-set.ts';
import type { Dataset, ImageSet } from './image-set.ts';

const UBYTE = 0x08;

/** A decoded IDX array of unsigned bytes. */
export interface IdxArray {
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

/** Parses IDX bytes (gunzipping them first if they are gzip), validating the magic number and the size. */
export function decodeIdx(bytes: Uint8Array, file: string): IdxArray {
  let b = bytes;
  if (b[0] === 0x1f && b[1] === 0x8b) {
    try {
      // deflate expands at most ~1032:1, so a larger output is not honest gzip: stop there rather than fill memory
      b = gunzipSync(b, { maxOutputLength: b.length * 1032 + 1024 });
    } catch (e) {
      throw new UserError(`${file}: corrupt gzip data (${(e as Error).message}): re-download the file`);
    }
  }
  if (b.length < 4 || b[0] !== 0 || b[1] !== 0) {
    throw new UserError(`${file}: not an IDX file (bad magic number): pass MNIST-style *-idx3-ubyte / *-idx1-ubyte files`);
  }
  if (b[2] !== UBYTE) {
    throw new UserError(`${file}: IDX data type 0x${b[2].toString(16).padStart(2, '0')} is not supported (expected 0x08, unsigned bytes)`);
  }
  const rank = b[3];
  const start = 4 + 4 * rank;
  if (b.length < start) throw new UserError(`${file}: truncated IDX header: re-download the file`);
  const view = new DataView(b.buffer, b.byteOffset, b.length);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const size = dims.reduce((a, d) => a * d, 1);
  if (b.length - start !== size) {
    throw new UserError(`${file}: header says [${dims.join(', ')}] = ${size} bytes but the file has ${b.length - start}: re-download the file`);
  }
  return { dims, data: new Uint8Array(b.buffer, b.byteOffset + start, size) }; // a plain view, even of a gunzip Buffer
}

/** Serialises bytes as an (uncompressed) IDX file; gzip the result for .gz. */
export function encodeIdx(data: Uint8Array, dims: readonly number[]): Uint8Array {
  if (data.length !== dims.reduce((a, d) => a * d, 1)) {
    throw new Error(`IDX data has ${data.length} bytes, dims [${dims.join(', ')}] need another count`);
  }
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  out[2] = UBYTE;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

/** The first existing spelling of an IDX file in `dir`, or undefined. */
function findIdx(dir: string, prefix: string, kind: 'images' | 'labels'): string | undefined {
  const rank = kind === 'images' ? 3 : 1;
  const names = [`${prefix}-${kind}-idx${rank}-ubyte`, `${prefix}-${kind}.idx${rank}-ubyte`];
  return names.flatMap((n) => [n, `${n}.gz`]).map((n) => join(dir, n)).find((p) => existsSync(p));
}

/** True when `dir` holds IDX images of either split (the signature loadDataset detects). */
export function isIdxDir(dir: string): boolean {
  return findIdx(dir, 'train', 'images') !== undefined || findIdx(dir, 't10k', 'images') !== undefined;
}

function readSplit(dir: string, prefix: 'train' | 't10k', classes: readonly string[] | undefined, name: string): ImageSet {
  const imagesFile = findIdx(dir, prefix, 'images');
  const labelsFile = findIdx(dir, prefix, 'labels');
  if (!imagesFile || !labelsFile) {
    throw new UserError(
      `${dir}: missing ${prefix}-${imagesFile ? 'labels-idx1' : 'images-idx3'}-ubyte[.gz]: an IDX dataset needs train-* and t10k-* images and labels`,
    );
  }
  const images = decodeIdx(readFileSync(imagesFile), imagesFile);
  const labels = decodeIdx(readFileSync(labelsFile), labelsFile);
  if (images.dims.length !== 3) throw new UserError(`${imagesFile}: expected 3 dimensions [n, height, width], got [${images.dims.join(', ')}]`);
  if (labels.dims.length !== 1) throw new UserError(`${labelsFile}: expected 1 dimension [n], got [${labels.dims.join(', ')}]`);
  const [n, height, width] = images.dims;
  if (labels.dims[0] !== n) {
    throw new UserError(`${labelsFile}: ${labels.dims[0]} labels for ${n} images in ${imagesFile}: use files from the same release`);
  }
  const numClasses = classes?.length ?? labels.data.reduce((a, l) => Math.max(a, l), 9) + 1; // 0–9 even if some are absent
  const bad = labels.data.findIndex((l) => l >= numClasses);
  if (bad >= 0) throw new UserError(`${labelsFile}: label ${labels.data[bad]} at ${bad} is outside the ${numClasses} classes given`);
  const names = classes ?? Array.from({ length: numClasses }, (_, i) => String(i));
  return imageSet({
    name: `${name}/${prefix === 't10k' ? 'test' : 'train'}`,
    classes: names,
    images: images.data,
    labels: Int32Array.from(labels.data),
    channels: 1,
    height,
    width,
  });
}

/** The test split (t10k-*) of an IDX directory alone: what evaluation needs, so a folder may hold only it. */
export function loadIdxTest(dir: string, classes?: readonly string[]): ImageSet {
  return readSplit(dir, 't10k', classes, dir);
}

/** Loads an IDX directory (MNIST, Fashion-MNIST, KMNIST …) as its official train/test splits. */
export function loadIdxDir(dir: string, classes?: readonly string[]): Dataset {
  const train = readSplit(dir, 'train', classes, dir);
  const test = readSplit(dir, 't10k', classes ?? train.classes, dir);
  if (test.height !== train.height || test.width !== train.width) {
    throw new UserError(
      `${dir}: train images are ${train.width}x${train.height} but test images ${test.width}x${test.height}: use files from the same dataset`,
    );
  }
  return { train, test, skipped: NOTHING_SKIPPED };
}
