// The training step as ONE ONNX graph: forward, loss, backward, global-norm clipping and the optimizer
// update, with parameters and optimizer state as graph inputs and their updated values as outputs.
//
// Graph interface (every float tensor float32):
//   inputs   images [B, C, S, S], labels [B] int64, every parameter `<param>` (timm names),
//            every state tensor `<slot>.<param>` (slots: m, v for AdamW; momentum for SGD),
//            scalars `lr` (+ `bias_correction1`, `bias_correction2` for AdamW; see autodiff/optim.ts)
//   outputs  loss [] (mean over the batch), correct [] (count of argmax hits), grad_norm [] (before clipping),
//            `new.<param>`, `new.<slot>.<param>`, and optionally `grad.<param>` (unclipped gradients)
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
import { softmaxCrossEntropy } from '../autodiff/loss.ts';
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
import type { ViTConfig } from '../model/config.ts';
import { parameterShapes } from '../model/params.ts';
import { buildViT } from '../model/vit.ts';

export interface LossOptions {
  /** Label smoothing ε of the cross-entropy (0 = none; PyTorch's `label_smoothing`). */
  readonly labelSmoothing?: number;
}

export interface StepGraphOptions extends LossOptions {
  /** Micro-batch size B (static). */
  readonly batch: number;
  readonly optimizer: OptimizerConfig;
  /** Global L2 norm to clip gradients to; 0 (default) = no clipping (`grad_norm` is still output). */
  readonly clipNorm?: number;
  /** Which parameters get weight decay (default: not biases, LayerNorm, pos_embed, cls_token). */
  readonly decay?: (name: string) => boolean;
  /** Also output the unclipped gradients as `grad.<param>` (fused graph; for checks and debugging). */
  readonly exposeGradients?: boolean;
}

/** What a built graph reads and writes, so a session can allocate its buffers. */
export interface StepGraphSpec {
  readonly graph: Graph;
  /** Parameter names and shapes, in parameterShapes order. */
  readonly params: ReadonlyMap<string, readonly number[]>;
  /** Optimizer state slot names (state tensor `${slot}.${param}`). */
  readonly slots: readonly string[];
  /** Scalar float32 inputs (lr, bias corrections). */
  readonly scalars: readonly string[];
}

/** Graph input name of a state tensor. */
export const stateName = (slot: string, param: string): string => `${slot}.${param}`;
/** Graph output name of an updated parameter or state tensor. */
export const newName = (name: string): string => `new.${name}`;

interface Forward {
  readonly params: Map<string, Value>;
  readonly loss: Value;
  readonly correct: Value;
  readonly logits: Value;
}

/** Parameters as inputs (declared up front in parameterShapes order), images, labels, forward and loss. */
function forward(g: Graph, cfg: ViTConfig, batch: Dim, loss: LossOptions): Forward {
  const shapes = parameterShapes(cfg);
  if (cfg.numClasses <= 0) throw new Error('training needs a classifier head (numClasses > 0)');
  const images = g.input('images', 'float32', [batch, cfg.inChans, cfg.imgSize, cfg.imgSize]);
  const labels = g.input('labels', 'int64', [batch]);
  const params = new Map<string, Value>();
  for (const [name, shape] of shapes) params.set(name, g.input(name, 'float32', shape));
  const v = buildViT(cfg, images, {
    params: (name) => {
      const p = params.get(name);
      if (!p) throw new Error(`ViT asked for unknown parameter '${name}'`);
      return p;
    },
  });
  const logits = v.logits!;
  const ce = softmaxCrossEntropy(logits, labels, { labelSmoothing: loss.labelSmoothing ?? 0 });
  const correct = reduceSum(cast(ce.correct, 'float32'), 'all');
  return { params, loss: ce.loss, correct, logits };
}

function paramGrads(f: Forward): Value[] {
  return gradients(f.loss, [...f.params.values()]);
}

/** Clipping + optimizer update on (param, grad) pairs; declares state and scalar inputs, marks outputs. */
function update(g: Graph, params: ReadonlyMap<string, Value>, grads: readonly Value[], opts: UpdateOptions): { slots: readonly string[]; scalars: readonly string[] } {
  const slots = optimizerSlots(opts.optimizer);
  const scalars = optimizerScalarInputs(g, opts.optimizer);
  const names = [...params.keys()];
  const state = names.map((n) => Object.fromEntries(slots.map((s) => [s, g.input(stateName(s, n), 'float32', params.get(n)!.shape)])));
  const clipped = clipByGlobalNorm(grads, opts.clipNorm ?? 0);
  g.output(clipped.norm, 'grad_norm');
  const decay = opts.decay ?? defaultDecay;
  const results = applyOptimizer(
    opts.optimizer,
    scalars,
    names.map((n, i) => ({ name: n, param: params.get(n)!, grad: clipped.grads[i]!, state: state[i]!, decay: decay(n) })),
    { param: newName, state: (s, n) => newName(stateName(s, n)) },
  );
  for (const r of results) {
    g.output(r.param);
    for (const s of slots) g.output(r.state[s]!);
  }
  return { slots, scalars: Object.keys(scalars) };
}

/** The options the update part reads. */
type UpdateOptions = Pick<StepGraphOptions, 'optimizer' | 'clipNorm' | 'decay'>;

/** The fused training step (see the file header for its inputs and outputs). */
export function buildStepGraph(cfg: ViTConfig, opts: StepGraphOptions): StepGraphSpec {
  const g = new Graph('vit_train_step');
  const f = forward(g, cfg, checkBatch(opts.batch), opts);
  g.output(f.loss, 'loss');
  g.output(f.correct, 'correct');
  const grads = paramGrads(f);
  if (opts.exposeGradients) [...f.params.keys()].forEach((n, i) => g.output(grads[i]!, `grad.${n}`));
  const { slots, scalars } = update(g, f.params, grads, opts);
  return { graph: g, params: parameterShapes(cfg), slots, scalars };
}

/** Graph input name of an accumulated gradient. */
export const accName = (param: string): string => `acc.${param}`;

/** Gradient accumulation, part 1: forward + backward on one micro-batch, adding ∇loss into `acc.<param>`. */
export function buildGradGraph(cfg: ViTConfig, opts: Pick<StepGraphOptions, 'batch' | 'labelSmoothing'>): StepGraphSpec {
  const g = new Graph('vit_train_grad');
  const f = forward(g, cfg, checkBatch(opts.batch), opts);
  g.output(f.loss, 'loss');
  g.output(f.correct, 'correct');
  const grads = paramGrads(f);
  [...f.params.entries()].forEach(([n, p], i) => {
    const acc = g.input(accName(n), 'float32', p.shape);
    g.output(g.node('Add', [acc, grads[i]!], [{ dtype: 'float32', shape: p.shape, name: newName(accName(n)) }])[0]!);
  });
  return { graph: g, params: parameterShapes(cfg), slots: [], scalars: [] };
}

/** Gradient accumulation, part 2: mean of `microBatches` summed gradients → clip → optimizer update. */
export function buildApplyGraph(cfg: ViTConfig, opts: UpdateOptions & { readonly microBatches: number }): StepGraphSpec {
  if (!Number.isInteger(opts.microBatches) || opts.microBatches < 1) throw new Error(`microBatches must be a positive integer, got ${opts.microBatches}`);
  const g = new Graph('vit_train_apply');
  const params = new Map<string, Value>();
  const shapes = parameterShapes(cfg);
  for (const [name, shape] of shapes) params.set(name, g.input(name, 'float32', shape));
  const grads = [...shapes].map(([n, shape]) => {
    const acc = g.input(accName(n), 'float32', shape);
    return opts.microBatches === 1 ? acc : mul(acc, 1 / opts.microBatches);
  });
  const { slots, scalars } = update(g, params, grads, opts);
  return { graph: g, params: shapes, slots, scalars };
}

export interface EvalGraphOptions extends LossOptions {
  /** Batch size, or a symbolic name for any batch (default 'batch'). */
  readonly batch?: Dim;
}

/**
 * Evaluation: the same parameter inputs as the step graph (fed from the same buffers), images and labels →
 * `logits` [B, K], `loss` [] (mean), `correct` [] (count).
 */
export function buildEvalGraph(cfg: ViTConfig, opts: EvalGraphOptions = {}): StepGraphSpec {
  const g = new Graph('vit_eval');
  const f = forward(g, cfg, opts.batch ?? 'batch', opts);
  g.output(f.logits, 'logits');
  g.output(f.loss, 'loss');
  g.output(f.correct, 'correct');
  return { graph: g, params: parameterShapes(cfg), slots: [], scalars: [] };
}

function checkBatch(b: number): number {
  if (!Number.isInteger(b) || b < 1) throw new Error(`batch must be a positive integer, got ${b}`);
  return b;
}
