// A toy run for export-run's tests: random 8×8 gray images of three classes and a tiny recipe that turns on every
// hyperparameter recipe.json carries (accumulation, clipping, smoothing, augmentation, dropout, EMA).
import { type ImageSet, imageSet } from '../../src/data/image-set.ts';
import { defaultConfig } from '../../src/model/config.ts';
import { Rng } from '../../src/rng.ts';
import type { TrainRecipe } from '../../src/train/recipe.ts';

function randomSet(n: number, seed: number, name: string): ImageSet {
  const rng = new Rng(seed);
  const images = Uint8Array.from({ length: n * 64 }, () => rng.int(256));
  const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
  return imageSet({ name, classes: ['T-shirt/top', 'bag', 'coat'], images, labels, channels: 1, height: 8, width: 8 });
}

export const toyData = { train: randomSet(40, 1, 'toy/train'), test: randomSet(9, 2, 'toy/test'), skipped: { malformed: 0, duplicates: 0 } };

export const toyRecipe: TrainRecipe = {
  config: { ...defaultConfig, imgSize: 8, patchSize: 4, inChans: 1, embedDim: 16, depth: 1, numHeads: 2, mlpDim: 32, numClasses: 3 },
  data: 'toy', epochs: 2, steps: 7, batch: 8, gradAccum: 2, optimizer: { kind: 'adamw', weightDecay: 0.05 }, lr: 1e-2,
  schedule: 'cosine', warmupSteps: 3, clipNorm: 1, labelSmoothing: 0.1, seed: 7, augment: { flip: true, padCrop: 1 },
  dropout: 0.1, dropPath: 0.2, ema: 0.99, mean: [0.5], std: [0.25],
};
