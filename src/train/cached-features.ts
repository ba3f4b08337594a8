// Head-only training on cached features. When only the head trains (--train head) and every epoch shows it the same
// images (no random augmentation, no dropout or drop path in the frozen encoder), the encoder's output for an image
// never changes during the run: it is computed once, before the first step, by one pass over the train and test
// splits through the inference graph (eval/features.ts, as linear-probe does), and every step and evaluation then
// runs the head alone on those features (model/step-graph.ts `features`).
//
// Steps see the uncached run's batches (the same seeded order and positions), so resuming stays exact: a resumed run
// recomputes the features from its checkpoint's frozen weights, which are the run's first. The head ends where the
// uncached run's does up to float rounding only: the inference graph computes the features with other kernels
// (fused attention) and batch sizes than the training graph's forward, which changes their last bits.
//
// Memory: (train + test images) × D' float32 values (D' the head's input width), e.g. 60,000 × 768 × 4 B = 184 MB;
// the pass holds one inference session and one batch of images at a time.
import { type Batch, type BatchOptions, type BatchPosition, Batches } from '../data/batches.ts';
import type { BatchStream } from '../data/prefetch.ts';
import { type Dataset, type ImageSet, subset } from '../data/image-set.ts';
import type { ImageSource } from '../eval/evaluate.ts';
import { type Split, SPLITS, pooledFeatures } from '../eval/features.ts';
import { type StateDict, tensor } from '../graph/tensor.ts';
import { Classifier } from '../inference/classifier.ts';
import { parameterShapes } from '../model/params.ts';
import type { Device } from '../runtime/session-options.ts';
import { type TrainRecipe, recipeSelection } from './recipe.ts';

/** Images per inference run of the feature pass. */
const PASS_BATCH = 32;

/** Whether a run trains its head on cached features; `reason` says why not when only its head trains (one line). */
export interface FeatureCaching {
  readonly cached: boolean;
  readonly reason?: string;
}

/** Whether `recipe` can train on cached features (and is allowed to: `wanted`, the --no-cache-features escape). */
export function featureCaching(recipe: TrainRecipe, wanted = true): FeatureCaching {
  const s = recipeSelection(recipe);
  if (s.all || s.bias || s.lastBlocks || s.lora || !wanted) return { cached: false };
  const a = recipe.augment;
  const random = [
    a.flip && '--flip',
    a.padCrop && '--pad-crop',
    a.randomResizedCrop && '--rrc',
    a.randAugment && '--randaug',
    a.mixup && '--mixup',
    a.cutmix && '--cutmix',
    a.erasing && '--erase',
    recipe.dropout && '--dropout',
    recipe.dropPath && '--drop-path',
  ].filter(Boolean);
  if (random.length) {
    const flags = random.join(', ');
    const verb = random.length > 1 ? 'make' : 'makes';
    const reason = `features are not cached: ${flags} ${verb} the frozen encoder's output differ every epoch (without them it is computed once)`;
    return { cached: false, reason };
  }
  if (recipe.config.distToken) return { cached: false, reason: "features are not cached: DeiT's distillation head reads a second token" };
  return { cached: true };
}

/** Rows `indices` of n × dim features, with their labels, as a batch's tensors. */
function gather(features: Float32Array, dim: number, labels: Int32Array, indices: Int32Array): Pick<Batch, 'x' | 'y'> {
  const x = new Float32Array(indices.length * dim);
  const y = new BigInt64Array(indices.length);
  indices.forEach((row, i) => {
    x.set(features.subarray(row * dim, (row + 1) * dim), i * dim);
    y[i] = BigInt(labels[row]!);
  });
  return { x: tensor('float32', [indices.length, dim], x), y: tensor('int64', [indices.length], y) };
}

/** The training images of a set as the step sees them without augmentation: normalised as Batches does. */
function trainingImages(set: ImageSet, recipe: Pick<TrainRecipe, 'mean' | 'std'>): ImageSource {
  const load = async (indices: readonly number[]) => {
    const images = subset(set, indices, set.name);
    return new Batches(images, { batchSize: indices.length, shuffle: false, mean: recipe.mean, std: recipe.std }).next().x;
  };
  return { classes: set.classes, labels: set.labels, load };
}

/**
 * The frozen encoder's output (the head's input) for every image of a dataset, filled once by `fill`, served as
 * training batches (`stream`) and evaluation batches (`evalBatches`) in place of images.
 */
export class FeatureCache {
  private features: Partial<Record<Split, Float32Array>> = {};
  private dim = 0;

  constructor(private readonly data: Dataset) {}

  /** Runs both splits through the model of `weights` (extra entries such as optimizer state are ignored). */
  async fill(
    recipe: TrainRecipe,
    weights: StateDict,
    opts: { readonly threads?: number; readonly device?: Device; readonly onProgress?: (split: Split, done: number, total: number) => void } = {},
  ): Promise<void> {
    const config = recipe.config;
    const model = {
      path: 'the frozen encoder',
      format: 'vitkit' as const,
      config,
      weights: new Map([...parameterShapes(config).keys()].map((n) => [n, weights.get(n)!])),
      precision: 'fp32' as const,
      labels: this.data.train.classes,
      preprocess: { imgSize: config.imgSize, inChans: config.inChans as 1 | 3, mean: recipe.mean, std: recipe.std },
      device: opts.device ?? 'cpu',
    };
    const classifier = await Classifier.create(model, { threads: opts.threads, outputs: ['pooled'] });
    try {
      for (const split of SPLITS) {
        const set = this.data[split];
        const all = Array.from({ length: set.n }, (_, i) => i);
        const report = (done: number) => opts.onProgress?.(split, done, set.n);
        const { features, dim } = await pooledFeatures(classifier, trainingImages(set, recipe), all, PASS_BATCH, report, 'pooled');
        this.features[split] = features;
        this.dim = dim;
      }
    } finally {
      await classifier.release();
    }
  }

  private rows(split: Split): Float32Array {
    const f = this.features[split];
    if (!f) throw new Error('FeatureCache: fill() it before reading batches');
    return f;
  }

  /** Training batches of features: the same images, order and positions as a Batches stream with `options` gives. */
  stream(options: BatchOptions, start: BatchPosition): BatchStream {
    const set = this.data.train;
    const batches = new Batches(set, options, start);
    let closed = false;
    return {
      batchesPerEpoch: batches.batchesPerEpoch,
      position: () => batches.position(),
      next: async () => {
        if (closed) throw new Error('the batch stream is closed');
        const { indices, epoch, batch } = batches.nextIndices();
        return { ...gather(this.rows('train'), this.dim, set.labels, indices), indices, epoch, batch };
      },
      close: async () => {
        closed = true;
      },
    };
  }

  /** The test split's features in batches of `size`, in stored order (as an evaluation over its images reads). */
  *evalBatches(size: number): Generator<Pick<Batch, 'x' | 'y' | 'indices'>> {
    const set = this.data.test;
    for (let start = 0; start < set.n; start += size) {
      const indices = Int32Array.from({ length: Math.min(size, set.n - start) }, (_, i) => start + i);
      yield { ...gather(this.rows('test'), this.dim, set.labels, indices), indices };
    }
  }
}
