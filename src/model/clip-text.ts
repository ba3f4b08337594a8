// CLIP's text tower (Radford et al. 2021; transformers' CLIPTextModel + CLIPModel.text_projection) as an ONNX graph:
// token and position embeddings, pre-LN blocks under a causal mask (the ViT's own encoderBlock), a final LayerNorm,
// the features at the end-of-text token, and the projection into the joint image–text space (`text_embeds`).
// Parameter names follow the ViT's where the parts are the same (`blocks.{i}.*` with a fused qkv, `norm`); the
// Hugging Face names map onto them in weights/clip-text.ts.
import { Graph, type Value } from '../graph/graph.ts';
import type { StateDict } from '../graph/tensor.ts';
import { add, equal, where } from '../ops/elementwise.ts';
import { layerNorm } from '../ops/nn.ts';
import { argMax } from '../ops/reduce.ts';
import { gatherElements } from '../ops/scatter.ts';
import { concat, expand, gather, reshape, unsqueeze } from '../ops/shape.ts';
import type { MlpKind } from './config.ts';
import { float16Graph } from './fp16.ts';
import { int8Linear, isQuantized } from './int8.ts';
import {
  type BlockConfig, type LinearSource, type ParamSource, encoderBlock, floatLinear, initializerParams,
} from './vit.ts';

export interface ClipTextConfig {
  /** Token ids the embedding table covers (49,408 for OpenAI's BPE vocabulary). */
  readonly vocabSize: number;
  /** Rows of the position embedding: the longest token sequence (77 for OpenAI's CLIP). */
  readonly maxPositions: number;
  /** Token width D (512 for CLIP B/32 and B/16, 768 for L/14). */
  readonly embedDim: number;
  readonly depth: number;
  readonly numHeads: number;
  /** Hidden width of each block's MLP (4·D). */
  readonly mlpDim: number;
  /** LayerNorm epsilon (1e-5: CLIP was trained in PyTorch). */
  readonly layerNormEps: number;
  /** The blocks' activation: QuickGELU for OpenAI's weights, GELU for most OpenCLIP ones (`hidden_act`). */
  readonly mlp: MlpKind;
  /** Width of the joint embedding `text_embeds` (the projection's rows; the image tower's must match). */
  readonly projectionDim: number;
  /**
   * The end-of-text id whose first position is pooled. transformers' configs made before its PR #24773 say 2 (a
   * wrong id); for them transformers pools at the largest id instead (the end token is the highest id of OpenAI's
   * vocabulary), and so does vitkit.
   */
  readonly eosTokenId: number;
}

/** The `eos_token_id` of transformers' legacy configs, which pools at the argmax of the ids (CLIPTextTransformer). */
export const LEGACY_EOS_ID = 2;

/** Every parameter of the text tower, name → shape. */
export function clipTextParameterShapes(cfg: ClipTextConfig): Map<string, number[]> {
  const { embedDim: d, mlpDim: m } = cfg;
  const s = new Map<string, number[]>([['token_embed.weight', [cfg.vocabSize, d]], ['pos_embed', [cfg.maxPositions, d]]]);
  for (let i = 0; i < cfg.depth; i++) {
    const b = `blocks.${i}`;
    for (const [name, shape] of [
      ['norm1.weight', [d]], ['norm1.bias', [d]], ['attn.qkv.weight', [3 * d, d]], ['attn.qkv.bias', [3 * d]],
      ['attn.proj.weight', [d, d]], ['attn.proj.bias', [d]], ['norm2.weight', [d]], ['norm2.bias', [d]],
      ['mlp.fc1.weight', [m, d]], ['mlp.fc1.bias', [m]], ['mlp.fc2.weight', [d, m]], ['mlp.fc2.bias', [d]],
    ] as const) s.set(`${b}.${name}`, [...shape]);
  }
  s.set('norm.weight', [d]);
  s.set('norm.bias', [d]);
  s.set('proj.weight', [cfg.projectionDim, d]);
  return s;
}

/** The text tower's linear layers (name prefixes of `.weight`/`.bias`), for int8. */
export function clipTextLinearLayers(cfg: ClipTextConfig): string[] {
  const layers: string[] = [];
  for (let i = 0; i < cfg.depth; i++) {
    layers.push(...['attn.qkv', 'attn.proj', 'mlp.fc1', 'mlp.fc2'].map((l) => `blocks.${i}.${l}`));
  }
  return [...layers, 'proj'];
}

export interface ClipTextValues {
  /** [B, E] the projected features at the end token: transformers' `CLIPModel.get_text_features` (not normalised). */
  readonly textEmbeds: Value;
  /** [B, D] the final LayerNorm's output at the end token (CLIPTextModel's `pooler_output`). */
  readonly pooled: Value;
  /** [B, T, D] every token after the final LayerNorm (`last_hidden_state`). */
  readonly encoded: Value;
}

/** The int64 vector [n] holding axis `axis` of x's run-time shape. */
function dimOf(x: Value, axis: number): Value {
  const attrs = { start: { type: 'int', value: axis }, end: { type: 'int', value: axis + 1 } } as const;
  return x.graph.node('Shape', [x], [{ dtype: 'int64', shape: [1] }], attrs)[0]!;
}

/** Rows [0, n) of x along each of `axes`, n a run-time [1] int64 (the token count); `shape` is the result's. */
function leading(x: Value, n: Value, axes: readonly number[], shape: readonly (number | string)[]): Value {
  const g = x.graph;
  const ints = (v: readonly number[], prefix: string) =>
    g.constant({ dtype: 'int64', shape: [v.length], data: BigInt64Array.from(v, BigInt) }, prefix);
  const ends = axes.length === 1 ? n : concat(axes.map(() => n), 0);
  return g.node('Slice', [x, ints(axes.map(() => 0), 'starts'), ends, ints(axes, 'axes')], [{ dtype: x.dtype, shape }])[0]!;
}

/**
 * Builds the text tower on `ids` [B, T] int64 (both dims may be symbolic; T ≤ maxPositions): labels padded to the
 * longest, positions 0…T−1 as transformers numbers them. The causal mask lets each token see itself and those
 * before it, so padding after the end token never changes its features.
 */
export function buildClipText(
  cfg: ClipTextConfig,
  ids: Value,
  opts: { readonly params: ParamSource; readonly linear?: LinearSource },
): ClipTextValues {
  const shapes = clipTextParameterShapes(cfg);
  const p = (name: string): Value => opts.params(name, shapes.get(name)!);
  const dense = opts.linear ?? floatLinear(p);
  if (ids.rank !== 2 || ids.dtype !== 'int64') throw new Error(`CLIP text input is ${ids}, expected int64 [batch, tokens]`);
  const [, t] = ids.shape;
  const g = ids.graph;
  const d = cfg.embedDim;
  const n = dimOf(ids, 1);
  let x = add(gather(p('token_embed.weight'), ids, 0), leading(p('pos_embed'), n, [0], [t!, d])); // [B, T, D]
  // −∞ above the diagonal: exp gives exact zeros, so a token's softmax is over itself and the tokens before it
  const P = cfg.maxPositions;
  const causal = new Float32Array(P * P);
  for (let i = 0; i < P; i++) causal.fill(-Infinity, i * P + i + 1, (i + 1) * P);
  const mask = leading(g.constant({ dtype: 'float32', shape: [P, P], data: causal }, 'causal_mask'), n, [0, 1], [t!, t!]);
  const block: BlockConfig = {
    embedDim: d, numHeads: cfg.numHeads, layerNormEps: cfg.layerNormEps, qkvBias: true, mlp: cfg.mlp,
  };
  const parts = { param: p, dense, noise: (v: Value) => v, scoreBias: () => mask };
  for (let i = 0; i < cfg.depth; i++) x = encoderBlock(block, x, i, parts).out;
  const encoded = layerNorm(x, p('norm.weight'), p('norm.bias'), cfg.layerNormEps);
  // The end token's position per row (the first on ties, as torch.argmax): the largest id (legacy configs) or the
  // first eos_token_id. Then its features, gathered as a [B, 1, D] block.
  const isEos = () => where(equal(ids, g.scalar(cfg.eosTokenId, 'int64')), g.scalar(1, 'int64'), g.scalar(0, 'int64'));
  const end = argMax(cfg.eosTokenId === LEGACY_EOS_ID ? ids : isEos(), 1, true); // [B, 1]
  const index = expand(unsqueeze(end, [2]), [1, 1, d]); // [B, 1, D]
  const pooled = reshape(gatherElements(encoded, index, 1), [0, d]); // [B, 1, D] → [B, D]
  return { textEmbeds: dense(pooled, 'proj', false), pooled, encoded };
}

export type ClipTextOutputName = 'text_embeds' | 'pooled' | 'encoded';

export interface ClipTextGraphOptions {
  /** Compute in float16 (fp16.ts): input ids and float32 outputs as in the float32 graph. */
  readonly float16?: boolean;
}

/**
 * A complete inference graph: input `input_ids` int64 [batch, tokens] (both symbolic), weights as initializers
 * (int8 linear layers when the weights are quantized, see int8.ts), the requested outputs.
 */
export function clipTextGraph(
  cfg: ClipTextConfig,
  weights: StateDict,
  outputs: readonly ClipTextOutputName[] = ['text_embeds'],
  opts: ClipTextGraphOptions = {},
): Graph {
  const g = new Graph('clip_text');
  const ids = g.input('input_ids', 'int64', ['batch', 'tokens']);
  const int8 = isQuantized(weights);
  if (int8 && opts.float16) throw new Error('float16: the weights are int8 (dequantize them first)');
  const linear = int8 ? int8Linear(g, weights) : undefined;
  const v = buildClipText(cfg, ids, { params: initializerParams(g, weights), linear });
  const values: Record<ClipTextOutputName, Value> = { text_embeds: v.textEmbeds, pooled: v.pooled, encoded: v.encoded };
  for (const o of outputs) g.output(values[o], o);
  return opts.float16 ? float16Graph(g) : g;
}
