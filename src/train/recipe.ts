// A training recipe: everything that determines a run's numbers. It is stored in every checkpoint, so that
// `--resume` continues with exactly the same settings. Fields added after the first release are optional, and
// their absence means what the first release did (from scratch, by epochs, no freezing, no dropout, no EMA), so
// older checkpoints resume unchanged; the CLI writes every field.
import type { AugmentOptions } from '../data/batches.ts';
import type { OptimizerConfig } from '../autodiff/optim.ts';
import type { ViTConfig } from '../model/config.ts';
import { TRAIN_ALL, TRAIN_HEAD, type TrainSelection } from '../model/trainable.ts';
import type { CheckpointFormat } from '../weights/checkpoint-types.ts';
import type { BaseIdentity } from '../weights/adapters.ts';
import type { ScheduleKind } from './schedule.ts';

/** What a pretrained checkpoint needed to become the fine-tuning model (see finetune.ts). */
export interface Adaptation {
  /** Classes of the checkpoint's own head (0: it had none); the fine-tuning head is new and zero-initialised. */
  readonly headClasses: number;
  /** Width of the pre-training pre-logits layer that was dropped (0: there was none). */
  readonly droppedPreLogits: number;
  /** The checkpoint's resolution; the position embeddings were resampled in 2D when config.imgSize differs. */
  readonly imgSize: number;
}

/** Where the initial weights came from. */
export type InitSpec =
  | { readonly kind: 'scratch' }
  | { readonly kind: 'pretrained'; readonly checkpoint: string; readonly format: CheckpointFormat; readonly adapted: Adaptation };

/** The first releases' choice of what trains: all, or only the classifier head on a frozen backbone (see `train`). */
export type Freeze = 'none' | 'backbone';

export interface TrainRecipe {
  readonly config: ViTConfig;
  /** Dataset spec as given to loadDataset ('fashion-mnist', a directory, …); images are loaded at config.imgSize. */
  readonly data: string;
  /** Initial weights (default scratch: initParameters from `seed`). */
  readonly init?: InitSpec;
  readonly epochs: number;
  /** Optimizer steps to train for; when set it replaces `epochs` (the last epoch may end part-way). */
  readonly steps?: number;
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
  /** Seeds the initial weights and every shuffle, augmentation and dropout mask. */
  readonly seed: number;
  readonly augment: AugmentOptions;
  /** What trains (model/trainable.ts: all, head, bias, last K blocks, LoRA); default all. Supersedes `freeze`. */
  readonly train?: TrainSelection;
  /** Recipes written before `train`: 'backbone' trains the head only. Default 'none'. */
  readonly freeze?: Freeze;
  /** best.safetensors is an adapter file for this base (weights/adapters.ts), not the merged model. */
  readonly saveAdapters?: BaseIdentity;
  /** Dropout probability (default 0). */
  readonly dropout?: number;
  /** Stochastic depth rate of the last block (default 0; earlier blocks linearly less). */
  readonly dropPath?: number;
  /** Decay of an EMA of the weights used for evaluation and best.safetensors (default 0 = none). */
  readonly ema?: number;
  /** Input normalisation, also recorded in the checkpoint for predict/eval. */
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/**
 * The main job's default: a ViT with patch 4, D 128, depth 3 and MLP 256 (0.41M parameters) on Fashion-MNIST for 4.2
 * epochs at batch 64: AdamW, linear warm-up then cosine decay, label smoothing 0.1, clipping at 1. Chosen by measured
 * time to accuracy on 2 CPU cores: a shallower model for more epochs beat a deeper one for fewer in the same 10
 * minutes (depth 4 × 3 epochs: 87.5%; depth 3 × 4 epochs: 88.0%).
 */
export const fashionMnistRecipe: Omit<TrainRecipe, 'config'> & { readonly config: Partial<ViTConfig> } = {
  config: { imgSize: 28, patchSize: 4, inChans: 1, embedDim: 128, depth: 3, numHeads: 4, mlpDim: 256, numClasses: 10, layerNormEps: 1e-6 },
  data: 'fashion-mnist',
  epochs: 5, // unused while steps is set
  steps: 3900, // 4.2 epochs of 936 batches
  batch: 64,
  gradAccum: 1,
  optimizer: { kind: 'adamw', weightDecay: 0.05 },
  lr: 1.5e-3,
  schedule: 'cosine',
  warmupSteps: 300,
  clipNorm: 1,
  labelSmoothing: 0.1,
  seed: 0,
  augment: {},
  mean: [0.5],
  std: [0.5],
};

/** Optimizer steps a recipe trains for, given its data's batches per epoch. */
export function totalSteps(recipe: Pick<TrainRecipe, 'epochs' | 'steps'>, stepsPerEpoch: number): number {
  return recipe.steps ?? recipe.epochs * stepsPerEpoch;
}

/** Whether batches carry soft targets (Mixup or CutMix on), so the step graph takes targets instead of labels. */
export function usesSoftTargets(recipe: Pick<TrainRecipe, 'augment'>): boolean {
  return (recipe.augment.mixup ?? 0) > 0 || (recipe.augment.cutmix ?? 0) > 0;
}

/** What a recipe trains: its `train`, else what its `freeze` meant. */
export function recipeSelection(recipe: Pick<TrainRecipe, 'train' | 'freeze'>): TrainSelection {
  return recipe.train ?? (recipe.freeze === 'backbone' ? TRAIN_HEAD : TRAIN_ALL);
}

/** The trainable-parameter rule of a freeze setting: undefined trains everything. */
export function trainableRule(freeze: Freeze = 'none'): ((name: string) => boolean) | undefined {
  if (freeze === 'none') return undefined;
  if (freeze === 'backbone') return (name) => name.startsWith('head.');
  throw new Error(`unknown freeze '${String(freeze)}' (expected none|backbone)`);
}
