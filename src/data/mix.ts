// Mixup (Zhang et al. 2018) and CutMix (Yun et al. 2019) on a normalised batch, as timm's Mixup in its default
// 'batch' mode: one λ per batch, each image paired with the batch reversed (image i with image B−1−i), targets the
// λ-blend of the two (label-smoothed) one-hot vectors. With both enabled, CutMix is chosen with probability 1/2.
// Pure maths, no `node:` imports.
import { UserError } from '../errors.ts';
import type { Rng } from '../rng.ts';
import type { Box, ImageDims } from './augment.ts';

export interface MixOptions {
  /** Mixup's α: λ ~ Beta(α, α); 0 = off. */
  readonly mixup: number;
  /** CutMix's α; 0 = off. */
  readonly cutmix: number;
  /** Label smoothing ε folded into the soft targets (the loss then takes them as they are). */
  readonly labelSmoothing: number;
  readonly classes: number;
}

/** What was done to a batch: for the statistics tests and the curious. */
export interface MixInfo {
  readonly kind: 'mixup' | 'cutmix';
  /** Weight of each image's own label (after CutMix, the exact fraction of its pixels that stayed). */
  readonly lam: number;
  readonly box?: Box;
}

export function checkMix(o: Pick<MixOptions, 'mixup' | 'cutmix'>): void {
  for (const [name, a] of [['mixup', o.mixup], ['cutmix', o.cutmix]] as const) {
    if (!(a >= 0 && Number.isFinite(a))) throw new UserError(`${name} α ${a} is invalid: pass a number ≥ 0 (0 = off)`);
  }
}

/** timm's rand_bbox: a box of side √(1−λ) of the image at a uniform centre, clipped to the image. */
function cutBox(dims: ImageDims, lam: number, rng: Rng): Box {
  const { height: h, width: w } = dims;
  const cutH = Math.floor(h * Math.sqrt(1 - lam));
  const cutW = Math.floor(w * Math.sqrt(1 - lam));
  const cy = rng.int(h);
  const cx = rng.int(w);
  const clip = (v: number, n: number) => Math.min(Math.max(v, 0), n);
  const top = clip(cy - Math.floor(cutH / 2), h);
  const left = clip(cx - Math.floor(cutW / 2), w);
  return { top, left, height: clip(cy + Math.floor(cutH / 2), h) - top, width: clip(cx + Math.floor(cutW / 2), w) - left };
}

/**
 * Mixes `x` (float32 [B, C, H, W], normalised) in place with its reverse and returns the soft targets [B, K]
 * (λ·y_i + (1−λ)·y_{B−1−i} with y smoothed to ε/K off and 1 − ε + ε/K on) and what was done.
 */
export function mixBatch(
  x: Float32Array,
  labels: ArrayLike<number | bigint>,
  dims: ImageDims,
  o: MixOptions,
  rng: Rng,
): { targets: Float32Array; info: MixInfo } {
  const b = labels.length;
  const per = dims.channels * dims.height * dims.width;
  const useCutmix = o.cutmix > 0 && (o.mixup === 0 || rng.uniform() < 0.5);
  let lam = rng.beta(useCutmix ? o.cutmix : o.mixup, useCutmix ? o.cutmix : o.mixup);
  let box: Box | undefined;
  if (useCutmix) {
    box = cutBox(dims, lam, rng);
    lam = 1 - (box.height * box.width) / (dims.height * dims.width);
  }
  for (let i = 0; i < b >> 1; i++) {
    const [p, q] = [i * per, (b - 1 - i) * per];
    if (box) {
      // Image i takes j's box and j takes i's: a swap of the two boxes.
      for (let ch = 0; ch < dims.channels; ch++) {
        for (let y = box.top; y < box.top + box.height; y++) {
          const row = ch * dims.height * dims.width + y * dims.width;
          for (let xx = box.left; xx < box.left + box.width; xx++) {
            const t = x[p + row + xx]!;
            x[p + row + xx] = x[q + row + xx]!;
            x[q + row + xx] = t;
          }
        }
      }
    } else {
      for (let k = 0; k < per; k++) {
        const [u, v] = [x[p + k]!, x[q + k]!];
        x[p + k] = lam * u + (1 - lam) * v;
        x[q + k] = lam * v + (1 - lam) * u;
      }
    }
  }
  const k = o.classes;
  const off = o.labelSmoothing / k;
  const on = 1 - o.labelSmoothing + off;
  const targets = new Float32Array(b * k).fill(off);
  for (let i = 0; i < b; i++) {
    targets[i * k + Number(labels[i]!)]! += lam * (on - off);
    targets[i * k + Number(labels[b - 1 - i]!)]! += (1 - lam) * (on - off);
  }
  return { targets, info: { kind: useCutmix ? 'cutmix' : 'mixup', lam, ...(box ? { box } : {}) } };
}
