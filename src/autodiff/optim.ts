// Optimizer updates and global-norm gradient clipping as graph ops, matching PyTorch's torch.optim.AdamW,
// torch.optim.SGD (momentum) and torch.nn.utils.clip_grad_norm_.
//
// Schedules change per step without rebuilding the graph: the learning rate is a float32 scalar graph
// input `lr`, and AdamW's bias corrections are fed as the scalars `bias_correction1` = 1 − β1^t and
// `bias_correction2` = 1 − β2^t, computed on the host in float64 from the step number t (1-based)
// by `optimizerScalars`. (A step-counter input would make the graph compute β^t in float32, which
// drifts from PyTorch's float64 powers over long runs; the host already knows t.)
import type { Graph, Value } from '../graph/graph.ts';
import type { Tensor } from '../graph/tensor.ts';
import { add, div, min, mul, sqrt, sub } from '../ops/elementwise.ts';
import { reduceSumSquare } from '../ops/reduce.ts';

/** torch.optim.AdamW: decoupled weight decay, then Adam with eps added to √v̂. */
export interface AdamWConfig {
  readonly kind: 'adamw';
  readonly beta1?: number; // 0.9
  readonly beta2?: number; // 0.999
  readonly eps?: number; // 1e-8
  /** Decoupled weight decay (p ← p − lr·wd·p) on parameters the decay mask selects; default 0.01 as PyTorch. */
  readonly weightDecay?: number;
}

/** torch.optim.SGD with (heavy-ball or Nesterov) momentum and no dampening. */
export interface SGDConfig {
  readonly kind: 'sgd';
  /** Momentum μ (default 0.9); 0 gives plain SGD with no state. */
  readonly momentum?: number;
  readonly nesterov?: boolean;
  /** L2 weight decay added to the gradient (g ← g + wd·p) on masked parameters; default 0. */
  readonly weightDecay?: number;
}

export type OptimizerConfig = AdamWConfig | SGDConfig;

/** An optimizer config with every default filled in. */
export type ResolvedOptimizer =
  | { readonly kind: 'adamw'; readonly beta1: number; readonly beta2: number; readonly eps: number; readonly weightDecay: number }
  | { readonly kind: 'sgd'; readonly momentum: number; readonly nesterov: boolean; readonly weightDecay: number };

export function resolveOptimizer(opt: OptimizerConfig): ResolvedOptimizer {
  if (opt.kind === 'adamw') {
    const r = {
      kind: 'adamw' as const,
      beta1: opt.beta1 ?? 0.9,
      beta2: opt.beta2 ?? 0.999,
      eps: opt.eps ?? 1e-8,
      weightDecay: opt.weightDecay ?? 0.01,
    };
    for (const k of ['beta1', 'beta2'] as const) if (!(r[k] >= 0 && r[k] < 1)) throw new Error(`adamw: ${k} must be in [0, 1), got ${r[k]}`);
    if (!(r.eps > 0)) throw new Error(`adamw: eps must be > 0, got ${r.eps}`);
    if (!(r.weightDecay >= 0)) throw new Error(`adamw: weightDecay must be ≥ 0, got ${r.weightDecay}`);
    return r;
  }
  if (opt.kind === 'sgd') {
    const r = { kind: 'sgd' as const, momentum: opt.momentum ?? 0.9, nesterov: opt.nesterov ?? false, weightDecay: opt.weightDecay ?? 0 };
    if (!(r.momentum >= 0)) throw new Error(`sgd: momentum must be ≥ 0, got ${r.momentum}`);
    if (r.nesterov && r.momentum === 0) throw new Error('sgd: nesterov needs momentum > 0');
    if (!(r.weightDecay >= 0)) throw new Error(`sgd: weightDecay must be ≥ 0, got ${r.weightDecay}`);
    return r;
  }
  throw new Error(`unknown optimizer '${(opt as { kind: string }).kind}' (expected adamw|sgd)`);
}

/** Per-parameter state slots: state tensor `${slot}.${param}`, same shape as the parameter. */
export function optimizerSlots(opt: OptimizerConfig): readonly string[] {
  const r = resolveOptimizer(opt);
  if (r.kind === 'adamw') return ['m', 'v'];
  return r.momentum > 0 ? ['momentum'] : [];
}

/** The scalar graph inputs the update reads, by name, in feed order. */
export function optimizerScalarNames(opt: OptimizerConfig): readonly string[] {
  return opt.kind === 'adamw' ? ['lr', 'bias_correction1', 'bias_correction2'] : ['lr'];
}

/** Host values of the scalar inputs for step t (1-based: the first update is t = 1). */
export function optimizerScalars(opt: OptimizerConfig, lr: number, t: number): Record<string, number> {
  if (!(t >= 1) || !Number.isInteger(t)) throw new Error(`optimizer step must be an integer ≥ 1, got ${t}`);
  const r = resolveOptimizer(opt);
  if (r.kind === 'adamw') return { lr, bias_correction1: 1 - r.beta1 ** t, bias_correction2: 1 - r.beta2 ** t };
  return { lr };
}

/** The same, as float32 scalar tensors ready to feed. */
export function optimizerScalarFeeds(opt: OptimizerConfig, lr: number, t: number): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(optimizerScalars(opt, lr, t))) out[k] = { dtype: 'float32', shape: [], data: Float32Array.of(v) };
  return out;
}

/**
 * The usual no-decay rule: biases, LayerNorm weights (any `*norm*.weight`), `pos_embed`, `cls_token`
 * (and any other 1-D parameter) are not decayed.
 */
export function defaultDecay(name: string): boolean {
  if (name.endsWith('.bias') || name === 'pos_embed' || name === 'cls_token' || name === 'dist_token') return false;
  if (name.endsWith('.gamma')) return false; // layer scale: 1-D, as timm's ndim ≤ 1 rule leaves undecayed
  if (/_bias$|relative_position_bias_table$/.test(name)) return false; // BEiT's q/v biases and tables, as timm
  if (/norm/.test(name) && name.endsWith('.weight')) return false;
  return true;
}

/** Declares the optimizer's scalar inputs on a graph. */
export function optimizerScalarInputs(g: Graph, opt: OptimizerConfig): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const n of optimizerScalarNames(opt)) out[n] = g.input(n, 'float32', []);
  return out;
}

/** One parameter's update: its current value, (clipped) gradient and state slots. */
export interface UpdateItem {
  readonly name: string;
  readonly param: Value;
  readonly grad: Value;
  /** slot → current state value (see optimizerSlots). */
  readonly state: Readonly<Record<string, Value>>;
  /** Whether weight decay applies. */
  readonly decay: boolean;
}

export interface UpdateResult {
  readonly name: string;
  readonly param: Value;
  readonly state: Readonly<Record<string, Value>>;
}

export interface UpdateNaming {
  /** Graph value name of the updated parameter (default `new.<param>`). */
  readonly param?: (name: string) => string;
  /** Graph value name of an updated slot (default `new.<slot>.<param>`). */
  readonly state?: (slot: string, name: string) => string;
}

/** A binary op whose output gets a chosen name (so graph outputs need no Identity copy). */
function named(op: 'Add' | 'Sub', a: Value, b: Value, name: string): Value {
  const dims = a.shape;
  if (b.shape.length !== dims.length || b.shape.some((d, i) => d !== dims[i])) throw new Error(`${op}: ${a} and ${b} differ in shape`);
  return a.graph.node(op, [a, b], [{ dtype: a.dtype, shape: dims, name }])[0]!;
}

/**
 * Emits the update of every parameter. `scalars` are the graph inputs from `optimizerScalarInputs`.
 * AdamW (PyTorch, single-tensor path): p ← p·(1 − lr·wd); m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
 * p ← p − (lr / bc1) · m / (√v / √bc2 + eps).
 * SGD: g ← g + wd·p; buf ← μ·buf + g (PyTorch sets buf = g at the first step, which zero-initialised
 * buffers reproduce exactly); p ← p − lr·buf (Nesterov: p ← p − lr·(g + μ·buf)).
 */
export function applyOptimizer(
  opt: OptimizerConfig,
  scalars: Readonly<Record<string, Value>>,
  items: readonly UpdateItem[],
  naming: UpdateNaming = {},
): UpdateResult[] {
  const r = resolveOptimizer(opt);
  const pName = naming.param ?? ((n: string) => `new.${n}`);
  const sName = naming.state ?? ((s: string, n: string) => `new.${s}.${n}`);
  const lr = need(scalars, 'lr');
  if (r.kind === 'adamw') {
    const stepSize = div(lr, need(scalars, 'bias_correction1'));
    const bc2Sqrt = sqrt(need(scalars, 'bias_correction2'));
    const decayFactor = r.weightDecay > 0 ? sub(1, mul(lr, r.weightDecay)) : null;
    return items.map((it): UpdateResult => {
      const m0 = need(it.state, 'm');
      const v0 = need(it.state, 'v');
      const p = it.decay && decayFactor ? mul(it.param, decayFactor) : it.param;
      const m = named('Add', mul(m0, r.beta1), mul(it.grad, 1 - r.beta1), sName('m', it.name));
      const v = named('Add', mul(v0, r.beta2), mul(mul(it.grad, it.grad), 1 - r.beta2), sName('v', it.name));
      const denom = add(div(sqrt(v), bc2Sqrt), r.eps);
      const param = named('Sub', p, mul(div(m, denom), stepSize), pName(it.name));
      return { name: it.name, param, state: { m, v } };
    });
  }
  return items.map((it): UpdateResult => {
    const g = it.decay && r.weightDecay > 0 ? add(it.grad, mul(it.param, r.weightDecay)) : it.grad;
    if (r.momentum === 0) return { name: it.name, param: named('Sub', it.param, mul(g, lr), pName(it.name)), state: {} };
    const buf = named('Add', mul(need(it.state, 'momentum'), r.momentum), g, sName('momentum', it.name));
    const dir = r.nesterov ? add(g, mul(buf, r.momentum)) : buf;
    return { name: it.name, param: named('Sub', it.param, mul(dir, lr), pName(it.name)), state: { momentum: buf } };
  });
}

function need(rec: Readonly<Record<string, Value>>, key: string): Value {
  const v = rec[key];
  if (!v) throw new Error(`optimizer: missing '${key}' (have ${Object.keys(rec).join(', ') || 'nothing'})`);
  return v;
}

/** The global L2 norm of a set of tensors, √Σ‖g‖², as a float32 scalar. */
export function globalNorm(grads: readonly Value[]): Value {
  if (grads.length === 0) throw new Error('globalNorm: no tensors');
  let sum: Value | null = null;
  for (const g of grads) {
    const sq = reduceSumSquare(g, 'all');
    sum = sum ? add(sum, sq) : sq;
  }
  return sqrt(sum!);
}

export interface Clipped {
  /** The gradients scaled by min(1, maxNorm / (norm + 1e-6)) (unchanged when maxNorm is 0). */
  readonly grads: Value[];
  /** The unclipped global norm. */
  readonly norm: Value;
}

/** Global-norm clipping as torch.nn.utils.clip_grad_norm_ (norm type 2); maxNorm 0 turns clipping off. */
export function clipByGlobalNorm(grads: readonly Value[], maxNorm: number): Clipped {
  if (!(maxNorm >= 0)) throw new Error(`clipNorm must be ≥ 0 (0 = off), got ${maxNorm}`);
  const norm = globalNorm(grads);
  if (maxNorm === 0) return { grads: [...grads], norm };
  const coef = min(div(maxNorm, add(norm, 1e-6)), 1);
  return { grads: grads.map((g) => mul(g, coef)), norm };
}
