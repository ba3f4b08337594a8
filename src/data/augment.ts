// Per-image augmentations beyond crop-with-padding and flip (those live in the batch loop, batches.ts):
// RandomResizedCrop on the uint8 image, and random erasing on the normalised float image. Both follow the
// reference implementations' sampling (torchvision's RandomResizedCrop.get_params, timm's RandomErasing) so
// recipes carry over. Pure maths, no `node:` imports.
import { UserError } from '../errors.ts';
import type { Rng } from '../rng.ts';
import { resample } from './resample.ts';
import { readChw, writeChw } from './raw-image.ts';
import type { Channels } from './raw-image.ts';

/** Image geometry shared by the functions here: one CHW image. */
export interface ImageDims {
  readonly channels: Channels;
  readonly height: number;
  readonly width: number;
}

/** torchvision's RandomResizedCrop: a crop of `scale` of the area with aspect ratio in `ratio`, resized back. */
export interface RandomResizedCropOptions {
  /** Range of the crop's area as a fraction of the image (torchvision's default [0.08, 1]). */
  readonly scale: readonly [number, number];
  /** Range of the crop's width/height, sampled log-uniformly (default [3/4, 4/3]). */
  readonly ratio: readonly [number, number];
}

export const RRC_DEFAULTS: RandomResizedCropOptions = { scale: [0.08, 1], ratio: [3 / 4, 4 / 3] };

/** A crop box in pixels. */
export interface Box {
  readonly top: number;
  readonly left: number;
  readonly height: number;
  readonly width: number;
}

export function checkRandomResizedCrop(o: RandomResizedCropOptions): void {
  const [s0, s1] = o.scale;
  const [r0, r1] = o.ratio;
  if (!(s0 > 0 && s0 <= s1 && s1 <= 1)) throw new UserError(`RandomResizedCrop scale [${s0}, ${s1}] is invalid: pass 0 < min ≤ max ≤ 1`);
  if (!(r0 > 0 && r0 <= r1)) throw new UserError(`RandomResizedCrop ratio [${r0}, ${r1}] is invalid: pass 0 < min ≤ max`);
}

const between = (rng: Rng, lo: number, hi: number): number => lo + (hi - lo) * rng.uniform();

/** torchvision's RandomResizedCrop.get_params: ten tries at a random box, else a centre crop of clamped ratio. */
export function randomResizedCropBox(height: number, width: number, o: RandomResizedCropOptions, rng: Rng): Box {
  const area = height * width;
  const [lr0, lr1] = [Math.log(o.ratio[0]), Math.log(o.ratio[1])];
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * between(rng, o.scale[0], o.scale[1]);
    const aspect = Math.exp(between(rng, lr0, lr1));
    const w = Math.round(Math.sqrt(target * aspect));
    const h = Math.round(Math.sqrt(target / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) return { top: rng.int(height - h + 1), left: rng.int(width - w + 1), height: h, width: w };
  }
  const inRatio = width / height;
  let [w, h] = [width, height];
  if (inRatio < o.ratio[0]) h = Math.round(w / o.ratio[0]);
  else if (inRatio > o.ratio[1]) w = Math.round(h * o.ratio[1]);
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}

/** Cuts `box` out of a CHW image and resizes it back to the image's size (bilinear, torchvision's default). */
export function resizedCrop(image: Uint8Array, dims: ImageDims, box: Box): Uint8Array {
  const { channels: c, height: h, width: w } = dims;
  const crop = new Uint8Array(c * box.height * box.width);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < box.height; y++) {
      const from = ch * h * w + (box.top + y) * w + box.left;
      crop.set(image.subarray(from, from + box.width), (ch * box.height + y) * box.width);
    }
  }
  const resized = resample(readChw(crop, 0, box.width, box.height, c), w, h, 'bilinear');
  const out = new Uint8Array(c * h * w);
  writeChw(resized, out, 0);
  return out;
}

/** timm's RandomErasing defaults: the erased area is 2–33% of the image, aspect ratio in [0.3, 1/0.3]. */
const ERASE_AREA: readonly [number, number] = [0.02, 1 / 3];
const ERASE_LOG_RATIO: readonly [number, number] = [Math.log(0.3), Math.log(1 / 0.3)];

export function checkErasing(p: number): void {
  if (!(p >= 0 && p <= 1)) throw new UserError(`random erasing probability ${p} is invalid: pass a number in [0, 1]`);
}

/**
 * timm's RandomErasing (mode 'pixel', one box): with probability `p`, a random box of the normalised CHW image
 * `x` is filled with standard normal noise. Returns the erased box, or null when the image was left alone.
 */
export function randomErase(x: Float32Array, dims: ImageDims, p: number, rng: Rng): Box | null {
  if (rng.uniform() >= p) return null;
  const { channels: c, height: h, width: w } = dims;
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = between(rng, ERASE_AREA[0], ERASE_AREA[1]) * h * w;
    const aspect = Math.exp(between(rng, ERASE_LOG_RATIO[0], ERASE_LOG_RATIO[1]));
    const eh = Math.round(Math.sqrt(target * aspect));
    const ew = Math.round(Math.sqrt(target / aspect));
    if (ew >= w || eh >= h || ew < 1 || eh < 1) continue;
    const top = rng.int(h - eh + 1);
    const left = rng.int(w - ew + 1);
    for (let ch = 0; ch < c; ch++) {
      for (let y = top; y < top + eh; y++) {
        const row = ch * h * w + y * w;
        for (let xx = left; xx < left + ew; xx++) x[row + xx] = rng.normal();
      }
    }
    return { top, left, height: eh, width: ew };
  }
  return null;
}
