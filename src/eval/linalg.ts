// Dense float64 linear algebra on the host for the few-shot ridge regression: Gram matrices and Cholesky solves of
// small symmetric systems (D ≤ ~1300). These run in plain JS rather than onnxruntime because a ridge with a small
// λ is ill-conditioned and needs float64 throughout, and a D×D Cholesky costs D³/6 multiply-adds (~0.1 s at D 768).

/** A dense row-major float64 matrix. */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  /** rows × cols values, row by row. */
  readonly data: Float64Array;
}

/** A rows × cols matrix over `data` (zeros when omitted). */
export function matrix(rows: number, cols: number, data: Float64Array = new Float64Array(rows * cols)): Matrix {
  if (data.length !== rows * cols) throw new Error(`matrix: ${data.length} values do not fit ${rows}×${cols}`);
  return { rows, cols, data };
}

/** AᵀA [d, d] of A [n, d], summed as rank-1 updates row by row so that A and the result are read in order. */
export function gram(a: Matrix): Matrix {
  const { rows: n, cols: d, data: x } = a;
  const g = new Float64Array(d * d);
  for (let r = 0; r < n; r++) {
    const row = r * d;
    for (let i = 0; i < d; i++) {
      const xi = x[row + i];
      if (xi === 0) continue;
      const gi = i * d;
      // upper triangle only; mirrored below
      for (let j = i; j < d; j++) g[gi + j] += xi * x[row + j];
    }
  }
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) g[i * d + j] = g[j * d + i];
  return matrix(d, d, g);
}

/** AᵀB [d, k] of A [n, d] and B [n, k]. */
export function transposeTimes(a: Matrix, b: Matrix): Matrix {
  if (a.rows !== b.rows) throw new Error(`transposeTimes: ${a.rows} rows vs ${b.rows} rows`);
  const { rows: n, cols: d } = a;
  const k = b.cols;
  const out = new Float64Array(d * k);
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < d; i++) {
      const ai = a.data[r * d + i];
      if (ai === 0) continue;
      for (let j = 0; j < k; j++) out[i * k + j] += ai * b.data[r * k + j];
    }
  }
  return matrix(d, k, out);
}

/** AB [n, k] of A [n, d] and B [d, k]. */
export function matMul(a: Matrix, b: Matrix): Matrix {
  if (a.cols !== b.rows) throw new Error(`matMul: inner dims differ (${a.rows}×${a.cols} · ${b.rows}×${b.cols})`);
  const { rows: n, cols: d } = a;
  const k = b.cols;
  const out = new Float64Array(n * k);
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < d; i++) {
      const ai = a.data[r * d + i];
      if (ai === 0) continue;
      for (let j = 0; j < k; j++) out[r * k + j] += ai * b.data[i * k + j];
    }
  }
  return matrix(n, k, out);
}

/**
 * The Cholesky factor L (lower triangular, A = LLᵀ) of a symmetric positive-definite A, computed row by row
 * (the Cholesky–Banachiewicz order, whose inner products run along contiguous rows of L). Only A's lower
 * triangle is read. Throws when a pivot is not positive, i.e. A is not (numerically) positive definite.
 */
export function cholesky(a: Matrix): Matrix {
  const n = a.rows;
  if (a.cols !== n) throw new Error(`cholesky: matrix is ${a.rows}×${a.cols}, not square`);
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const li = i * n;
    for (let j = 0; j <= i; j++) {
      const lj = j * n;
      let s = a.data[li + j];
      for (let k = 0; k < j; k++) s -= l[li + k] * l[lj + k];
      if (i === j) {
        if (!(s > 0)) throw new Error(`cholesky: matrix is not positive definite (pivot ${i} is ${s})`);
        l[li + i] = Math.sqrt(s);
      } else {
        l[li + j] = s / l[lj + j];
      }
    }
  }
  return matrix(n, n, l);
}

/** Solves LLᵀX = B for X [n, k] given the Cholesky factor L [n, n]: forward then back substitution per column. */
export function choleskySolve(l: Matrix, b: Matrix): Matrix {
  const n = l.rows;
  if (b.rows !== n) throw new Error(`choleskySolve: right-hand side has ${b.rows} rows, expected ${n}`);
  const k = b.cols;
  const x = Float64Array.from(b.data);
  const L = l.data;
  // Ly = b, all k columns at once (row i of y depends on rows < i)
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < i; p++) {
      const lip = L[i * n + p];
      if (lip === 0) continue;
      for (let j = 0; j < k; j++) x[i * k + j] -= lip * x[p * k + j];
    }
    const d = L[i * n + i];
    for (let j = 0; j < k; j++) x[i * k + j] /= d;
  }
  // Lᵀx = y (row i depends on rows > i; Lᵀ[i][p] = L[p][i])
  for (let i = n - 1; i >= 0; i--) {
    for (let p = i + 1; p < n; p++) {
      const lpi = L[p * n + i];
      if (lpi === 0) continue;
      for (let j = 0; j < k; j++) x[i * k + j] -= lpi * x[p * k + j];
    }
    const d = L[i * n + i];
    for (let j = 0; j < k; j++) x[i * k + j] /= d;
  }
  return matrix(n, k, x);
}

/** Per-column mean and (population) standard deviation of n rows of d values, in float64. */
export function columnStats(values: ArrayLike<number>, n: number, d: number): { mean: Float64Array; std: Float64Array } {
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  for (let r = 0; r < n; r++) for (let i = 0; i < d; i++) mean[i] += values[r * d + i];
  for (let i = 0; i < d; i++) mean[i] /= n;
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < d; i++) {
      const c = values[r * d + i] - mean[i];
      std[i] += c * c;
    }
  }
  for (let i = 0; i < d; i++) std[i] = Math.sqrt(std[i] / n);
  return { mean, std };
}

/**
 * (x − mean) / std per column of `values` (rows of stats.mean.length values) into `out`, which sets the number of
 * rows. A column with std 0 (constant over the rows the stats came from) is only centred.
 */
export function standardize<T extends Float32Array | Float64Array>(
  values: ArrayLike<number>,
  stats: { mean: Float64Array; std: Float64Array },
  out: T,
): T {
  const d = stats.mean.length;
  for (let r = 0; r < out.length / d; r++) {
    for (let i = 0; i < d; i++) out[r * d + i] = (values[r * d + i] - stats.mean[i]) / (stats.std[i] > 0 ? stats.std[i] : 1);
  }
  return out;
}
