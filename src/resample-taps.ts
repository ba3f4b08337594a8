// Separable resampling weights as Pillow's Image.resize and PyTorch's interpolate(antialias=True) compute them:
// a filter centred on each output sample, widened by the scale when shrinking (the antialiasing), normalised to sum 1;
// and as PyTorch's plain interpolate (antialias=False, align_corners=False) does, which transformers uses.
// Shared by image resizing (src/data/resample.ts) and position-embedding resampling (src/model/pos-embed.ts).

/** Resampling filters, named as PIL names them (bicubic uses a = -0.5). */
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

/** Per output sample o: taps `count[o]` inputs from `first[o]` on, with weights `weights[o·ksize + k]` summing to 1. */
export interface Taps {
  readonly first: Int32Array;
  readonly count: Int32Array;
  readonly weights: Float64Array;
  readonly ksize: number;
}

/** The taps mapping `inSize` samples to `outSize` with a filter. */
export function resampleTaps(inSize: number, outSize: number, filterName: ResampleFilter): Taps {
  const filter = FILTERS[filterName];
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1); // widen the kernel when shrinking: that is the antialiasing
  const support = filter.support * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const inv = 1 / filterScale;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * ksize);
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const n = Math.min(Math.trunc(center + support + 0.5), inSize) - lo;
    let total = 0;
    for (let k = 0; k < n; k++) total += weights[o * ksize + k] = filter.weight((k + lo - center + 0.5) * inv);
    if (total !== 0) for (let k = 0; k < n; k++) weights[o * ksize + k]! /= total;
    first[o] = lo;
    count[o] = n;
  }
  return { first, count, weights, ksize };
}

/**
 * The taps of PyTorch's `interpolate(size=outSize, mode, align_corners=False)` without antialiasing: a fixed
 * 2-tap (bilinear) or 4-tap (bicubic, Keys' a = −0.75) kernel at source position (o + ½)·in/out − ½, whatever the
 * scale; indices past an edge read the edge sample (bicubic) or the position is clamped to the first one (bilinear).
 */
export function torchTaps(inSize: number, outSize: number, mode: ResampleFilter): Taps {
  const ksize = mode === 'bicubic' ? 4 : 2;
  const scale = inSize / outSize;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * ksize);
  for (let o = 0; o < outSize; o++) {
    const src = (o + 0.5) * scale - 0.5;
    const pos = mode === 'bicubic' ? src : Math.max(src, 0);
    const i0 = Math.floor(pos);
    const t = pos - i0;
    const kernel = mode === 'bicubic' ? cubicWeights(t) : [1 - t, t];
    const start = i0 - (mode === 'bicubic' ? 1 : 0);
    // clamped indices never decrease, so the taps stay one contiguous run from the first clamped one
    const lo = Math.min(Math.max(start, 0), inSize - 1);
    let hi = lo;
    kernel.forEach((w, k) => {
      const i = Math.min(Math.max(start + k, 0), inSize - 1);
      weights[o * ksize + i - lo]! += w;
      hi = Math.max(hi, i);
    });
    first[o] = lo;
    count[o] = hi - lo + 1;
  }
  return { first, count, weights, ksize };
}

/** PyTorch's upsample_bicubic2d weights for the taps at distances 1 + t, t, 1 − t, 2 − t (A = −0.75). */
function cubicWeights(t: number): number[] {
  const a = -0.75;
  const near = (x: number) => ((a + 2) * x - (a + 3)) * x * x + 1;
  const far = (x: number) => ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return [far(t + 1), near(t), near(1 - t), far(2 - t)];
}

/**
 * A square grid of `channels`-wide float samples, [side, side, channels] row-major, resampled to
 * [rowTaps.count.length, colTaps.count.length, channels]: separable, rows then columns, accumulated in float64.
 */
export function resampleGrid(src: Float32Array, side: number, channels: number, rowTaps: Taps, colTaps: Taps): Float32Array {
  const [outRows, outCols] = [rowTaps.count.length, colTaps.count.length];
  const stride = side * channels;
  const tmp = new Float64Array(outRows * stride);
  for (let y = 0; y < outRows; y++) {
    for (let k = 0; k < rowTaps.count[y]!; k++) {
      const w = rowTaps.weights[y * rowTaps.ksize + k]!;
      const base = (rowTaps.first[y]! + k) * stride;
      for (let i = 0; i < stride; i++) tmp[y * stride + i]! += w * src[base + i]!;
    }
  }
  const out = new Float32Array(outRows * outCols * channels);
  for (let y = 0; y < outRows; y++) {
    for (let x = 0; x < outCols; x++) {
      const [o, base, kw] = [(y * outCols + x) * channels, y * stride + colTaps.first[x]! * channels, x * colTaps.ksize];
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        for (let k = 0; k < colTaps.count[x]!; k++) acc += colTaps.weights[kw + k]! * tmp[base + k * channels + c]!;
        out[o + c] = acc;
      }
    }
  }
  return out;
}
