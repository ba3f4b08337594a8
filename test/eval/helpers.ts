// Synthetic frozen features for the evaluators' tests: Gaussian clusters around well-separated class means.
import type { LabelledFeatures } from '../../src/eval/features.ts';
import { Rng } from '../../src/rng.ts';

export interface ClusterOptions {
  readonly classes: number;
  readonly dim: number;
  readonly perClass: number;
  /** Distance scale of the class means (std 1 noise around them). */
  readonly separation?: number;
  readonly seed?: number;
  /** Mean vectors to reuse (so a test split shares the train split's clusters). */
  readonly means?: Float64Array;
}

/** `perClass` points per class, class c centred on means[c]; returns the means too, for a matching split. */
export function clusters(opts: ClusterOptions): LabelledFeatures & { means: Float64Array } {
  const { classes: k, dim: d, perClass, separation = 4, seed = 0 } = opts;
  const rng = new Rng(seed);
  const means = opts.means ?? Float64Array.from({ length: k * d }, () => rng.normal(0, separation));
  const n = k * perClass;
  const features = new Float32Array(n * d);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % k; // interleaved, as a shuffled dataset would be
    labels[i] = c;
    for (let j = 0; j < d; j++) features[i * d + j] = means[c * d + j]! + rng.normal();
  }
  return { features, labels, n, dim: d, classes: Array.from({ length: k }, (_, c) => `c${c}`), means };
}
