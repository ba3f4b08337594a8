// Principal components of the patch-embedding filters (the paper's Fig. 7 left): each of the D rows of
// patch_embed.proj.weight is a C×P×P filter; their top principal components look like plausible basis functions
// for the fine structure within a patch.
import { type Tensor, formatShape } from '../graph/tensor.ts';
import { symmetricEigen } from './symmetric-eigen.ts';

/** Principal components of the filters, largest variance first. */
export interface FilterComponents {
  /** [C, P, P]: the layout of each component. */
  readonly shape: readonly [number, number, number];
  /** Unit vectors of C·P·P values, each signed so that its largest-magnitude entry is positive. */
  readonly components: Float64Array[];
  /** Variance along each component (covariance eigenvalue, normalised by D − 1). */
  readonly variance: number[];
  /** Each component's share of the total variance. */
  readonly explained: number[];
}

/**
 * The first `k` principal components of the centred filters `weight` [D, C, P, P] (fewer when the filters span
 * fewer dimensions). Diagonalises whichever is smaller: the covariance (C·P·P square) or the Gram matrix (D square).
 */
export function filterPCA(weight: Tensor, k = 28): FilterComponents {
  const [rows, c, p, p2] = weight.shape as [number, number, number, number];
  if (weight.shape.length !== 4 || p !== p2) throw new Error(`patch-embedding weight ${formatShape(weight.shape)} is not [D, C, P, P]`);
  const m = c * p * p;
  const src = weight.data as Float32Array;
  const x = new Float64Array(rows * m);
  for (let j = 0; j < m; j++) {
    let mean = 0;
    for (let i = 0; i < rows; i++) mean += src[i * m + j]!;
    mean /= rows;
    for (let i = 0; i < rows; i++) x[i * m + j] = src[i * m + j]! - mean;
  }
  const gram = rows <= m;
  const n = gram ? rows : m;
  // gram: XXᵀ [D, D], whose eigenvectors u give components Xᵀu/‖Xᵀu‖; otherwise XᵀX [m, m] directly.
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      if (gram) for (let t = 0; t < m; t++) s += x[i * m + t]! * x[j * m + t]!;
      else for (let t = 0; t < rows; t++) s += x[t * m + i]! * x[t * m + j]!;
      a[i * n + j] = a[j * n + i] = s;
    }
  }
  const { values, vectors } = symmetricEigen(a, n);
  const total = values.reduce((s, v) => s + Math.max(v, 0), 0);
  // Centring removes one dimension; eigenvalues at rounding level carry no direction.
  let rank = 0;
  while (rank < n && values[rank]! > total * 1e-12) rank++;
  const count = Math.min(k, rank, rows - 1);
  const components: Float64Array[] = [];
  for (let i = 0; i < count; i++) {
    let v = vectors[i]!;
    if (gram) {
      const u = v;
      v = new Float64Array(m);
      for (let r = 0; r < rows; r++) for (let t = 0; t < m; t++) v[t]! += u[r]! * x[r * m + t]!;
      const norm = Math.sqrt(v.reduce((sum, e) => sum + e * e, 0));
      for (let t = 0; t < m; t++) v[t]! /= norm;
    }
    components.push(signed(v));
  }
  const variance = Array.from(values.subarray(0, count), (v) => v / Math.max(rows - 1, 1));
  return { shape: [c, p, p], components, variance, explained: Array.from(values.subarray(0, count), (v) => v / total) };
}

/** Flips v so that its largest-magnitude entry is positive (an eigenvector's sign is arbitrary). */
function signed(v: Float64Array): Float64Array {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (Math.abs(v[i]!) > Math.abs(v[best]!)) best = i;
  if (v[best]! < 0) for (let i = 0; i < v.length; i++) v[i] = -v[i]!;
  return v;
}
