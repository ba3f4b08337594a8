// A checkpoint made ready to run: config + weights at the requested resolution, its preprocessing and labels,
// and an onnxruntime session over the inference graph. predict, eval and serve all go through here.
import { createRequire } from 'node:module';
import type { PreprocessOptions } from '../data/preprocess.ts';
import { UserError } from '../errors.ts';
import { toOnnx } from '../graph/onnx.ts';
import type { StateDict, Tensor } from '../graph/tensor.ts';
import type { ViTConfig } from '../model/config.ts';
import { type Precision, dequantizeWeights, isQuantized, quantizeWeights } from '../model/int8.ts';
import { atResolution } from '../model/pos-embed.ts';
import { type ViTOutputName, inferenceGraph } from '../model/inference-graph.ts';
import { attentionKernelFor } from '../model/fused-attention.ts';
import { type DeviceChoice, type ResolvedDevice, resolveDevice } from '../runtime/devices.ts';
import { type Device, Session } from '../runtime/session.ts';
import { type CheckpointFormat, loadCheckpoint } from '../weights/checkpoint.ts';

/** Everything needed to run a checkpoint on images. */
export interface LoadedModel {
  readonly path: string;
  readonly format: CheckpointFormat;
  readonly config: ViTConfig;
  /** Canonical weights; int8 linear weights with their scales when `precision` is 'int8', else float32. */
  readonly weights: StateDict;
  readonly precision: Precision;
  /** One name per class (ImageNet's for 1000-class heads without names, else the index). */
  readonly labels: readonly string[];
  readonly preprocess: PreprocessOptions;
  /** Where its sessions run unless Classifier.create says otherwise (default 'cpu'). */
  readonly device: DeviceChoice;
}

/** What flags may override; anything left out comes from the checkpoint. */
export interface LoadOptions extends Partial<Pick<PreprocessOptions, 'cropPct' | 'mean' | 'std' | 'interpolation'>> {
  readonly config?: Partial<ViTConfig>;
  /** For a Hub id: the branch, tag or commit of the cached snapshot (default main). */
  readonly revision?: string;
  /** Run at this resolution; position embeddings are resampled when it differs from the checkpoint's. */
  readonly imgSize?: number;
  /**
   * 'int8' quantizes the linear layers on load (per output channel) unless the checkpoint already is int8;
   * 'fp32' dequantizes an int8 checkpoint; 'fp16' computes in float16 (for GPUs with f16 shaders; on the CPU it
   * runs, but no faster than fp32), from float32 weights (an int8 checkpoint's dequantized). Default: the
   * checkpoint's own precision.
   */
  readonly precision?: Precision;
  /** Where the model runs: 'cpu' (default), 'webgpu', or 'auto' (WebGPU when an adapter is found). */
  readonly device?: DeviceChoice;
}

const imagenetClasses = (): string[] => createRequire(import.meta.url)('../data/imagenet-classes.json') as string[];

/** A checkpoint's class names when it has one per class; else ImageNet's for a 1000-class head, else the indices. */
export function classNames(labels: readonly string[] | undefined, numClasses: number): string[] {
  if (labels?.length === numClasses) return [...labels];
  return numClasses === 1000 ? imagenetClasses() : Array.from({ length: numClasses }, (_, i) => String(i));
}

/** Loads a checkpoint in any supported format and applies the caller's overrides. */
export function loadModel(path: string, opts: LoadOptions = {}): LoadedModel {
  const ckpt = loadCheckpoint(path, opts.config, { revision: opts.revision });
  const resized = atResolution(ckpt.config, ckpt.weights, opts.imgSize ?? ckpt.config.imgSize);
  const config = resized.config;
  const precision = opts.precision ?? (isQuantized(ckpt.weights) ? 'int8' : 'fp32');
  const weights = weightsFor(config, resized.weights, precision);
  const k = config.numClasses;
  const labels = classNames(ckpt.labels, k);
  const pre = ckpt.preprocess;
  const preprocess: PreprocessOptions = {
    imgSize: config.imgSize,
    inChans: config.inChans === 1 ? 1 : 3,
    mean: opts.mean ?? pre?.mean,
    std: opts.std ?? pre?.std,
    cropPct: opts.cropPct ?? pre?.cropPct,
    // A crop-pct flag asks for timm's resize-and-crop even on checkpoints that squash (HF).
    resize: opts.cropPct !== undefined ? 'shorter-crop' : pre?.resize,
    interpolation: opts.interpolation ?? pre?.interpolation,
  };
  if (precision === 'int8' && opts.device === 'webgpu') throw int8OnWebGpu(path);
  return { path, format: ckpt.format, config, weights, precision, labels, preprocess, device: opts.device ?? 'cpu' };
}

// Re-exported from a browser-safe file so the web demo ranks classes with the same code.
export { type Prediction, topK } from './top-k.ts';

// The WebGPU EP has no DynamicQuantizeMatMul: every int8 linear layer would run on the CPU with its activations
// copied off and back onto the GPU, slower than the CPU alone (docs/gpu.md). fp32 is the GPU path.
const int8OnWebGpu = (path: string) =>
  new UserError(
    `${path}: int8 models run on the CPU only (WebGPU has no int8 kernels): use --device cpu, or drop --int8 ` +
      '(an int8 checkpoint: `vitkit convert IN OUT --to timm` writes it in float32)',
  );

export interface ClassifierOptions {
  /** onnxruntime intra-op threads (on WebGPU they only run the few CPU-side shape ops). */
  readonly threads?: number;
  readonly outputs?: readonly ViTOutputName[];
  /** Overrides the model's `device`. */
  readonly device?: DeviceChoice;
  /** Overrides the model's `precision` (e.g. 'fp16' for a model loaded in fp32). */
  readonly precision?: Precision;
}

/** Weights in the form `precision` runs on: int8 linear layers for 'int8', float32 otherwise (fp16 converts later). */
function weightsFor(config: ViTConfig, weights: StateDict, precision: Precision): StateDict {
  return precision === 'int8' ? quantizeWeights(config, weights) : dequantizeWeights(config, weights);
}

let noted = false;

/** An onnxruntime session over a loaded model's inference graph (dynamic batch). */
export class Classifier {
  private constructor(
    readonly model: LoadedModel,
    /** Where it runs ('auto' resolved). */
    readonly device: Device,
    private readonly session: Session,
  ) {}

  static async create(loaded: LoadedModel, opts: ClassifierOptions = {}): Promise<Classifier> {
    const precision = opts.precision ?? loaded.precision;
    const model = precision === loaded.precision ? loaded : { ...loaded, precision, weights: weightsFor(loaded.config, loaded.weights, precision) };
    const outputs = opts.outputs ?? (model.config.numClasses > 0 ? ['logits', 'pooled'] : ['pooled']);
    if (outputs.includes('logits') && model.config.numClasses === 0) {
      throw new UserError(
        `${model.path} has no classification head (a feature extractor): use vitkit embed for its features, or vitkit finetune to add a head`,
      );
    }
    const device = await classifierDevice(model, opts.device ?? model.device);
    const float16 = model.precision === 'fp16';
    const graph = inferenceGraph(model.config, model.weights, outputs, { kernel: attentionKernelFor(device), float16 });
    return new Classifier(model, device, await Session.create(toOnnx(graph), { threads: opts.threads, device }));
  }

  /** Runs a [B, C, S, S] batch; returns the graph's outputs by name (`logits`, `pooled`, `attn.{i}`, …). */
  run(images: Tensor<'float32'>): Promise<Record<string, Tensor>> {
    return this.session.run({ images });
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Where a model of `precision` runs: int8 stays on the CPU ('auto' picks it, 'webgpu' is refused); fp16 takes
 * WebGPU only on an adapter with f16 shaders ('auto' falls back to the CPU, 'webgpu' is refused).
 */
export async function modelDevice(precision: Precision, choice: DeviceChoice, what: string): Promise<ResolvedDevice> {
  if (precision !== 'int8') return resolveDevice(choice, { fp16: precision === 'fp16' });
  if (choice === 'webgpu') throw int8OnWebGpu(what);
  return { device: 'cpu' };
}

async function classifierDevice(model: LoadedModel, choice: DeviceChoice): Promise<Device> {
  const { device, note } = await modelDevice(model.precision, choice, model.path);
  // once per process (a serve worker, an eval with several sessions): the fallback is the same every time
  if (note && !noted) console.error(`vitkit: ${note}`);
  noted ||= note !== undefined;
  return device;
}

/**
 * Images per run when a command is given no batch: its own CPU default, or 64 on a GPU, whose thousands of cores need
 * many rows per matmul to fill (S/16: 64 × 197 tokens = 12,608) — the batch bench:gpu measures inference at.
 */
export function defaultBatch(device: Device, cpu: number): number {
  return device === 'webgpu' ? 64 : cpu;
}
