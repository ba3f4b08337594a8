// The Vision Transformer as an ONNX graph (Dosovitskiy et al. 2021, eqs. 1–4), with timm's parameter names.
import { type Dim, Graph, type Value } from '../graph/graph.ts';
import { type StateDict, formatShape, numel } from '../graph/tensor.ts';
import { add, mul, tanh } from '../ops/elementwise.ts';
import { attention } from '../ops/attention.ts';
import { layerNorm, linear, softmax } from '../ops/nn.ts';
import { matmul } from '../ops/matmul.ts';
import { reduceMean } from '../ops/reduce.ts';
import { concat, expand, reshape, slice, split, take, transpose } from '../ops/shape.ts';
import { type ViTConfig, gridSize, prefixTokens, tokenCount } from './config.ts';
import type { AttentionSource } from './fused-attention.ts';
import { mapPool } from './map-head.ts';
import { relPosBias } from './rel-pos-bias.ts';
import { mlpHidden } from './mlp.ts';
import { parameterShapes } from './params.ts';
import { hybridTokens } from './resnet-v2.ts';

/** Supplies the graph value for a parameter: an initializer (inference) or a graph input (training). */
export type ParamSource = (name: string, shape: readonly number[]) => Value;

/** The model's values that may be exposed as graph outputs. */
export interface ViTValues {
  /** [B, K] class scores (absent when numClasses is 0). */
  readonly logits?: Value;
  /** [B, D'] pooled, normalised features fed to the head (after the pre-logits layer when there is one). */
  readonly pooled: Value;
  /** [B, T, D] encoder output after the final LayerNorm (token pooling) or before pooling (avg pooling). */
  readonly encoded: Value;
  /** Per block i: [B, heads, T, T] softmax attention probabilities. */
  readonly attention: readonly Value[];
  /** Per block i: [B, T, D] tokens leaving the block. */
  readonly tokens: readonly Value[];
}

/** Where training noise may apply: dropout on a value, or stochastic depth on block `block`'s residual branch. */
export interface NoiseSite {
  readonly kind: 'dropout' | 'drop-path' | 'lora-dropout';
  /** Unique per site, e.g. `pos`, `blocks.0.mlp.fc1`, `blocks.0.drop_path1`. */
  readonly name: string;
  readonly block?: number;
}

export interface ViTBuildOptions {
  readonly params: ParamSource;
  /**
   * Training noise (see noise-masks.ts): called with each site's value, returns it masked. Sites follow the
   * paper and timm: dropout after the position embeddings, after the attention projection and after both MLP
   * layers; drop path on both residual branches of every block. Absent: no noise (inference graphs).
   */
  readonly noise?: (x: Value, site: NoiseSite) => Value;
  /**
   * Builds linear layer `layer` (a name prefix such as `blocks.0.mlp.fc1`) on `x` [..., in] in another numeric
   * form (int8, see int8.ts). Absent: x·Wᵀ + b on the float32 parameters from `params`.
   */
  readonly linear?: LinearSource;
  /**
   * Builds each block's attention (q/k/v projection to the weighted sum, before the output projection) as one
   * fused kernel (see fused-attention.ts). The attention probabilities are then not available: `attention` is empty.
   */
  readonly attention?: AttentionSource;
  /**
   * Inference graphs that read only the first `n` tokens (class-token pooling, DeiT's distillation token): the last
   * block's attention computes only their queries (over every token's keys and values), and only they go on through
   * the token-wise layers (projection, MLP, LayerNorms), so `encoded` and the last `tokens` have `n` tokens.
   */
  readonly keepTokens?: number;
  /**
   * Start at block k: the input is then the tokens entering it [B, T, D] (what `tokensBefore` computes; a run that
   * trains nothing below block k feeds them from a cache, train/cached-features.ts), and neither the embedding nor
   * blocks 0…k−1 are built or ask for their parameters. `attention` and `tokens` list blocks k… only.
   */
  readonly fromBlock?: number;
}

/** A linear layer's implementation, given its input, its parameter-name prefix and whether it has a bias. */
export type LinearSource = (x: Value, layer: string, bias: boolean) => Value;

/** Parameters as initializers from a state dict, checked against the config's shapes. */
export function initializerParams(g: Graph, weights: StateDict): ParamSource {
  return (name, shape) => {
    const t = weights.get(name);
    if (!t) throw new Error(`missing parameter '${name}' (expected shape ${formatShape(shape)})`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`parameter '${name}' has shape ${formatShape(t.shape)}, expected ${formatShape(shape)}`);
    }
    return g.initializer(name, t);
  };
}

/**
 * x·Wᵀ + b on the float32 parameters `p` gives; the patch projection's P×P conv kernel [D, C, P, P] is used as a
 * linear map on flattened patches.
 */
export function floatLinear(p: (name: string) => Value): LinearSource {
  return (x, layer, bias) => {
    const w = p(`${layer}.weight`);
    const [out, ...rest] = w.dims;
    return linear(x, rest.length === 1 ? w : reshape(w, [out!, numel(rest)]), bias ? p(`${layer}.bias`) : null);
  };
}

/** Parameters as float32 graph inputs named after them (the training step feeds them each run). */
export function inputParams(g: Graph): ParamSource {
  return (name, shape) => g.input(name, 'float32', shape);
}

/**
 * Builds the ViT forward pass on `images` [B, C, S, S] (S = cfg.imgSize; B may be symbolic), or from block
 * `opts.fromBlock` on the tokens entering it. The position embeddings supplied by `params` must already match the
 * grid (see resamplePosEmbed).
 */
export function buildViT(cfg: ViTConfig, input: Value, opts: ViTBuildOptions): ViTValues {
  const from = opts.fromBlock ?? 0;
  const parts = blockParts(cfg, opts);
  let x = opts.fromBlock === undefined ? embed(cfg, input, parts) : checkTokens(cfg, input, from);
  const attention: Value[] = [];
  const tokens: Value[] = [];
  for (let i = from; i < cfg.depth; i++) {
    const block = encoderBlock(cfg, x, i, parts, i === cfg.depth - 1 ? opts.keepTokens : undefined);
    if (block.attention) attention.push(block.attention);
    x = block.out;
    tokens.push(x);
  }
  return { ...poolAndHead(cfg, x, parts), attention, tokens };
}

/** The tokens entering block `block` [B, T, D]: the embedding (eq. 1) and blocks 0…block−1 on `images`. */
export function tokensBefore(cfg: ViTConfig, images: Value, block: number, opts: ViTBuildOptions): Value {
  checkBlock(cfg, block);
  const parts = blockParts(cfg, opts);
  let x = embed(cfg, images, parts);
  for (let i = 0; i < block; i++) x = encoderBlock(cfg, x, i, parts).out;
  return x;
}

function checkBlock(cfg: ViTConfig, block: number): void {
  if (!(Number.isInteger(block) && block >= 0 && block <= cfg.depth)) throw new Error(`block ${block} is not one of the model's 0…${cfg.depth}`);
}

function checkTokens(cfg: ViTConfig, tokens: Value, block: number): Value {
  checkBlock(cfg, block);
  const [batch] = tokens.shape;
  const expected = [batch!, tokenCount(cfg), cfg.embedDim];
  if (tokens.rank !== 3 || tokens.shape.some((s, i) => s !== expected[i])) {
    throw new Error(`the tokens entering block ${block} are ${tokens}, expected ${formatShape(expected)}`);
  }
  return tokens;
}

/** BlockParts from the build options, plus the parameter source by name alone. */
function blockParts(cfg: ViTConfig, opts: ViTBuildOptions): BlockParts & { readonly drop: (v: Value, name: string) => Value } {
  const shapes = parameterShapes(cfg);
  const p = (name: string): Value => opts.params(name, shapes.get(name)!);
  const noise = opts.noise ?? ((v: Value) => v);
  const grid = gridSize(cfg);
  return {
    param: p,
    dense: opts.linear ?? floatLinear(p),
    noise,
    drop: (v, name) => noise(v, { kind: 'dropout', name }),
    attention: opts.attention,
    scoreBias: cfg.relPosBias ? (b) => relPosBias(p(`${b}.attn.relative_position_bias_table`), grid) : undefined,
  };
}

/** Eq. 1: the tokens entering block 0 [B, T, D] from images [B, C, S, S]. */
function embed(cfg: ViTConfig, images: Value, parts: ReturnType<typeof blockParts>): Value {
  const { param: p, dense, drop } = parts;
  const d = cfg.embedDim;
  const [batch] = images.shape as [Dim];
  const expected = [batch, cfg.inChans, cfg.imgSize, cfg.imgSize];
  if (images.rank !== 4 || images.shape.some((s, i) => s !== expected[i])) {
    throw new Error(`ViT input is ${images}, expected ${formatShape(expected)}`);
  }

  // The token source: image patches, or (hybrid) the projected cells of a ResNetV2 feature map.
  const x = cfg.backbone ? hybridTokens(cfg.backbone, images, p, cfg.patchSize) : patchTokens(images, cfg, dense); // [B, N, D]

  // Prefix tokens (class, distillation, registers) join the patches before the position embeddings are added, or
  // after, when those cover the patches only (noEmbedClass).
  const perImage = (name: string, n: number) => (typeof batch === 'number' ? expand(p(name), [batch, n, d]) : broadcastBatch(p(name), x));
  const prefix = [
    ...(cfg.classToken ? [perImage('cls_token', 1)] : []),
    ...(cfg.distToken ? [perImage('dist_token', 1)] : []),
    ...(cfg.regTokens ? [perImage('reg_token', cfg.regTokens)] : []),
  ];
  const withPrefix = (y: Value) => (prefix.length ? concat([...prefix, y], 1) : y); // [B, T, D], T = prefix + N
  let t: Value;
  if (cfg.absPosEmbed === false) t = drop(withPrefix(x), 'pos');
  else t = drop(cfg.noEmbedClass ? withPrefix(add(x, p('pos_embed'))) : add(withPrefix(x), p('pos_embed')), 'pos');
  return cfg.preNorm ? layerNorm(t, p('norm_pre.weight'), p('norm_pre.bias'), cfg.layerNormEps) : t;
}

/** Eq. 4 and the head: the final LayerNorm, the pooling (class token, mean, MAP), pre-logits and the classifier. */
function poolAndHead(cfg: ViTConfig, x: Value, parts: ReturnType<typeof blockParts>): Pick<ViTValues, 'logits' | 'pooled' | 'encoded'> {
  const { param: p, dense } = parts;
  let encoded: Value;
  let pooled: Value;
  let logits: Value | undefined;
  const numPrefix = prefixTokens(cfg);
  const grid = gridSize(cfg);
  const patchMean = (y: Value) => reduceMean(numPrefix ? slice(y, [1], [numPrefix], [numPrefix + grid * grid]) : y, [1]); // [B, D]
  if (cfg.pool === 'avg') {
    encoded = x;
    pooled = layerNorm(patchMean(x), p('fc_norm.weight'), p('fc_norm.bias'), cfg.layerNormEps);
  } else {
    encoded = layerNorm(x, p('norm.weight'), p('norm.bias'), cfg.layerNormEps);
    if (cfg.pool === 'map') pooled = mapPool(encoded, cfg.numHeads, cfg.layerNormEps, cfg.mlp, { param: p, dense });
    else pooled = take(encoded, 0, 1); // [B, D]: the class token
    if (cfg.pool === 'token_avg') pooled = concat([pooled, patchMean(encoded)], 1); // [B, 2D]
  }
  if (cfg.distToken) {
    // DeiT: each head reads its own token; at inference the two predictions (and features) are averaged.
    const dist = take(encoded, 1, 1);
    if (cfg.numClasses > 0) logits = mul(add(dense(pooled, 'head', true), dense(dist, 'head_dist', true)), 0.5);
    pooled = mul(add(pooled, dist), 0.5);
  }
  if (cfg.preLogitsDim > 0) pooled = tanh(dense(pooled, 'pre_logits.fc', true));
  if (cfg.numClasses > 0) logits ??= dense(pooled, 'head', true);
  return { logits, pooled, encoded };
}

/** The switches of a pre-LN Transformer block: the ViT's (ViTConfig has them all) and CLIP's text tower's. */
export type BlockConfig = Pick<
  ViTConfig,
  'embedDim' | 'numHeads' | 'layerNormEps' | 'qkvBias' | 'qvBias' | 'mlp' | 'layerScale'
>;

/** What a block is built from besides its input and config. */
export interface BlockParts {
  /** A parameter by its full name (`blocks.{i}.norm1.weight`, …). */
  readonly param: (name: string) => Value;
  readonly dense: LinearSource;
  /** Training noise at each site (see ViTBuildOptions.noise); the identity for inference. */
  readonly noise: (x: Value, site: NoiseSite) => Value;
  /** A fused attention kernel (ViTBuildOptions.attention); absent: plain attention, probabilities available. */
  readonly attention?: AttentionSource;
  /**
   * An additive bias on block `b`'s attention scores before the softmax, broadcast over [B, H, T, T]: BEiT's
   * relative position bias [H, T, T], or a causal mask [T, T] (CLIP's text tower). Absent or null: none.
   */
  readonly scoreBias?: (b: string) => Value | null;
}

/**
 * Encoder block i on tokens x [B, T, D] (T may be symbolic): x + ls1·proj(attn(norm1(x))), then
 * x + ls2·fc2(act(fc1(norm2(x)))), with dropout and drop path where `parts.noise` puts them. Returns the tokens
 * leaving the block and, for plain attention, its [B, H, T, T] probabilities. With `queries`, only the first
 * `queries` tokens leave it (their attention over every token, then the token-wise layers on them alone).
 */
export function encoderBlock(
  cfg: BlockConfig, x: Value, i: number, parts: BlockParts, queries?: number,
): { out: Value; attention?: Value } {
  const { param: p, dense, noise } = parts;
  const b = `blocks.${i}`;
  const drop = (v: Value, name: string): Value => noise(v, { kind: 'dropout', name });
  const dropPath = (v: Value, name: string): Value => noise(v, { kind: 'drop-path', name: `${b}.${name}`, block: i });
  // Layer scale: a learned per-channel gain on a residual branch, before stochastic depth (timm's ls1/ls2).
  const scaled = (v: Value, name: string) => (cfg.layerScale ? mul(v, p(`${b}.${name}.gamma`)) : v);
  const normed = layerNorm(x, p(`${b}.norm1.weight`), p(`${b}.norm1.bias`), cfg.layerNormEps);
  let out: Value;
  let probs: Value | undefined;
  if (parts.attention) out = parts.attention(normed, b, dense, queries);
  else [out, probs] = selfAttention(normed, cfg.numHeads, qkvProjection(cfg, b, p, dense), parts.scoreBias?.(b) ?? null);
  const firstTokens = (v: Value) => (queries && v.shape[1] !== queries ? slice(v, [1], [0], [queries]) : v);
  [x, out] = [firstTokens(x), firstTokens(out)];
  x = add(x, dropPath(scaled(drop(dense(out, `${b}.attn.proj`, true), `${b}.attn`), 'ls1'), 'drop_path1'));
  const h = layerNorm(x, p(`${b}.norm2.weight`), p(`${b}.norm2.bias`), cfg.layerNormEps);
  const hidden = drop(mlpHidden(dense(h, `${b}.mlp.fc1`, true), cfg.mlp), `${b}.mlp.fc1`);
  x = add(x, dropPath(scaled(drop(dense(hidden, `${b}.mlp.fc2`, true), `${b}.mlp.fc2`), 'ls2'), 'drop_path2'));
  return { out: x, ...(probs ? { attention: probs } : {}) };
}

/** Linear patch embedding (eq. 1) of images [B, C, S, S] → [B, N, D]. */
function patchTokens(images: Value, cfg: ViTConfig, dense: LinearSource): Value {
  const { patchSize: ps, inChans: c } = cfg;
  const grid = gridSize(cfg);
  // Patchify by reshape: [B, C, S, S] → [B, C, g, P, g, P] → [B, g, g, C, P, P] → [B, N, C·P·P].
  let x = reshape(images, [0, c, grid, ps, grid, ps]);
  x = transpose(x, [0, 2, 4, 1, 3, 5]);
  x = reshape(x, [0, grid * grid, c * ps * ps]);
  return dense(x, 'patch_embed.proj', cfg.patchBias ?? true); // the P×P conv kernel as a linear map on flattened patches
}

/** Block `b`'s q/k/v projection [B, T, D] → [B, T, 3D]; BEiT's bias has q and v parts only (zeros for k). */
function qkvProjection(cfg: BlockConfig, b: string, p: (name: string) => Value, dense: LinearSource): (x: Value) => Value {
  return (x) => {
    const qkv = dense(x, `${b}.attn.qkv`, cfg.qkvBias);
    if (!cfg.qvBias) return qkv;
    const zeros = x.graph.constant({ dtype: 'float32', shape: [cfg.embedDim], data: new Float32Array(cfg.embedDim) }, 'k_bias');
    return add(qkv, concat([p(`${b}.attn.q_bias`), zeros, p(`${b}.attn.v_bias`)], 0));
  };
}

/**
 * Multi-head self-attention on [B, T, D] (T may be symbolic); returns the heads' weighted values [B, T, D] (before
 * the output projection) and the [B, H, T, T] probabilities. A bias [H, T, T] (BEiT's relative position bias) or
 * [T, T] (a causal mask) joins the scaled scores before the softmax, composed from standard ops; without one, the
 * attention op with its own gradient rule.
 */
function selfAttention(x: Value, heads: number, project: (x: Value) => Value, bias: Value | null): [Value, Value] {
  const [, tokens, d] = x.shape as [Dim, Dim, number];
  const t = typeof tokens === 'number' ? tokens : 0; // a symbolic token count (CLIP's text) is carried by Reshape's 0
  const hd = d / heads;
  const qkv = project(x); // [B, T, 3D]
  // Split, then one transpose per operand: cheaper forward and backward than transposing a [3, B, H, T, hd] block and
  // gathering from it. The scale and kᵀ are left to attention(), where onnxruntime folds both into its MatMul.
  const [q0, k0, v0] = split(qkv, 2, [d, d, d]) as [Value, Value, Value]; // [B, T, D] each
  const perHead = (y: Value) => transpose(reshape(y, [0, t, heads, hd]), [0, 2, 1, 3]); // [B, H, T, hd]
  if (bias) {
    const kT = transpose(reshape(k0, [0, t, heads, hd]), [0, 2, 3, 1]); // [B, H, hd, T]
    const probs = softmax(add(mul(matmul(perHead(q0), kT), 1 / Math.sqrt(hd)), bias)); // [B, H, T, T]
    return [reshape(transpose(matmul(probs, perHead(v0)), [0, 2, 1, 3]), [0, t, d]), probs]; // [B, H, T, hd] → [B, T, D]
  }
  const { out, probs } = attention(perHead(q0), perHead(k0), perHead(v0), 1 / Math.sqrt(hd)); // [B, T, H, hd], [B, H, T, T]
  return [reshape(out, [0, t, d]), probs]; // [B, T, H, hd] → [B, T, D]
}

/** Repeats [1, n, D] tokens along a symbolic batch taken from `like` [B, …] at run time. */
function broadcastBatch(token: Value, like: Value): Value {
  const g = token.graph;
  const [, n, d] = token.shape as [number, number, number];
  const [batchDim] = g.node('Shape', [like], [{ dtype: 'int64', shape: [1] }], { start: { type: 'int', value: 0 }, end: { type: 'int', value: 1 } });
  const rest = g.constant({ dtype: 'int64', shape: [2], data: BigInt64Array.of(BigInt(n), BigInt(d)) }, 'shape');
  const shape = concat([batchDim!, rest], 0);
  return g.node('Expand', [token, shape], [{ dtype: token.dtype, shape: [like.shape[0]!, n, d] }])[0]!;
}
