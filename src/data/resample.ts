// Image resizing that reproduces Pillow's `Image.resize` (libImaging/Resample.c) for 8-bit images, bit for bit.
// Why not sharp/libvips: timm's eval transform and Hugging Face's ViTImageProcessor both resize with PIL, and
// libvips' cubic upsampling differs from it by ~0.03 mean absolute error after normalisation (measured on the
// fixtures), while this port matches exactly. Pure maths, no `node:` imports: the browser reuses it.
import { type ResampleFilter, type Taps, resampleTaps } from '../resample-taps.ts';
import type { RawImage } from './raw-image.ts';

export type { ResampleFilter };

// PIL accumulates 8-bit samples against fixed-point weights with this many fractional bits.
const PRECISION_BITS = 22;
const ONE = 2 ** PRECISION_BITS;
const HALF = 2 ** (PRECISION_BITS - 1);

/** PIL's normalize_coeffs_8bpc: the shared float taps rounded to fixed point (box = the whole input). */
function taps(inSize: number, outSize: number, filter: ResampleFilter): Taps {
  const t = resampleTaps(inSize, outSize, filter);
  const weights = t.weights.map((w) => {
    const v = w * ONE;
    return v < 0 ? Math.trunc(v - 0.5) : Math.trunc(v + 0.5);
  });
  return { ...t, weights };
}

/** PIL's clip8: drop the fixed-point fraction and saturate to a byte. */
function clip8(acc: number): number {
  if (acc >= ONE * 256) return 255;
  if (acc <= 0) return 0;
  return acc >> PRECISION_BITS;
}

/** Horizontal pass over input rows [y0, y1), as PIL does before the vertical one. */
function resampleRows(src: RawImage, y0: number, y1: number, outWidth: number, t: Taps): Uint8Array {
  const { data, width, channels: c } = src;
  const out = new Uint8Array((y1 - y0) * outWidth * c);
  let p = 0;
  for (let y = y0; y < y1; y++) {
    const row = y * width * c;
    for (let x = 0; x < outWidth; x++) {
      const lo = t.first[x];
      const n = t.count[x];
      const kw = x * t.ksize;
      for (let ch = 0; ch < c; ch++) {
        let acc = HALF;
        for (let k = 0, i = row + lo * c + ch; k < n; k++, i += c) acc += data[i] * t.weights[kw + k];
        out[p++] = clip8(acc);
      }
    }
  }
  return out;
}

/** Vertical pass: `rows` holds input rows starting at `y0`, each `stride` bytes. */
function resampleColumns(rows: Uint8Array, stride: number, y0: number, outHeight: number, t: Taps): Uint8Array {
  const out = new Uint8Array(outHeight * stride);
  for (let y = 0; y < outHeight; y++) {
    const base = (t.first[y] - y0) * stride;
    const n = t.count[y];
    const kw = y * t.ksize;
    const o = y * stride;
    for (let i = 0; i < stride; i++) {
      let acc = HALF;
      for (let k = 0, j = base + i; k < n; k++, j += stride) acc += rows[j] * t.weights[kw + k];
      out[o + i] = clip8(acc);
    }
  }
  return out;
}

/**
 * Resizes to `width`×`height` exactly as Pillow's `Image.resize(size, filter)` does for 8-bit L/RGB images:
 * separable, horizontal pass first, rounded to bytes in between. Returns the input itself when the size is unchanged.
 */
export function resample(image: RawImage, width: number, height: number, filter: ResampleFilter): RawImage {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new Error(`cannot resize to ${width}x${height}: sizes must be positive integers`);
  }
  if (width === image.width && height === image.height) return image;
  const c = image.channels;
  const vt = height !== image.height ? taps(image.height, height, filter) : undefined;
  // Only the input rows that the vertical pass reads need the horizontal pass.
  const y0 = vt ? vt.first[0] : 0;
  const y1 = vt ? vt.first[height - 1] + vt.count[height - 1] : image.height;
  const rows = width !== image.width ? resampleRows(image, y0, y1, width, taps(image.width, width, filter)) : image.data;
  const rowsStart = width !== image.width ? y0 : 0;
  const data = vt ? resampleColumns(rows, width * c, rowsStart, height, vt) : rows;
  return { data, width, height, channels: c };
}
