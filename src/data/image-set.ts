// The in-memory form every dataset loader produces: N small images as one uint8 N×C×H×W block plus labels,
// and the helpers loaders share (construction checks, subsets, per-class splits, duplicate detection).
import type { Channels } from './raw-image.ts';

/** A labelled image set held in memory (N×C×H×W bytes, CHW per image as the model reads it). */
export interface ImageSet {
  readonly name: string;
  /** Class names; labels index into this list. */
  readonly classes: readonly string[];
  /** n × channels × height × width bytes. */
  readonly images: Uint8Array;
  readonly labels: Int32Array;
  readonly n: number;
  readonly channels: Channels;
  readonly height: number;
  readonly width: number;
}

/** Records a loader left out, so callers can report them; zero where a loader fails on bad data instead. */
export interface SkippedRecords {
  /** Records that were not a valid image (wrong length, values out of range, empty). */
  readonly malformed: number;
  /** Records that repeat an earlier record byte for byte (kept once so they cannot straddle train and test). */
  readonly duplicates: number;
}

/** A dataset's two splits and what loading dropped. */
export interface Dataset {
  readonly train: ImageSet;
  readonly test: ImageSet;
  readonly skipped: SkippedRecords;
}

export const NOTHING_SKIPPED: SkippedRecords = { malformed: 0, duplicates: 0 };

/** Builds an ImageSet, checking that sizes agree and labels are in range (a bug, not a user error, if not). */
export function imageSet(fields: Omit<ImageSet, 'n'>): ImageSet {
  const { images, labels, channels, height, width, classes, name } = fields;
  const n = labels.length;
  if (images.length !== n * channels * height * width) {
    throw new Error(`${name}: ${images.length} image bytes do not fit ${n} × ${channels}×${height}×${width}`);
  }
  for (const l of labels) {
    if (!(l >= 0 && l < classes.length)) throw new Error(`${name}: label ${l} outside the ${classes.length} classes`);
  }
  return { ...fields, n };
}

/** Bytes per image. */
export function imageBytes(set: Pick<ImageSet, 'channels' | 'height' | 'width'>): number {
  return set.channels * set.height * set.width;
}

/** A copy holding the images at `indices`, in that order. */
export function subset(set: ImageSet, indices: ArrayLike<number>, name: string): ImageSet {
  const per = imageBytes(set);
  const images = new Uint8Array(indices.length * per);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i];
    images.set(set.images.subarray(j * per, (j + 1) * per), i * per);
    labels[i] = set.labels[j];
  }
  return imageSet({ ...set, name, images, labels });
}

/**
 * Deterministic stratified split: within each class, in stored order, the last `testCount(classSize)` images go to
 * test and the rest to train; both keep the stored order. Images whose index is in `drop` are left out first.
 */
export function splitPerClass(
  set: ImageSet,
  testCount: (classSize: number) => number,
  name: string,
  drop: ReadonlySet<number> = new Set(),
): { train: ImageSet; test: ImageSet } {
  const byClass: number[][] = set.classes.map(() => []);
  for (let i = 0; i < set.n; i++) if (!drop.has(i)) byClass[set.labels[i]].push(i);
  const isTest = new Uint8Array(set.n);
  for (const members of byClass) {
    for (const i of members.slice(members.length - Math.min(testCount(members.length), members.length))) isTest[i] = 1;
  }
  const train: number[] = [];
  const test: number[] = [];
  for (let i = 0; i < set.n; i++) if (!drop.has(i)) (isTest[i] ? test : train).push(i);
  return { train: subset(set, train, `${name}/train`), test: subset(set, test, `${name}/test`) };
}

/** Indices of images that equal an earlier image byte for byte (hash, then exact comparison). */
export function duplicateIndices(set: ImageSet): number[] {
  const per = imageBytes(set);
  const seen = new Map<number, number[]>();
  const dups: number[] = [];
  const same = (a: number, b: number): boolean => {
    for (let k = 0; k < per; k++) if (set.images[a * per + k] !== set.images[b * per + k]) return false;
    return true;
  };
  for (let i = 0; i < set.n; i++) {
    let h = 0x811c9dc5; // FNV-1a: a cheap key; equal hashes are confirmed byte by byte
    for (let k = i * per, end = k + per; k < end; k++) h = Math.imul(h ^ set.images[k], 0x01000193);
    const bucket = seen.get(h);
    if (bucket?.some((j) => same(i, j))) dups.push(i);
    else if (bucket) bucket.push(i);
    else seen.set(h, [i]);
  }
  return dups;
}
