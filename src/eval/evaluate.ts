// Accuracy of a classifier on a labelled dataset, preprocessing every image with the model's own transform.
import { preprocessBatch } from '../data/decode.ts';
import { isDirectory, listEvalImages } from '../data/image-folder.ts';
import type { ImageSet } from '../data/image-set.ts';
import { loadIdxTest } from '../data/idx.ts';
import { detectFormat, loadDataset } from '../data/load-dataset.ts';
import { preprocess } from '../data/preprocess.ts';
import { readChw } from '../data/raw-image.ts';
import { UserError } from '../errors.ts';
import type { Tensor } from '../graph/tensor.ts';
import type { Classifier } from '../inference/classifier.ts';
import { AccuracyMeter, type AccuracyResult } from './accuracy.ts';

/** Labelled images, preprocessed on demand with a model's own transform. */
export interface ImageSource {
  readonly classes: readonly string[];
  /** One label per image; its length is the number of images. */
  readonly labels: Int32Array;
  /** Preprocessed images [B, C, S, S] at these indices. */
  load(indices: readonly number[]): Promise<Tensor<'float32'>>;
}

type Preprocess = Classifier['model']['preprocess'];

/** Image files read and preprocessed as they are needed (an ImageFolder). */
export function filesSource(classes: readonly string[], files: readonly string[], labels: Int32Array, pre: Preprocess): ImageSource {
  return { classes, labels, load: (indices) => preprocessBatch(indices.map((i) => files[i]!), pre) };
}

/** An in-memory set (IDX, CIFAR binary, npm datasets), resized if the model's size differs. */
export function imageSetSource(set: ImageSet, pre: Preprocess): ImageSource {
  const per = set.channels * set.height * set.width;
  // Small datasets are stored at their native size: no crop margin unless asked for.
  const opts = { ...pre, cropPct: pre.cropPct ?? 1 };
  return {
    classes: set.classes,
    labels: set.labels,
    async load(indices) {
      const items = indices.map((i) => preprocess(readChw(set.images, i * per, set.width, set.height, set.channels), opts));
      const size = items[0]!.data.length;
      const images = new Float32Array(items.length * size);
      items.forEach((t, i) => images.set(t.data, i * size));
      return { dtype: 'float32', shape: [items.length, ...items[0]!.shape], data: images };
    },
  };
}

/**
 * The images to evaluate on: an ImageFolder (its test/ or val/ part when split) file by file, an IDX directory's
 * test split (which may be all it holds), else a dataset's test split.
 */
export async function evalSource(spec: string, pre: Preprocess): Promise<ImageSource> {
  const format = isDirectory(spec) ? detectFormat(spec) : undefined;
  if (format === 'image-folder') {
    const { classes, files, labels } = listEvalImages(spec);
    return filesSource(classes, files, Int32Array.from(labels), pre);
  }
  if (format === 'idx') return imageSetSource(loadIdxTest(spec), pre);
  return imageSetSource((await loadDataset(spec)).test, pre);
}

/** Runs the classifier over the source; `onProgress(done, total)` after each batch. */
export async function evaluate(
  classifier: Classifier,
  source: ImageSource,
  batchSize: number,
  onProgress?: (done: number, total: number) => void,
): Promise<AccuracyResult & { confusion: Int32Array; classes: readonly string[] }> {
  const k = classifier.model.config.numClasses;
  if (source.classes.length > k) {
    throw new UserError(`the dataset has ${source.classes.length} classes but the model's head has ${k}: evaluate a checkpoint trained on these classes`);
  }
  const meter = new AccuracyMeter(k);
  const n = source.labels.length;
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(start + batchSize, n);
    const indices = Array.from({ length: end - start }, (_, i) => start + i);
    const { logits } = await classifier.run(await source.load(indices));
    meter.add(logits!.data as Float32Array, source.labels.subarray(start, end));
    onProgress?.(end, n);
  }
  return { ...meter.result(), confusion: meter.confusion, classes: source.classes };
}
