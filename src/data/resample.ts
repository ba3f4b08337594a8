// Image resizing that reproduces Pillow's `Image.resize` (libImaging/Resample.c) for 8-bit images, bit for bit.
// Why not sharp/libvips: timm's eval transform and Hugging Face's ViTImageProcessor both resize with PIL, and
// libvips' cubic upsampling differs from it by ~0.03 mean absolute error after normalisation (measured on the
// fixtures), while this port matches exactly. Pure maths, no `node:` imports: the browser reuses it.
import type { RawImage } from './raw-image.ts';

/** Resampling filters, named as PIL names them (bicubic uses a = -0.5, and both antialias when shrinking). */
export type ResampleFilter = 'bilinear' | 'bicubic';

interface Filter {
  readonly support: number;
  readonly weight: (x: number) => number;
}

const FILTERS: Record<ResampleFilter, Filter> = {
  bilinear: {
    support: 1,
    weight: (x) => {
      x = Math.abs(x);
      return x < 1 ? 1 - x : 0;
    },
  },
  bicubic: {
    support: 2,
    weight: (x) => {
      const a = -0.5;
      x = Math.abs(x);
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    },
  },
};

// PIL accumulates 8-bit samples against fixed-point weights with this many fractional bits.
const PRECISION_BITS = 22;
const ONE = 2 ** PRECISION_BITS;
const HALF = 2 ** (PRECISION_BITS - 1);

/** Per output pixel: first input index, tap count, and `ksize` fixed-point weights. */
interface Taps {
  readonly first: Int32Array;
  readonly count: Int32Array;
  readonly weights: Float64Array;
  readonly ksize: number;
}

/** PIL's precompute_coeffs + normalize_coeffs_8bpc for one axis (box = the whole input). */
function taps(inSize: number, outSize: number, filter: Filter): Taps {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1); // widen the kernel when shrinking: that is the antialiasing
  const support = filter.support * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const inv = 1 / filterScale;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * ksize);
  const w = new Float64Array(ksize);
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const n = Math.min(Math.trunc(center + support + 0.5), inSize) - lo;
    let total = 0;
    for (let k = 0; k < n; k++) {
      w[k] = filter.weight((k + lo - center + 0.5) * inv);
      total += w[k];
    }
    for (let k = 0; k < n; k++) {
      const v = (total !== 0 ? w[k] / total : w[k]) * ONE;
      weights[o * ksize + k] = v < 0 ? Math.trunc(v - 0.5) : Math.trunc(v + 0.5);
    }
    first[o] = lo;
    count[o] = n;
  }
  return { first, count, weights, ksize };
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
  const f = FILTERS[filter];
  const c = image.channels;
  const vt = height !== image.height ? taps(image.height, height, f) : undefined;
  // Only the input rows that the vertical pass reads need the horizontal pass.
  const y0 = vt ? vt.first[0] : 0;
  const y1 = vt ? vt.first[height - 1] + vt.count[height - 1] : image.height;
  const rows = width !== image.width ? resampleRows(image, y0, y1, width, taps(image.width, width, f)) : image.data;
  const rowsStart = width !== image.width ? y0 : 0;
  const data = vt ? resampleColumns(rows, width * c, rowsStart, height, vt) : rows;
  return { data, width, height, channels: c };
}
