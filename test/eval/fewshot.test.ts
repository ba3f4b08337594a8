import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RidgeSystem, fewShot, ridgePredict, ridgeTargets } from '../../src/eval/fewshot.ts';
import { type Matrix, matrix } from '../../src/eval/linalg.ts';
import { Rng } from '../../src/rng.ts';
import { clusters } from './helpers.ts';

/**
 * Reference ridge with an unregularised bias, by a different route than the normal equations: the least-squares
 * solution of the stacked system [X 1; √λ·I 0] w = [y; 0] via Householder QR, in float64, one target column at a time.
 */
function referenceRidge(x: Matrix, y: Matrix, lambda: number): Float64Array {
  const n = x.rows;
  const d = x.cols;
  const cols = d + 1;
  const rows = n + d;
  const out = new Float64Array(cols * y.cols);
  for (let t = 0; t < y.cols; t++) {
    const a = Array.from({ length: rows }, (_, r) =>
      Array.from({ length: cols }, (_, c) => (r < n ? (c < d ? x.data[r * d + c] : 1) : c === r - n ? Math.sqrt(lambda) : 0)),
    );
    const b = Array.from({ length: rows }, (_, r) => (r < n ? y.data[r * y.cols + t] : 0));
    for (let c = 0; c < cols; c++) {
      const norm = Math.hypot(...a.slice(c).map((row) => row[c]));
      const alpha = a[c][c] > 0 ? -norm : norm;
      const v = a.map((row, r) => (r < c ? 0 : row[c] - (r === c ? alpha : 0)));
      const vv = v.reduce((s, e) => s + e * e, 0);
      if (vv === 0) continue;
      for (let j = c; j < cols; j++) {
        const f = (2 * v.reduce((s, e, r) => s + e * a[r][j], 0)) / vv;
        for (let r = c; r < rows; r++) a[r][j] -= f * v[r];
      }
      const f = (2 * v.reduce((s, e, r) => s + e * b[r], 0)) / vv;
      for (let r = c; r < rows; r++) b[r] -= f * v[r];
    }
    for (let c = cols - 1; c >= 0; c--) {
      let s = b[c];
      for (let j = c + 1; j < cols; j++) s -= a[c][j] * out[j * y.cols + t];
      out[c * y.cols + t] = s / a[c][c];
    }
  }
  return out;
}

function randomMatrix(rows: number, cols: number, seed: number): Matrix {
  const rng = new Rng(seed);
  return matrix(rows, cols, Float64Array.from({ length: rows * cols }, () => rng.normal(0.5, 2)));
}

test('ridge on a case solvable by hand: x = ±1, targets ±1 → w = 2/(2 + λ), bias 0', () => {
  const w = new RidgeSystem(matrix(2, 1, Float64Array.of(1, -1)), ridgeTargets([0, 1], 2)).solve(0.5);
  const e = 2 / 2.5;
  assert.deepEqual([...w.data].map((v) => +v.toFixed(12)), [e, -e, 0, 0]);
});

for (const [name, n, d] of [['more images than dims', 40, 6], ['fewer images than dims', 5, 12]] as const) {
  test(`ridge matches a float64 QR reference (${name})`, () => {
    const x = randomMatrix(n, d, n);
    const rng = new Rng(7);
    const y = ridgeTargets(Array.from({ length: n }, () => rng.int(3)), 3);
    const system = new RidgeSystem(x, y);
    for (const lambda of [1e-3, 0.7, 50]) {
      const w = system.solve(lambda);
      const ref = referenceRidge(x, y, lambda);
      const err = Math.max(...[...w.data].map((v, i) => Math.abs(v - ref[i])));
      assert.ok(err < 1e-9, `λ ${lambda}: max difference ${err}`);
    }
  });
}

test('ridgePredict takes the argmax of [x 1]·W', () => {
  const w = matrix(3, 2, Float64Array.of(1, -1, 0, 0, 0, 0.5)); // class 0 when x0 > 0.25
  assert.deepEqual([...ridgePredict(matrix(2, 2, Float64Array.of(1, 9, 0, -9)), w)], [0, 1]);
});

test('few-shot on separable clusters: accurate, with mean, spread and chosen λ per shot count', () => {
  const train = clusters({ classes: 4, dim: 16, perClass: 30, seed: 1 });
  const test = clusters({ classes: 4, dim: 16, perClass: 20, seed: 2, means: train.means });
  let calls = 0;
  const results = fewShot(train, test, { shots: [1, 5], seeds: 3, holdout: 5, onProgress: () => calls++ });
  assert.equal(calls, 6);
  assert.deepEqual(results.map((r) => r.shots), [1, 5]);
  for (const r of results) {
    assert.equal(r.accuracies.length, 3);
    assert.ok(r.lambdas.every((l) => l > 0));
    assert.ok(r.std >= 0);
    assert.ok(Math.abs(r.mean - r.accuracies.reduce((a, b) => a + b) / 3) < 1e-12);
  }
  assert.ok(results[1]!.mean > 0.95, `5-shot accuracy ${results[1]!.mean}`);
  // same seed, same samples, same numbers
  assert.deepEqual(fewShot(train, test, { shots: [5], seeds: 3, holdout: 5 })[0], results[1]);
});

test('few-shot names the class that has too few train images', () => {
  const train = clusters({ classes: 3, dim: 4, perClass: 12 });
  assert.throws(
    () => fewShot(train, train, { shots: [1, 5], holdout: 10 }),
    /class 'c0' has 12 train images, fewer than 5 shots \+ 10 held out to choose λ = 15 \(and 2 more classes\)/,
  );
});

test('few-shot refuses train and test features of different dimensions', () => {
  const train = clusters({ classes: 2, dim: 8, perClass: 20 });
  const test = clusters({ classes: 2, dim: 6, perClass: 5 });
  assert.throws(() => fewShot(train, test, { shots: [1] }), /feature dimension mismatch: train features have 8 values, test features 6/);
});
