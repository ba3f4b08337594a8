// Hugging Face names of the ViT families transformers models apart from ViT (DINOv2, BEiT, CLIP's and SigLIP's
// vision towers) → timm's (canonical), and what their config.json says that shapes cannot. DeiT names its layers as ViT
// does (hf.ts). q/k/v become timm's fused qkv; SigLIP's head becomes timm's attn_pool.
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
const activations: Readonly<Record<string, MlpKind>> = {
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

/** Renames one block's tensors: [HF suffix, timm suffix] pairs for .weight and .bias, and q/k/v fused into qkv. */
function renameBlock(src: StateDict, out: StateDict, hf: string, timm: string, pairs: readonly [string, string][], qkv: readonly string[]): void {
  const take = mover(src, out);
  for (const kind of ['weight', 'bias']) {
    const names = qkv.map((n) => `${hf}${n}.${kind}`);
    const parts = names.map((n) => src.get(n));
    if (parts.every((p) => !p)) continue;
    const missing = names.filter((_, j) => !parts[j]);
    if (missing.length) throw new UserError(`Hugging Face weights lack ${missing.join(', ')}: the checkpoint is incomplete`);
    out.set(`${timm}attn.qkv.${kind}`, concatRows(parts as Tensor[]));
    for (const n of names) src.delete(n);
  }
  for (const [h, t] of pairs) {
    take(`${hf}${h}`, `${timm}${t}`); // layer scales have no .weight/.bias suffix
    for (const kind of ['weight', 'bias']) take(`${hf}${h}.${kind}`, `${timm}${t}.${kind}`);
  }
}

const dinoBlock: readonly [string, string][] = [
  ['norm1', 'norm1'], ['attention.output.dense', 'attn.proj'], ['layer_scale1.lambda1', 'ls1.gamma'], ['norm2', 'norm2'],
  ['mlp.fc1', 'mlp.fc1'], ['mlp.fc2', 'mlp.fc2'], ['mlp.weights_in', 'mlp.fc1'], ['mlp.weights_out', 'mlp.fc2'],
  ['layer_scale2.lambda1', 'ls2.gamma'],
];

/**
 * Dinov2Model / Dinov2WithRegistersModel → timm. With registers, transformers' position embeddings still have a
 * class entry while timm's cover the patches only (no_embed_class): the class entry is folded into the class token,
 * as timm's own conversion does, which computes the same thing.
 */
function dinov2ToTimm(hf: StateDict): StateDict {
  const src: StateDict = new Map([...hf].map(([k, v]) => [k.replace(/^dinov2\./, ''), v]));
  const out: StateDict = new Map();
  const take = mover(src, out);
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
  take('embeddings.cls_token', 'cls_token');
  take('embeddings.register_tokens', 'reg_token');
  take('embeddings.position_embeddings', 'pos_embed');
  for (const kind of ['weight', 'bias']) {
    take(`embeddings.patch_embeddings.projection.${kind}`, `patch_embed.proj.${kind}`);
    take(`layernorm.${kind}`, `norm.${kind}`);
  }
  src.delete('embeddings.mask_token'); // masked-image pre-training only
  // Dinov2ForImageClassification: a [K, 2D] head on the class token beside the patches' mean (pool 'token_avg')
  for (const kind of ['weight', 'bias']) take(`classifier.${kind}`, `head.${kind}`);
  const qkv = ['query', 'key', 'value'].map((n) => `attention.attention.${n}`);
  for (let i = 0, n = blockCount(src.keys(), /^encoder\.layer\.(\d+)\./); i < n; i++) {
    renameBlock(src, out, `encoder.layer.${i}.`, `blocks.${i}.`, dinoBlock, qkv);
  }
  for (const [k, v] of src) out.set(k, v);
  return out;
}

const beitBlock: readonly [string, string][] = [
  ['layernorm_before', 'norm1'], ['attention.attention.relative_position_bias.relative_position_bias_table', 'attn.relative_position_bias_table'],
  ['attention.output.dense', 'attn.proj'], ['lambda_1', 'ls1.gamma'], ['layernorm_after', 'norm2'],
  ['intermediate.dense', 'mlp.fc1'], ['output.dense', 'mlp.fc2'], ['lambda_2', 'ls2.gamma'],
];

/** BeitModel / BeitForImageClassification → timm's Beit: q and v biases stay apart (there is no k bias). */
function beitToTimm(hf: StateDict): StateDict {
  const src: StateDict = new Map([...hf].map(([k, v]) => [k.replace(/^beit\./, ''), v]));
  if (src.has('encoder.relative_position_bias.relative_position_bias_table')) {
    throw new UserError(
      'this BEiT shares one relative position bias table across blocks (a pre-training checkpoint), which vitkit does not build: use a fine-tuned BEiT',
    );
  }
  const out: StateDict = new Map();
  const take = mover(src, out);
  take('embeddings.cls_token', 'cls_token');
  src.delete('embeddings.mask_token');
  for (const kind of ['weight', 'bias']) {
    take(`embeddings.patch_embeddings.projection.${kind}`, `patch_embed.proj.${kind}`);
    take(`pooler.layernorm.${kind}`, `fc_norm.${kind}`); // mean pooling
    take(`layernorm.${kind}`, `norm.${kind}`); // class-token pooling
    take(`classifier.${kind}`, `head.${kind}`);
  }
  const qkv = ['query', 'key', 'value'].map((n) => `attention.attention.${n}`);
  for (let i = 0, n = blockCount(src.keys(), /^encoder\.layer\.(\d+)\./); i < n; i++) {
    const l = `encoder.layer.${i}.`;
    take(`${l}attention.attention.query.bias`, `blocks.${i}.attn.q_bias`);
    take(`${l}attention.attention.value.bias`, `blocks.${i}.attn.v_bias`);
    renameBlock(src, out, l, `blocks.${i}.`, beitBlock, qkv);
  }
  for (const [k, v] of src) out.set(k, v);
  return out;
}

const clipBlock: readonly [string, string][] = [
  ['layer_norm1', 'norm1'], ['self_attn.out_proj', 'attn.proj'], ['layer_norm2', 'norm2'], ['mlp.fc1', 'mlp.fc1'], ['mlp.fc2', 'mlp.fc2'],
];

/** Rows [from, to) of a float32 matrix or vector. */
function rows(t: Tensor, from: number, to: number): Tensor {
  const width = t.data.length / t.shape[0]!;
  return { dtype: 'float32', shape: [to - from, ...t.shape.slice(1)], data: (t.data as Float32Array).slice(from * width, to * width) };
}

/**
 * CLIPVisionModel[WithProjection] / SiglipVisionModel (or the vision tower of CLIPModel/SiglipModel, whose text
 * tower is dropped) → timm. CLIP's visual projection becomes timm's head with a zero bias, as timm converts it;
 * SigLIP's MAP head (nn.MultiheadAttention: one in-projection [3D, D]) becomes timm's attn_pool (q, kv).
 */
function clipToTimm(hf: StateDict): StateDict {
  const src: StateDict = new Map();
  for (const [k, v] of hf) if (!/^(text_model\.|text_projection\.|logit_scale$|logit_bias$)/.test(k)) src.set(k.replace(/^vision_model\./, ''), v);
  const out: StateDict = new Map();
  const take = mover(src, out);
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
    take(`embeddings.patch_embedding.${kind}`, `patch_embed.proj.${kind}`);
    take(`pre_layrnorm.${kind}`, `norm_pre.${kind}`);
    take(`post_layernorm.${kind}`, `norm.${kind}`);
    take(`head.attention.out_proj.${kind}`, `attn_pool.proj.${kind}`);
    take(`head.layernorm.${kind}`, `attn_pool.norm.${kind}`);
    for (const fc of ['fc1', 'fc2']) take(`head.mlp.${fc}.${kind}`, `attn_pool.mlp.${fc}.${kind}`);
    const inProj = src.get(`head.attention.in_proj_${kind}`);
    if (inProj) {
      const d = inProj.shape[0]! / 3;
      out.set(`attn_pool.q.${kind}`, rows(inProj, 0, d));
      out.set(`attn_pool.kv.${kind}`, rows(inProj, d, 3 * d));
      src.delete(`head.attention.in_proj_${kind}`);
    }
  }
  take('head.probe', 'attn_pool.latent');
  const qkv = ['q_proj', 'k_proj', 'v_proj'].map((n) => `self_attn.${n}`);
  for (let i = 0, n = blockCount(src.keys(), /^encoder\.layers\.(\d+)\./); i < n; i++) {
    renameBlock(src, out, `encoder.layers.${i}.`, `blocks.${i}.`, clipBlock, qkv);
  }
  for (const [k, v] of src) out.set(k, v);
  return out;
}

/** Renames a family's Hugging Face tensors to timm's. */
export function familyToTimm(kind: FamilyNaming, hf: StateDict): StateDict {
  return kind === 'dinov2' ? dinov2ToTimm(hf) : kind === 'beit' ? beitToTimm(hf) : clipToTimm(hf);
}
