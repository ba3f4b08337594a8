// Teaching a model new classes from a handful of images: what the browser's teach page runs (in a worker, on
// onnxruntime-web), kept here with no `node:` imports so Node runs and tests the very same loop on onnxruntime-node.
//
// A teach run replaces the model's head with a zero-initialised one for the new classes (withNewHead), then trains
// the head alone, the last blocks, LoRA adapters, the biases or the whole model (model/trainable.ts) with AdamW, a
// short linear warm-up and cosine decay, over seeded batches of the user's images (Batches: the same shuffling, flip
// and crop-with-padding as `vitkit train`). Without flip and crop, the head and last:K modes run the frozen part below
// what trains once per image (runtime/frozen-part.ts), as `vitkit finetune` does, and each step only what trains.
import type { Engine } from '../runtime/engine.ts';
import type { Device } from '../runtime/session-options.ts';
import { TrainSession } from '../runtime/train-session.ts';
import type { StateDict } from '../graph/tensor.ts';
import type { ViTConfig } from '../model/config.ts';
import { withNewHead } from '../model/head.ts';
import { Batches } from '../data/batches.ts';
import type { ImageSet } from '../data/image-set.ts';
import { type PreprocessOptions, normalizationTables, resolvePreprocessOptions } from '../data/preprocess.ts';
import { learningRate } from './schedule.ts';
import { mergeLora } from '../model/lora.ts';
import { TRAIN_ALL, type TrainSelection, cachedStart, parseTrainSelection, selectionRule } from '../model/trainable.ts';
import { FrozenPart } from '../runtime/frozen-part.ts';
import { frozenRows, gatherRows } from './frozen-rows.ts';

/**
 * What a teach run trains: every weight ('full'), or a `--train` choice (model/trainable.ts) such as 'head' (the
 * backward stops at the head), 'last:2' or 'lora:8'.
 */
export type TeachMode = 'full' | 'head' | 'bias' | `last:${number}` | `lora:${number}`;

/** The selection a teach mode stands for. */
export function teachSelection(mode: TeachMode): TrainSelection {
  return mode === 'full' ? TRAIN_ALL : parseTrainSelection(mode);
}

export interface TeachOptions {
  readonly mode: TeachMode;
  readonly steps: number;
  /** Images per step (static: the step graph is built for it); at most the number of images. */
  readonly batch: number;
  /** Peak learning rate (default: TEACH_LR of the mode). */
  readonly lr?: number;
  /** Mirror images left–right with probability 1/2. */
  readonly flip?: boolean;
  /** Random crop after this many pixels of zero padding (0 = off). */
  readonly padCrop?: number;
  readonly seed?: number;
  /** Where the session runs (default 'cpu'; 'webgpu': the page's or Node's GPU through onnxruntime's WebGPU provider). */
  readonly device?: Device;
  /**
   * Run the frozen part below what trains once per image, not once per step, where nothing random changes it (head
   * and last:K modes without flip and crop; default true): the same weights up to float rounding.
   */
  readonly cacheFeatures?: boolean;
}

/**
 * Peak learning rates by kind of mode. head and full were picked on two Fashion-MNIST classes × 20 images: a zero
 * head on frozen features takes a large step; the whole network needs a smaller one, or the pretrained features are
 * lost in 20 steps. last:K trains whole blocks, as full does; LoRA and biases move few weights, and take larger steps.
 */
export const TEACH_LR: Readonly<Record<'full' | 'head' | 'bias' | 'last' | 'lora', number>> = {
  head: 1e-2,
  full: 1e-3,
  last: 1e-3,
  bias: 5e-3,
  lora: 5e-3,
};

/** The default peak learning rate of a mode. */
export function teachLearningRate(mode: TeachMode): number {
  return TEACH_LR[mode.split(':')[0] as keyof typeof TEACH_LR];
}

export interface TeachProgress {
  /** Steps done (1-based). */
  readonly step: number;
  readonly steps: number;
  /** The step's mean loss and the fraction of its batch classified right (before the update). */
  readonly loss: number;
  readonly accuracy: number;
  readonly lr: number;
  /** Images per second over the steps so far, the first (which includes the engine's warm-up) left out. */
  readonly imagesPerSec: number;
  readonly seconds: number;
}

/** The model a teach run starts from: a vitkit checkpoint's content. */
export interface TeachBase {
  readonly config: ViTConfig;
  readonly weights: StateDict;
  readonly preprocess: PreprocessOptions;
}

/**
 * A training session on `engine` (and `opts.device`) for `classes` new classes, starting from `base` (its head
 * replaced). Without flip and crop, a head or last:K session starts above the frozen part (`session.input` says what
 * it takes), which teach() and classifyPixels() run for it.
 */
export async function teachSession(
  engine: Engine, base: TeachBase, classes: number, opts: Pick<TeachOptions, 'mode' | 'batch' | 'device' | 'flip' | 'padCrop' | 'cacheFeatures'>,
): Promise<TrainSession> {
  if (!(Number.isInteger(classes) && classes >= 2)) throw new Error(`teaching needs at least 2 classes, got ${classes}`);
  const { config, weights } = withNewHead(base.config, base.weights, classes);
  const selection = teachSelection(opts.mode);
  return TrainSession.create(config, weights, {
    engine,
    device: opts.device,
    batch: opts.batch,
    optimizer: { kind: 'adamw', weightDecay: 0.05 },
    clipNorm: 1,
    trainable: selectionRule(config, selection),
    lora: selection.lora,
    start: opts.flip || opts.padCrop || opts.cacheFeatures === false ? undefined : cachedStart(config, selection),
  });
}

/** The frozen part of a session that starts above the images, on its engine and device. */
async function frozenPart(session: TrainSession): Promise<FrozenPart> {
  const { engine, device, threads, start } = session.options;
  if (!start || start === 'images') throw new Error('this session takes images: it has no frozen part to run');
  return FrozenPart.create(engine, session.config, session.frozenParameters(), start, { device, threads });
}

/** The frozen part's output for every image of `set` (not augmented), run once on the session's engine. */
async function frozenRowsOf(session: TrainSession, set: ImageSet, norm: { mean: readonly number[]; std: readonly number[] }): Promise<Float32Array> {
  const part = await frozenPart(session);
  try {
    return (await frozenRows(part, set, norm))!; // (no signal: never stopped)
  } finally {
    await part.release();
  }
}

/**
 * The taught model's weights as a plain checkpoint holds them: LoRA adapters merged. On a GPU that keeps the weights
 * in its memory they are downloaded first.
 */
export async function taughtWeights(session: TrainSession): Promise<StateDict> {
  await session.download();
  const { lora } = session.options;
  return lora ? mergeLora(session.config, session.parameters(), lora) : session.parameters();
}

/**
 * Runs `opts.steps` steps on `set` (pixels as modelPixels gives them), calling `onStep` after each; stops early when
 * `stopped()` turns true between steps. Returns the progress of the last step done (null if none).
 */
export async function teach(
  session: TrainSession,
  set: ImageSet,
  preprocess: PreprocessOptions,
  opts: TeachOptions,
  onStep: (p: TeachProgress) => void | Promise<void>,
  stopped: () => boolean = () => false,
): Promise<TeachProgress | null> {
  if (opts.batch !== session.batch) throw new Error(`the session takes batch ${session.batch}, the options say ${opts.batch}`);
  if (set.n < opts.batch) throw new Error(`${set.n} images are fewer than the batch of ${opts.batch}`);
  const { mean, std } = resolvePreprocessOptions(preprocess);
  const batches = new Batches(set, { batchSize: opts.batch, mean, std, seed: opts.seed ?? 0, augment: { flip: opts.flip, padCrop: opts.padCrop } });
  const t0 = performance.now(); // (the frozen part's pass counts in the run's time)
  // A session above the frozen part: that part's output for every image, once (the batches draw the same order)
  const rows = session.input.name === 'images' ? null : await frozenRowsOf(session, set, { mean, std });
  const next = () => (rows ? gatherRows(rows, session.input.shape, set.labels, batches.nextIndices().indices) : batches.next());
  const schedule = {
    kind: 'cosine' as const,
    lr: opts.lr ?? teachLearningRate(opts.mode),
    warmupSteps: Math.min(3, Math.floor(opts.steps / 5)),
    totalSteps: opts.steps,
  };
  let tFirst = t0;
  let last: TeachProgress | null = null;
  for (let i = 0; i < opts.steps && !stopped(); i++) {
    const b = next();
    const lr = learningRate(schedule, i);
    const r = await session.step(b.x.data, b.y.data, lr);
    const now = performance.now();
    if (i === 0) tFirst = now;
    const imagesPerSec = i === 0 ? opts.batch / ((now - t0) / 1000) : (i * opts.batch) / ((now - tFirst) / 1000);
    last = { step: i + 1, steps: opts.steps, loss: r.loss, accuracy: r.correct / opts.batch, lr, imagesPerSec, seconds: (now - t0) / 1000 };
    await onStep(last);
  }
  return last;
}

/** Logits [n, K] of images given as modelPixels bytes (n × C×S×S), normalised as preprocess() does. */
export async function classifyPixels(session: TrainSession, pixels: Uint8Array, preprocess: PreprocessOptions): Promise<Float32Array> {
  const o = resolvePreprocessOptions(preprocess);
  const plane = o.imgSize * o.imgSize;
  const per = o.inChans * plane;
  const n = pixels.length / per;
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`${pixels.length} pixel bytes are not a whole number of ${o.inChans}×${o.imgSize}×${o.imgSize} images`);
  }
  const luts = normalizationTables(o.mean, o.std);
  const x = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) x[i] = luts[Math.floor((i % per) / plane)]![pixels[i]!]!;
  if (session.input.name === 'images') return (await session.evaluate(x, new BigInt64Array(n))).logits.data;
  const part = await frozenPart(session);
  try {
    return (await session.evaluate(await part.run(x, n), new BigInt64Array(n))).logits.data;
  } finally {
    await part.release();
  }
}
