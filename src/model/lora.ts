// LoRA (Hu et al., ICLR 2022): a frozen linear layer y = x·Wᵀ + b learns a low-rank update ΔW = (alpha/R)·B·A
// instead of W itself, computed as y + (alpha/R)·(x·Aᵀ)·Bᵀ so that no [out, in] matrix is formed while training.
// A [R, in] starts random and B [out, R] at zero, so the first step starts from the pre-trained model exactly;
// only A and B (and whatever else the run trains) get gradients and optimizer state.
//
// Adapters are parameters named after the layer they adapt: `blocks.{i}.attn.qkv.lora_A`, `….lora_B`. They are
// wired in through the ViT's `linear` hook (vit.ts), so the model file does not know about them, and merged into
// W when a model is saved (mergeLora): the result is a plain checkpoint that every tool loads.
import type { Value } from '../graph/graph.ts';
import { type StateDict, type Tensor, numel } from '../graph/tensor.ts';
import { add, mul } from '../ops/elementwise.ts';
import { linear } from '../ops/nn.ts';
import { Rng } from '../rng.ts';
import type { ViTConfig } from './config.ts';
import { parameterShapes } from './params.ts';
import type { LinearSource, NoiseSite } from './vit.ts';

/** The block layers an adapter may wrap, by short name. */
export type LoraTarget = 'qkv' | 'proj' | 'fc1' | 'fc2';
export const LORA_TARGETS: readonly LoraTarget[] = ['qkv', 'proj', 'fc1', 'fc2'];
const LAYER: Readonly<Record<LoraTarget, string>> = { qkv: 'attn.qkv', proj: 'attn.proj', fc1: 'mlp.fc1', fc2: 'mlp.fc2' };

export interface LoraOptions {
  /** Rank R of each update. */
  readonly rank: number;
  /** The update is scaled by alpha/R (default alpha = R: scale 1), so changing R does not change the step size. */
  readonly alpha?: number;
  /** Which linear layers of every block get an adapter (default qkv and proj, as the paper's W_q, W_v choice widened). */
  readonly targets?: readonly LoraTarget[];
  /** Dropout on the adapter's input (the reference implementation's lora_dropout; default 0). */
  readonly dropout?: number;
  /** Seeds A's initialisation (default 0). */
  readonly seed?: number;
}

export const DEFAULT_LORA_TARGETS: readonly LoraTarget[] = ['qkv', 'proj'];

export const loraA = (layer: string): string => `${layer}.lora_A`;
export const loraB = (layer: string): string => `${layer}.lora_B`;
export const isLoraParam = (name: string): boolean => name.endsWith('.lora_A') || name.endsWith('.lora_B');

/** alpha / R. */
export const loraScale = (lora: LoraOptions): number => (lora.alpha ?? lora.rank) / lora.rank;

/** Checks the options; the errors name the bad value and the allowed set. */
export function checkLora(lora: LoraOptions): LoraOptions {
  if (!(Number.isInteger(lora.rank) && lora.rank >= 1)) throw new Error(`LoRA rank must be a positive integer, got ${lora.rank}`);
  if (lora.alpha !== undefined && !(lora.alpha > 0 && Number.isFinite(lora.alpha))) {
    throw new Error(`LoRA alpha must be a positive number, got ${lora.alpha}`);
  }
  const targets = lora.targets ?? DEFAULT_LORA_TARGETS;
  if (targets.length === 0) throw new Error('LoRA needs at least one target layer');
  for (const t of targets) if (!LORA_TARGETS.includes(t)) throw new Error(`unknown LoRA target '${t}' (expected ${LORA_TARGETS.join('|')})`);
  if (lora.dropout !== undefined && !(lora.dropout >= 0 && lora.dropout < 1)) throw new Error(`LoRA dropout must be in [0, 1), got ${lora.dropout}`);
  return lora;
}

/** The adapted layers (name prefixes such as `blocks.3.attn.qkv`), block by block. */
export function loraLayers(cfg: ViTConfig, lora: LoraOptions): string[] {
  const targets = checkLora(lora).targets ?? DEFAULT_LORA_TARGETS;
  const out: string[] = [];
  for (let i = 0; i < cfg.depth; i++) for (const t of LORA_TARGETS) if (targets.includes(t)) out.push(`blocks.${i}.${LAYER[t]}`);
  return out;
}

/** The adapter tensors, name → shape: A [R, in] and B [out, R] per adapted layer. */
export function loraShapes(cfg: ViTConfig, lora: LoraOptions): Map<string, number[]> {
  const shapes = parameterShapes(cfg);
  const out = new Map<string, number[]>();
  for (const layer of loraLayers(cfg, lora)) {
    const [o, i] = shapes.get(`${layer}.weight`)!;
    out.set(loraA(layer), [lora.rank, i!]);
    out.set(loraB(layer), [o!, lora.rank]);
  }
  return out;
}

/** The model's parameters followed by the adapters' (the parameters a training graph takes). */
export function trainingShapes(cfg: ViTConfig, lora?: LoraOptions): Map<string, number[]> {
  return new Map([...parameterShapes(cfg), ...(lora ? loraShapes(cfg, lora) : [])]);
}

/**
 * `weights` plus fresh adapters: A as the paper's reference code (loralib) initialises it, kaiming-uniform with
 * a = √5, i.e. U(±1/√in); B zero, so the adapted model starts equal to the frozen one. Adapters already present are
 * kept (a resumed run); a partial set is an error.
 */
export function withLoraAdapters(cfg: ViTConfig, weights: StateDict, lora: LoraOptions): StateDict {
  const shapes = loraShapes(cfg, lora);
  const have = [...shapes.keys()].filter((n) => weights.has(n));
  if (have.length === shapes.size) return weights;
  if (have.length > 0) throw new Error(`the weights hold ${have.length} of ${shapes.size} LoRA adapter tensors: pass all or none`);
  const rng = new Rng(lora.seed ?? 0);
  const out: StateDict = new Map(weights);
  for (const [name, shape] of shapes) {
    const data = new Float32Array(numel(shape));
    if (name.endsWith('.lora_A')) {
      const bound = 1 / Math.sqrt(shape[1]!);
      for (let i = 0; i < data.length; i++) data[i] = (2 * rng.uniform() - 1) * bound;
    }
    out.set(name, { dtype: 'float32', shape, data });
  }
  return out;
}

/**
 * A linear-layer hook for buildViT: `base` for every layer, plus (alpha/R)·(x·Aᵀ)·Bᵀ on the adapted ones, with the
 * adapter's input dropped out through `noise` (site kind 'lora-dropout') when given.
 */
export function loraLinear(
  cfg: ViTConfig,
  lora: LoraOptions,
  base: LinearSource,
  param: (name: string) => Value,
  noise?: (x: Value, site: NoiseSite) => Value,
): LinearSource {
  const adapted = new Set(loraLayers(cfg, lora));
  const scale = loraScale(lora);
  return (x, layer, bias) => {
    const y = base(x, layer, bias);
    if (!adapted.has(layer)) return y;
    const input = noise ? noise(x, { kind: 'lora-dropout', name: `${layer}.lora` }) : x;
    return add(y, loraDelta(input, param(loraA(layer)), param(loraB(layer)), scale));
  };
}

/** The adapter's output (x·Aᵀ)·Bᵀ·scale on x [..., in]: two thin products, never the [out, in] update. */
export function loraDelta(x: Value, a: Value, b: Value, scale: number): Value {
  const y = linear(linear(x, a), b);
  return scale === 1 ? y : mul(y, scale);
}

/** W + (alpha/R)·B·A for one layer, in float64 sums (so the merged model equals the adapted one to float32 rounding). */
function mergedWeight(w: Tensor, a: Tensor, b: Tensor, scale: number): Tensor<'float32'> {
  const [out, inn] = w.shape as [number, number];
  const r = a.shape[0]!;
  const W = w.data as Float32Array;
  const A = a.data as Float32Array;
  const B = b.data as Float32Array;
  const data = new Float32Array(W.length);
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inn; i++) {
      let s = 0;
      for (let k = 0; k < r; k++) s += B[o * r + k]! * A[k * inn + i]!;
      data[o * inn + i] = W[o * inn + i]! + scale * s;
    }
  }
  return { dtype: 'float32', shape: [out, inn], data };
}

/** The model with every adapter merged into its layer's weight and the adapter tensors dropped: a plain checkpoint. */
export function mergeLora(cfg: ViTConfig, weights: StateDict, lora: LoraOptions): StateDict {
  const out: StateDict = new Map([...weights].filter(([n]) => !isLoraParam(n)));
  const scale = loraScale(lora);
  for (const layer of loraLayers(cfg, lora)) {
    const [w, a, b] = [`${layer}.weight`, loraA(layer), loraB(layer)].map((n) => {
      const t = weights.get(n);
      if (!t) throw new Error(`cannot merge LoRA: '${n}' is missing`);
      return t;
    }) as [Tensor, Tensor, Tensor];
    out.set(`${layer}.weight`, mergedWeight(w, a, b, scale));
  }
  return out;
}
