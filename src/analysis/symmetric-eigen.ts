// Eigen-decomposition of a real symmetric matrix in float64: Householder reduction to tridiagonal form, then the
// implicit QL algorithm (EISPACK's tred2/tql2, as transcribed in JAMA). Exact to rounding and O(n³), unlike power
// iteration, whose accuracy depends on eigenvalue gaps (small for the near-random filters of a fresh model).

/** Eigenvalues in descending order and their unit eigenvectors (`vectors[i]` belongs to `values[i]`). */
export interface SymmetricEigen {
  readonly values: Float64Array;
  readonly vectors: Float64Array[];
}

/**
 * Reduces V (n×n, holding the symmetric matrix) to tridiagonal form: diagonal d, sub-diagonal e, V = the transform.
 * V is stored column-major (JAMA walks it down columns), so on return the memory holds Vᵀ, as tql2 wants it.
 */
function tred2(v: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  const at = (r: number, c: number): number => c * n + r;
  for (let j = 0; j < n; j++) d[j] = v[at(n - 1, j)]!;
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]!);
    if (scale === 0) {
      e[i] = d[i - 1]!;
      for (let j = 0; j < i; j++) {
        d[j] = v[at(i - 1, j)]!;
        v[at(i, j)] = 0;
        v[at(j, i)] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k]! /= scale;
        h += d[k]! * d[k]!;
      }
      let f = d[i - 1]!;
      let g = f > 0 ? -Math.sqrt(h) : Math.sqrt(h);
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      e.fill(0, 0, i);
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        v[at(j, i)] = f;
        g = e[j]! + v[at(j, j)]! * f;
        for (let k = j + 1; k < i; k++) {
          g += v[at(k, j)]! * d[k]!;
          e[k]! += v[at(k, j)]! * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j]! /= h;
        f += e[j]! * d[j]!;
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j]! -= hh * d[j]!;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        g = e[j]!;
        for (let k = j; k < i; k++) v[at(k, j)]! -= f * e[k]! + g * d[k]!;
        d[j] = v[at(i - 1, j)]!;
        v[at(i, j)] = 0;
      }
    }
    d[i] = h;
  }
  // Accumulate the Householder transformations.
  for (let i = 0; i < n - 1; i++) {
    v[at(n - 1, i)] = v[at(i, i)]!;
    v[at(i, i)] = 1;
    const h = d[i + 1]!;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = v[at(k, i + 1)]! / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += v[at(k, i + 1)]! * v[at(k, j)]!;
        for (let k = 0; k <= i; k++) v[at(k, j)]! -= g * d[k]!;
      }
    }
    for (let k = 0; k <= i; k++) v[at(k, i + 1)] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = v[at(n - 1, j)]!;
    v[at(n - 1, j)] = 0;
  }
  v[at(n - 1, n - 1)] = 1;
  e[0] = 0;
}

/**
 * Diagonalises the tridiagonal (d, e) with implicit QL shifts, rotating the rows of W (the transpose of tred2's V,
 * so that each rotation runs along contiguous memory) into eigenvectors.
 */
function tql2(w: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n && Math.abs(e[m]!) > eps * tst1) m++;
    if (m > l) {
      do {
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i]! -= h;
        f += h;
        p = d[m]!;
        let c = 1;
        let c2 = 1;
        let c3 = 1;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          for (let k = 0, a = i * n, b = a + n; k < n; k++) {
            h = w[b + k]!;
            w[b + k] = s * w[a + k]! + c * h;
            w[a + k] = c * w[a + k]! - s * h;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > eps * tst1);
    }
    d[l]! += f;
    e[l] = 0;
  }
}

/** Eigenvalues (descending) and eigenvectors of the symmetric n×n matrix `a` (row-major; only read). */
export function symmetricEigen(a: Float64Array, n: number): SymmetricEigen {
  if (a.length !== n * n) throw new Error(`symmetricEigen: ${a.length} entries is not ${n}×${n}`);
  const v = Float64Array.from(a);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  tred2(v, d, e, n);
  tql2(v, d, e, n); // v now holds one eigenvector per row
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => d[y]! - d[x]!);
  return { values: Float64Array.from(order, (i) => d[i]!), vectors: order.map((i) => v.slice(i * n, (i + 1) * n)) };
}
