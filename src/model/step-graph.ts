// The training step as ONE ONNX graph: forward, loss, backward, global-norm clipping and the optimizer
// update, with parameters and optimizer state as graph inputs and their updated values as outputs.
//
// Graph interface (every float tensor float32):
//   inputs   images [B, C, S, S] (or `features` [B, D'] or `tokens` [B, T, D], see below), labels [B] int64 (or
//            `targets` [B, K] soft targets with `softTargets`), every parameter `<param>` (timm names), every state
//            tensor `<slot>.<param>` of a trainable parameter (slots: m, v for AdamW; momentum for SGD; ema with an EMA
//            decay), `mask.<site>` uint8 keep-masks when dropout / drop path are on (see noise-masks.ts), scalars `lr`
//            (+ `bias_correction1`, `bias_correction2` for AdamW; see autodiff/optim.ts)
//   outputs  loss [] (mean over the batch), correct [] (count of argmax hits), grad_norm [] (before clipping),
//            `new.<param>`, `new.<slot>.<param>` for trainable parameters, and optionally `grad.<param>`
//            (unclipped gradients)
//
// Frozen parameters (`trainable` false, e.g. the backbone when fine-tuning a head) are inputs only: not
// differentiated (autodiff prunes their backward), not clipped, not updated, with no optimizer state. The backward
// stops at the lowest trainable tensor, so nothing below it keeps activations for it (model/trainable.ts). With
// `lora`, the adapters' A and B (lora.ts) are parameters after the model's, `<layer>.lora_A` / `.lora_B`.
// A graph can start above a frozen part that train/cached-features.ts runs once per image (`start`): at the head
// ('features': the frozen encoder's pooled output, and only `head.weight` and `head.bias` are parameter inputs), or
// at block k ({ block: k }: the tokens entering it, and only the parameters of blocks k… and above are inputs).
// The EMA of the weights is kept in the graph as one more state slot: after the update,
// ema ← decay·ema + (1 − decay)·new (timm's ModelEmaV2), so it is updated in place with the parameters at no host cost.
//
// Gradient accumulation over k micro-batches uses two graphs instead of the fused one:
//   grad graph   images, labels, params, `acc.<param>` → loss, correct, `new.acc.<param>` = acc + ∇loss
//   apply graph  params, state, scalars, `acc.<param>` → grad_norm, `new.<param>`, `new.<slot>.<param>`
// The apply graph scales the summed gradients by 1/k (so the update equals one step on the k·B batch
// when the micro-batches are equal in size), then clips and updates exactly as the fused graph.
//
// The batch is static: gradient rules need concrete shapes, and a fixed shape lets onnxruntime plan memory.
import { type Dim, Graph, type Value } from '../graph/graph.ts';
import { gradients } from '../autodiff/grad.ts';
import { softTargetCrossEntropy, softmaxCrossEntropy } from '../autodiff/loss.ts';
import {
  type OptimizerConfig,
  applyOptimizer,
  clipByGlobalNorm,
  defaultDecay,
  optimizerScalarInputs,
  optimizerSlots,
} from '../autodiff/optim.ts';
import { cast, mul } from '../ops/elementwise.ts';
import { reduceSum } from '../ops/reduce.ts';
import { identity } from '../ops/shape.ts';
import { type ViTConfig, pooledDim, tokenCount } from './config.ts';
import { type LoraOptions, loraLinear, trainingShapes } from './lora.ts';
import { type UpdateGroup, pack, unpack, updateGroups } from './update-packing.ts';
import { buildViT, floatLinear } from './vit.ts';
import { type NoiseRates, type NoiseSpec, maskHook } from './noise-masks.ts';

export interface LossOptions {
  /** Label smoothing ε of the cross-entropy (0 = none; PyTorch's `label_smoothing`). */
  readonly labelSmoothing?: number;
}

/** What the forward pass of a training graph takes beyond the images and parameters. */
export interface ForwardOptions extends LossOptions, NoiseRates {
  /** Micro-batch size B (static). */
  readonly batch: number;
  /** Take `targets` [B, K] float32 (Mixup/CutMix) instead of `labels`; smoothing is then the targets' business. */
  readonly softTargets?: boolean;
  /** Which parameters train (default all); the others are frozen inputs. */
  readonly trainable?: (name: string) => boolean;
  /** LoRA adapters on the blocks' linear layers: their tensors become parameters too (see lora.ts). */
  readonly lora?: LoraOptions;
  /** Where the graph starts (default 'images'): see GraphStart. */
  readonly start?: GraphStart;
}

/**
 * Where a training graph starts: at the images (the whole model), or above a frozen part whose output for an image
 * never changes in a run, so that train/cached-features.ts computes it once: 'features' [B, D'], what the head reads
 * (the graph is then the head alone: every other parameter frozen, no noise, one head), or `{ block: k }`, the tokens
 * entering block k [B, T, D] (nothing below block k trains; no LoRA).
 */
export type GraphStart = 'images' | 'features' | { readonly block: number };

/** A training graph's example input: its name and per-example shape (an image, the head's input, a block's input). */
export interface ExampleInput {
  readonly name: 'images' | 'features' | 'tokens';
  readonly shape: readonly number[];
}

export function exampleInput(cfg: ViTConfig, start: GraphStart = 'images'): ExampleInput {
  if (start === 'images') return { name: 'images', shape: [cfg.inChans, cfg.imgSize, cfg.imgSize] };
  if (start === 'features') return { name: 'features', shape: [cfg.preLogitsDim > 0 ? cfg.preLogitsDim : pooledDim(cfg)] }; // after pre-logits
  return { name: 'tokens', shape: [tokenCount(cfg), cfg.embedDim] };
}

export interface StepGraphOptions extends ForwardOptions {
  readonly optimizer: OptimizerConfig;
  /** Global L2 norm to clip gradients to; 0 (default) = no clipping (`grad_norm` is still output). */
  readonly clipNorm?: number;
  /** Which parameters get weight decay (default: not biases, LayerNorm, pos_embed, cls_token). */
  readonly decay?: (name: string) => boolean;
  /** Also output the unclipped gradients as `grad.<param>` (fused graph; for checks and debugging). */
  readonly exposeGradients?: boolean;
  /** Decay of the weights' exponential moving average, kept as state slot `ema` (0 or absent = none). */
  readonly ema?: number;
  /**
   * Update the trainable tensors of fewer elements than this as packs, a few nodes for all of them (update-packing.ts):
   * default 0, none. TrainSession packs on WebGPU, where every node is a dispatch.
   */
  readonly packBelow?: number;
}

/** What a built graph reads and writes, so a session can allocate its buffers. */
export interface StepGraphSpec {
  readonly graph: Graph;
  /** Parameter names and shapes, in parameterShapes order (all the session holds; a features graph reads the head's). */
  readonly params: ReadonlyMap<string, readonly number[]>;
  /** The trainable subset of `params`, in the same order. */
  readonly trainable: readonly string[];
  /** State slot names (state tensor `${slot}.${param}`, trainable parameters only). */
  readonly slots: readonly string[];
  /** Scalar float32 inputs (lr, bias corrections). */
  readonly scalars: readonly string[];
  /** Keep-mask inputs, with per-example shapes, for the data side to draw. */
  readonly masks: readonly NoiseSpec[];
}

/** Graph input name of a state tensor. */
export const stateName = (slot: string, param: string): string => `${slot}.${param}`;
/** Graph output name of an updated parameter or state tensor. */
export const newName = (name: string): string => `new.${name}`;

interface Forward {
  readonly params: Map<string, Value>;
  readonly trainable: string[];
  readonly loss: Value;
  readonly correct: Value;
  readonly logits: Value;
  readonly masks: NoiseSpec[];
}

/** Parameters as inputs (declared up front in parameterShapes order), images, labels or targets, forward and loss. */
function forward(g: Graph, cfg: ViTConfig, batch: Dim, opts: Omit<ForwardOptions, 'batch'>): Forward {
  const shapes = trainingShapes(cfg, opts.lora);
  if (cfg.numClasses <= 0) throw new Error('training needs a classifier head (numClasses > 0)');
  const start = opts.start ?? 'images';
  const fed = fedParameters(start);
  checkStart(cfg, shapes, start, fed, opts);
  const input = exampleInput(cfg, start);
  const x = g.input(input.name, 'float32', [batch, ...input.shape]);
  const targets = opts.softTargets ? g.input('targets', 'float32', [batch, cfg.numClasses]) : g.input('labels', 'int64', [batch]);
  const params = new Map<string, Value>();
  for (const [name, shape] of shapes) if (fed(name)) params.set(name, g.input(name, 'float32', shape));
  const noise = maskHook(g, cfg.depth, { ...opts, loraDropout: opts.lora?.dropout });
  const param = (name: string): Value => {
    const p = params.get(name);
    if (!p) throw new Error(`ViT asked for unknown parameter '${name}'`);
    return p;
  };
  const linear = opts.lora ? loraLinear(cfg, opts.lora, floatLinear(param), param, noise.hook) : undefined;
  const fromBlock = typeof start === 'object' ? start.block : undefined;
  const build = () => buildViT(cfg, x, { params: param, noise: noise.hook, linear, fromBlock }).logits!;
  const logits = start === 'features' ? floatLinear(param)(x, 'head', true) : build();
  const { ce, correct } = g.inScope('loss', () => {
    const ce = opts.softTargets
      ? softTargetCrossEntropy(logits, targets)
      : softmaxCrossEntropy(logits, targets, { labelSmoothing: opts.labelSmoothing ?? 0 });
    return { ce, correct: reduceSum(cast(ce.correct, 'float32'), 'all') };
  });
  const trainable = [...params.keys()].filter(opts.trainable ?? (() => true));
  if (trainable.length === 0) throw new Error('nothing to train: every parameter is frozen');
  return { params, trainable, loss: ce.loss, correct, logits, masks: noise.specs };
}

const isHead = (name: string): boolean => name.startsWith('head.');

/** Which parameters a graph that starts at `start` reads: all, the head's, or those of block k and above. */
function fedParameters(start: GraphStart): (name: string) => boolean {
  if (start === 'images') return () => true;
  if (start === 'features') return isHead;
  return (name) => {
    const block = /^blocks\.(\d+)\./.exec(name);
    return block ? Number(block[1]) >= start.block : !EMBEDDING.test(name); // (LoRA's are named after their block)
  };
}

/** The parameters of eq. 1: below every block. */
const EMBEDDING = /^(cls_token|dist_token|reg_token|pos_embed|patch_embed\.|norm_pre\.)/;

/**
 * A graph that starts above the images is refused where a parameter it does not read would train; a features graph
 * also where noise, LoRA or a second head would apply.
 */
function checkStart(
  cfg: ViTConfig,
  shapes: ReadonlyMap<string, readonly number[]>,
  start: GraphStart,
  fed: (name: string) => boolean,
  opts: Omit<ForwardOptions, 'batch'>,
): void {
  if (start === 'images') return;
  if (start !== 'features' && !(Number.isInteger(start.block) && start.block >= 0 && start.block <= cfg.depth)) {
    throw new Error(`a graph that starts at block ${start.block}: the model has blocks 0…${cfg.depth - 1}`);
  }
  const where = start === 'features'
    ? 'a features graph trains the head alone'
    : `a graph that starts at block ${start.block} trains nothing below it`;
  const below = [...shapes.keys()].find((n) => !fed(n) && (opts.trainable?.(n) ?? true));
  if (below) throw new Error(`${where}, but '${below}' is trainable`);
  if (start !== 'features') return;
  if (opts.dropout || opts.dropPath || opts.lora) throw new Error('a features graph has no encoder: dropout, drop path and LoRA do not apply');
  if (cfg.distToken) throw new Error("a features graph is one head on one token's features: DeiT's distillation head reads another");
}

/** The forward pass of a training graph with `loss` and `correct` as outputs, and ∇loss for each trainable parameter. */
function lossAndGrads(g: Graph, cfg: ViTConfig, opts: ForwardOptions): { f: Forward; grads: Value[] } {
  const f = forward(g, cfg, checkBatch(opts.batch), opts);
  g.output(f.loss, 'loss');
  g.output(f.correct, 'correct');
  return { f, grads: gradients(f.loss, f.trainable.map((n) => f.params.get(n)!)) };
}

/** The options the update part reads. */
type UpdateOptions = Pick<StepGraphOptions, 'optimizer' | 'clipNorm' | 'decay' | 'ema' | 'packBelow'>;

/** State slots of the trainable parameters: the optimizer's, then `ema` when averaging. */
export function stateSlots(opts: Pick<StepGraphOptions, 'optimizer' | 'ema'>): string[] {
  if (opts.ema !== undefined && !(opts.ema >= 0 && opts.ema < 1)) throw new Error(`EMA decay must be in [0, 1), got ${opts.ema}`);
  return [...optimizerSlots(opts.optimizer), ...(opts.ema ? ['ema'] : [])];
}

/**
 * Clipping + optimizer update (+ EMA) on (param, grad) pairs of the trainable parameters; declares state and scalar
 * inputs, marks outputs.
 */
function update(
  g: Graph,
  params: ReadonlyMap<string, Value>,
  grads: readonly Value[],
  opts: UpdateOptions,
): { slots: readonly string[]; scalars: readonly string[] } {
  const slots = stateSlots(opts);
  const scalars = optimizerScalarInputs(g, opts.optimizer);
  const names = [...params.keys()];
  const gradOf = new Map(names.map((n, i) => [n, grads[i]!]));
  const stateOf = new Map(
    names.map((n) => [n, Object.fromEntries(slots.map((s) => [s, g.input(stateName(s, n), 'float32', params.get(n)!.shape)]))]),
  );
  // Tensors below packBelow are updated as packs (update-packing.ts): one clipping term and one update per pack.
  const shapes = new Map(names.map((n) => [n, params.get(n)!.shape as readonly number[]]));
  const groups = updateGroups(shapes, opts.decay ?? defaultDecay, opts.packBelow ?? 0);
  const packed = (group: UpdateGroup, value: (name: string) => Value) => pack(group, group.members.map((m) => value(m.name)));
  // The updates overwrite the parameters' own buffers (runtime/train-session.ts), so each must run after every read
  // of the old values. Scaling every gradient by the clip factor makes each update depend on the global norm, hence
  // on every gradient, hence on every forward and backward read of every parameter. With clipping off the factor is
  // min(∞ / norm, 1) = 1 exactly: the same numbers, in an order that is safe (test/model/step-graph.test.ts checks it).
  // (A non-finite norm then turns every update into NaN, as it does with clipping on; the trainer stops on it.)
  const clipNorm = (opts.clipNorm ?? 0) === 0 ? Infinity : opts.clipNorm!;
  const clipped = g.inScope('clip', () => clipByGlobalNorm(groups.map((gr) => packed(gr, (n) => gradOf.get(n)!)), clipNorm));
  g.output(clipped.norm, 'grad_norm');
  const optimizerState = optimizerSlots(opts.optimizer);
  const results = g.inScope('optimizer', () =>
    applyOptimizer(
      opts.optimizer,
      scalars,
      groups.map((gr, i) => ({
        name: gr.name,
        param: packed(gr, (n) => params.get(n)!),
        grad: clipped.grads[i]!,
        state: Object.fromEntries(optimizerState.map((s) => [s, packed(gr, (n) => stateOf.get(n)![s]!)])),
        decay: gr.decay,
      })),
      { param: newName, state: (s, n) => newName(stateName(s, n)) },
    ),
  );
  results.forEach((r, i) => {
    const group = groups[i]!;
    const output = (v: Value, name: (member: string) => string) => unpack(group, v, name).forEach((u) => g.output(u));
    output(r.param, newName);
    for (const s of optimizerState) output(r.state[s]!, (n) => newName(stateName(s, n)));
    if (opts.ema) {
      const ema = packed(group, (n) => stateOf.get(n)!['ema']!);
      const name = newName(stateName('ema', r.name));
      output(
        g.node('Add', [mul(ema, opts.ema), mul(r.param, 1 - opts.ema)], [{ dtype: 'float32', shape: ema.shape, name }])[0]!,
        (n) => newName(stateName('ema', n)),
      );
    }
  });
  return { slots, scalars: Object.keys(scalars) };
}

const subset = (params: ReadonlyMap<string, Value>, names: readonly string[]): Map<string, Value> => new Map(names.map((n) => [n, params.get(n)!]));

/** The fused training step (see the file header for its inputs and outputs). */
export function buildStepGraph(cfg: ViTConfig, opts: StepGraphOptions): StepGraphSpec {
  const g = new Graph('vit_train_step');
  const { f, grads } = lossAndGrads(g, cfg, opts);
  if (opts.exposeGradients) f.trainable.forEach((n, i) => g.output(grads[i]!, `grad.${n}`));
  const { slots, scalars } = update(g, subset(f.params, f.trainable), grads, opts);
  return { graph: g, params: trainingShapes(cfg, opts.lora), trainable: f.trainable, slots, scalars, masks: f.masks };
}

/** Graph input name of an accumulated gradient. */
export const accName = (param: string): string => `acc.${param}`;

/** Gradient accumulation, part 1: forward + backward on one micro-batch, adding ∇loss into `acc.<param>`. */
export function buildGradGraph(cfg: ViTConfig, opts: ForwardOptions): StepGraphSpec {
  const g = new Graph('vit_train_grad');
  const { f, grads } = lossAndGrads(g, cfg, opts);
  f.trainable.forEach((n, i) => {
    const p = f.params.get(n)!;
    const acc = g.input(accName(n), 'float32', p.shape);
    g.output(g.node('Add', [acc, grads[i]!], [{ dtype: 'float32', shape: p.shape, name: newName(accName(n)) }])[0]!);
  });
  return { graph: g, params: trainingShapes(cfg, opts.lora), trainable: f.trainable, slots: [], scalars: [], masks: f.masks };
}

/**
 * Gradient accumulation, part 2: mean of `microBatches` summed gradients → clip → optimizer update (+ EMA), on the
 * trainable parameters only (frozen ones are not inputs here).
 */
export function buildApplyGraph(
  cfg: ViTConfig,
  opts: UpdateOptions & Pick<ForwardOptions, 'trainable' | 'lora'> & { readonly microBatches: number },
): StepGraphSpec {
  if (!Number.isInteger(opts.microBatches) || opts.microBatches < 1) {
    throw new Error(`microBatches must be a positive integer, got ${opts.microBatches}`);
  }
  const g = new Graph('vit_train_apply');
  const params = new Map<string, Value>();
  const shapes = trainingShapes(cfg, opts.lora);
  const trainable = [...shapes.keys()].filter(opts.trainable ?? (() => true));
  for (const name of trainable) params.set(name, g.input(name, 'float32', shapes.get(name)!));
  const grads = trainable.map((n) => {
    const acc = g.input(accName(n), 'float32', shapes.get(n)!);
    return opts.microBatches === 1 ? acc : mul(acc, 1 / opts.microBatches);
  });
  const { slots, scalars } = update(g, params, grads, opts);
  return { graph: g, params: shapes, trainable, slots, scalars, masks: [] };
}

export interface EvalGraphOptions extends LossOptions, Pick<ForwardOptions, 'lora' | 'start'> {
  /** Batch size, or a symbolic name for any batch (default 'batch'). */
  readonly batch?: Dim;
}

/**
 * Evaluation: the same parameter inputs as the step graph (fed from the same buffers), images (or what `start` says) and
 * labels → `logits` [B, K], `loss` [] (mean), `correct` [] (count).
 */
export function buildEvalGraph(cfg: ViTConfig, opts: EvalGraphOptions = {}): StepGraphSpec {
  const g = new Graph('vit_eval');
  const trains = { trainable: fedParameters(opts.start ?? 'images') }; // (a graph refuses training what it does not read)
  const f = forward(g, cfg, opts.batch ?? 'batch', { ...opts, ...trains, lora: opts.lora && { ...opts.lora, dropout: 0 } }); // no noise
  g.output(f.logits, 'logits');
  g.output(f.loss, 'loss');
  g.output(f.correct, 'correct');
  return { graph: g, params: trainingShapes(cfg, opts.lora), trainable: [], slots: [], scalars: [], masks: [] };
}

function checkBatch(b: number): number {
  if (!Number.isInteger(b) || b < 1) throw new Error(`batch must be a positive integer, got ${b}`);
  return b;
}

/** Graph output name of a tensor's copy in the copy graph. */
export const copyName = (name: string): string => `copy.${name}`;

/**
 * Identity copies of named float32 tensors, `<name>` → `copy.<name>`: run with its outputs left on the device, it
 * uploads host tensors; fed device tensors, it downloads them (runtime/device-state.ts).
 */
export function buildCopyGraph(shapes: ReadonlyMap<string, readonly number[]>): Graph {
  const g = new Graph('vit_copy');
  for (const [name, shape] of shapes) g.output(identity(g.input(name, 'float32', shape), copyName(name)));
  return g;
}
