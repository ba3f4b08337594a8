// RandAugment (Cubuk et al. 2020) on small uint8 CHW images, as torchvision's RandAugment applies it: N ops drawn
// uniformly (with replacement) per image, each at one global magnitude M on timm's 0–10 scale (`rand-m9-n2` is
// N 2, M 9), signed ops negated with probability 1/2. Geometric ops sample nearest-neighbour about the image centre
// and fill with black, as torchvision's defaults. Pure maths, no `node:` imports.
import { UserError } from '../errors.ts';
import type { Rng } from '../rng.ts';
import type { ImageDims } from './augment.ts';

export const RAND_AUGMENT_OPS = [
  'identity', 'autocontrast', 'equalize', 'rotate', 'solarize', 'posterize',
  'contrast', 'brightness', 'shear-x', 'shear-y', 'translate-x', 'translate-y',
] as const;

export type RandAugmentOp = (typeof RAND_AUGMENT_OPS)[number];

export interface RandAugmentOptions {
  /** Ops per image. */
  readonly n: number;
  /** Magnitude on timm's scale: 0 (no change) … 10 (strongest). */
  readonly m: number;
}

/** The strongest setting of each op (magnitude 10), from torchvision/timm's ranges. */
const MAX = { rotate: 30, shear: 0.3, translate: 0.45, enhance: 0.9, posterizeBits: 4 } as const;

export function checkRandAugment(o: RandAugmentOptions): void {
  if (!(Number.isInteger(o.n) && o.n >= 0)) throw new UserError(`RandAugment N ${o.n} is invalid: pass a non-negative integer number of ops`);
  if (!(o.m >= 0 && o.m <= 10)) throw new UserError(`RandAugment M ${o.m} is invalid: pass a magnitude in [0, 10]`);
}

const clamp8 = (v: number): number => (v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v));

/** Maps every byte through a 256-entry table per channel. */
function perChannelLut(image: Uint8Array, dims: ImageDims, lut: (plane: Uint8Array) => Uint8Array): Uint8Array {
  const plane = dims.height * dims.width;
  const out = new Uint8Array(image.length);
  for (let ch = 0; ch < dims.channels; ch++) {
    const src = image.subarray(ch * plane, (ch + 1) * plane);
    const table = lut(src);
    for (let i = 0; i < plane; i++) out[ch * plane + i] = table[src[i]!]!;
  }
  return out;
}

const lutOf = (f: (v: number) => number): Uint8Array => Uint8Array.from({ length: 256 }, (_, v) => clamp8(f(v)));

/** PIL's ImageOps.autocontrast (cutoff 0): stretch each channel's [min, max] to [0, 255]. */
function autocontrast(plane: Uint8Array): Uint8Array {
  let lo = 255;
  let hi = 0;
  for (const v of plane) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (hi <= lo) return lutOf((v) => v);
  const scale = 255 / (hi - lo);
  return lutOf((v) => Math.floor((v - lo) * scale));
}

/** PIL's ImageOps.equalize: each channel's cumulative histogram mapped to a ramp. */
function equalize(plane: Uint8Array): Uint8Array {
  const hist = new Int32Array(256);
  for (const v of plane) hist[v]!++;
  const nonzero = [...hist].filter((c) => c > 0);
  const step = nonzero.length <= 1 ? 0 : Math.floor((plane.length - nonzero[nonzero.length - 1]!) / 255);
  if (step === 0) return lutOf((v) => v);
  const lut = new Uint8Array(256);
  let n = Math.floor(step / 2);
  for (let i = 0; i < 256; i++) {
    lut[i] = Math.min(255, Math.floor(n / step));
    n += hist[i]!;
  }
  return lut;
}

/** Mean gray level as PIL's ImageEnhance.Contrast takes it (luma of RGB, rounded). */
function meanGray(image: Uint8Array, dims: ImageDims): number {
  const plane = dims.height * dims.width;
  let sum = 0;
  for (let i = 0; i < plane; i++) {
    sum += dims.channels === 1 ? image[i]! : (image[i]! * 19595 + image[plane + i]! * 38470 + image[2 * plane + i]! * 7471 + 0x8000) >>> 16;
  }
  return Math.round(sum / plane);
}

/**
 * Resamples through an affine map given as output → input about the image centre, (u, v) ↦ (a·u + b·v + c,
 * d·u + e·v + f) in pixel units; nearest neighbour, black outside.
 */
function affine(image: Uint8Array, dims: ImageDims, [a, b, c, d, e, f]: readonly number[]): Uint8Array {
  const { channels, height: h, width: w } = dims;
  const out = new Uint8Array(image.length);
  for (let y = 0; y < h; y++) {
    const v = y + 0.5 - h / 2;
    for (let x = 0; x < w; x++) {
      const u = x + 0.5 - w / 2;
      const sx = Math.round(a * u + b * v + c + w / 2 - 0.5);
      const sy = Math.round(d * u + e * v + f + h / 2 - 0.5);
      if (sx < 0 || sx >= w || sy < 0 || sy >= h) continue;
      for (let ch = 0; ch < channels; ch++) out[ch * h * w + y * w + x] = image[ch * h * w + sy * w + sx]!;
    }
  }
  return out;
}

/** A translation of `level` × the maximum fraction of `size`, in whole pixels, the same both ways. */
const pixels = (level: number, size: number): number => Math.sign(level) * Math.round(Math.abs(level) * MAX.translate * size);

/**
 * One op at magnitude fraction `level` in [-1, 1] (the sign matters for signed ops only): returns a new image, or
 * the input itself for the identity.
 */
export function applyRandAugmentOp(op: RandAugmentOp, image: Uint8Array, dims: ImageDims, level: number): Uint8Array {
  const mag = Math.abs(level);
  switch (op) {
    case 'identity':
      return image;
    case 'autocontrast':
      return perChannelLut(image, dims, autocontrast);
    case 'equalize':
      return perChannelLut(image, dims, equalize);
    case 'solarize': {
      const threshold = 256 * (1 - mag);
      return perChannelLut(image, dims, () => lutOf((v) => (v >= threshold ? 255 - v : v)));
    }
    case 'posterize': {
      const keep = 0xff & (0xff << Math.round(MAX.posterizeBits * mag));
      return perChannelLut(image, dims, () => lutOf((v) => v & keep));
    }
    case 'brightness':
      return perChannelLut(image, dims, () => lutOf((v) => v * (1 + MAX.enhance * level)));
    case 'contrast': {
      const mean = meanGray(image, dims);
      return perChannelLut(image, dims, () => lutOf((v) => mean + (1 + MAX.enhance * level) * (v - mean)));
    }
    case 'rotate': {
      // Output pixel at angle φ shows the input at φ − θ: the picture turns by θ.
      const t = (level * MAX.rotate * Math.PI) / 180;
      return affine(image, dims, [Math.cos(t), Math.sin(t), 0, -Math.sin(t), Math.cos(t), 0]);
    }
    case 'shear-x':
      return affine(image, dims, [1, level * MAX.shear, 0, 0, 1, 0]);
    case 'shear-y':
      return affine(image, dims, [1, 0, 0, level * MAX.shear, 1, 0]);
    case 'translate-x':
      return affine(image, dims, [1, 0, -pixels(level, dims.width), 0, 1, 0]);
    case 'translate-y':
      return affine(image, dims, [1, 0, 0, 0, 1, -pixels(level, dims.height)]);
  }
}

/** RandAugment on one CHW image: `o.n` ops drawn from `rng`; returns the image and the ops applied. */
export function randAugment(image: Uint8Array, dims: ImageDims, o: RandAugmentOptions, rng: Rng): { image: Uint8Array; ops: RandAugmentOp[] } {
  const ops: RandAugmentOp[] = [];
  let out = image;
  for (let i = 0; i < o.n; i++) {
    const op = RAND_AUGMENT_OPS[rng.int(RAND_AUGMENT_OPS.length)]!;
    const sign = rng.uniform() < 0.5 ? -1 : 1;
    out = applyRandAugmentOp(op, out, dims, (sign * o.m) / 10);
    ops.push(op);
  }
  return { image: out, ops };
}
