// Mini-batches over an in-memory ImageSet: seeded shuffling, augmentation, normalisation to float32 [B, C, H, W]
// and int64 labels, plus what a training step may need beside them: soft targets (Mixup/CutMix) and random
// keep-masks (dropout, stochastic depth).
//
// Every random choice is a pure function of (seed, epoch, batch index): the epoch's permutation comes from a
// generator seeded with (seed, epoch), each batch's randomness from generators seeded with (seed, kind, epoch,
// batch), one stream per kind so that turning one augmentation on leaves the others' draws unchanged. So the
// position {epoch, batch} is the iterator's whole state: saving it and constructing a new iterator from it gives
// identical batches, and any batch can be rebuilt on its own (e.g. by a worker, see prefetch.ts) without
// replaying the others.
//
// Per image, in order: RandomResizedCrop → RandAugment (uint8) → crop with padding, flip, normalise → random
// erasing (float); then per batch Mixup/CutMix, as timm's training transform and collate order.
import { tensor } from '../graph/tensor.ts';
import type { Tensor } from '../graph/tensor.ts';
import { UserError } from '../errors.ts';
import { Rng } from '../rng.ts';
import { type RandomResizedCropOptions, checkErasing, checkRandomResizedCrop, randomErase, randomResizedCropBox, resizedCrop } from './augment.ts';
import type { ImageSet } from './image-set.ts';
import { imageBytes } from './image-set.ts';
import { type MixInfo, checkMix, mixBatch } from './mix.ts';
import type { NoiseSpec } from '../model/noise-masks.ts';
import { checkNoise, keepMasks } from './noise.ts';
import { normalizationTables, resolveNormalization } from './preprocess.ts';
import { type RandAugmentOptions, checkRandAugment, randAugment } from './rand-augment.ts';

/** Training-time augmentation; everything is off by default. */
export interface AugmentOptions {
  /** Zero-pad each side by this many pixels, then crop back to the original size at a random offset (torchvision's RandomCrop). */
  readonly padCrop?: number;
  /** Mirror left–right with probability 1/2. */
  readonly flip?: boolean;
  /** RandomResizedCrop back to the image's size (see augment.ts). */
  readonly randomResizedCrop?: RandomResizedCropOptions;
  /** RandAugment with N ops at magnitude M (see rand-augment.ts). */
  readonly randAugment?: RandAugmentOptions;
  /** Mixup α (0 = off); the batch then carries soft targets. */
  readonly mixup?: number;
  /** CutMix α (0 = off); the batch then carries soft targets. */
  readonly cutmix?: number;
  /** Probability of random erasing per image (0 = off). */
  readonly erasing?: number;
}

export interface BatchOptions {
  readonly batchSize: number;
  /** Per-channel mean/std (1 value or one per channel) applied after scaling to [0, 1]. Default ImageNet's. */
  readonly mean?: readonly number[];
  readonly std?: readonly number[];
  /** Reshuffle every epoch. Default true. */
  readonly shuffle?: boolean;
  /** Drop the last, smaller batch of each epoch. Default: same as shuffle (training drops it, evaluation keeps it). */
  readonly dropLast?: boolean;
  /** Seed of the shuffles and augmentations. Default 0. */
  readonly seed?: number;
  readonly augment?: AugmentOptions;
  /** Label smoothing folded into the soft targets when Mixup/CutMix is on. Default 0. */
  readonly labelSmoothing?: number;
  /** Random keep-masks to draw with each batch (dropout, stochastic depth). Default none. */
  readonly noise?: readonly NoiseSpec[];
}

/** Where an iterator stands: the next batch it yields. Save it to resume exactly. */
export interface BatchPosition {
  readonly epoch: number;
  readonly batch: number;
}

export interface Batch {
  /** float32 [B, C, H, W], normalised. */
  readonly x: Tensor<'float32'>;
  /** int64 [B] class indices. */
  readonly y: Tensor<'int64'>;
  /** Indices of the images in the set, in batch order. */
  readonly indices: Int32Array;
  readonly epoch: number;
  readonly batch: number;
  /** float32 [B, K] soft targets, when Mixup/CutMix is on (they replace the labels in the loss). */
  readonly targets?: Tensor<'float32'>;
  readonly mix?: MixInfo;
  /** uint8 [B, ...spec.shape] keep-masks by NoiseSpec name, when asked for. */
  readonly masks?: ReadonlyMap<string, Uint8Array>;
}

// Generator stream kinds, mixed into the seeds.
const PERMUTATION = 1;
const AUGMENTATION = 2;
const RESIZED_CROP = 3;
const RAND_AUGMENT = 4;
const ERASING = 5;
const MIX = 6;
const NOISE = 7;

/** A 32-bit seed mixed from several integers (murmur3's finaliser per word), for independent generator streams. */
function mixSeed(words: readonly number[]): number {
  let h = 0x9e3779b9;
  for (const w of words) {
    h = Math.imul(h ^ (w >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** Seeded mini-batch iterator over an ImageSet; see the top of this file for how resuming works. */
export class Batches {
  /** Batches in one epoch. */
  readonly batchesPerEpoch: number;
  private readonly luts: Float32Array[];
  private readonly opts: Required<Omit<BatchOptions, 'mean' | 'std'>>;
  private epoch: number;
  private batch: number;
  private order: { epoch: number; indices: Int32Array } | undefined; // the latest epoch's permutation

  constructor(
    readonly set: ImageSet,
    opts: BatchOptions,
    start: BatchPosition = { epoch: 0, batch: 0 },
  ) {
    const { batchSize, shuffle = true, seed = 0, augment = {}, labelSmoothing = 0, noise = [] } = opts;
    const dropLast = opts.dropLast ?? shuffle;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new UserError(`batch size ${batchSize} is invalid: pass a positive integer`);
    checkAugment(augment);
    checkNoise(noise);
    const { mean, std } = resolveNormalization(opts.mean, opts.std, set.channels);
    this.luts = normalizationTables(mean, std);
    this.opts = { batchSize, shuffle, seed, dropLast, augment, labelSmoothing, noise };
    this.batchesPerEpoch = dropLast ? Math.floor(set.n / batchSize) : Math.ceil(set.n / batchSize);
    if (this.batchesPerEpoch === 0) {
      throw new UserError(`${set.name}: ${set.n} images make no full batch of ${batchSize}: lower the batch size`);
    }
    if (
      !(
        Number.isInteger(start.epoch)
        && start.epoch >= 0
        && Number.isInteger(start.batch)
        && start.batch >= 0
        && start.batch <= this.batchesPerEpoch
      )
    ) {
      throw new UserError(`cannot resume at epoch ${start.epoch}, batch ${start.batch}: an epoch of ${set.name} has ${this.batchesPerEpoch} batches`);
    }
    this.epoch = start.epoch;
    this.batch = start.batch;
  }

  /** The position of the next batch; `new Batches(set, opts, it.position())` continues identically. */
  position(): BatchPosition {
    return nextPosition({ epoch: this.epoch, batch: this.batch }, this.batchesPerEpoch, 0);
  }

  /** The next batch, moving on to the next epoch (reshuffled) after the last one. */
  next(): Batch {
    return this.at(this.advance());
  }

  /**
   * The next batch's position and its images' indices in the set, moving on as next() does but building nothing:
   * for a loop that has what it needs per image already (head-only training on cached features).
   */
  nextIndices(): BatchPosition & { readonly indices: Int32Array } {
    const at = this.advance();
    return { ...at, indices: this.indicesAt(at) };
  }

  private advance(): BatchPosition {
    const { epoch, batch } = this.position();
    this.epoch = epoch;
    this.batch = batch + 1;
    return { epoch, batch };
  }

  private indicesAt({ epoch, batch }: BatchPosition): Int32Array {
    const size = this.opts.batchSize;
    return this.permutation(epoch).slice(batch * size, Math.min((batch + 1) * size, this.set.n));
  }

  /** The batches left in the current epoch (all of the next epoch when the current one is finished). */
  *restOfEpoch(): Generator<Batch> {
    const { epoch } = this.position();
    while (this.position().epoch === epoch) yield this.next();
  }

  /** Epoch `epoch`'s sample order (a pure function of seed and epoch): its first batchesPerEpoch·batchSize are drawn. */
  permutation(epoch: number): Int32Array {
    if (this.order?.epoch !== epoch) {
      const n = this.set.n;
      const order = new Int32Array(n);
      for (let i = 0; i < n; i++) order[i] = i;
      if (this.opts.shuffle) {
        const rng = this.stream(PERMUTATION, epoch);
        for (let i = n - 1; i > 0; i--) {
          const j = rng.int(i + 1);
          const t = order[i];
          order[i] = order[j];
          order[j] = t;
        }
      }
      this.order = { epoch, indices: order };
    }
    return this.order.indices;
  }

  private stream(kind: number, ...at: number[]): Rng {
    return new Rng(mixSeed([this.opts.seed, Math.floor(this.opts.seed / 2 ** 32), kind, ...at]));
  }

  /** The batch at a position, built from scratch: a pure function of (options, position), as a worker needs. */
  at({ epoch, batch }: BatchPosition): Batch {
    const { set, luts } = this;
    const { augment: a } = this.opts;
    const indices = this.indicesAt({ epoch, batch });
    const b = indices.length;
    const { channels: c, height: h, width: w } = set;
    const per = imageBytes(set);
    const pad = a.padCrop ?? 0;
    const x = new Float32Array(b * per);
    const y = new BigInt64Array(b);
    const rng = pad > 0 || a.flip ? this.stream(AUGMENTATION, epoch, batch) : undefined;
    const rrc = a.randomResizedCrop && this.stream(RESIZED_CROP, epoch, batch);
    const ra = a.randAugment && this.stream(RAND_AUGMENT, epoch, batch);
    const erase = a.erasing ? this.stream(ERASING, epoch, batch) : undefined;
    for (let k = 0; k < b; k++) {
      y[k] = BigInt(set.labels[indices[k]]);
      let image = set.images.subarray(indices[k] * per, (indices[k] + 1) * per);
      if (rrc) image = resizedCrop(image, set, randomResizedCropBox(h, w, a.randomResizedCrop!, rrc));
      if (ra) image = randAugment(image, set, a.randAugment!, ra).image;
      const dy = rng && pad ? rng.int(2 * pad + 1) - pad : 0;
      const dx = rng && pad ? rng.int(2 * pad + 1) - pad : 0;
      const mirror = rng && a.flip ? rng.uniform() < 0.5 : false;
      for (let ch = 0; ch < c; ch++) {
        const lut = luts[ch];
        const plane = ch * h * w;
        const out = k * per + ch * h * w;
        for (let yy = 0; yy < h; yy++) {
          const sy = yy + dy;
          const rowOut = out + yy * w;
          if (sy < 0 || sy >= h) {
            x.fill(lut[0], rowOut, rowOut + w); // padding is black in pixel space, as torchvision pads
            continue;
          }
          const row = plane + sy * w;
          for (let xx = 0; xx < w; xx++) {
            const sx = (mirror ? w - 1 - xx : xx) + dx;
            x[rowOut + xx] = lut[sx < 0 || sx >= w ? 0 : image[row + sx]];
          }
        }
      }
      if (erase) randomErase(x.subarray(k * per, (k + 1) * per), set, a.erasing!, erase);
    }
    const extra: { targets?: Tensor<'float32'>; mix?: MixInfo; masks?: Map<string, Uint8Array> } = {};
    if (a.mixup || a.cutmix) {
      const opts = { mixup: a.mixup ?? 0, cutmix: a.cutmix ?? 0, labelSmoothing: this.opts.labelSmoothing, classes: set.classes.length };
      const { targets, info } = mixBatch(x, y, set, opts, this.stream(MIX, epoch, batch));
      extra.targets = tensor('float32', [b, set.classes.length], targets);
      extra.mix = info;
    }
    if (this.opts.noise.length) extra.masks = keepMasks(this.opts.noise, b, this.stream(NOISE, epoch, batch));
    return { x: tensor('float32', [b, c, h, w], x), y: tensor('int64', [b], y), indices, epoch, batch, ...extra };
  }
}

/** The position `ahead` batches after the next one from `p` (normalising an epoch's end to the next epoch's start). */
export function nextPosition(p: BatchPosition, batchesPerEpoch: number, ahead: number): BatchPosition {
  const flat = p.epoch * batchesPerEpoch + p.batch + ahead;
  return { epoch: Math.floor(flat / batchesPerEpoch), batch: flat % batchesPerEpoch };
}

function checkAugment(a: AugmentOptions): void {
  const pad = a.padCrop ?? 0;
  if (!Number.isInteger(pad) || pad < 0) throw new UserError(`crop padding ${pad} is invalid: pass a non-negative integer`);
  if (a.randomResizedCrop) checkRandomResizedCrop(a.randomResizedCrop);
  if (a.randAugment) checkRandAugment(a.randAugment);
  checkMix({ mixup: a.mixup ?? 0, cutmix: a.cutmix ?? 0 });
  checkErasing(a.erasing ?? 0);
}
