// The preprocessing core: crop geometry, resizing, channel conversion and normalisation of decoded pixels into
// the float32 CHW tensor a ViT takes. Pure maths, no `node:` imports and no sharp: the browser reuses this file
// (decoding lives in decode.ts on node, in a canvas in the browser).
import { tensor } from '../graph/tensor.ts';
import type { Tensor } from '../graph/tensor.ts';
import { UserError } from '../errors.ts';
import { resample } from './resample.ts';
import type { ResampleFilter } from './resample.ts';
import { toChannels } from './raw-image.ts';
import type { Channels, RawImage } from './raw-image.ts';

/** timm's ImageNet normalisation (IMAGENET_DEFAULT_MEAN / _STD). */
export const IMAGENET_MEAN: readonly number[] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: readonly number[] = [0.229, 0.224, 0.225];

/**
 * How the image reaches imgSize×imgSize:
 * - 'shorter-crop': timm's eval transform: resize the shorter side to floor(imgSize / cropPct), keep the aspect
 *   ratio, centre-crop imgSize (torchvision Resize + CenterCrop arithmetic, rounding included);
 * - 'squash': Hugging Face's ViTImageProcessor: resize straight to imgSize×imgSize, aspect ratio not kept.
 */
export type ResizeMode = 'shorter-crop' | 'squash';

/** Options of {@link preprocess}; everything but imgSize has a default. */
export interface PreprocessOptions {
  /** Output side S: the result is [inChans, S, S]. */
  readonly imgSize: number;
  /** Channels the model takes; images are converted as PIL's convert('L'/'RGB') would. Default 3. */
  readonly inChans?: Channels;
  /** Per-channel mean (1 value or inChans values) subtracted after scaling to [0, 1]. Default ImageNet's. */
  readonly mean?: readonly number[];
  /** Per-channel std (1 value or inChans values). Default ImageNet's. */
  readonly std?: readonly number[];
  /** 'shorter-crop' only: fraction of the resized image kept by the centre crop, in (0, 1]. Default 0.875. */
  readonly cropPct?: number;
  /** Default 'shorter-crop'. */
  readonly resize?: ResizeMode;
  /** Default bicubic for 'shorter-crop' (timm), bilinear for 'squash' (ViTImageProcessor's resample=2). */
  readonly interpolation?: ResampleFilter;
}

/** PreprocessOptions with defaults filled in and mean/std expanded to one value per channel. */
export type ResolvedPreprocessOptions = { readonly [K in keyof PreprocessOptions]-?: NonNullable<PreprocessOptions[K]> };

/** Where the resized image is cut: a size×size square at (left, top). */
export interface ResizePlan {
  readonly width: number;
  readonly height: number;
  readonly left: number;
  readonly top: number;
  readonly size: number;
}

export const DEFAULT_CROP_PCT = 0.875;

function perChannel(name: 'mean' | 'std', values: readonly number[], channels: Channels): number[] {
  if (values.length === channels) return [...values];
  if (values.length === 1) return new Array<number>(channels).fill(values[0]);
  throw new UserError(`${name} has ${values.length} values but the images have ${channels} channel(s): pass 1 or ${channels} values`);
}

/** Average of the ImageNet values: the default for one channel (timm has no one-channel convention). */
function channelAverage(values: readonly number[]): number[] {
  return [values.reduce((a, b) => a + b, 0) / values.length];
}

/**
 * Per-channel mean and std for `channels`: given values (1 or one per channel) or ImageNet's (their average
 * for one channel). A UserError if the counts do not fit or a std is not positive.
 */
export function resolveNormalization(
  mean: readonly number[] | undefined,
  std: readonly number[] | undefined,
  channels: Channels,
): { mean: number[]; std: number[] } {
  const m = perChannel('mean', mean ?? (channels === 1 ? channelAverage(IMAGENET_MEAN) : IMAGENET_MEAN), channels);
  const s = perChannel('std', std ?? (channels === 1 ? channelAverage(IMAGENET_STD) : IMAGENET_STD), channels);
  if (s.some((v) => !(v > 0)) || m.some((v) => !Number.isFinite(v))) {
    throw new UserError(`mean [${m.join(', ')}] / std [${s.join(', ')}] are invalid: std must be positive and mean finite`);
  }
  return { mean: m, std: s };
}

/** Fills defaults and checks every option, throwing a UserError that names the bad one. */
export function resolvePreprocessOptions(opts: PreprocessOptions): ResolvedPreprocessOptions {
  const { imgSize, inChans = 3, cropPct = DEFAULT_CROP_PCT, resize = 'shorter-crop' } = opts;
  if (!Number.isInteger(imgSize) || imgSize < 1) throw new UserError(`image size ${imgSize} is invalid: pass a positive integer`);
  if (inChans !== 1 && inChans !== 3) throw new UserError(`in_chans ${String(inChans)} is not supported (expected 1|3)`);
  if (!(cropPct > 0 && cropPct <= 1)) throw new UserError(`crop_pct ${cropPct} is out of range: pass a value in (0, 1]`);
  if (resize !== 'shorter-crop' && resize !== 'squash') throw new UserError(`unknown resize mode '${String(resize)}' (expected shorter-crop|squash)`);
  const interpolation = opts.interpolation ?? (resize === 'squash' ? 'bilinear' : 'bicubic');
  if (interpolation !== 'bicubic' && interpolation !== 'bilinear') {
    throw new UserError(`unknown interpolation '${String(interpolation)}' (expected bicubic|bilinear)`);
  }
  const { mean, std } = resolveNormalization(opts.mean, opts.std, inChans);
  return { imgSize, inChans, mean, std, cropPct, resize, interpolation };
}

/** Python's round(): halves go to the even neighbour (torchvision's CenterCrop rounds this way). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The resize target and crop box for a width×height image, with torchvision's integer arithmetic. */
export function resizePlan(width: number, height: number, opts: ResolvedPreprocessOptions): ResizePlan {
  const size = opts.imgSize;
  if (opts.resize === 'squash') return { width: size, height: size, left: 0, top: 0, size };
  const short = Math.min(width, height);
  const long = Math.max(width, height);
  const newShort = Math.floor(size / opts.cropPct);
  const newLong = Math.trunc((newShort * long) / short);
  const [w, h] = width <= height ? [newShort, newLong] : [newLong, newShort];
  return { width: w, height: h, left: roundHalfEven((w - size) / 2), top: roundHalfEven((h - size) / 2), size };
}

/** Byte → normalised value per channel, in float32 steps as torchvision's ToTensor + Normalize compute it. */
export function normalizationTables(mean: readonly number[], std: readonly number[]): Float32Array[] {
  return mean.map((m, c) => {
    const m32 = Math.fround(m);
    const s32 = Math.fround(std[c]);
    const lut = new Float32Array(256);
    for (let b = 0; b < 256; b++) lut[b] = Math.fround(Math.fround(b / 255) - m32) / s32;
    return lut;
  });
}

/**
 * The pixels the model sees, before normalisation: uint8 [inChans, imgSize, imgSize] (CHW), resized and cropped as
 * preprocess() does. The browser's teach page keeps images so, and normalises them per batch (with augmentation).
 */
export function modelPixels(image: RawImage, opts: PreprocessOptions): Uint8Array {
  const o = resolvePreprocessOptions(opts);
  // RGB→gray before resizing, as PIL's convert('L') comes first; gray→RGB is a copy per channel, done below.
  const src = o.inChans === 1 ? toChannels(image, 1) : image;
  const plan = resizePlan(src.width, src.height, o);
  const resized = resample(src, plan.width, plan.height, o.interpolation);
  const { size, left, top } = plan;
  const c = resized.channels;
  const out = new Uint8Array(o.inChans * size * size);
  for (let ch = 0; ch < o.inChans; ch++) {
    const srcCh = c === 1 ? 0 : ch;
    const plane = ch * size * size;
    for (let y = 0; y < size; y++) {
      let i = ((y + top) * resized.width + left) * c + srcCh;
      const row = plane + y * size;
      for (let x = 0; x < size; x++, i += c) out[row + x] = resized.data[i]!;
    }
  }
  return out;
}

/**
 * Turns a decoded image into the model input: float32 [inChans, imgSize, imgSize], scaled to [0, 1] and
 * normalised. Matches timm's eval transform ('shorter-crop') or ViTImageProcessor ('squash') computed with PIL.
 */
export function preprocess(image: RawImage, opts: PreprocessOptions): Tensor<'float32'> {
  const o = resolvePreprocessOptions(opts);
  const pixels = modelPixels(image, o);
  const luts = normalizationTables(o.mean, o.std);
  const plane = o.imgSize * o.imgSize;
  const out = new Float32Array(pixels.length);
  luts.forEach((lut, ch) => {
    for (let i = ch * plane; i < (ch + 1) * plane; i++) out[i] = lut[pixels[i]!]!;
  });
  return tensor('float32', [o.inChans, o.imgSize, o.imgSize], out);
}
