// Fine-tuning as the paper does it (§3.1, Appendix B.1.1): take a pretrained ViT from any checkpoint format the
// core reads, drop its pre-training head (and pre-logits layer), attach a zero-initialised linear head for the new
// classes, and at another resolution keep the patch size and resample the position embeddings in 2D. Training
// defaults follow the paper: SGD with momentum 0.9, no weight decay, gradient clipping at global norm 1, cosine
// decay after a linear warm-up, a large batch reached by gradient accumulation.
import type { OptimizerConfig } from '../autodiff/optim.ts';
import { IMAGENET_MEAN, IMAGENET_STD } from '../data/preprocess.ts';
import { UserError } from '../errors.ts';
import type { StateDict } from '../graph/tensor.ts';
import { type ViTConfig, gridSize } from '../model/config.ts';
import { withNewHead } from '../model/head.ts';
import { dequantizeWeights } from '../model/int8.ts';
import { atResolution } from '../model/pos-embed.ts';
import { type Checkpoint, type CheckpointFormat, loadCheckpoint } from '../weights/checkpoint.ts';
import type { Adaptation } from './recipe.ts';
import type { ScheduleKind } from './schedule.ts';

export interface AdaptOptions {
  /** Classes of the new head. */
  readonly numClasses: number;
  /** Resolution to fine-tune at (default: the checkpoint's). */
  readonly imgSize?: number;
  /**
   * Keep the checkpoint's own head instead of replacing it: the same network at the new resolution, for checking
   * the resampling against a reference (fine-tuning itself always replaces the head).
   */
  readonly keepHead?: boolean;
}

/** A pretrained model made ready to fine-tune, with what was changed and the normalisation it expects. */
export interface PretrainedModel {
  readonly config: ViTConfig;
  readonly weights: StateDict;
  readonly adapted: Adaptation;
  readonly format: CheckpointFormat;
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/** Adapts a loaded checkpoint for fine-tuning (see the file header). A checkpoint without a head is fine. */
export function adaptPretrained(
  ckpt: Pick<Checkpoint, 'config' | 'weights' | 'format' | 'preprocess' | 'path'>,
  opts: AdaptOptions,
): PretrainedModel {
  const src = ckpt.config;
  const imgSize = opts.imgSize ?? src.imgSize;
  // A hybrid's backbone takes any size ('SAME' layers round up); patches must tile the image.
  if (!(Number.isInteger(imgSize) && imgSize > 0 && (src.backbone || imgSize % src.patchSize === 0))) {
    throw new UserError(
      `${ckpt.path} has ${src.patchSize}-pixel patches: fine-tune at an --img-size that is a multiple of ${src.patchSize} (got ${imgSize})`,
    );
  }
  if (!(Number.isInteger(opts.numClasses) && opts.numClasses > 0)) {
    throw new UserError(`fine-tuning needs at least one class, got ${opts.numClasses}`);
  }
  // Training runs in float32: an int8 checkpoint starts from its dequantized weights.
  const resized = atResolution(src, dequantizeWeights(src, ckpt.weights), imgSize);
  const adapted: Adaptation = { headClasses: src.numClasses, droppedPreLogits: opts.keepHead ? 0 : src.preLogitsDim, imgSize: src.imgSize };
  const gray = src.inChans === 1;
  const mean = ckpt.preprocess?.mean ?? (gray ? [0.5] : IMAGENET_MEAN);
  const std = ckpt.preprocess?.std ?? (gray ? [0.5] : IMAGENET_STD);
  const base = { adapted, format: ckpt.format, mean, std };
  if (opts.keepHead) return { ...base, ...resized };
  return { ...base, ...withNewHead(resized.config, resized.weights, opts.numClasses) };
}

/** Loads a checkpoint in any supported format (`overrides` as for loadCheckpoint) and adapts it for fine-tuning. */
export function loadPretrained(path: string, opts: AdaptOptions, overrides: Partial<ViTConfig> = {}): PretrainedModel {
  return adaptPretrained(loadCheckpoint(path, overrides), opts);
}

/** What an adaptation did, in words, for the CLI to say (nothing when nothing changed). */
export function describeAdaptation(a: Adaptation, config: ViTConfig): string[] {
  const out = [
    a.headClasses > 0
      ? `replaced the ${a.headClasses}-class head with a zero-initialised ${config.numClasses}-class head`
      : `added a zero-initialised ${config.numClasses}-class head (the checkpoint had none)`,
  ];
  if (a.droppedPreLogits > 0) out.push(`dropped the ${a.droppedPreLogits}-wide pre-logits layer`);
  if (a.imgSize !== config.imgSize) {
    const g = (s: number) => `${gridSize({ ...config, imgSize: s })}×${gridSize({ ...config, imgSize: s })}`;
    const kept = config.backbone ? `backbone and ${config.patchSize}×${config.patchSize} projection kept` : `patch ${config.patchSize} kept`;
    out.push(
      `resampled the position embeddings from ${g(a.imgSize)} to ${g(config.imgSize)} ${config.backbone ? 'tokens' : 'patches'} ` +
        `(${a.imgSize} → ${config.imgSize} px, ${kept})`,
    );
  }
  return out;
}

/** The largest micro-batch fine-tuning runs at once; bigger batches are reached by accumulation. */
export const MAX_MICRO_BATCH = 32;

/** The fewest micro-batches (a divisor of `batch`) that keep each at most MAX_MICRO_BATCH images. */
export function defaultAccumulation(batch: number): number {
  for (let k = Math.ceil(batch / MAX_MICRO_BATCH); k < batch; k++) if (batch % k === 0) return k;
  return batch;
}

/** The paper's fine-tuning settings (Appendix B.1.1), scaled to a CPU-sized default run length. */
export const finetuneDefaults: {
  readonly optimizer: OptimizerConfig;
  readonly lr: number;
  readonly batch: number;
  readonly steps: number;
  readonly warmupSteps: number;
  readonly schedule: ScheduleKind;
  readonly clipNorm: number;
  readonly labelSmoothing: number;
} = {
  optimizer: { kind: 'sgd', momentum: 0.9, weightDecay: 0 },
  lr: 0.01,
  batch: 512,
  steps: 500,
  warmupSteps: 50,
  schedule: 'cosine',
  clipNorm: 1,
  labelSmoothing: 0,
};
