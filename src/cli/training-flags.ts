// Flags shared by `vitkit train` and `vitkit finetune`: optimisation, regularisation and augmentation, and the run
// options (output, resume, threads), parsed into recipe fields. Each command supplies its own defaults.
import type { OptimizerConfig } from '../autodiff/optim.ts';
import type { AugmentOptions } from '../data/batches.ts';
import { RRC_DEFAULTS } from '../data/augment.ts';
import { UserError } from '../errors.ts';
import { DEFAULT_LORA_TARGETS, LORA_TARGETS, type LoraTarget } from '../model/lora.ts';
import { TRAIN_ALL, TRAIN_HEAD, type TrainSelection, parseTrainSelection } from '../model/trainable.ts';
import type { TrainRecipe } from '../train/recipe.ts';
import { SCHEDULES, type ScheduleKind } from '../train/schedule.ts';
import { parseDevice, resolveDevice } from '../runtime/devices.ts';
import type { Device } from '../runtime/session-options.ts';
import { numberFlag, numberList, threadsFlag } from './args.ts';

export const optimizationFlags = {
  epochs: { type: 'string' }, steps: { type: 'string' }, batch: { type: 'string' }, accum: { type: 'string' },
  lr: { type: 'string' }, optimizer: { type: 'string' }, momentum: { type: 'string' }, 'weight-decay': { type: 'string' },
  'warmup-steps': { type: 'string' }, 'warmup-epochs': { type: 'string' }, schedule: { type: 'string' },
  clip: { type: 'string' }, 'label-smoothing': { type: 'string' }, seed: { type: 'string' },
} as const;

export const regularizationFlags = {
  flip: { type: 'boolean' }, 'pad-crop': { type: 'string' }, rrc: { type: 'boolean' }, 'rrc-scale': { type: 'string' },
  randaug: { type: 'string' }, mixup: { type: 'string' }, cutmix: { type: 'string' }, erase: { type: 'string' },
  dropout: { type: 'string' }, 'drop-path': { type: 'string' }, ema: { type: 'string' },
} as const;

export const runFlags = {
  out: { type: 'string' }, resume: { type: 'string' }, force: { type: 'boolean' }, threads: { type: 'string' },
  workers: { type: 'string' }, 'eval-every': { type: 'string' }, json: { type: 'boolean' }, device: { type: 'string' },
  'no-cache-features': { type: 'boolean' },
} as const;

export const selectionFlags = {
  train: { type: 'string' }, 'lora-targets': { type: 'string' }, 'lora-alpha': { type: 'string' }, 'lora-dropout': { type: 'string' },
  'freeze-backbone': { type: 'boolean' },
} as const;

/** Help text of the what-to-train flags. */
export const selectionHelp = `
What to train (cheaper fine-tuning; the new head always trains):
  --train SPEC           all (default) | head | bias | last:K | lora:R, combined with commas (e.g. lora:8,bias)
  --lora-targets LIST    the block layers LoRA adapts: ${LORA_TARGETS.join(',')} (default ${DEFAULT_LORA_TARGETS.join(',')})
  --lora-alpha F         LoRA's update is scaled by alpha/R (default alpha = R)
  --lora-dropout P       dropout on the adapters' input (default 0)
  --freeze-backbone      the same as --train head (kept for older scripts)`;

/** --train and the LoRA options; --freeze-backbone is --train head. */
export function selectionFromFlags(v: FlagValues<typeof selectionFlags>): TrainSelection {
  if (v['freeze-backbone'] && v.train && v.train !== 'head') {
    throw new UserError(`--freeze-backbone means --train head: pass one of them, not --train ${v.train} too`);
  }
  const targets = v['lora-targets']?.split(',').map((t) => t.trim()) as LoraTarget[] | undefined;
  for (const t of targets ?? []) {
    if (!LORA_TARGETS.includes(t)) throw new UserError(`--lora-targets: unknown layer '${t}' (expected ${LORA_TARGETS.join('|')})`);
  }
  const alpha = v['lora-alpha'] === undefined ? undefined : numberFlag('lora-alpha', v['lora-alpha'], 0, { min: Number.MIN_VALUE });
  const dropout = v['lora-dropout'] === undefined ? undefined : rate('lora-dropout', v['lora-dropout']);
  const lora = { ...(alpha !== undefined ? { alpha } : {}), ...(targets ? { targets } : {}), ...(dropout ? { dropout } : {}) };
  const sel = v['freeze-backbone'] ? TRAIN_HEAD : v.train ? parseTrainSelection(v.train, lora) : TRAIN_ALL;
  if (Object.keys(lora).length && !sel.lora) throw new UserError(`--lora-* options apply to --train lora:R; --train is ${v.train ?? 'all'}`);
  return sel;
}

/** Help text of the regularisation flags (the same for both commands). */
export const regularizationHelp = `
Augmentation and regularisation (all off by default; each seeded, so runs and resumes are exact):
  --flip --pad-crop N    horizontal flip; random crop after N pixels of zero padding
  --rrc                  RandomResizedCrop (area ${RRC_DEFAULTS.scale.join('–')}, ratio 3/4–4/3) back to the image size
  --rrc-scale MIN,MAX    RandomResizedCrop with this area range (implies --rrc)
  --randaug N,M          RandAugment: N ops per image at magnitude M of 10 (e.g. 2,9)
  --mixup A --cutmix A   Mixup / CutMix with Beta(A, A) mixing weights (both: one or the other per batch)
  --erase P              random erasing with probability P per image
  --dropout P            dropout after the position embeddings, attention projections and MLP layers
  --drop-path P          stochastic depth: the last block's residual branches dropped with probability P
  --ema DECAY            evaluate and save an exponential moving average of the weights (e.g. 0.999)`;

/** Help text of the run flags, naming the command's default run directory. */
export const runHelp = (defaultDir: string): string => `
Output:
  --out DIR              run directory (default ${defaultDir}): metrics.jsonl, checkpoints/, best.safetensors
  --resume DIR           continue a run exactly where its last checkpoint stopped (other flags but --threads,
                         --workers, --eval-every, --device, --no-cache-features and --json are ignored); a finished
                         run prints its result
  --force                replace the run in an existing run directory, once every flag, the data and the
                         checkpoint have been checked (a refused command leaves the old run as it was)
  --threads N            onnxruntime threads (default: all cores)
  --device D             cpu (default), webgpu (a GPU through onnxruntime's WebGPU provider: weights and optimizer
                         state stay in GPU memory; results equal the CPU's to float32 rounding) or auto (webgpu
                         when an adapter is found, else cpu)
  --workers N            threads building batches ahead of each step (default 1; 0 = in the main thread)
  --eval-every N         evaluate on the test split every N epochs (default 1; 0 = only after the last step, which
                         always evaluates): for test splits much larger than the training set; best.safetensors
                         is written when a better evaluation is
  --json                 print one JSON line per epoch and a final summary instead of progress bars
  --no-cache-features    with --train head or last:K and no random augmentation, dropout or drop path, the frozen
                         part's output (the encoder's, or the tokens entering the first trained block) is computed
                         once per image and each step runs only what trains (the same weights up to float
                         rounding; up to 8 GiB, a quarter of memory); this runs the whole forward pass every step

Ctrl-C saves a checkpoint and exits; resume with --resume.`;

type Str = string | undefined;
type FlagValues<F> = { readonly [K in keyof F]?: F[K] extends { type: 'boolean' } ? boolean : string };
export type OptimizationValues = FlagValues<typeof optimizationFlags>;
export type RegularizationValues = FlagValues<typeof regularizationFlags>;
export type RunValues = FlagValues<typeof runFlags>;

export const int = (name: string, v: Str, fallback: number, min = 1): number => numberFlag(name, v, fallback, { integer: true, min });
export const num = (name: string, v: Str, fallback: number): number => numberFlag(name, v, fallback, { min: 0 });

/** A probability-like flag in [0, 1). */
function rate(name: string, v: Str): number {
  const r = num(name, v, 0);
  if (r >= 1) throw new UserError(`--${name} must be below 1, got '${v}'`);
  return r;
}

/** What a command defaults to when a flag is absent. */
export interface OptimizationDefaults {
  readonly optimizer: OptimizerConfig;
  readonly lr: number;
  readonly batch: number;
  readonly epochs: number;
  /** Set: the run is measured in steps unless --epochs is given. */
  readonly steps?: number;
  readonly warmupSteps: number;
  readonly schedule: ScheduleKind;
  readonly clipNorm: number;
  readonly labelSmoothing: number;
  /** Micro-batches for a batch when --accum is absent. */
  readonly accum: (batch: number) => number;
}

export type OptimizationFields = Pick<
  TrainRecipe,
  'epochs' | 'steps' | 'batch' | 'gradAccum' | 'optimizer' | 'lr' | 'schedule' | 'warmupSteps' | 'clipNorm' | 'labelSmoothing' | 'seed'
>;

/** The optimisation part of a recipe; `stepsPerEpoch(batch)` converts --warmup-epochs. */
export function optimizationFromFlags(v: OptimizationValues, d: OptimizationDefaults, stepsPerEpoch: (batch: number) => number): OptimizationFields {
  const kind = v.optimizer ?? d.optimizer.kind;
  if (kind !== 'adamw' && kind !== 'sgd') throw new UserError(`unknown optimizer '${kind}' (expected adamw|sgd)`);
  const schedule = (v.schedule ?? d.schedule) as ScheduleKind;
  if (!SCHEDULES.includes(schedule)) throw new UserError(`unknown schedule '${schedule}' (expected ${SCHEDULES.join('|')})`);
  const weightDecay = num('weight-decay', v['weight-decay'], kind === d.optimizer.kind ? (d.optimizer.weightDecay ?? 0) : 0);
  const momentum = num('momentum', v.momentum, d.optimizer.kind === 'sgd' ? (d.optimizer.momentum ?? 0.9) : 0.9);
  const optimizer: OptimizerConfig = kind === 'adamw' ? { kind, weightDecay } : { kind, weightDecay, momentum };
  if (v.steps && v.epochs) throw new UserError('pass --steps or --epochs, not both');
  const batch = int('batch', v.batch, d.batch);
  const gradAccum = int('accum', v.accum, d.accum(batch));
  if (batch % gradAccum !== 0) {
    throw new UserError(`--batch ${batch} is not a multiple of --accum ${gradAccum}: each accumulated micro-batch must be the same size`);
  }
  const steps = v.steps ? int('steps', v.steps, 0) : v.epochs ? undefined : d.steps;
  const warmupSteps = v['warmup-epochs']
    ? Math.round(num('warmup-epochs', v['warmup-epochs'], 0) * stepsPerEpoch(batch))
    : int('warmup-steps', v['warmup-steps'], d.warmupSteps, 0);
  return {
    epochs: int('epochs', v.epochs, d.epochs),
    ...(steps !== undefined ? { steps } : {}),
    batch,
    gradAccum,
    optimizer,
    lr: num('lr', v.lr, d.lr),
    schedule,
    warmupSteps,
    clipNorm: num('clip', v.clip, d.clipNorm),
    labelSmoothing: v['label-smoothing'] === undefined ? d.labelSmoothing : rate('label-smoothing', v['label-smoothing']),
    seed: int('seed', v.seed, 0, 0),
  };
}

export type RegularizationFields = Required<Pick<TrainRecipe, 'augment' | 'dropout' | 'dropPath' | 'ema'>>;

/** Augmentation, dropout, stochastic depth and EMA from their flags; every field written, so a recipe is explicit. */
export function regularizationFromFlags(v: RegularizationValues): RegularizationFields {
  const scale = numberList('rrc-scale', v['rrc-scale']);
  if (scale && scale.length !== 2) throw new UserError(`--rrc-scale takes MIN,MAX, got '${v['rrc-scale']}'`);
  const randaug = numberList('randaug', v.randaug);
  if (randaug && randaug.length !== 2) throw new UserError(`--randaug takes N,M (ops per image, magnitude of 10), got '${v.randaug}'`);
  const augment: AugmentOptions = {
    flip: v.flip ?? false,
    padCrop: int('pad-crop', v['pad-crop'], 0, 0),
    ...(v.rrc || scale ? { randomResizedCrop: { scale: scale ? [scale[0]!, scale[1]!] : RRC_DEFAULTS.scale, ratio: RRC_DEFAULTS.ratio } } : {}),
    ...(randaug ? { randAugment: { n: randaug[0]!, m: randaug[1]! } } : {}),
    mixup: num('mixup', v.mixup, 0),
    cutmix: num('cutmix', v.cutmix, 0),
    erasing: num('erase', v.erase, 0),
  };
  return { augment, dropout: rate('dropout', v.dropout), dropPath: rate('drop-path', v['drop-path']), ema: rate('ema', v.ema) };
}

/** How a run executes and reports, as opposed to what it computes; these apply on --resume too. */
export interface RunOptions {
  readonly threads?: number;
  readonly device: Device;
  /** Why `--device auto` chose the CPU (shown when the run starts). */
  readonly deviceNote?: string;
  readonly workers?: number;
  readonly evalEvery: number;
  /** false: --no-cache-features (a head-only run computes the whole forward pass every step). */
  readonly cacheFeatures: boolean;
  readonly json: boolean;
}

/** The run options from their flags, checked (and the device resolved) before anything slow is loaded. */
export async function runOptionsFromFlags(v: RunValues): Promise<RunOptions> {
  const threads = threadsFlag(v.threads);
  const { device, note } = await resolveDevice(parseDevice(v.device ?? 'cpu'));
  return {
    threads,
    device,
    ...(note ? { deviceNote: note } : {}),
    workers: v.workers === undefined ? undefined : int('workers', v.workers, 1, 0),
    evalEvery: int('eval-every', v['eval-every'], 1, 0),
    cacheFeatures: !v['no-cache-features'],
    json: v.json ?? false,
  };
}
