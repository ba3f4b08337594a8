// Hugging Face transformers ViT (and DeiT, which names its layers alike) parameter names ⇄ timm's (canonical). HF
// keeps query/key/value as separate linears where timm has one fused qkv [3D, D]; everything else is a rename.
import type { StateDict, Tensor } from '../graph/tensor.ts';
import { concatRows, splitRows } from './layout.ts';
import { blockCount, mover } from './rename.ts';
import { UserError } from '../errors.ts';

/** [timm suffix, HF suffix] inside one encoder block (each with .weight and .bias). */
const blockPairs: readonly [string, string][] = [
  ['norm1', 'layernorm_before'],
  ['attn.proj', 'attention.output.dense'],
  ['norm2', 'layernorm_after'],
  ['mlp.fc1', 'intermediate.dense'],
  ['mlp.fc2', 'output.dense'],
];

/** [timm name, HF name without the `vit.`/`deit.` prefix of ViTForImageClassification/DeiT*]. */
const topPairs: readonly [string, string][] = [
  ['cls_token', 'embeddings.cls_token'],
  ['dist_token', 'embeddings.distillation_token'],
  ['pos_embed', 'embeddings.position_embeddings'],
  ['patch_embed.proj.weight', 'embeddings.patch_embeddings.projection.weight'],
  ['patch_embed.proj.bias', 'embeddings.patch_embeddings.projection.bias'],
  ['norm.weight', 'layernorm.weight'],
  ['norm.bias', 'layernorm.bias'],
];

const qkv = ['query', 'key', 'value'] as const;

/** HF tensors vitkit has no use for: ViTModel's pooler (unused by classification) and the MIM mask token. */
const ignored = /^(pooler\.|embeddings\.mask_token$)/;

/** Whether tensor names look like Hugging Face ViT or DeiT ones (with or without the `vit.`/`deit.` prefix). */
export function isHfNaming(sd: StateDict): boolean {
  return [...sd.keys()].some((k) => /^((vit|deit)\.)?embeddings\.patch_embeddings\./.test(k));
}

/**
 * Renames a Hugging Face ViT state dict (ViTForImageClassification or ViTModel) or DeiT one (DeiTModel,
 * DeiTForImageClassification[WithTeacher]) to timm names, fusing query/key/value into qkv. Unrecognised names pass
 * through unchanged, so checkWeights can report them.
 */
export function hfToTimm(hf: StateDict): StateDict {
  const src = new Map([...hf].map(([k, v]) => [k.replace(/^(vit|deit)\./, ''), v]));
  const out: StateDict = new Map();
  const take = mover(src, out);
  for (const [timm, h] of topPairs) take(h, timm);
  for (let i = 0, depth = blockCount(src.keys(), /^encoder\.layer\.(\d+)\./); i < depth; i++) {
    const l = `encoder.layer.${i}.`;
    for (const kind of ['weight', 'bias']) {
      const parts = qkv.map((n) => src.get(`${l}attention.attention.${n}.${kind}`));
      if (parts.every((p) => !p)) continue;
      const missing = qkv.filter((_, j) => !parts[j]);
      if (missing.length) {
        throw new UserError(
          `Hugging Face weights lack ${missing.map((n) => `${l}attention.attention.${n}.${kind}`).join(', ')}: the checkpoint is incomplete`,
        );
      }
      out.set(`blocks.${i}.attn.qkv.${kind}`, concatRows(parts as Tensor[]));
      for (const n of qkv) src.delete(`${l}attention.attention.${n}.${kind}`);
    }
    for (const [timm, h] of blockPairs) for (const kind of ['weight', 'bias']) take(`${l}${h}.${kind}`, `blocks.${i}.${timm}.${kind}`);
  }
  for (const [h, timm] of [['classifier', 'head'], ['cls_classifier', 'head'], ['distillation_classifier', 'head_dist']]) {
    for (const kind of ['weight', 'bias']) take(`${h}.${kind}`, `${timm}.${kind}`);
  }
  for (const [k, v] of src) if (!ignored.test(k)) out.set(k, v);
  return out;
}

/**
 * Renames canonical (timm) tensors to ViTForImageClassification's names, splitting qkv into query/key/value; a
 * distilled DeiT's to DeiTForImageClassificationWithTeacher's (`deit.` prefix, one classifier per token).
 */
export function timmToHf(sd: StateDict): StateDict {
  if (sd.has('fc_norm.weight') || !sd.has('cls_token')) {
    throw new UserError(
      'Hugging Face ViT always classifies from the class token; a model with average pooling cannot be saved in that format: ' +
        'save it as timm or vitkit',
    );
  }
  const family = ['reg_token', 'norm_pre.weight', 'blocks.0.ls1.gamma', 'attn_pool.latent'].find((k) => sd.has(k));
  if (family) {
    throw new UserError(
      `writing a Hugging Face ViT directory covers the paper's ViT and DeiT only; this model has '${family}': save it as timm or vitkit`,
    );
  }
  if (sd.has('pre_logits.fc.weight')) {
    throw new UserError('Hugging Face ViTForImageClassification has no pre-logits layer: save this model as timm or vitkit');
  }
  const distilled = sd.has('dist_token');
  const prefix = distilled ? 'deit.' : 'vit.';
  const src = new Map(sd);
  const out: StateDict = new Map();
  const take = mover(src, out);
  for (const [timm, h] of topPairs) take(timm, `${prefix}${h}`);
  for (let i = 0, depth = blockCount(src.keys(), /^blocks\.(\d+)\./); i < depth; i++) {
    const b = `blocks.${i}.`;
    const l = `${prefix}encoder.layer.${i}.`;
    for (const kind of ['weight', 'bias']) {
      const fused = src.get(`${b}attn.qkv.${kind}`);
      if (!fused) continue;
      splitRows(fused, 3).forEach((t, j) => out.set(`${l}attention.attention.${qkv[j]}.${kind}`, t));
      src.delete(`${b}attn.qkv.${kind}`);
    }
    for (const [timm, h] of blockPairs) for (const kind of ['weight', 'bias']) take(`${b}${timm}.${kind}`, `${l}${h}.${kind}`);
  }
  const heads = distilled ? [['head', 'cls_classifier'], ['head_dist', 'distillation_classifier']] : [['head', 'classifier']];
  for (const [timm, h] of heads) for (const kind of ['weight', 'bias']) take(`${timm}.${kind}`, `${h}.${kind}`);
  for (const [k, v] of src) out.set(k, v);
  return out;
}
