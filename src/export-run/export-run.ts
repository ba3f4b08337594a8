// A vitkit run as a folder PyTorch's distributed engine runs unchanged (`vitkit export-run`): the initial weights in
// timm's layout, the data as vitkit loaded it (an ImageFolder of PNGs with a manifest in vitkit's index order), the
// batch order vitkit's seeded sampler draws, recipe.json with every hyperparameter resolved, run.sh (torchrun) and
// train.py (a DDP loop over timm's VisionTransformer). See the README.md it writes for what carries over exactly.
import { readFileSync } from 'node:fs';
import { defaultDecay, resolveOptimizer } from '../autodiff/optim.ts';
import { Batches } from '../data/batches.ts';
import type { Dataset, ImageSet } from '../data/image-set.ts';
import { imagePng } from '../data/png.ts';
import { UserError } from '../errors.ts';
import type { StateDict } from '../graph/tensor.ts';
import { type ViTConfig, describeFamily } from '../model/config.ts';
import { preprocessOf } from '../train/checkpoints.ts';
import { recipeSelection, totalSteps, type TrainRecipe } from '../train/recipe.ts';
import { encodeSafetensors } from '../weights/safetensors-codec.ts';
import { timmDirFiles } from '../weights/timm-dir.ts';
import { type WriteOptions, writeDirAtomic } from '../weights/atomic-write.ts';
import type { CarriedState } from './continued.ts';
import { readmeText, runScript } from './run-files.ts';

export interface RunToExport {
  readonly recipe: TrainRecipe;
  readonly data: Dataset;
  /** The weights the run starts from: initParameters for `train`, the adapted checkpoint for `finetune`. */
  readonly init: StateDict;
  /** The command whose flags made the recipe (recorded in recipe.json). */
  readonly command: string;
  /** Steps already trained (`--from` a run): train.py continues at this step of the schedule. */
  readonly startStep?: number;
  /** A continued run's optimizer state and EMA (continuedRun), loaded by train.py before its first step. */
  readonly carried?: CarriedState;
  /** Evaluate every this many epochs (vitkit's --eval-every). */
  readonly evalEvery: number;
}

/** What the folder holds, for the CLI's summary. */
export interface ExportedRun {
  readonly out: string;
  readonly totalSteps: number;
  readonly stepsPerEpoch: number;
  readonly images: number;
}

/** A one-line refusal for what train.py cannot carry, or nothing. */
export function uncarried(recipe: TrainRecipe): string | undefined {
  const family = describeFamily(recipe.config);
  if (family !== 'ViT' || recipe.config.backbone || recipe.config.preLogitsDim) {
    return `export-run carries the paper's plain ViT to timm's VisionTransformer; this model is ${recipe.config.backbone ? 'a hybrid' : family}`;
  }
  const sel = recipeSelection(recipe);
  if (!sel.all) return "export-run trains every parameter: --train/--freeze-backbone/--lora-* (a partial fine-tune) cannot be carried";
  if (recipe.saveAdapters) return 'export-run cannot carry --save-adapters';
  return undefined;
}

/** timm's VisionTransformer keyword arguments for a config (with vitkit's dropout and stochastic depth). */
export function timmKwargs(c: ViTConfig, recipe: Pick<TrainRecipe, 'dropout' | 'dropPath'>): Record<string, unknown> {
  return {
    img_size: c.imgSize, patch_size: c.patchSize, in_chans: c.inChans, num_classes: c.numClasses, embed_dim: c.embedDim,
    depth: c.depth, num_heads: c.numHeads, mlp_ratio: c.mlpDim / c.embedDim, qkv_bias: c.qkvBias, class_token: c.classToken,
    global_pool: c.pool === 'avg' ? 'avg' : 'token',
    // vitkit drops after the position embeddings and in the blocks' projections; timm's drop_path_rate is its linspace
    pos_drop_rate: recipe.dropout ?? 0, proj_drop_rate: recipe.dropout ?? 0, drop_path_rate: recipe.dropPath ?? 0,
  };
}

/** Every hyperparameter train.py reads, resolved as vitkit resolves it. */
export function recipeJson(run: RunToExport, stepsPerEpoch: number, orderEpochs: number): Record<string, unknown> {
  const { recipe, init } = run;
  const total = totalSteps(recipe, stepsPerEpoch);
  const opt = resolveOptimizer(recipe.optimizer);
  return {
    command: run.command,
    model: { timm_kwargs: timmKwargs(recipe.config, recipe), layer_norm_eps: recipe.config.layerNormEps, vitkit_config: recipe.config },
    init: 'init.safetensors',
    init_source: recipe.init ?? { kind: 'scratch' },
    data: {
      source: recipe.data, root: 'data', train: 'data/train.tsv', test: 'data/test.tsv', classes: run.data.train.classes,
      order: 'data/order.bin', order_epochs: orderEpochs,
    },
    batch: recipe.batch, grad_accum: recipe.gradAccum, epochs: recipe.epochs, ...(recipe.steps !== undefined ? { steps: recipe.steps } : {}),
    steps_per_epoch: stepsPerEpoch, total_steps: total, start_step: run.startStep ?? 0,
    lr: recipe.lr,
    optimizer: {
      ...(opt.kind === 'adamw'
        ? { kind: opt.kind, beta1: opt.beta1, beta2: opt.beta2, eps: opt.eps }
        : { kind: opt.kind, momentum: opt.momentum, nesterov: opt.nesterov }),
      weight_decay: opt.weightDecay, no_decay: [...init.keys()].filter((n) => !defaultDecay(n)),
    },
    schedule: { kind: recipe.schedule, lr: recipe.lr, warmup_steps: recipe.warmupSteps, total_steps: total },
    clip_norm: recipe.clipNorm, label_smoothing: recipe.labelSmoothing,
    augment: recipe.augment, dropout: recipe.dropout ?? 0, drop_path: recipe.dropPath ?? 0, ema: recipe.ema ?? 0,
    mean: recipe.mean, std: recipe.std, seed: recipe.seed, eval_every: run.evalEvery,
    ...(run.carried ? { resume: resumeJson(run.carried) } : {}),
  };
}

/** What train.py loads into opt.state and the EMA before its first step (the files exportRun writes beside it). */
function resumeJson(c: CarriedState): Record<string, unknown> {
  return {
    step: c.step, ...(c.optimizer.size ? { optimizer: 'optimizer.safetensors' } : {}), ...(c.ema ? { ema: 'ema.safetensors' } : {}),
    epoch_sums: c.epochSums,
  };
}

/**
 * Each epoch's sample order as vitkit's sampler draws it (int32 little-endian, `epochs` rows of steps·batch), so
 * train.py replays vitkit's batches: the permutation is a pure function of (seed, epoch).
 */
export function batchOrder(set: ImageSet, recipe: Pick<TrainRecipe, 'batch' | 'seed'>, epochs: number): Int32Array {
  const batches = new Batches(set, { batchSize: recipe.batch, seed: recipe.seed });
  const per = batches.batchesPerEpoch * recipe.batch;
  const out = new Int32Array(epochs * per);
  for (let e = 0; e < epochs; e++) out.set(batches.permutation(e).subarray(0, per), e * per);
  return out;
}

/**
 * Class folder names that sort in label order (torchvision's and vitkit's ImageFolder sort them): the label, padded,
 * then the class name made safe for a path.
 */
export function classFolders(classes: readonly string[]): string[] {
  const width = String(classes.length - 1).length;
  return classes.map((c, i) => `${String(i).padStart(width, '0')}-${c.replace(/[^\w.-]+/g, '_')}`);
}

/** The ImageFolder files of one split (`<split>/<class folder>/<image index>.png`) and its manifest in index order. */
async function imageFolder(set: ImageSet, split: string, files: Record<string, Uint8Array[]>, onImage: () => void): Promise<void> {
  const folders = classFolders(set.classes);
  const width = String(set.n - 1).length;
  const rows: string[] = [];
  for (let i = 0; i < set.n; i++) {
    const path = `${split}/${folders[set.labels[i]!]}/${String(i).padStart(width, '0')}.png`;
    files[`data/${path}`] = [await imagePng(set, i)];
    rows.push(`${path}\t${set.labels[i]}\n`);
    onImage();
  }
  files[`data/${split}.tsv`] = [Buffer.from(rows.join(''))];
}

const TRAIN_PY = new URL('./train.py', import.meta.url);

/** Writes the folder atomically (an existing `out` only with `opts.force`); `onImage` ticks once per exported image. */
export async function exportRun(
  out: string,
  run: RunToExport,
  opts: WriteOptions & { nproc?: number; onImage?: () => void } = {},
): Promise<ExportedRun> {
  const refusal = uncarried(run.recipe);
  if (refusal) throw new UserError(refusal);
  const { recipe, data } = run;
  const stepsPerEpoch = new Batches(data.train, { batchSize: recipe.batch }).batchesPerEpoch;
  const total = totalSteps(recipe, stepsPerEpoch);
  const orderEpochs = Math.ceil(total / stepsPerEpoch);
  const files: Record<string, Uint8Array[]> = {};
  const tick = opts.onImage ?? (() => {});
  await imageFolder(data.train, 'train', files, tick);
  await imageFolder(data.test, 'test', files, tick);
  const order = batchOrder(data.train, recipe, orderEpochs);
  files['data/order.bin'] = [new Uint8Array(order.buffer, order.byteOffset, order.byteLength)];
  files['init.safetensors'] = encodeSafetensors(run.init, { format: 'pt' });
  if (run.carried?.optimizer.size) files['optimizer.safetensors'] = encodeSafetensors(run.carried.optimizer, { format: 'pt' });
  if (run.carried?.ema) files['ema.safetensors'] = encodeSafetensors(run.carried.ema, { format: 'pt' });
  // train.py copies it beside its trained weights: timm's Hub layout, with the run's preprocessing and class names
  const content = { config: recipe.config, weights: run.init, labels: [...data.train.classes], preprocess: preprocessOf(recipe) };
  files['timm_config.json'] = timmDirFiles(content)['config.json']!;
  files['recipe.json'] = [Buffer.from(JSON.stringify(recipeJson(run, stepsPerEpoch, orderEpochs), null, 2) + '\n')];
  files['run.sh'] = [Buffer.from(runScript(opts.nproc ?? 1))];
  files['train.py'] = [readFileSync(TRAIN_PY)];
  files['README.md'] = [Buffer.from(readmeText(run, total))];
  writeDirAtomic(out, files, opts);
  return { out, totalSteps: total, stepsPerEpoch, images: data.train.n + data.test.n };
}
