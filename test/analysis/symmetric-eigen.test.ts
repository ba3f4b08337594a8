import assert from 'node:assert/strict';
import { test } from 'node:test';
import { symmetricEigen } from '../../src/analysis/symmetric-eigen.ts';

test('eigenpairs of a random symmetric matrix: A·v = λ·v, orthonormal, descending', () => {
  const n = 40;
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = Math.sin(i * 7.1 + j * 3.3);
  const { values, vectors } = symmetricEigen(a, n);
  for (let q = 0; q < n; q++) {
    if (q > 0) assert.ok(values[q]! <= values[q - 1]!);
    for (let i = 0; i < n; i++) {
      let av = 0;
      for (let j = 0; j < n; j++) av += a[i * n + j]! * vectors[q]![j]!;
      assert.ok(Math.abs(av - values[q]! * vectors[q]![i]!) < 1e-10);
    }
    for (let r = 0; r <= q; r++) {
      const dot = vectors[q]!.reduce((s, v, k) => s + v * vectors[r]![k]!, 0);
      assert.ok(Math.abs(dot - (r === q ? 1 : 0)) < 1e-10);
    }
  }
});

test('a diagonal matrix, repeated eigenvalues and the 1×1 case', () => {
  assert.deepEqual(Array.from(symmetricEigen(Float64Array.of(1, 0, 0, 0, 3, 0, 0, 0, 2), 3).values), [3, 2, 1]);
  assert.deepEqual(Array.from(symmetricEigen(Float64Array.of(2, 0, 0, 2), 2).values), [2, 2]);
  assert.deepEqual(Array.from(symmetricEigen(Float64Array.of(-4), 1).values), [-4]);
  assert.throws(() => symmetricEigen(new Float64Array(5), 2), /5 entries is not 2×2/);
});
