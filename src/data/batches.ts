// Mini-batches over an in-memory ImageSet: seeded shuffling, optional augmentation (random crop with zero padding,
// horizontal flip), normalisation to float32 [B, C, H, W] and int64 labels.
//
// Every random choice is a pure function of (seed, epoch, batch index): the epoch's permutation comes from a
// generator seeded with (seed, epoch), each batch's augmentation from one seeded with (seed, epoch, batch). So the
// position {epoch, batch} is the iterator's whole state: saving it and constructing a new iterator from it gives
// identical batches, and any batch can be rebuilt on its own (e.g. by a worker) without replaying the others.
import { tensor } from '../graph/tensor.ts';
import type { Tensor } from '../graph/tensor.ts';
import { UserError } from '../errors.ts';
import { Rng } from '../rng.ts';
import type { ImageSet } from './image-set.ts';
import { imageBytes } from './image-set.ts';
import { normalizationTables, resolveNormalization } from './preprocess.ts';

/** Training-time augmentation, as torchvision's RandomCrop(size, padding) then RandomHorizontalFlip(). */
export interface AugmentOptions {
  /** Zero-pad each side by this many pixels, then crop back to the original size at a random offset. 0 = off. */
  readonly padCrop?: number;
  /** Mirror left–right with probability 1/2. */
  readonly flip?: boolean;
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
}

const PERMUTATION = 1;
const AUGMENTATION = 2;

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
  private readonly opts: Required<Omit<BatchOptions, 'mean' | 'std' | 'augment'>> & { readonly padCrop: number; readonly flip: boolean };
  private epoch: number;
  private batch: number;
  private order: Int32Array | undefined; // permutation of the current epoch

  constructor(
    private readonly set: ImageSet,
    opts: BatchOptions,
    start: BatchPosition = { epoch: 0, batch: 0 },
  ) {
    const { batchSize, shuffle = true, seed = 0 } = opts;
    const dropLast = opts.dropLast ?? shuffle;
    const padCrop = opts.augment?.padCrop ?? 0;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new UserError(`batch size ${batchSize} is invalid: pass a positive integer`);
    if (!Number.isInteger(padCrop) || padCrop < 0) throw new UserError(`crop padding ${padCrop} is invalid: pass a non-negative integer`);
    const { mean, std } = resolveNormalization(opts.mean, opts.std, set.channels);
    this.luts = normalizationTables(mean, std);
    this.opts = { batchSize, shuffle, seed, dropLast, padCrop, flip: opts.augment?.flip ?? false };
    this.batchesPerEpoch = dropLast ? Math.floor(set.n / batchSize) : Math.ceil(set.n / batchSize);
    if (this.batchesPerEpoch === 0) {
      throw new UserError(`${set.name}: ${set.n} images make no full batch of ${batchSize}: lower the batch size`);
    }
    if (!(Number.isInteger(start.epoch) && start.epoch >= 0 && Number.isInteger(start.batch) && start.batch >= 0 && start.batch <= this.batchesPerEpoch)) {
      throw new UserError(`cannot resume at epoch ${start.epoch}, batch ${start.batch}: an epoch of ${set.name} has ${this.batchesPerEpoch} batches`);
    }
    this.epoch = start.epoch;
    this.batch = start.batch;
  }

  /** The position of the next batch; `new Batches(set, opts, it.position())` continues identically. */
  position(): BatchPosition {
    return this.batch === this.batchesPerEpoch ? { epoch: this.epoch + 1, batch: 0 } : { epoch: this.epoch, batch: this.batch };
  }

  /** The next batch, moving on to the next epoch (reshuffled) after the last one. */
  next(): Batch {
    const { epoch, batch } = this.position();
    if (epoch !== this.epoch) this.order = undefined;
    this.epoch = epoch;
    this.batch = batch + 1;
    return this.make(epoch, batch);
  }

  /** The batches left in the current epoch (all of the next epoch when the current one is finished). */
  *restOfEpoch(): Generator<Batch> {
    const { epoch } = this.position();
    while (this.position().epoch === epoch) yield this.next();
  }

  private permutation(epoch: number): Int32Array {
    if (!this.order) {
      const n = this.set.n;
      const order = new Int32Array(n);
      for (let i = 0; i < n; i++) order[i] = i;
      if (this.opts.shuffle) {
        const rng = new Rng(mixSeed([this.opts.seed, Math.floor(this.opts.seed / 2 ** 32), PERMUTATION, epoch]));
        for (let i = n - 1; i > 0; i--) {
          const j = rng.int(i + 1);
          const t = order[i];
          order[i] = order[j];
          order[j] = t;
        }
      }
      this.order = order;
    }
    return this.order;
  }

  private make(epoch: number, batch: number): Batch {
    const { set, luts } = this;
    const { batchSize, padCrop: pad, flip } = this.opts;
    const indices = this.permutation(epoch).slice(batch * batchSize, Math.min((batch + 1) * batchSize, set.n));
    const b = indices.length;
    const { channels: c, height: h, width: w } = set;
    const per = imageBytes(set);
    const x = new Float32Array(b * per);
    const y = new BigInt64Array(b);
    const rng = pad > 0 || flip ? new Rng(mixSeed([this.opts.seed, Math.floor(this.opts.seed / 2 ** 32), AUGMENTATION, epoch, batch])) : undefined;
    for (let k = 0; k < b; k++) {
      const src = indices[k] * per;
      y[k] = BigInt(set.labels[indices[k]]);
      const dy = rng && pad ? rng.int(2 * pad + 1) - pad : 0;
      const dx = rng && pad ? rng.int(2 * pad + 1) - pad : 0;
      const mirror = rng && flip ? rng.uniform() < 0.5 : false;
      for (let ch = 0; ch < c; ch++) {
        const lut = luts[ch];
        const plane = src + ch * h * w;
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
            x[rowOut + xx] = lut[sx < 0 || sx >= w ? 0 : set.images[row + sx]];
          }
        }
      }
    }
    return { x: tensor('float32', [b, c, h, w], x), y: tensor('int64', [b], y), indices, epoch, batch };
  }
}
