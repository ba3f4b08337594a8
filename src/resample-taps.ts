// Separable resampling weights as Pillow's Image.resize and PyTorch's interpolate(antialias=True) compute them:
// a filter centred on each output sample, widened by the scale when shrinking (the antialiasing), normalised to sum 1.
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
