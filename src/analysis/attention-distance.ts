// Mean attention distance (the paper's Fig. 7 right, App. D.7): for each head, the image-space distance between a
// query patch and the patches it attends to, weighted by attention, averaged over queries and images. It plays the
// role of a receptive-field size: some heads look far already in the lowest layers, others stay local.
import type { Tensor } from '../graph/tensor.ts';

/** Pixel distance between the centres of every pair of patches of a grid×grid layout ([N·N], N = grid²). */
export function patchDistances(grid: number, patchSize: number): Float64Array {
  const n = grid * grid;
  const out = new Float64Array(n * n);
  for (let q = 0; q < n; q++) {
    for (let k = 0; k < n; k++) {
      const dy = Math.floor(q / grid) - Math.floor(k / grid);
      const dx = (q % grid) - (k % grid);
      out[q * n + k] = patchSize * Math.hypot(dy, dx);
    }
  }
  return out;
}

/**
 * Accumulates mean attention distance per layer and head over batches of per-layer attention ([B, H, T, T]).
 * Only patch queries and patch keys count; the class token's share is left out and each query's weights over
 * patches are renormalised to sum to 1, so a head that mostly reads the class token is not reported as local.
 */
export class AttentionDistanceMeter {
  private readonly sums: Float64Array;
  private readonly distances: Float64Array;
  private images = 0;

  /** `grid` patches per side of `patchSize` pixels; the model has `depth` layers of `heads` heads. */
  constructor(
    readonly depth: number,
    readonly heads: number,
    readonly grid: number,
    readonly patchSize: number,
  ) {
    this.sums = new Float64Array(depth * heads);
    this.distances = patchDistances(grid, patchSize);
  }

  /** Adds one batch: `layers[l]` is layer l's attention for the same images. */
  add(layers: readonly Tensor[]): void {
    if (layers.length !== this.depth) throw new Error(`expected ${this.depth} attention layers, got ${layers.length}`);
    const n = this.grid * this.grid;
    let batch = 0;
    layers.forEach((layer, l) => {
      const [b, heads, t] = layer.shape as [number, number, number];
      if (heads !== this.heads || t < n) throw new Error(`layer ${l} attention [${layer.shape}] does not fit ${this.heads} heads over ${n} patches`);
      const prefix = t - n;
      const data = layer.data as Float32Array;
      for (let img = 0; img < b; img++) {
        for (let h = 0; h < heads; h++) {
          const base = (img * heads + h) * t * t;
          let total = 0;
          for (let q = 0; q < n; q++) {
            const row = base + (prefix + q) * t + prefix;
            let weighted = 0;
            let mass = 0;
            for (let k = 0; k < n; k++) {
              const w = data[row + k]!;
              weighted += w * this.distances[q * n + k]!;
              mass += w;
            }
            if (mass > 0) total += weighted / mass;
          }
          this.sums[l * heads + h]! += total / n;
        }
      }
      batch = b;
    });
    this.images += batch;
  }

  /** How many images were added. */
  get count(): number {
    return this.images;
  }

  /** Mean distance in pixels, `[layer][head]`. */
  result(): number[][] {
    if (this.images === 0) throw new Error('no attention was added');
    return Array.from({ length: this.depth }, (_, l) => Array.from(this.sums.subarray(l * this.heads, (l + 1) * this.heads), (s) => s / this.images));
  }
}
