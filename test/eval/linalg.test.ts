import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cholesky, choleskySolve, columnStats, gram, matMul, matrix, standardize, transposeTimes } from '../../src/eval/linalg.ts';
import { Rng } from '../../src/rng.ts';

function random(rows: number, cols: number, seed: number) {
  const rng = new Rng(seed);
  return matrix(rows, cols, Float64Array.from({ length: rows * cols }, () => rng.normal()));
}

function naiveAtB(a: ReturnType<typeof random>, b: ReturnType<typeof random>): Float64Array {
  const out = new Float64Array(a.cols * b.cols);
  for (let i = 0; i < a.cols; i++) {
    for (let j = 0; j < b.cols; j++) for (let r = 0; r < a.rows; r++) out[i * b.cols + j] += a.data[r * a.cols + i] * b.data[r * b.cols + j];
  }
  return out;
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

test('gram and transposeTimes equal the naive triple loop', () => {
  const a = random(7, 5, 1);
  const b = random(7, 3, 2);
  assert.ok(maxDiff(gram(a).data, naiveAtB(a, a)) < 1e-12);
  assert.ok(maxDiff(transposeTimes(a, b).data, naiveAtB(a, b)) < 1e-12);
});

test('cholesky factors an SPD matrix and solves it to float64 precision', () => {
  const a = random(12, 6, 3);
  const spd = gram(a);
  for (let i = 0; i < 6; i++) spd.data[i * 6 + i] += 0.1;
  const l = cholesky(spd);
  for (let i = 0; i < 6; i++) for (let j = i + 1; j < 6; j++) assert.equal(l.data[i * 6 + j], 0);
  const llt = matMul(l, matrix(6, 6, Float64Array.from({ length: 36 }, (_, k) => l.data[(k % 6) * 6 + Math.floor(k / 6)])));
  assert.ok(maxDiff(llt.data, spd.data) < 1e-12);
  const b = random(6, 2, 4);
  const x = choleskySolve(l, b);
  assert.ok(maxDiff(matMul(spd, x).data, b.data) < 1e-10);
});

test('cholesky refuses a matrix that is not positive definite', () => {
  assert.throws(() => cholesky(matrix(2, 2, Float64Array.of(1, 2, 2, 1))), /not positive definite/);
});

test('columnStats and standardize give zero-mean unit-variance columns; a constant column is only centred', () => {
  const values = Float64Array.of(1, 5, 3, 5, 5, 5);
  const stats = columnStats(values, 3, 2);
  assert.deepEqual([...stats.mean], [3, 5]);
  assert.equal(stats.std[1], 0);
  const z = standardize(values, stats, new Float64Array(6));
  const r = Math.sqrt(1.5); // (1 − 3) / std, std = √(8/3)
  assert.ok(maxDiff(z, [-r, 0, 0, 0, r, 0]) < 1e-12);
});
