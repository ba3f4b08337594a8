// Training above a frozen part, on its cached output. When nothing below some layer trains (only the head:
// --train head; only the last K blocks: --train last:K) and every epoch shows the model the same images (no random
// augmentation, no dropout or drop path), the frozen part's output for an image never changes during the run: it is
// computed once, before the first step, by one pass over the train and test splits through an inference graph, and
// every step and evaluation then runs only the part above it (model/step-graph.ts `start`): the head on the encoder's
// pooled output, or blocks k… on the tokens entering block k (runtime/frozen-part.ts runs the part below). For last:4
// of B/16's 12 blocks a step then runs 4 blocks forward instead of 12.
//
// Steps see the uncached run's batches (the same seeded order and positions), so resuming stays exact: a resumed run
// recomputes the cache from its checkpoint's frozen weights, which are the run's first. The result equals the
// uncached run's up to float rounding only: the inference graph computes the frozen part with other kernels (fused
// attention) and batch sizes than the training graph's forward, which changes its last bits.
//
// Memory: (train + test images) × the values per image × 4 B: the head's input D' (60,000 × 768 × 4 B = 184 MB), or
// the T × D tokens entering block k (a 224-px B/16 image's 197 × 768 × 4 B = 605 KB: 605 MB per 1,000 images). Past
// cacheLimit() the run is not cached, and says why; the pass holds one session and one batch of images at a time.
import { totalmem } from 'node:os';
import { type Batch, type BatchOptions, type BatchPosition, Batches } from '../data/batches.ts';
import type { BatchStream } from '../data/prefetch.ts';
import type { Dataset } from '../data/image-set.ts';
import { type Split, SPLITS } from '../eval/features.ts';
import { type StateDict, numel } from '../graph/tensor.ts';
import type { ViTConfig } from '../model/config.ts';
import { type CachedStart, cachedStart } from '../model/trainable.ts';
import { exampleInput } from '../model/step-graph.ts';
import { FrozenPart } from '../runtime/frozen-part.ts';
import { nodeEngine } from '../runtime/node-engine.ts';
import type { Device } from '../runtime/session-options.ts';
import { frozenRows, gatherRows } from './frozen-rows.ts';
import { type TrainRecipe, recipeSelection } from './recipe.ts';

/** Whether a run trains on a frozen part's cached output (`start` says which); `reason` says why not, in one line. */
export interface FeatureCaching {
  readonly start?: CachedStart;
  readonly reason?: string;
}

/** The most a cache may hold: a quarter of the machine's memory, at most 8 GiB. */
export function cacheLimit(): number {
  return Math.min(totalmem() / 4, 8 * 2 ** 30);
}

/**
 * Whether `recipe`, on a dataset of `images` (train + test), can train on a cached frozen part (and is allowed to:
 * `wanted`, the --no-cache-features escape).
 */
export function featureCaching(recipe: TrainRecipe, images: number, wanted = true): FeatureCaching {
  const cfg = recipe.config;
  const start = cachedStart(cfg, recipeSelection(recipe));
  if (!start || !wanted) return {};
  const frozen = start === 'features' ? "the frozen encoder's output" : "the frozen blocks' output";
  const notCached = start === 'features' ? 'features are not cached' : `${frozen} is not cached`;
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
    const verb = random.length > 1 ? 'make' : 'makes';
    return { reason: `${notCached}: ${random.join(', ')} ${verb} ${frozen} differ every epoch (without them it is computed once)` };
  }
  if (start === 'features' && cfg.distToken) return { reason: `${notCached}: DeiT's distillation head reads a second token` };
  const bytes = images * numel(exampleInput(cfg, start).shape) * 4;
  const gib = (n: number) => `${(n / 2 ** 30).toFixed(1)} GiB`;
  if (bytes > cacheLimit()) {
    const limit = `the ${gib(cacheLimit())} a cache may hold (a quarter of this machine's memory, at most 8 GiB)`;
    return { reason: `${notCached}: for ${images.toLocaleString('en-US')} images it would take ${gib(bytes)}, over ${limit}` };
  }
  return { start };
}

interface PassOptions {
  readonly threads?: number;
  readonly device?: Device;
  readonly onProgress?: (split: Split, done: number, total: number) => void;
  /** Aborting stops the pass after the current batch, the cache left unfilled (Ctrl-C in a long pass). */
  readonly signal?: AbortSignal;
}

/**
 * The frozen part's output for every image of a dataset, filled once by `fill`, served as training batches
 * (`stream`) and evaluation batches (`evalBatches`) in place of images.
 */
export class FeatureCache {
  private rows: Partial<Record<Split, Float32Array>> = {};
  /** Per image: [D'] (the head's input) or [T, D] (a block's). */
  private readonly shape: readonly number[];

  constructor(
    private readonly data: Dataset,
    config: ViTConfig,
    private readonly start: CachedStart,
  ) {
    this.shape = exampleInput(config, start).shape;
  }

  /**
   * Runs both splits through the frozen part of `weights` (extra entries such as optimizer state are ignored); returns
   * false if `opts.signal` stopped it first.
   */
  async fill(recipe: TrainRecipe, weights: StateDict, opts: PassOptions = {}): Promise<boolean> {
    const part = await FrozenPart.create(nodeEngine, recipe.config, weights, this.start, { threads: opts.threads, device: opts.device });
    try {
      for (const split of SPLITS) {
        const set = this.data[split];
        const onProgress = (done: number) => opts.onProgress?.(split, done, set.n);
        const rows = await frozenRows(part, set, recipe, { onProgress, signal: opts.signal });
        if (!rows) return false;
        this.rows[split] = rows;
      }
      return true;
    } finally {
      await part.release();
    }
  }

  private of(split: Split): Float32Array {
    const rows = this.rows[split];
    if (!rows) throw new Error('FeatureCache: fill() it before reading batches');
    return rows;
  }

  /** Training batches of cached rows: the same images, order and positions as a Batches stream with `options` gives. */
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
        return { ...gatherRows(this.of('train'), this.shape, set.labels, indices), indices, epoch, batch };
      },
      close: async () => {
        closed = true;
      },
    };
  }

  /** The test split's cached rows in batches of `size`, in stored order (as an evaluation over its images reads). */
  *evalBatches(size: number): Generator<Pick<Batch, 'x' | 'y' | 'indices'>> {
    const set = this.data.test;
    for (let first = 0; first < set.n; first += size) {
      const indices = Int32Array.from({ length: Math.min(size, set.n - first) }, (_, i) => first + i);
      yield { ...gatherRows(this.of('test'), this.shape, set.labels, indices), indices };
    }
  }
}
