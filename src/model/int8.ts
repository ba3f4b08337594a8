// int8 linear layers: weights quantized once (symmetric, per output channel by default), activations quantized
// per tensor at run time by onnxruntime's DynamicQuantizeMatMul (MLAS's VNNI/AVX2 u8s8 kernels). Everything
// that is not a linear layer (LayerNorm, biases, embeddings, attention) stays float32.
import type { Graph, Value } from '../graph/graph.ts';
import { type StateDict, type Tensor, formatShape, numel, tensor } from '../graph/tensor.ts';
import type { ViTConfig } from './config.ts';
import { parameterShapes } from './params.ts';

/**
 * The numeric form a model runs in: float32; int8 linear layers (this file; CPU only); or float16 compute
 * (fp16.ts; for GPUs with f16 shaders, float32 weights converted when the graph is built).
 */
export type Precision = 'fp32' | 'fp16' | 'int8';

export const precisions: readonly Precision[] = ['fp32', 'fp16', 'int8'];

/** Suffix of the float32 scales stored beside each int8 weight: `blocks.0.attn.qkv.weight_scale` [out] (or [1]). */
export const SCALE_SUFFIX = '_scale';

export interface QuantizeOptions {
  /** One scale per weight tensor instead of one per output channel (smaller, less accurate). */
  readonly perTensor?: boolean;
}

/**
 * The linear layers of a config (name prefixes of `.weight`/`.bias`): patch projection, attention, MLP, heads.
 * A hybrid's projection is a convolution over the backbone's feature map and, like the backbone, stays float32.
 */
export function linearLayers(cfg: ViTConfig): string[] {
  const layers = cfg.backbone ? [] : ['patch_embed.proj'];
  for (let i = 0; i < cfg.depth; i++) layers.push(...['attn.qkv', 'attn.proj', 'mlp.fc1', 'mlp.fc2'].map((l) => `blocks.${i}.${l}`));
  if (cfg.pool === 'map') layers.push('attn_pool.q', 'attn_pool.kv', 'attn_pool.proj', 'attn_pool.mlp.fc1', 'attn_pool.mlp.fc2');
  if (cfg.preLogitsDim > 0) layers.push('pre_logits.fc');
  if (cfg.numClasses > 0) layers.push('head', ...(cfg.distToken ? ['head_dist'] : []));
  return layers;
}

/** Whether a state dict holds int8 linear weights (a quantized checkpoint). */
export function isQuantized(weights: StateDict): boolean {
  for (const t of weights.values()) if (t.dtype === 'int8') return true;
  return false;
}

/**
 * Quantizes every linear weight [out, …in] to int8 with s = max|w| / 127 over each output row (or the whole
 * tensor): q = round(w / s) in [−127, 127], so zero stays exact and the int8 range is symmetric, as MLAS's
 * signed-weight kernels expect. Other tensors are shared, not copied.
 */
export function quantizeWeights(cfg: ViTConfig, weights: StateDict, opts: QuantizeOptions = {}): StateDict {
  return isQuantized(weights) ? weights : quantizeLayers(weights, linearLayers(cfg), opts);
}

/** quantizeWeights for any model: the linear layers named (prefixes of `.weight`) quantized, the rest shared. */
export function quantizeLayers(weights: StateDict, layers: readonly string[], opts: QuantizeOptions = {}): StateDict {
  const out: StateDict = new Map(weights);
  for (const layer of layers) {
    const name = `${layer}.weight`;
    const w = weights.get(name);
    if (!w) throw new Error(`cannot quantize: '${name}' is missing`);
    const rows = opts.perTensor ? 1 : w.shape[0]!;
    const cols = numel(w.shape) / rows;
    const src = w.data as Float32Array;
    const q = new Int8Array(src.length);
    const scales = new Float32Array(rows);
    for (let r = 0; r < rows; r++) {
      let max = 0;
      for (let i = r * cols; i < (r + 1) * cols; i++) max = Math.max(max, Math.abs(src[i]!));
      // An all-zero row (e.g. a zero-initialised head) keeps scale 1 so dequantizing never divides by zero.
      const s = max > 0 ? max / 127 : 1;
      scales[r] = s;
      for (let i = r * cols; i < (r + 1) * cols; i++) q[i] = Math.round(src[i]! / s);
    }
    out.set(name, tensor('int8', w.shape, q));
    out.set(name + SCALE_SUFFIX, tensor('float32', [rows], scales));
  }
  return out;
}

/** Float32 weights from a quantized state dict (q·s), for the paths that need floats (training, analysis, export). */
export function dequantizeWeights(cfg: ViTConfig, weights: StateDict): StateDict {
  if (!isQuantized(weights)) return weights;
  const out: StateDict = new Map();
  for (const [name, t] of weights) {
    if (name.endsWith(SCALE_SUFFIX)) continue;
    if (t.dtype !== 'int8') {
      out.set(name, t);
      continue;
    }
    const s = weights.get(name + SCALE_SUFFIX)!.data as Float32Array;
    const q = t.data as Int8Array;
    const cols = q.length / s.length;
    out.set(name, tensor('float32', t.shape, Float32Array.from(q, (v, i) => v * s[Math.floor(i / cols)]!)));
  }
  for (const name of parameterShapes(cfg).keys()) if (!out.has(name)) throw new Error(`dequantize: '${name}' is missing`);
  return out;
}

/**
 * Problems with a quantized state dict's int8 part, as sentences for checkWeights: each linear weight is int8
 * with a float32 scale of [out] or [1] values beside it; nothing else is int8 or has a scale.
 */
export function quantizationProblems(cfg: ViTConfig, weights: StateDict): string[] {
  const problems: string[] = [];
  const layers = new Set(linearLayers(cfg).map((l) => `${l}.weight`));
  for (const [name, t] of weights) {
    if (name.endsWith(SCALE_SUFFIX)) {
      const w = weights.get(name.slice(0, -SCALE_SUFFIX.length));
      if (!w || w.dtype !== 'int8') problems.push(`'${name}' scales no int8 weight`);
      else if (t.dtype !== 'float32' || t.shape.length !== 1 || (t.shape[0] !== 1 && t.shape[0] !== w.shape[0])) {
        problems.push(`'${name}' is ${t.dtype}${formatShape(t.shape)}, expected float32[${w.shape[0]}] or [1]`);
      } else if ((t.data as Float32Array).some((v) => !(v > 0 && Number.isFinite(v)))) {
        problems.push(`'${name}' has a scale that is not a positive finite number`);
      }
    } else if (t.dtype === 'int8') {
      if (!layers.has(name)) problems.push(`'${name}' is int8, but only linear-layer weights may be`);
      else if (!weights.has(name + SCALE_SUFFIX)) problems.push(`'${name}' is int8 without '${name}${SCALE_SUFFIX}'`);
    }
  }
  if (problems.length === 0) for (const l of layers) if (weights.get(l)?.dtype !== 'int8') problems.push(`'${l}' is float32 in an int8 checkpoint`);
  return problems;
}

/** A linear layer's int8 weight as onnxruntime's quantized ops take it: B [in, out], one scale and zero point per column. */
export interface Int8Columns {
  readonly weight: Value;
  readonly scale: Value;
  readonly zeroPoint: Value;
  readonly inFeatures: number;
  readonly outFeatures: number;
}

/** Layer `layer`'s int8 weight [out, in] (with its scales) from `weights` as initializers of `g`, in column form. */
export function int8Columns(g: Graph, weights: StateDict, layer: string): Int8Columns {
  const w = weights.get(`${layer}.weight`)! as Tensor<'int8'>;
  const scale = weights.get(`${layer}.weight${SCALE_SUFFIX}`)! as Tensor<'float32'>;
  const out = w.shape[0]!;
  const inFeatures = numel(w.shape) / out;
  // [out, in] → [in, out], the layout MatMul-style ops take for B
  const t = new Int8Array(w.data.length);
  for (let o = 0; o < out; o++) for (let i = 0; i < inFeatures; i++) t[i * out + o] = w.data[o * inFeatures + i]!;
  return {
    weight: g.initializer(`${layer}.weight.int8`, tensor('int8', [inFeatures, out], t)),
    scale: g.initializer(
      `${layer}.weight${SCALE_SUFFIX}`,
      scale.shape[0] === out ? scale : tensor('float32', [out], new Float32Array(out).fill(scale.data[0]!)),
    ),
    zeroPoint: g.initializer(`${layer}.weight.zero_point`, tensor('int8', [out], new Int8Array(out))),
    inFeatures,
    outFeatures: out,
  };
}

/**
 * A linear layer x·Wᵀ + b on int8 weights: com.microsoft DynamicQuantizeMatMul takes B as int8 [in, out] with one
 * scale per column, quantizes `x` to uint8 per tensor at run time and adds the float bias in the same kernel.
 */
export function int8Linear(g: Graph, weights: StateDict): (x: Value, layer: string, bias: boolean) => Value {
  return (x, layer, bias) => {
    const b = int8Columns(g, weights, layer);
    if (x.shape[x.rank - 1] !== b.inFeatures) {
      throw new Error(`int8 linear '${layer}': input ${x} does not fit weight ${formatShape(weights.get(`${layer}.weight`)!.shape)}`);
    }
    const bv = bias ? g.initializer(`${layer}.bias`, weights.get(`${layer}.bias`)!) : null;
    const shape = [...x.shape.slice(0, -1), b.outFeatures];
    return g.node('DynamicQuantizeMatMul', [x, b.weight, b.scale, b.zeroPoint, bv], [{ dtype: 'float32', shape }], {}, 'com.microsoft')[0]!;
  };
}
