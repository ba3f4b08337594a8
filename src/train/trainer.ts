// The training loop: batches (built ahead in worker threads) → one graph step each (forward, backward, clipping,
// optimizer, EMA) → metrics and checkpoints per epoch, evaluation every `evalEvery` epochs. Interruptible (an
// AbortSignal saves a checkpoint and stops) and exactly resumable: every random draw is a function of the recipe's
// seed and the batch position. A run that trains only the head or the last blocks, with nothing random below them,
// trains on the frozen part's output computed once per image (cached-features.ts) instead of images.
import { mkdirSync } from 'node:fs';
import { type Batch, Batches } from '../data/batches.ts';
import type { Split } from '../eval/features.ts';
import { FeatureCache, featureCaching } from './cached-features.ts';
import { openBatchStream } from '../data/prefetch.ts';
import type { Dataset, ImageSet } from '../data/image-set.ts';
import { UserError } from '../errors.ts';
import { type StateDict, numel } from '../graph/tensor.ts';
import { initParameters } from '../model/init.ts';
import { countParameters } from '../model/params.ts';
import { trainingShapes } from '../model/lora.ts';
import { TrainSession } from '../runtime/train-session.ts';
import { nodeEngine } from '../runtime/node-engine.ts';
import { type TrainProgress, bestPath, clearRun, listCheckpoints, saveBest, saveTrainCheckpoint } from './checkpoints.ts';
import { MetricsLog, lastEvaluation } from './metrics.ts';
import { type CachedStart, selectionRule } from '../model/trainable.ts';
import type { AdapterSave } from '../weights/adapters.ts';
import { type TrainRecipe, recipeSelection, totalSteps as stepsOf, usesSoftTargets } from './recipe.ts';
import type { Device } from '../runtime/session-options.ts';
import { learningRate } from './schedule.ts';

/** Images (or cached features) per evaluation batch. */
const EVAL_BATCH = 500;

export type TrainEvent =
  | {
      readonly kind: 'start';
      readonly step: number;
      readonly totalSteps: number;
      readonly stepsPerEpoch: number;
      readonly parameters: number;
      readonly trainable: number;
    }
  | {
      readonly kind: 'step';
      readonly step: number;
      readonly epoch: number;
      readonly loss: number;
      readonly acc: number;
      readonly lr: number;
      readonly imagesPerSec: number;
    }
  | { readonly kind: 'evaluating'; readonly epoch: number }
  /** Head-only and last:K runs: the cache pass's progress (cached-features.ts; `start` says what it computes), or once, why it is not cached. */
  | { readonly kind: 'features'; readonly split: Split; readonly done: number; readonly total: number; readonly start: CachedStart }
  | { readonly kind: 'uncached'; readonly reason: string }
  /** testLoss and testAcc are both absent at the end of an epoch that `evalEvery` skips. */
  | ({
      readonly kind: 'epoch';
      readonly epoch: number;
      readonly step: number;
      readonly trainLoss: number;
      readonly trainAcc: number;
      readonly checkpoint: string;
    } & (
      | { readonly testLoss: number; readonly testAcc: number }
      | { readonly testLoss?: undefined; readonly testAcc?: undefined }
    ));

export interface TrainRun {
  readonly recipe: TrainRecipe;
  readonly data: Dataset;
  /** Run directory: metrics.jsonl, checkpoints/, best.safetensors. */
  readonly outDir: string;
  /** Resume from this checkpoint's state and progress instead of initialising. */
  readonly resume?: { readonly state: StateDict; readonly progress: TrainProgress };
  /** Initial weights when not resuming (e.g. an adapted pretrained model); default initParameters(config, seed). */
  readonly init?: StateDict;
  /**
   * Replace a previous run in outDir: its metrics.jsonl, checkpoints and best model are removed, but only once the
   * recipe, data and batch options have been checked, so that a run refused for bad input leaves the old one intact.
   */
  readonly replace?: boolean;
  /** Worker threads building batches ahead of the step (default 1; 0 builds them in this thread). */
  readonly workers?: number;
  /** Checkpoints kept (newest first). Default 2. */
  readonly keep?: number;
  /** Write a metrics line every this many steps. Default 50. */
  readonly logEvery?: number;
  /**
   * Evaluate on the test split (and update best.safetensors) every this many epochs; the last step always evaluates,
   * and 0 means only it does. Default 1. Raising it pays off when the test split is much larger than the training set.
   */
  readonly evalEvery?: number;
  readonly threads?: number;
  /**
   * Write best.safetensors as an adapter file (only what the run changed, and the base's identity) instead of the
   * whole model with adapters merged.
   */
  readonly saveAdapters?: Omit<AdapterSave, 'trained' | 'lora'>;
  /**
   * Where the steps run (default 'cpu'). On 'webgpu' the weights and optimizer state stay in GPU memory and come back
   * only for checkpoints and best.safetensors; results equal the CPU's to float32 rounding, not bit for bit.
   */
  readonly device?: Device;
  /**
   * Train a head-only or last:K run on the frozen part's output computed once (cached-features.ts), where nothing
   * random changes it between epochs (default true). The weights trained equal the uncached run's up to float rounding.
   */
  readonly cacheFeatures?: boolean;
  /** Aborting saves a checkpoint after the current step and returns status 'interrupted'. */
  readonly signal?: AbortSignal;
  readonly onEvent?: (e: TrainEvent) => void;
}

export interface TrainResult {
  /** 'finished': resumed from a run that had already trained its whole recipe; the figures are its logged ones. */
  readonly status: 'done' | 'interrupted' | 'finished';
  readonly step: number;
  /** Of the last evaluation (NaN for a finished run whose metrics.jsonl is gone). */
  readonly testAcc: number;
  readonly testLoss: number;
  readonly bestTestAcc: number;
  readonly checkpoint: string;
  readonly best: string;
  readonly seconds: number;
}

/** Checks that the data fit the architecture; the errors say which flag to change. */
export function checkDataFits(recipe: TrainRecipe, set: ImageSet): void {
  const c = recipe.config;
  if (set.height !== set.width) {
    throw new UserError(
      `${set.name}: images are ${set.width}×${set.height}; vitkit trains on square images: resize them or use an ImageFolder with --img-size`,
    );
  }
  if (set.height !== c.imgSize) {
    throw new UserError(
      `${set.name}: images are ${set.height}×${set.width} but the model takes ${c.imgSize}×${c.imgSize}: pass --img-size ${set.height}`,
    );
  }
  if (!c.backbone && c.imgSize % c.patchSize !== 0) {
    throw new UserError(
      `${set.name}: ${c.imgSize}-pixel images do not split into ${c.patchSize}-pixel patches: pass a --patch that divides ${c.imgSize}`,
    );
  }
  if (set.channels !== c.inChans) throw new UserError(`${set.name}: images have ${set.channels} channel(s) but the model takes ${c.inChans}`);
  if (set.classes.length !== c.numClasses) throw new UserError(`${set.name}: ${set.classes.length} classes but the model's head has ${c.numClasses}`);
}

/**
 * Mean loss and accuracy over a whole set's batches (images, or cached features) of the session's current weights, or
 * of their EMA when the recipe keeps one.
 */
async function evaluateSet(session: TrainSession, batches: Iterable<Pick<Batch, 'x' | 'y' | 'indices'>>, n: number, recipe: TrainRecipe) {
  let loss = 0;
  let correct = 0;
  for (const b of batches) {
    const r = await session.evaluate(b.x, b.y, { ema: !!recipe.ema });
    loss += r.loss * b.indices.length;
    correct += r.correct;
  }
  return { loss: loss / n, acc: correct / n };
}

/** Runs `open`, releasing the session if it throws (bad batch options are refused before the loop's cleanup exists). */
async function orRelease<T>(session: TrainSession, open: () => T): Promise<T> {
  try {
    return open();
  } catch (e) {
    await session.release();
    throw e;
  }
}

/** Whether a run at `progress` has trained its whole recipe: its steps, or its epochs (the next batch is past them). */
export function isFinished(recipe: Pick<TrainRecipe, 'epochs' | 'steps'>, progress: TrainProgress): boolean {
  return recipe.steps !== undefined ? progress.step >= recipe.steps : progress.position.epoch >= recipe.epochs;
}

/** The result of a finished run, from its newest checkpoint's progress and the last evaluation in metrics.jsonl. */
export function finishedResult(outDir: string, progress: TrainProgress): TrainResult {
  const last = lastEvaluation(outDir);
  return {
    status: 'finished',
    step: progress.step,
    testAcc: last?.acc ?? NaN,
    testLoss: last?.loss ?? NaN,
    bestTestAcc: progress.bestTestAcc,
    checkpoint: listCheckpoints(outDir).at(-1) ?? '',
    best: bestPath(outDir),
    seconds: 0,
  };
}

/** Trains (or resumes) a run to the end of its recipe, or until `signal` aborts; a finished run is not trained again. */
export async function train(run: TrainRun): Promise<TrainResult> {
  const { recipe, data, outDir } = run;
  if (run.evalEvery !== undefined && !(Number.isInteger(run.evalEvery) && run.evalEvery >= 0)) {
    throw new Error(`evalEvery must be an integer ≥ 0, got ${run.evalEvery}`);
  }
  if (run.resume && isFinished(recipe, run.resume.progress)) return finishedResult(outDir, run.resume.progress);
  checkDataFits(recipe, data.train);
  checkDataFits(recipe, data.test);
  mkdirSync(outDir, { recursive: true });
  const labels = data.train.classes;
  if (recipe.init?.kind === 'pretrained' && !run.resume && !run.init) throw new Error('a fine-tuning recipe needs its adapted weights as run.init');
  const selection = recipeSelection(recipe);
  const caching = featureCaching(recipe, data.train.n + data.test.n, run.cacheFeatures);
  const initial = run.resume?.state ?? run.init ?? initParameters(recipe.config, { seed: recipe.seed });
  const session = await TrainSession.create(recipe.config, initial, {
    engine: nodeEngine,
    batch: recipe.batch,
    gradAccum: recipe.gradAccum,
    optimizer: recipe.optimizer,
    labelSmoothing: recipe.labelSmoothing,
    clipNorm: recipe.clipNorm,
    softTargets: usesSoftTargets(recipe),
    trainable: selectionRule(recipe.config, selection),
    lora: selection.lora,
    dropout: recipe.dropout,
    dropPath: recipe.dropPath,
    ema: recipe.ema,
    threads: run.threads,
    device: run.device,
    start: caching.start,
  });
  const paramNames = new Set(session.paramNames);
  const emptySums = { loss: 0, correct: 0, images: 0, steps: 0 };
  let progress: TrainProgress = run.resume?.progress ?? { step: 0, position: { epoch: 0, batch: 0 }, bestTestAcc: -1, epochSums: emptySums };
  const batchOptions = {
    batchSize: recipe.batch,
    seed: recipe.seed,
    mean: recipe.mean,
    std: recipe.std,
    augment: recipe.augment,
    labelSmoothing: recipe.labelSmoothing,
    noise: session.masks,
  };
  const cache = caching.start ? new FeatureCache(data, recipe.config, caching.start) : null;
  const prefetch = { workers: run.workers };
  const open = () => cache?.stream(batchOptions, progress.position) ?? openBatchStream(data.train, batchOptions, progress.position, prefetch);
  const batches = await orRelease(session, open);
  const testOptions = { batchSize: EVAL_BATCH, shuffle: false, mean: recipe.mean, std: recipe.std };
  const testBatches = () => cache?.evalBatches(EVAL_BATCH) ?? new Batches(data.test, testOptions).restOfEpoch();
  const stepsPerEpoch = batches.batchesPerEpoch;
  const totalSteps = stepsOf(recipe, stepsPerEpoch);
  const schedule = { kind: recipe.schedule, lr: recipe.lr, warmupSteps: recipe.warmupSteps, totalSteps };
  if (run.replace && !run.resume) clearRun(outDir); // everything is checked: the old run may go
  const metrics = new MetricsLog(outDir);
  const logEvery = run.logEvery ?? 50;
  const evalEvery = run.evalEvery ?? 1;
  const keep = run.keep ?? 2;
  const started = performance.now();
  let checkpoint = '';
  let last = { loss: NaN, acc: NaN };
  const save = async () => {
    await session.download();
    checkpoint = saveTrainCheckpoint(outDir, { recipe, labels, progress, state: session.state() }, paramNames, keep);
  };
  const shapes = trainingShapes(recipe.config, selection.lora);
  const trainable = session.trainable.reduce((n, p) => n + numel(shapes.get(p)!), 0);
  run.onEvent?.({ kind: 'start', step: progress.step, totalSteps, stepsPerEpoch, parameters: countParameters(recipe.config), trainable });
  if (caching.reason) run.onEvent?.({ kind: 'uncached', reason: caching.reason });

  try {
    const onProgress = (split: Split, done: number, total: number) => run.onEvent?.({ kind: 'features', split, done, total, start: caching.start! });
    await cache?.fill(recipe, initial, { threads: run.threads, device: run.device, onProgress, signal: run.signal }); // (stopped: the loop saves)
    let windowStart = performance.now();
    let windowImages = 0;
    while (progress.step < totalSteps) {
      if (run.signal?.aborted) {
        await save();
        return result('interrupted');
      }
      const b = await batches.next();
      const lr = learningRate(schedule, progress.step);
      const r = await session.step(b.x, b.targets ?? b.y, lr, b.masks);
      if (!Number.isFinite(r.loss)) {
        throw new UserError(
          `training diverged: loss is ${r.loss} at step ${progress.step + 1} (lr ${lr.toExponential(2)}): ` +
            `lower --lr or keep --clip on; the last good checkpoint is ${checkpoint || 'not written yet'}`,
        );
      }
      const s = progress.epochSums;
      progress = {
        ...progress,
        step: progress.step + 1,
        position: batches.position(),
        epochSums: { loss: s.loss + r.loss, correct: s.correct + r.correct, images: s.images + recipe.batch, steps: s.steps + 1 },
      };
      windowImages += recipe.batch;
      const now = performance.now();
      const imagesPerSec = (windowImages * 1000) / (now - windowStart);
      const event = { kind: 'step' as const, step: progress.step, epoch: b.epoch, loss: r.loss, acc: r.correct / recipe.batch, lr, imagesPerSec };
      run.onEvent?.(event);
      if (progress.step % logEvery === 0) {
        metrics.write({
          kind: 'step',
          step: progress.step,
          epoch: b.epoch,
          loss: r.loss,
          acc: event.acc,
          lr,
          images_per_sec: imagesPerSec,
          grad_norm: r.gradNorm,
          time: (now - started) / 1000,
        });
        windowStart = now;
        windowImages = 0;
      }
      if (progress.step % stepsPerEpoch === 0 || progress.step === totalSteps) {
        const evaluate = progress.step === totalSteps || (evalEvery > 0 && (b.epoch + 1) % evalEvery === 0);
        if (evaluate) {
          run.onEvent?.({ kind: 'evaluating', epoch: b.epoch });
          last = await evaluateSet(session, testBatches(), data.test.n, recipe);
          if (last.acc > progress.bestTestAcc) {
            const adapters = run.saveAdapters && { ...run.saveAdapters, trained: session.trainable };
            await session.download();
            saveBest(outDir, recipe, labels, session.parameters({ ema: !!recipe.ema }), adapters);
            progress = { ...progress, bestTestAcc: last.acc };
          }
        }
        const sums = progress.epochSums;
        const train = { loss: sums.loss / sums.steps, acc: sums.correct / sums.images };
        progress = { ...progress, epochSums: emptySums };
        await save();
        const time = (performance.now() - started) / 1000;
        const test = evaluate ? { test_loss: last.loss, test_acc: last.acc } : {};
        metrics.write({ kind: 'epoch', epoch: b.epoch, step: progress.step, train_loss: train.loss, train_acc: train.acc, ...test, lr, time });
        const tested = evaluate ? { testLoss: last.loss, testAcc: last.acc } : {};
        run.onEvent?.({ kind: 'epoch', epoch: b.epoch, step: progress.step, trainLoss: train.loss, trainAcc: train.acc, ...tested, checkpoint });
        windowStart = performance.now();
        windowImages = 0;
      }
    }
    if (!checkpoint) await save();
    return result('done');
  } finally {
    metrics.close();
    await batches.close();
    await session.release();
  }

  function result(status: TrainResult['status']): TrainResult {
    return {
      status,
      step: progress.step,
      testAcc: last.acc,
      testLoss: last.loss,
      bestTestAcc: progress.bestTestAcc,
      checkpoint,
      best: bestPath(outDir),
      seconds: (performance.now() - started) / 1000,
    };
  }
}
