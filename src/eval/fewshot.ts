// The paper's few-shot linear evaluation (ViT, section 4.1 / appendix): closed-form regularised least squares
// from frozen features of `shots` train images per class to {−1, 1}^K targets, scored by argmax on the test split;
// mean and spread over seeds. Follows big_vision's fewshot_lsr evaluator:
// - features are standardised per dimension with the statistics of the images being fitted (applied to the
//   held-out and test features alike);
// - the bias is an appended constant-1 column whose coefficient is NOT regularised (big_vision approximates this
//   with a large constant; leaving it out of λI is exact and still positive definite, since the standardised
//   columns are centred);
// - λ is picked from a grid λ = 2^e · tr(ZᵀZ)/D, e ∈ {−10, −8, …, 10}, i.e. relative to the mean eigenvalue of
//   the standardised Gram matrix (≈ the number of fitted images), so the grid does not depend on the feature
//   scale; the λ with the best accuracy on `holdout` further train images per class wins (ties: the larger λ).
//   Like big_vision's held-out "minival", these images are labelled data beyond the shots.
// Per seed one shuffle of each class's train images gives the held-out images (the first `holdout`) and nested
// shot sets (the next `shots`), so larger shot counts extend smaller ones.
import { UserError } from '../errors.ts';
import { Rng } from '../rng.ts';
import { type LabelledFeatures, checkFeaturePair } from './features.ts';
import { type Matrix, cholesky, choleskySolve, columnStats, gram, matMul, matrix, standardize, transposeTimes } from './linalg.ts';

/** Exponents e of the λ grid 2^e · tr(ZᵀZ)/D. */
export const RIDGE_EXPONENTS: readonly number[] = [-10, -8, -6, -4, -2, 0, 2, 4, 6, 8, 10];

export interface FewShotOptions {
  /** Images per class to fit on, one evaluation per count (e.g. [1, 5, 10, 25]). */
  readonly shots: readonly number[];
  /** Repetitions with different samples (default 3). */
  readonly seeds?: number;
  /** Further train images per class held out to choose λ (default 10). */
  readonly holdout?: number;
  /** Seed of the first repetition; repetition r uses seed + r (default 0). */
  readonly seed?: number;
  /** Called after each (shot count, seed) fit. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface FewShotResult {
  readonly shots: number;
  /** Mean test accuracy over seeds, in [0, 1]. */
  readonly mean: number;
  /** Sample standard deviation over seeds (n − 1 denominator; 0 with one seed). */
  readonly std: number;
  /** Test accuracy of each seed. */
  readonly accuracies: readonly number[];
  /** The λ each seed chose (absolute, for the standardised features). */
  readonly lambdas: readonly number[];
}

/** One-vs-rest targets: +1 in the label's column, −1 elsewhere ([n, k]). */
export function ridgeTargets(labels: ArrayLike<number>, k: number): Matrix {
  const y = matrix(labels.length, k, new Float64Array(labels.length * k).fill(-1));
  for (let i = 0; i < labels.length; i++) y.data[i * k + labels[i]!] = 1;
  return y;
}

/**
 * The normal equations of ridge regression with an unregularised bias, for features X [n, d] and targets Y [n, k]:
 * with A = [X 1], (AᵀA + λ·diag(1, …, 1, 0)) W = AᵀY. AᵀA and AᵀY are formed once; each λ costs one Cholesky solve.
 */
export class RidgeSystem {
  private readonly g: Matrix;
  private readonly rhs: Matrix;
  /** tr(XᵀX)/d: the mean eigenvalue of XᵀX, the unit of the λ grid. */
  readonly scale: number;

  constructor(x: Matrix, y: Matrix) {
    const a = withBias(x);
    this.g = gram(a);
    this.rhs = transposeTimes(a, y);
    let tr = 0;
    for (let i = 0; i < x.cols; i++) tr += this.g.data[i * a.cols + i]!;
    this.scale = tr / x.cols;
  }

  /** W [d + 1, k]: rows 0…d−1 weigh the features, row d is the bias. λ must be > 0. */
  solve(lambda: number): Matrix {
    if (!(lambda > 0)) throw new Error(`ridge λ must be > 0, got ${lambda}`);
    const n = this.g.rows;
    const m = matrix(n, n, Float64Array.from(this.g.data));
    for (let i = 0; i < n - 1; i++) m.data[i * n + i] += lambda;
    return choleskySolve(cholesky(m), this.rhs);
  }
}

/** Class predictions argmax([X 1]·W) for X [n, d] and W [d + 1, k]. */
export function ridgePredict(x: Matrix, w: Matrix): Int32Array {
  const scores = matMul(withBias(x), w);
  const k = w.cols;
  const out = new Int32Array(x.rows);
  for (let r = 0; r < x.rows; r++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (scores.data[r * k + j]! > scores.data[r * k + best]!) best = j;
    out[r] = best;
  }
  return out;
}

/** Few-shot accuracy of train → test features for every shot count (see the file header for the protocol). */
export function fewShot(train: LabelledFeatures, test: LabelledFeatures, opts: FewShotOptions): FewShotResult[] {
  checkFeaturePair(train, test);
  const { seeds = 3, holdout = 10, seed = 0 } = opts;
  if (opts.shots.length === 0 || opts.shots.some((s) => !(Number.isInteger(s) && s >= 1))) {
    throw new UserError(`shots [${opts.shots.join(', ')}] are invalid: pass positive integers, e.g. 1,5,10,25`);
  }
  if (!(Number.isInteger(seeds) && seeds >= 1)) throw new UserError(`seeds ${seeds} is invalid: pass a positive integer`);
  if (!(Number.isInteger(holdout) && holdout >= 1)) {
    throw new UserError(`holdout ${holdout} is invalid: pass a positive integer (images per class to choose λ)`);
  }
  const byClass = membersByClass(train);
  checkClassSizes(train.classes, byClass, Math.max(...opts.shots), holdout);
  const results = opts.shots.map((shots) => ({ shots, accuracies: [] as number[], lambdas: [] as number[] }));
  const total = seeds * opts.shots.length;
  let done = 0;
  for (let r = 0; r < seeds; r++) {
    const rng = new Rng(seed + r);
    const shuffled = byClass.map((m) => rng.shuffle([...m]));
    const held = shuffled.flatMap((m) => m.slice(0, holdout));
    for (const res of results) {
      const fit = shuffled.flatMap((m) => m.slice(holdout, holdout + res.shots));
      const { accuracy, lambda } = fitAndScore(train, fit, held, test);
      res.accuracies.push(accuracy);
      res.lambdas.push(lambda);
      opts.onProgress?.(++done, total);
    }
  }
  return results.map((res) => ({ ...res, ...meanStd(res.accuracies) }));
}

/** Fits on `fit` rows of train, picks λ on `held` rows, scores test. */
function fitAndScore(
  train: LabelledFeatures,
  fit: readonly number[],
  held: readonly number[],
  test: LabelledFeatures,
): { accuracy: number; lambda: number } {
  const d = train.dim;
  const k = train.classes.length;
  const fitRows = rows(train.features, fit, d);
  const stats = columnStats(fitRows, fit.length, d);
  const zScores = (values: ArrayLike<number>, n: number): Matrix => matrix(n, d, standardize(values, stats, new Float64Array(n * d)));
  const x = zScores(fitRows, fit.length);
  const system = new RidgeSystem(x, ridgeTargets(fit.map((i) => train.labels[i]!), k));
  const xHeld = zScores(rows(train.features, held, d), held.length);
  const heldLabels = held.map((i) => train.labels[i]!);
  let best = { acc: -1, lambda: 0, w: null as Matrix | null };
  // from the largest λ down, replacing only on a strictly better score: ties keep the stronger regularisation
  for (const e of [...RIDGE_EXPONENTS].reverse()) {
    const lambda = 2 ** e * (system.scale > 0 ? system.scale : 1);
    const w = system.solve(lambda);
    const acc = accuracy(ridgePredict(xHeld, w), heldLabels);
    if (acc > best.acc) best = { acc, lambda, w };
  }
  const predicted = ridgePredict(zScores(test.features, test.n), best.w!);
  return { accuracy: accuracy(predicted, test.labels), lambda: best.lambda };
}

/** [X 1]: X [n, d] with a constant-1 column appended (the bias feature). */
function withBias(x: Matrix): Matrix {
  const d = x.cols;
  const out = new Float64Array(x.rows * (d + 1));
  for (let r = 0; r < x.rows; r++) {
    out.set(x.data.subarray(r * d, (r + 1) * d), r * (d + 1));
    out[r * (d + 1) + d] = 1;
  }
  return matrix(x.rows, d + 1, out);
}

/** Train indices per class, in stored order. */
function membersByClass(f: LabelledFeatures): number[][] {
  const by: number[][] = f.classes.map(() => []);
  for (let i = 0; i < f.n; i++) by[f.labels[i]!]!.push(i);
  return by;
}

function checkClassSizes(classes: readonly string[], byClass: readonly number[][], shots: number, holdout: number): void {
  const need = shots + holdout;
  const short = byClass.map((m, c) => ({ c, n: m.length })).filter((x) => x.n < need);
  if (short.length === 0) return;
  const { c, n } = short[0]!;
  const others = short.length > 1 ? ` (and ${short.length - 1} more classes)` : '';
  throw new UserError(
    `class '${classes[c]}' has ${n} train images, fewer than ${shots} shots + ${holdout} held out to choose λ = ${need}${others}: ` +
      'use fewer --shots or a smaller --holdout',
  );
}

/** The rows at `indices` of an [n, d] array, as float64. */
function rows(values: Float32Array, indices: readonly number[], d: number): Float64Array {
  const out = new Float64Array(indices.length * d);
  indices.forEach((i, r) => out.set(values.subarray(i * d, (i + 1) * d), r * d));
  return out;
}

function accuracy(predicted: Int32Array, labels: ArrayLike<number>): number {
  let hits = 0;
  for (let i = 0; i < predicted.length; i++) if (predicted[i] === labels[i]) hits++;
  return hits / predicted.length;
}

function meanStd(xs: readonly number[]): { mean: number; std: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = xs.length > 1 ? xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1) : 0;
  return { mean, std: Math.sqrt(v) };
}
