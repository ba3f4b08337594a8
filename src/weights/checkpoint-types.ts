// The shapes of a loaded checkpoint, shared by checkpoint.ts and the per-format directory code.
import type { StateDict } from '../graph/tensor.ts';
import type { ViTConfig } from '../model/config.ts';
import type { ResampleFilter } from '../resample-taps.ts';

/** Where a checkpoint came from: timm safetensors, Hugging Face, Google .npz, torch.save, or vitkit's own. */
export type CheckpointFormat = 'timm' | 'hf' | 'npz' | 'pth' | 'vitkit';

/** Formats vitkit writes (torch.save files are read only). */
export type SaveFormat = Exclude<CheckpointFormat, 'pth'>;

/** Normalisation and resizing a checkpoint was trained with. */
export interface Preprocess {
  /** Per-channel mean subtracted after scaling pixels to [0, 1]. */
  readonly mean: readonly number[];
  /** Per-channel standard deviation divided by after the mean. */
  readonly std: readonly number[];
  /** Side the processor resizes to (ViTImageProcessor's `size`), where the checkpoint says. */
  readonly imgSize?: number;
  /** 'shorter-crop' only: fraction of the resized image kept by the centre crop. */
  readonly cropPct?: number;
  /** timm's eval transform (resize the shorter side, centre crop) or ViTImageProcessor's straight resize. */
  readonly resize: 'shorter-crop' | 'squash';
  /** Resampling filter (timm's `interpolation`, HF's `resample`); absent: bicubic for timm's, bilinear for HF's. */
  readonly interpolation?: ResampleFilter;
}

/** What a checkpoint holds, format aside: the input to saveCheckpoint. */
export interface CheckpointContent {
  readonly config: ViTConfig;
  /** Canonical (timm-named) float32 tensors. */
  readonly weights: StateDict;
  /** One name per class, index order. */
  readonly labels?: readonly string[];
  readonly preprocess?: Preprocess;
  /** Free-form string metadata (safetensors `__metadata__`). */
  readonly metadata?: Readonly<Record<string, string>>;
  /**
   * Training state kept beside the model (optimizer moments, step counter), written by the vitkit format only:
   * a training checkpoint is also a model checkpoint every command can load.
   */
  readonly trainingState?: StateDict;
}

/** A loaded checkpoint: its content plus where and in which format it was found. */
export interface Checkpoint extends CheckpointContent {
  readonly format: CheckpointFormat;
  readonly path: string;
}
