// Hugging Face names of the ViT families transformers models apart from ViT (DINOv2, BEiT, CLIP's and SigLIP's
// vision towers) → timm's (canonical), and what their config.json says that shapes cannot. DeiT names its layers as ViT
// does (hf.ts). q/k/v become timm's fused qkv; SigLIP's head becomes timm's attn_pool. The name tables serve the
// way back too (hf-families-write.ts).
import type { StateDict, Tensor } from '../graph/tensor.ts';
import type { MlpKind, ViTConfig } from '../model/config.ts';
import { UserError, shown } from '../errors.ts';
import { concatRows, reshape } from './layout.ts';
import { blockCount, mover } from './rename.ts';

export type FamilyNaming = 'dinov2' | 'beit' | 'clip';

/** The model types read here, by the naming their weights use. */
export const familyTypes: Readonly<Record<string, FamilyNaming>> = {
  dinov2: 'dinov2', dinov2_with_registers: 'dinov2', beit: 'beit',
  clip_vision_model: 'clip', siglip_vision_model: 'clip', clip: 'clip', siglip: 'clip',
};

/** transformers' `hidden_act` → the MLP kind that computes it. */
export const activations: Readonly<Record<string, MlpKind>> = {
  gelu: 'gelu', quick_gelu: 'quick_gelu', gelu_pytorch_tanh: 'gelu_tanh', gelu_new: 'gelu_tanh', gelu_fast: 'gelu_tanh',
};

/** Hints from a family's config.json (a CLIPModel/SiglipModel's `vision_config`, the vision tower's own). */
export function familyHints(path: string, cfg: Record<string, unknown>): Partial<ViTConfig> {
  const act = cfg.hidden_act;
  if (act !== undefined && (typeof act !== 'string' || !Object.hasOwn(activations, act))) {
    throw new UserError(`${path} has hidden_act ${shown(act)} (vitkit runs ${Object.keys(activations).join(', ')}): fix config.json`);
  }
  const mlp = act === undefined ? undefined : activations[act as string];
  return mlp && mlp !== 'gelu' ? { mlp } : {};
}

/** [HF name, timm name]: whole tensors, or modules whose `.weight` and `.bias` move together. */
export type NamePairs = readonly (readonly [string, string])[];

/**
 * Moves the tensors that `pairs` name from `src` to `out`, Hugging Face → timm when `toTimm`, else back; the
 * prefixes go before the pairs' names on each side. One table per family serves both directions.
 */
export function movePairs(src: StateDict, out: StateDict, pairs: NamePairs, toTimm: boolean, hf = '', timm = ''): void {
  const take = mover(src, out);
  for (const [h, t] of pairs) {
    const [from, to] = toTimm ? [hf + h, timm + t] : [timm + t, hf + h];
    for (const kind of ['', '.weight', '.bias']) take(from + kind, to + kind);
  }
}

/** q/k/v of one block (`hf` + each of `qkv`, .weight and .bias) fused into timm's `attn.qkv`. */
function fuseQkv(src: StateDict, out: StateDict, hf: string, timm: string, qkv: readonly string[]): void {
  for (const kind of ['weight', 'bias']) {
    const names = qkv.map((n) => `${hf}${n}.${kind}`);
    const parts = names.map((n) => src.get(n));
    if (parts.every((p) => !p)) continue;
    const missing = names.filter((_, j) => !parts[j]);
    if (missing.length) throw new UserError(`Hugging Face weights lack ${missing.join(', ')}: the checkpoint is incomplete`);
    out.set(`${timm}attn.qkv.${kind}`, concatRows(parts as Tensor[]));
    for (const n of names) src.delete(n);
  }
}

/** Each block's pairs, then its q/k/v fused: HF block `{hf}{i}.` → timm's `blocks.{i}.`. */
export function renameBlocks(src: StateDict, out: StateDict, hf: string, pairs: NamePairs, qkv: readonly string[]): void {
  const pattern = new RegExp(`^${hf.replace(/\./g, '\\.')}(\\d+)\\.`);
  for (let i = 0, n = blockCount(src.keys(), pattern); i < n; i++) {
    movePairs(src, out, pairs, true, `${hf}${i}.`, `blocks.${i}.`);
    fuseQkv(src, out, `${hf}${i}.`, `blocks.${i}.`, qkv);
  }
}

/** The head of the ...ForImageClassification classes, outside the base model's prefix. */
export const classifier: NamePairs = [['classifier', 'head']];

/** DINOv2's names outside the blocks and the head (Dinov2ForImageClassification's reads [class token, patches' mean]). */
export const dinov2Top: NamePairs = [
  ['embeddings.cls_token', 'cls_token'], ['embeddings.register_tokens', 'reg_token'],
  ['embeddings.position_embeddings', 'pos_embed'], ['embeddings.patch_embeddings.projection', 'patch_embed.proj'],
  ['layernorm', 'norm'],
];
export const dinov2Block: NamePairs = [
  ['norm1', 'norm1'], ['attention.output.dense', 'attn.proj'], ['layer_scale1.lambda1', 'ls1.gamma'], ['norm2', 'norm2'],
  ['layer_scale2.lambda1', 'ls2.gamma'],
];
/** DINOv2's MLP: plain, or SwiGLU (fc1 packing both halves, as timm's SwiGLUPacked). */
export const dinov2Mlp: NamePairs = [['mlp.fc1', 'mlp.fc1'], ['mlp.fc2', 'mlp.fc2']];
export const dinov2SwiGlu: NamePairs = [['mlp.weights_in', 'mlp.fc1'], ['mlp.weights_out', 'mlp.fc2']];
/** transformers' q/k/v linears in a ViT-, DeiT-, DINOv2- or BEiT-named block. */
export const attentionQkv = ['query', 'key', 'value'].map((n) => `attention.attention.${n}`);

/**
 * Dinov2Model / Dinov2WithRegistersModel (and their classifiers) → timm. With registers, transformers' position
 * embeddings still have a class entry while timm's cover the patches only (no_embed_class): the class entry is
 * folded into the class token, as timm's own conversion does, which computes the same thing.
 */
function dinov2ToTimm(hf: StateDict): StateDict {
  const src: StateDict = new Map([...hf].map(([k, v]) => [k.replace(/^dinov2(_with_registers)?\./, ''), v]));
  const out: StateDict = new Map();
  const pos = src.get('embeddings.position_embeddings');
  const cls = src.get('embeddings.cls_token');
  if (src.has('embeddings.register_tokens') && pos && cls) {
    const [, t, d] = pos.shape as [number, number, number];
    const p = pos.data as Float32Array;
    out.set('cls_token', { ...cls, data: (cls.data as Float32Array).map((v, i) => v + p[i]!) });
    out.set('pos_embed', reshape({ ...pos, data: p.slice(d) }, [1, t - 1, d]));
    src.delete('embeddings.position_embeddings');
    src.delete('embeddings.cls_token');
  }
  src.delete('embeddings.mask_token'); // masked-image pre-training only
  movePairs(src, out, [...dinov2Top, ...classifier], true);
  renameBlocks(src, out, 'encoder.layer.', [...dinov2Block, ...dinov2Mlp, ...dinov2SwiGlu], attentionQkv);
  for (const [k, v] of src) out.set(k, v);
  return out;
}

/** BEiT's names outside the blocks and the head: mean pooling's norm is the pooler's, class-token pooling's the encoder's. */
export const beitTop: NamePairs = [
  ['embeddings.cls_token', 'cls_token'], ['embeddings.position_embeddings', 'pos_embed'],
  ['embeddings.patch_embeddings.projection', 'patch_embed.proj'], ['pooler.layernorm', 'fc_norm'], ['layernorm', 'norm'],
];
/** BEiT's block: q and v biases stay apart (there is no k bias); a relative position bias table per block. */
export const beitBlock: NamePairs = [
  ['attention.attention.query.bias', 'attn.q_bias'], ['attention.attention.value.bias', 'attn.v_bias'],
  ['layernorm_before', 'norm1'], ['attention.attention.relative_position_bias.relative_position_bias_table', 'attn.relative_position_bias_table'],
  ['attention.output.dense', 'attn.proj'], ['lambda_1', 'ls1.gamma'], ['layernorm_after', 'norm2'],
  ['intermediate.dense', 'mlp.fc1'], ['output.dense', 'mlp.fc2'], ['lambda_2', 'ls2.gamma'],
];

/** BeitModel / BeitForImageClassification → timm's Beit. */
function beitToTimm(hf: StateDict): StateDict {
  const src: StateDict = new Map([...hf].map(([k, v]) => [k.replace(/^beit\./, ''), v]));
  if (src.has('encoder.relative_position_bias.relative_position_bias_table')) {
    throw new UserError(
      'this BEiT shares one relative position bias table across blocks (a pre-training checkpoint), which vitkit does not build: ' +
        'use a fine-tuned BEiT',
    );
  }
  const out: StateDict = new Map();
  src.delete('embeddings.mask_token');
  movePairs(src, out, [...beitTop, ...classifier], true);
  renameBlocks(src, out, 'encoder.layer.', beitBlock, attentionQkv);
  for (const [k, v] of src) out.set(k, v);
  return out;
}

/** CLIP's and SigLIP's names outside the blocks that are plain renames (SigLIP's MAP head is `head.*`). */
export const clipTop: NamePairs = [
  ['embeddings.patch_embedding', 'patch_embed.proj'], ['pre_layrnorm', 'norm_pre'], ['post_layernorm', 'norm'],
  ['head.probe', 'attn_pool.latent'], ['head.attention.out_proj', 'attn_pool.proj'], ['head.layernorm', 'attn_pool.norm'],
  ['head.mlp.fc1', 'attn_pool.mlp.fc1'], ['head.mlp.fc2', 'attn_pool.mlp.fc2'],
];
export const clipBlock: NamePairs = [
  ['layer_norm1', 'norm1'], ['self_attn.out_proj', 'attn.proj'], ['layer_norm2', 'norm2'], ['mlp.fc1', 'mlp.fc1'], ['mlp.fc2', 'mlp.fc2'],
];
export const clipQkv = ['q_proj', 'k_proj', 'v_proj'].map((n) => `self_attn.${n}`);

/** Rows [from, to) of a float32 matrix or vector. */
function rows(t: Tensor, from: number, to: number): Tensor {
  const width = t.data.length / t.shape[0]!;
  return { dtype: 'float32', shape: [to - from, ...t.shape.slice(1)], data: (t.data as Float32Array).slice(from * width, to * width) };
}

/** A tensor of a CLIPModel's or SiglipModel's text side (its tower, projection, and the two towers' logit scale and bias). */
export const isTextTower = (name: string): boolean => /^(text_model\.|text_projection\.|logit_scale$|logit_bias$)/.test(name);

/**
 * CLIPVisionModel[WithProjection] / SiglipVisionModel (or the vision tower of CLIPModel/SiglipModel, whose text
 * tower is dropped) → timm. CLIP's visual projection becomes timm's head with a zero bias, as timm converts it;
 * SigLIP's MAP head (nn.MultiheadAttention: one in-projection [3D, D]) becomes timm's attn_pool (q, kv).
 */
function clipToTimm(hf: StateDict): StateDict {
  const src: StateDict = new Map();
  for (const [k, v] of hf) if (!isTextTower(k)) src.set(k.replace(/^vision_model\./, ''), v);
  const out: StateDict = new Map();
  const cls = src.get('embeddings.class_embedding');
  if (cls) out.set('cls_token', reshape(cls, [1, 1, cls.data.length]));
  const pos = src.get('embeddings.position_embedding.weight');
  if (pos) out.set('pos_embed', reshape(pos, [1, ...pos.shape]));
  for (const n of ['embeddings.class_embedding', 'embeddings.position_embedding.weight', 'embeddings.position_ids']) src.delete(n);
  const proj = src.get('visual_projection.weight');
  if (proj) {
    out.set('head.weight', proj);
    out.set('head.bias', { dtype: 'float32', shape: [proj.shape[0]!], data: new Float32Array(proj.shape[0]!) });
    src.delete('visual_projection.weight');
  }
  for (const kind of ['weight', 'bias']) {
    const inProj = src.get(`head.attention.in_proj_${kind}`);
    if (inProj) {
      const d = inProj.shape[0]! / 3;
      out.set(`attn_pool.q.${kind}`, rows(inProj, 0, d));
      out.set(`attn_pool.kv.${kind}`, rows(inProj, d, 3 * d));
      src.delete(`head.attention.in_proj_${kind}`);
    }
  }
  movePairs(src, out, clipTop, true);
  renameBlocks(src, out, 'encoder.layers.', clipBlock, clipQkv);
  for (const [k, v] of src) out.set(k, v);
  return out;
}

/** Renames a family's Hugging Face tensors to timm's. */
export function familyToTimm(kind: FamilyNaming, hf: StateDict): StateDict {
  return kind === 'dinov2' ? dinov2ToTimm(hf) : kind === 'beit' ? beitToTimm(hf) : clipToTimm(hf);
}
