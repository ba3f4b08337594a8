// A training recipe: everything that determines a run's numbers. It is stored in every checkpoint, so that
// `--resume` continues with exactly the same settings.
import type { AugmentOptions } from '../data/batches.ts';
import type { OptimizerConfig } from '../autodiff/optim.ts';
import type { ViTConfig } from '../model/config.ts';
import type { ScheduleKind } from './schedule.ts';

export interface TrainRecipe {
  readonly config: ViTConfig;
  /** Dataset spec as given to loadDataset ('fashion-mnist', a directory, …). */
  readonly data: string;
  readonly epochs: number;
  /** Images per optimizer step. */
  readonly batch: number;
  /** Micro-batches per step (gradient accumulation); batch must be a multiple. */
  readonly gradAccum: number;
  readonly optimizer: OptimizerConfig;
  /** Peak learning rate. */
  readonly lr: number;
  readonly schedule: ScheduleKind;
  readonly warmupSteps: number;
  /** Global gradient-norm clip; 0 disables. */
  readonly clipNorm: number;
  readonly labelSmoothing: number;
  /** Seeds the initial weights and every shuffle and augmentation. */
  readonly seed: number;
  readonly augment: AugmentOptions;
  /** Input normalisation, also recorded in the checkpoint for predict/eval. */
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/**
 * The main job's default: a 0.8M-parameter ViT (patch 4, D 128, depth 4) on Fashion-MNIST, AdamW with warm-up and
 * cosine decay. Chosen to pass 88% test accuracy within 10 minutes on 2 CPU cores (see README).
 */
export const fashionMnistRecipe: Omit<TrainRecipe, 'config'> & { readonly config: Partial<ViTConfig> } = {
  config: { imgSize: 28, patchSize: 4, inChans: 1, embedDim: 128, depth: 4, numHeads: 4, mlpDim: 512, numClasses: 10, layerNormEps: 1e-6 },
  data: 'fashion-mnist',
  epochs: 3,
  batch: 128,
  gradAccum: 1,
  optimizer: { kind: 'adamw', weightDecay: 0.05 },
  lr: 2e-3,
  schedule: 'cosine',
  warmupSteps: 200,
  clipNorm: 1,
  labelSmoothing: 0.1,
  seed: 0,
  augment: {},
  mean: [0.5],
  std: [0.5],
};
