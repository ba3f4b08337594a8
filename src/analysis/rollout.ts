// Where a ViT looks: attention from the output token back to the input patches (the paper's Fig. 6 and App. D.8).
// Rollout (Abnar & Zuidema 2020) averages each layer's heads, adds the identity for the residual path, renormalises
// the rows and multiplies the layers; 'last' and 'head' read a single layer for comparison.
import { UserError } from '../errors.ts';
import type { Tensor } from '../graph/tensor.ts';
import { type ViTConfig, prefixTokens } from '../model/config.ts';

/** How a map is made: rollout across all layers, the last layer's head mean, or one head of one layer (0-based). */
export type AttentionMethod =
  | { readonly kind: 'rollout' }
  | { readonly kind: 'last' }
  | { readonly kind: 'head'; readonly layer: number; readonly head: number };

/**
 * Which query the map is read from: the class token's row when the model classifies from it, else the mean over
 * the patch tokens' rows (what average pooling reads; the fallback for models without a class token).
 */
export type Readout = 'class-token' | 'mean-tokens';

/** The model facts a readout depends on. */
export type TokenLayout = Pick<ViTConfig, 'classToken' | 'pool' | 'distToken' | 'regTokens'>;

/** Attention weight per input patch. */
export interface AttentionMap {
  /** Row-major over the patch grid (grid² values). */
  readonly values: Float64Array;
  readonly grid: number;
  readonly readout: Readout;
}

/** The per-layer attention outputs (`attn.{i}`, [B, H, T, T]) of a run, in layer order. */
export function attentionLayers(outputs: Record<string, Tensor>, depth: number): Tensor[] {
  return Array.from({ length: depth }, (_, i) => {
    const a = outputs[`attn.${i}`];
    if (!a) throw new Error(`the run has no output attn.${i}: create the session with outputs ['attention']`);
    return a;
  });
}

/** Shape facts of one layer's [B, H, T, T] attention. */
function dims(layer: Tensor): { heads: number; tokens: number } {
  const [, heads, tokens, t2] = layer.shape as [number, number, number, number];
  if (layer.shape.length !== 4 || tokens !== t2) throw new Error(`attention has shape [${layer.shape}], expected [B, H, T, T]`);
  return { heads, tokens };
}

/** Where a model's maps are read out from: what its classifier reads. */
export function readoutOf(model: TokenLayout): Readout {
  return model.classToken && model.pool === 'token' ? 'class-token' : 'mean-tokens';
}

/** Patch grid side, prefix tokens (class, distillation, registers) and readout for T tokens of a model. */
function layout(tokens: number, model: TokenLayout): { grid: number; prefix: number; readout: Readout } {
  const prefix = prefixTokens(model);
  const grid = Math.round(Math.sqrt(tokens - prefix));
  if (grid * grid !== tokens - prefix) throw new Error(`${tokens} tokens is not ${prefix} + a square patch grid`);
  return { grid, prefix, readout: readoutOf(model) };
}

/** Heads `from`..`to` (exclusive) of image `b` averaged into one [T, T] row-stochastic matrix. */
function headMean(layer: Tensor, b: number, from: number, to: number): Float64Array {
  const { heads, tokens: t } = dims(layer);
  const data = layer.data as Float32Array;
  const out = new Float64Array(t * t);
  for (let h = from; h < to; h++) {
    const base = (b * heads + h) * t * t;
    for (let i = 0; i < t * t; i++) out[i]! += data[base + i]!;
  }
  for (let i = 0; i < t * t; i++) out[i]! /= to - from;
  return out;
}

/**
 * The share of the readout's attention (heads averaged) that register tokens (DINOv2) take in `layer`: a map shows
 * patches only, and registers soak up attention that would otherwise land on background patches.
 */
export function registerShare(layer: Tensor, b: number, model: TokenLayout): number {
  if (!model.regTokens) return 0;
  const { heads, tokens: t } = dims(layer);
  const { prefix, readout } = layout(t, model);
  const row = vectorTimes(readoutRow(t, prefix, readout), headMean(layer, b, 0, heads), t);
  let share = 0;
  for (let j = prefix - model.regTokens; j < prefix; j++) share += row[j]!;
  return share;
}

/** The query weights a map is read from: one-hot on the class token, or uniform over the patch tokens. */
function readoutRow(tokens: number, prefix: number, readout: Readout): Float64Array {
  const row = new Float64Array(tokens);
  if (readout === 'class-token') row[0] = 1;
  else row.fill(1 / (tokens - prefix), prefix);
  return row;
}

/** row ← row · (A + I) with A + I's rows renormalised (A's rows already sum to 1, so each row is halved). */
function throughResidualLayer(row: Float64Array, a: Float64Array, t: number): Float64Array {
  const out = new Float64Array(t);
  for (let i = 0; i < t; i++) {
    const r = row[i]!;
    if (r === 0) continue;
    let sum = 1; // the identity's contribution to row i
    for (let j = 0; j < t; j++) sum += a[i * t + j]!;
    const k = r / sum;
    out[i]! += k;
    for (let j = 0; j < t; j++) out[j]! += k * a[i * t + j]!;
  }
  return out;
}

function patchesOf(row: Float64Array, prefix: number, grid: number): Float64Array {
  return row.slice(prefix, prefix + grid * grid);
}

/**
 * The attention map of image `b` from per-layer attention probabilities ([B, H, T, T] each, layer order).
 * Rollout is R = Â_L ⋯ Â_1 with Â = rownorm(mean_heads(A) + I), read out as r·R; only r·R is formed (vector-matrix
 * products from the last layer down) since the readout row is all a map needs.
 */
export function attentionMap(layers: readonly Tensor[], b: number, method: AttentionMethod, model: TokenLayout): AttentionMap {
  if (layers.length === 0) throw new Error('attentionMap: no attention layers');
  const { heads, tokens: t } = dims(layers[0]!);
  const { grid, prefix, readout } = layout(t, model);
  let row = readoutRow(t, prefix, readout);
  if (method.kind === 'rollout') {
    for (let l = layers.length - 1; l >= 0; l--) row = throughResidualLayer(row, headMean(layers[l]!, b, 0, heads), t);
  } else {
    const layer = method.kind === 'last' ? layers.length - 1 : method.layer;
    const [from, to] = method.kind === 'last' ? [0, heads] : [method.head, method.head + 1];
    row = vectorTimes(row, headMean(layers[layer]!, b, from, to), t);
  }
  return { values: patchesOf(row, prefix, grid), grid, readout };
}

/** One map per head of a single layer ([B, H, T, T]) for image `b`, read out as {@link attentionMap} does. */
export function headMaps(layer: Tensor, b: number, model: TokenLayout): AttentionMap[] {
  const { heads, tokens: t } = dims(layer);
  const { grid, prefix, readout } = layout(t, model);
  return Array.from({ length: heads }, (_, h) => ({
    values: patchesOf(vectorTimes(readoutRow(t, prefix, readout), headMean(layer, b, h, h + 1), t), prefix, grid),
    grid,
    readout,
  }));
}

function vectorTimes(row: Float64Array, a: Float64Array, t: number): Float64Array {
  const out = new Float64Array(t);
  for (let i = 0; i < t; i++) {
    const r = row[i]!;
    if (r !== 0) for (let j = 0; j < t; j++) out[j]! += r * a[i * t + j]!;
  }
  return out;
}

/** Parses --method: `rollout`, `last`, or `head:L:H` (0-based layer and head), checked against the model. */
export function parseAttentionMethod(spec: string, depth: number, heads: number): AttentionMethod {
  if (spec === 'rollout' || spec === 'last') return { kind: spec };
  const m = /^head:(\d+):(\d+)$/.exec(spec);
  if (!m) throw new UserError(`unknown attention method '${spec}' (expected rollout|last|head:L:H)`);
  const [layer, head] = [Number(m[1]), Number(m[2])];
  if (layer >= depth || head >= heads) {
    throw new UserError(`attention method '${spec}' is out of range: the model has layers 0..${depth - 1} and heads 0..${heads - 1}`);
  }
  return { kind: 'head', layer, head };
}
