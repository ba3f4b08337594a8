// A model → the transformers class that computes it, its config.json fields and its tensors by that class's names:
// ViT and DeiT (hf.ts), DINOv2 with or without registers, CLIP's and SigLIP's vision towers, BEiT. The inverse of
// hf.ts and hf-families.ts, through the same name tables. What transformers cannot express is refused in one line.
import type { StateDict, Tensor } from '../graph/tensor.ts';
import { type Pool, type ViTConfig, prefixTokens } from '../model/config.ts';
import { UserError } from '../errors.ts';
import { concatRows, reshape, splitRows } from './layout.ts';
import { timmToHf } from './hf.ts';
import {
  type NamePairs, activations, attentionQkv, beitBlock, beitTop, classifier, clipBlock, clipQkv, clipTop, dinov2Block,
  dinov2Mlp, dinov2SwiGlu, dinov2Top, movePairs,
} from './hf-families.ts';

export type HfType =
  'vit' | 'deit' | 'dinov2' | 'dinov2_with_registers' | 'clip_vision_model' | 'siglip_vision_model' | 'beit';

/** The transformers model type that computes a config: its family (config.ts's describeFamily) as HF names it. */
function hfTypeOf(cfg: ViTConfig): HfType {
  if (cfg.distToken) return 'deit';
  if (cfg.pool === 'map') return 'siglip_vision_model';
  if (cfg.preNorm) return 'clip_vision_model';
  if (cfg.relPosBias) return 'beit';
  if (cfg.regTokens) return 'dinov2_with_registers';
  if (cfg.layerScale || cfg.mlp === 'swiglu' || cfg.pool === 'token_avg') return 'dinov2';
  return 'vit';
}

const names: Readonly<Record<HfType, string>> = {
  vit: 'ViT', deit: 'DeiT', dinov2: 'DINOv2', dinov2_with_registers: 'DINOv2 with registers',
  clip_vision_model: 'CLIP vision model', siglip_vision_model: 'SigLIP vision model', beit: 'BEiT',
};
const dinos: readonly HfType[] = ['dinov2', 'dinov2_with_registers'];
const all = Object.keys(names) as HfType[];
const but = (...not: HfType[]) => all.filter((t) => !not.includes(t));

/** [what a config has, the types that can express it]. */
const switches: readonly [string, (c: ViTConfig) => boolean, readonly HfType[]][] = [
  ['a distillation token', (c) => !!c.distToken, ['deit']],
  ['register tokens', (c) => !!c.regTokens, dinos],
  ['position embeddings on register tokens', (c) => !!c.regTokens && !c.noEmbedClass, []],
  ['layer scale', (c) => !!c.layerScale, [...dinos, 'beit']],
  ['a LayerNorm before the blocks', (c) => !!c.preNorm, ['clip_vision_model']],
  ['a patch projection without bias', (c) => c.patchBias === false, ['clip_vision_model']],
  ['a patch projection bias', (c) => c.patchBias !== false, but('clip_vision_model')],
  ['a SwiGLU MLP', (c) => c.mlp === 'swiglu', dinos],
  ['relative position bias', (c) => !!c.relPosBias, ['beit']],
  ['a model without absolute position embeddings', (c) => c.absPosEmbed === false, ['beit']],
  ['a pre-logits layer', (c) => c.preLogitsDim > 0, []],
  ['a model without a class token', (c) => !c.classToken, ['siglip_vision_model']],
  ['a class token', (c) => c.classToken, but('siglip_vision_model')],
  ['a projection head', (c) => !!c.projectionHead && c.numClasses > 0, ['clip_vision_model']],
  // neither is the model vitkit trained: CLIPForImageClassification averages the patch tokens before the final
  // norm, SiglipForImageClassification the tokens instead of running the MAP head
  [
    "a classifier head (transformers' CLIP and SigLIP classifiers average the tokens instead)",
    (c) => !c.projectionHead && c.numClasses > 0, but('clip_vision_model', 'siglip_vision_model'),
  ],
];

/** How each type pools: the class token, the patches' mean (BEiT's pooler), class token + mean, the MAP head. */
const pools: Readonly<Record<HfType, readonly Pool[]>> = {
  vit: ['token'], deit: ['token'], dinov2: ['token', 'token_avg'], dinov2_with_registers: ['token', 'token_avg'],
  clip_vision_model: ['token'], siglip_vision_model: ['map'], beit: ['token', 'avg'],
};

const poolWords: Readonly<Record<Pool, string>> = {
  token: 'class-token pooling', avg: 'average pooling', map: 'a MAP head', token_avg: 'class token + patch mean pooling',
};

/** The reason transformers' `type` cannot compute this model, or undefined. */
function inexpressible(cfg: ViTConfig, type: HfType): string | undefined {
  const odd = switches.find(([, has, types]) => has(cfg) && !types.includes(type));
  if (odd) return odd[0];
  if (!pools[type].includes(cfg.pool)) return `${poolWords[cfg.pool]} (pool '${cfg.pool}')`;
  return undefined;
}

/** A float32 tensor of one value (0 unless given). */
const filled = (shape: number[], value = 0): Tensor =>
  ({ dtype: 'float32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(value) });

/**
 * timm's position embeddings with `n` zero entries in front. With no_embed_class (DINOv2 with registers) timm adds
 * no position to the class token, while transformers always adds its first entry to it: a zero entry adds nothing,
 * so transformers computes the same tokens, at this resolution and at any other (it resamples the patches' entries
 * only). Registers get no position in either.
 */
function withPrefixEntries(pos: Tensor, n: number): Tensor {
  if (n === 0) return pos;
  const [, t, d] = pos.shape as [number, number, number];
  return { dtype: 'float32', shape: [1, t + n, d], data: concatRows([filled([n * d]), reshape(pos, [t * d])]).data };
}

/** HF block `{hf}` ← timm's `blocks.{i}.`: the pairs, and qkv split into the three linears `qkv` names. */
function writeBlocks(
  src: StateDict, out: StateDict, cfg: ViTConfig, hf: string, pairs: NamePairs, qkv: readonly string[],
): void {
  for (let i = 0; i < cfg.depth; i++) {
    const b = `blocks.${i}.`;
    for (const kind of ['weight', 'bias']) {
      const fused = src.get(`${b}attn.qkv.${kind}`);
      if (!fused) continue;
      splitRows(fused, 3).forEach((t, j) => out.set(`${hf}${i}.${qkv[j]}.${kind}`, t));
      src.delete(`${b}attn.qkv.${kind}`);
    }
    movePairs(src, out, pairs, false, `${hf}${i}.`, `blocks.${i}.`);
  }
}

/** A q/k/v bias of zeros where the model has none: transformers' CLIP and SigLIP linears always have one. */
function zeroQkvBias(src: StateDict, cfg: ViTConfig): void {
  if (!cfg.qkvBias) for (let i = 0; i < cfg.depth; i++) src.set(`blocks.${i}.attn.qkv.bias`, filled([3 * cfg.embedDim]));
}

function dinov2FromTimm(cfg: ViTConfig, src: StateDict, out: StateDict, type: HfType): void {
  const prefix = cfg.numClasses > 0 ? `${type}.` : '';
  out.set(`${prefix}embeddings.mask_token`, filled([1, cfg.embedDim])); // masked pre-training only: unused here
  const head = src.get('head.weight');
  if (head && cfg.pool === 'token') {
    // Dinov2ForImageClassification reads [class token, mean of patches]: zero weights on the mean give a
    // classifier of the class token alone
    const [k, d] = head.shape as [number, number];
    const w = new Float32Array(k * 2 * d);
    for (let r = 0; r < k; r++) w.set((head.data as Float32Array).subarray(r * d, (r + 1) * d), r * 2 * d);
    src.set('head.weight', { dtype: 'float32', shape: [k, 2 * d], data: w });
  }
  // transformers' DINOv2 blocks always scale both branches: a scale of ones is none
  if (!cfg.layerScale) {
    const ones = filled([cfg.embedDim], 1);
    for (let i = 0; i < cfg.depth; i++) for (const ls of ['ls1', 'ls2']) src.set(`blocks.${i}.${ls}.gamma`, ones);
  }
  movePairs(src, out, dinov2Top, false, prefix);
  movePairs(src, out, classifier, false);
  const mlp = cfg.mlp === 'swiglu' ? dinov2SwiGlu : dinov2Mlp;
  writeBlocks(src, out, cfg, `${prefix}encoder.layer.`, [...dinov2Block, ...mlp], attentionQkv);
}

function beitFromTimm(cfg: ViTConfig, src: StateDict, out: StateDict): void {
  const prefix = cfg.numClasses > 0 ? 'beit.' : '';
  for (let i = 0; i < cfg.depth; i++) {
    const b = `blocks.${i}.attn.`;
    // transformers' BEiT has q and v biases (zero where the model has none) and no k bias: a k bias adds q·b_k to
    // all of a query's scores alike, which the softmax cancels, so dropping it computes the same attention
    const qkv = src.get(`${b}qkv.bias`);
    const parts = qkv && splitRows(qkv, 3);
    src.set(`${b}q_bias`, parts?.[0] ?? src.get(`${b}q_bias`) ?? filled([cfg.embedDim]));
    src.set(`${b}v_bias`, parts?.[2] ?? src.get(`${b}v_bias`) ?? filled([cfg.embedDim]));
    src.delete(`${b}qkv.bias`);
  }
  movePairs(src, out, beitTop, false, prefix);
  movePairs(src, out, classifier, false);
  writeBlocks(src, out, cfg, `${prefix}encoder.layer.`, beitBlock, attentionQkv);
}

function clipFromTimm(cfg: ViTConfig, src: StateDict, out: StateDict, type: HfType): void {
  const prefix = type === 'clip_vision_model' ? 'vision_model.' : ''; // as transformers saves each
  const d = cfg.embedDim;
  if (type === 'clip_vision_model') out.set(`${prefix}embeddings.class_embedding`, reshape(src.get('cls_token')!, [d]));
  const pos = src.get('pos_embed')!;
  out.set(`${prefix}embeddings.position_embedding.weight`, reshape(pos, pos.shape.slice(1)));
  const bias = src.get('head.bias');
  if (bias && (bias.data as Float32Array).some((x) => x !== 0)) {
    throw new UserError("CLIP's visual projection has no bias and this head's is not zero: save it as timm or vitkit");
  }
  const proj = src.get('head.weight');
  if (proj) out.set('visual_projection.weight', proj);
  for (const kind of ['weight', 'bias']) {
    const q = src.get(`attn_pool.q.${kind}`);
    const kv = src.get(`attn_pool.kv.${kind}`);
    if (q && kv) out.set(`${prefix}head.attention.in_proj_${kind}`, concatRows([q, kv])); // nn.MultiheadAttention's
  }
  for (const n of ['cls_token', 'pos_embed', 'head.weight', 'head.bias']) src.delete(n);
  for (const n of ['q', 'kv']) for (const kind of ['weight', 'bias']) src.delete(`attn_pool.${n}.${kind}`);
  zeroQkvBias(src, cfg);
  movePairs(src, out, clipTop, false, prefix);
  writeBlocks(src, out, cfg, `${prefix}encoder.layers.`, clipBlock, clipQkv);
}

/** transformers' `hidden_act` for an MLP kind: the first name hf-families.ts reads as it. */
function hiddenAct(cfg: ViTConfig): string {
  // SwiGLU ignores hidden_act (transformers' DINOv2 runs SiLU there): its default, which vitkit reads as no hint
  const mlp = cfg.mlp === 'swiglu' || !cfg.mlp ? 'gelu' : cfg.mlp;
  return Object.keys(activations).find((k) => activations[k] === mlp)!;
}

/**
 * DINOv2's mlp_ratio, an integer in transformers' config (5.x validates it as one): the MLP is int(D·ratio) wide,
 * SwiGLU's halves int(int(D·ratio)·2/3) rounded up to a multiple of 8 (DINOv2-G: D 1536, ratio 4, halves 4096).
 */
function dinov2MlpRatio(cfg: ViTConfig): number {
  const d = cfg.embedDim;
  const swiglu = cfg.mlp === 'swiglu';
  const width = swiglu ? cfg.mlpDim / 2 : cfg.mlpDim;
  const made = (ratio: number) => (swiglu ? Math.ceil(Math.trunc((d * ratio * 2) / 3) / 8) * 8 : d * ratio);
  // SwiGLU's width grows by about 2D/3 per step of the ratio: the candidates are the integers nearest 1.5·width/D
  const guess = Math.round(swiglu ? (1.5 * width) / d : width / d);
  const ratio = [guess - 1, guess, guess + 1].find((r) => r > 0 && made(r) === width);
  if (ratio === undefined) {
    const why = swiglu ? ' (SwiGLU halves: int(D·ratio·2/3) rounded up to a multiple of 8)' : '';
    const msg = `transformers' DINOv2 cannot make an MLP ${width} wide from width ${d} with an integer mlp_ratio${why}`;
    throw new UserError(`${msg}: save it as timm or vitkit`);
  }
  return ratio;
}

/** config.json fields beyond the shared ones, per type. */
function typeFields(cfg: ViTConfig, type: HfType): Record<string, unknown> {
  const dropout = { hidden_dropout_prob: 0.0, attention_probs_dropout_prob: 0.0 };
  switch (type) {
    case 'vit':
    case 'deit':
      return { qkv_bias: cfg.qkvBias, ...dropout };
    case 'dinov2':
    case 'dinov2_with_registers':
      return {
        mlp_ratio: dinov2MlpRatio(cfg), use_swiglu_ffn: cfg.mlp === 'swiglu', qkv_bias: cfg.qkvBias, apply_layernorm: true,
        ...(cfg.regTokens ? { num_register_tokens: cfg.regTokens } : {}), ...dropout,
      };
    case 'clip_vision_model':
      return { ...(cfg.numClasses > 0 ? { projection_dim: cfg.numClasses } : {}), attention_dropout: 0.0 };
    case 'siglip_vision_model':
      return { attention_dropout: 0.0 }; // the MAP head is the default (vision_use_head)
    case 'beit':
      return {
        use_relative_position_bias: true, use_shared_relative_position_bias: false,
        use_absolute_position_embeddings: cfg.absPosEmbed !== false, use_mean_pooling: cfg.pool === 'avg',
        // only zero matters here: it builds blocks without layer scale (the weights then set the scales)
        layer_scale_init_value: cfg.layerScale ? 0.1 : 0, use_mask_token: false, ...dropout,
      };
  }
}

const architectures: Readonly<Record<HfType, [string, string]>> = {
  // [headless, with a head]
  vit: ['ViTModel', 'ViTForImageClassification'],
  deit: ['DeiTModel', 'DeiTForImageClassificationWithTeacher'],
  dinov2: ['Dinov2Model', 'Dinov2ForImageClassification'],
  dinov2_with_registers: ['Dinov2WithRegistersModel', 'Dinov2WithRegistersForImageClassification'],
  clip_vision_model: ['CLIPVisionModel', 'CLIPVisionModelWithProjection'],
  siglip_vision_model: ['SiglipVisionModel', 'SiglipVisionModel'],
  beit: ['BeitModel', 'BeitForImageClassification'],
};

/** A model as transformers names it: its type, config.json's model fields (not the labels) and its tensors. */
export interface HfModel {
  readonly type: HfType;
  readonly config: Record<string, unknown>;
  readonly weights: StateDict;
}

/**
 * The transformers model that computes `cfg` (not a hybrid: saveCheckpoint refuses those) with canonical float32
 * `weights`, or a UserError saying why none does.
 */
export function hfModel(cfg: ViTConfig, weights: StateDict): HfModel {
  const type = hfTypeOf(cfg);
  const odd = inexpressible(cfg, type);
  if (odd) {
    throw new UserError(`transformers' ${names[type]} cannot express ${odd}, which this model has: save it as timm or vitkit`);
  }
  const config = {
    architectures: [architectures[type][cfg.numClasses > 0 ? 1 : 0]],
    model_type: type,
    hidden_size: cfg.embedDim,
    num_hidden_layers: cfg.depth,
    num_attention_heads: cfg.numHeads,
    // DINOv2's config has no intermediate_size: it sizes the MLP by mlp_ratio
    ...(dinos.includes(type) ? {} : { intermediate_size: cfg.mlpDim }),
    hidden_act: hiddenAct(cfg),
    layer_norm_eps: cfg.layerNormEps,
    image_size: cfg.imgSize,
    patch_size: cfg.patchSize,
    num_channels: cfg.inChans,
    ...typeFields(cfg, type),
  };
  const src = new Map(weights);
  const pos = src.get('pos_embed');
  // transformers embeds the class (and distillation) token's position: zero entries where timm's cover none
  if (pos && cfg.noEmbedClass) src.set('pos_embed', withPrefixEntries(pos, prefixTokens(cfg) - (cfg.regTokens ?? 0)));
  if (type === 'vit' || type === 'deit') return { type, config, weights: timmToHf(src) };
  const out: StateDict = new Map();
  if (dinos.includes(type)) dinov2FromTimm(cfg, src, out, type);
  else if (type === 'beit') beitFromTimm(cfg, src, out);
  else clipFromTimm(cfg, src, out, type);
  for (const [k, v] of src) out.set(k, v);
  return { type, config, weights: out };
}
