// Accuracy of a classifier on a labelled dataset, preprocessing every image with the model's own transform.
import { createRequire } from 'node:module';
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

/** How a dataset's classes map onto a model's outputs. */
export interface ClassMatch {
  /** The model's output index of each of the dataset's classes. */
  readonly indices: Int32Array;
  /** True when matched by position, because the model's labels are only its indices (the checkpoint names none). */
  readonly byPosition: boolean;
}

/** ImageNet-1k's WordNet ids (n01440764 …) in the order of every 1000-class head: the folder names of its val set. */
const imagenetSynsets = (): string[] => createRequire(import.meta.url)('../data/imagenet-synsets.json') as string[];

/**
 * Matches a dataset's classes to a model's by name, so a dataset with some of the model's classes, or in another
 * order, is scored against the right outputs; a 1000-class model also matches ImageNet's WordNet ids (an ImageNet
 * val folder). By position only when the model has no names (labels '0', '1', …) and the dataset's names are not
 * among them; a class that a named model lacks is an error naming it and the model's classes.
 */
export function matchClasses(classes: readonly string[], modelLabels: readonly string[]): ClassMatch {
  const byName = (names: readonly string[]): ClassMatch | undefined => {
    const index = new Map<string, number>();
    names.forEach((l, i) => index.has(l) || index.set(l, i)); // ImageNet names a few classes twice: the first
    if (!classes.every((c) => index.has(c))) return undefined;
    return { indices: Int32Array.from(classes, (c) => index.get(c)!), byPosition: false };
  };
  const k = modelLabels.length;
  const matched = byName(modelLabels) ?? (k === 1000 ? byName(imagenetSynsets()) : undefined);
  if (matched) return matched;
  const unknown = classes.find((c) => !modelLabels.includes(c));
  if (!modelLabels.every((l, i) => l === String(i))) {
    const shown = k > 12 ? `${modelLabels.slice(0, 12).join(', ')}, … (${k} in all)` : modelLabels.join(', ');
    throw new UserError(
      `the data's class '${unknown}' is not one of the checkpoint's classes (${shown}): name the data's classes as the checkpoint does`,
    );
  }
  if (classes.length > k) {
    throw new UserError(`the dataset has ${classes.length} classes but the model's head has ${k}: evaluate a checkpoint trained on these classes`);
  }
  return { indices: Int32Array.from(classes, (_, i) => i), byPosition: true };
}

/**
 * Runs the classifier over the source, its classes matched to the model's by name (see matchClasses);
 * `onProgress(done, total)` after each batch. The confusion matrix's rows (true) and columns (predicted) are the
 * model's classes, named by `classes`.
 */
export async function evaluate(
  classifier: Classifier,
  source: ImageSource,
  batchSize: number,
  onProgress?: (done: number, total: number) => void,
): Promise<AccuracyResult & { confusion: Int32Array; classes: readonly string[]; byPosition: boolean }> {
  const { labels: modelLabels, config } = classifier.model;
  const match = matchClasses(source.classes, modelLabels);
  const meter = new AccuracyMeter(config.numClasses);
  const n = source.labels.length;
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(start + batchSize, n);
    const indices = Array.from({ length: end - start }, (_, i) => start + i);
    const { logits } = await classifier.run(await source.load(indices));
    meter.add(logits!.data as Float32Array, Int32Array.from(source.labels.subarray(start, end), (l) => match.indices[l]!));
    onProgress?.(end, n);
  }
  return { ...meter.result(), confusion: meter.confusion, classes: modelLabels, byPosition: match.byPosition };
}
