// Accuracy of a classifier on a labelled dataset, preprocessing every image with the model's own transform.
import { existsSync, statSync } from 'node:fs';
import { preprocessBatch } from '../data/decode.ts';
import { listEvalImages } from '../data/image-folder.ts';
import type { ImageSet } from '../data/image-set.ts';
import { detectFormat, loadDataset } from '../data/load-dataset.ts';
import { preprocess } from '../data/preprocess.ts';
import { readChw } from '../data/raw-image.ts';
import { UserError } from '../errors.ts';
import type { Tensor } from '../graph/tensor.ts';
import type { Classifier } from '../inference/classifier.ts';
import { AccuracyMeter, type AccuracyResult } from './accuracy.ts';

/** Labelled images to evaluate on, produced batch by batch. */
export interface EvalSource {
  readonly classes: readonly string[];
  readonly n: number;
  /** Preprocessed images [B, C, S, S] and labels of images [start, start + count). */
  batch(start: number, count: number): Promise<{ images: Tensor<'float32'>; labels: Int32Array }>;
}

type Preprocess = Classifier['model']['preprocess'];

/** The test split of an in-memory set (IDX, CIFAR binary, npm datasets), resized if the model's size differs. */
function imageSetSource(set: ImageSet, opts: Preprocess): EvalSource {
  const per = set.channels * set.height * set.width;
  return {
    classes: set.classes,
    n: set.n,
    async batch(start, count) {
      // Small datasets are stored at their native size: no crop margin unless asked for.
      const items = Array.from({ length: count }, (_, i) =>
        preprocess(readChw(set.images, (start + i) * per, set.width, set.height, set.channels), { ...opts, cropPct: opts.cropPct ?? 1 }),
      );
      const size = items[0]!.data.length;
      const images = new Float32Array(count * size);
      items.forEach((t, i) => images.set(t.data, i * size));
      return { images: { dtype: 'float32', shape: [count, ...items[0]!.shape], data: images }, labels: set.labels.subarray(start, start + count) };
    },
  };
}

/** Where evaluation images come from: an ImageFolder is read file by file, other datasets from memory. */
export async function evalSource(spec: string, opts: Preprocess): Promise<EvalSource> {
  if (existsSync(spec) && statSync(spec).isDirectory() && detectFormat(spec) === 'image-folder') {
    const { classes, files, labels } = listEvalImages(spec);
    return {
      classes,
      n: files.length,
      async batch(start, count) {
        return { images: await preprocessBatch(files.slice(start, start + count), opts), labels: Int32Array.from(labels.slice(start, start + count)) };
      },
    };
  }
  return imageSetSource((await loadDataset(spec)).test, opts);
}

/** Runs the classifier over the source; `onProgress(done, total)` after each batch. */
export async function evaluate(
  classifier: Classifier,
  source: EvalSource,
  batchSize: number,
  onProgress?: (done: number, total: number) => void,
): Promise<AccuracyResult & { confusion: Int32Array; classes: readonly string[] }> {
  const k = classifier.model.config.numClasses;
  if (source.classes.length > k) {
    throw new UserError(`the dataset has ${source.classes.length} classes but the model's head has ${k}: evaluate a checkpoint trained on these classes`);
  }
  const meter = new AccuracyMeter(k);
  for (let start = 0; start < source.n; start += batchSize) {
    const count = Math.min(batchSize, source.n - start);
    const { images, labels } = await source.batch(start, count);
    const { logits } = await classifier.run(images);
    meter.add(logits!.data as Float32Array, labels);
    onProgress?.(start + count, source.n);
  }
  return { ...meter.result(), confusion: meter.confusion, classes: source.classes };
}
