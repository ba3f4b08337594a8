// Google's original JAX/Flax ViT release (.npz) names and layouts ⇄ timm's (canonical); a hybrid's backbone
// is mapped by google-hybrid.ts.
// Flax dense kernels are [in, out] (PyTorch: [out, in]); the patch conv kernel is HWIO [P, P, C, D] (PyTorch:
// [D, C, P, P]); attention keeps heads as an axis: query/key/value kernels [D, H, hd], biases [H, hd], out [H, hd, D].
import type { StateDict, Tensor } from '../graph/tensor.ts';
import { concatRows, permute, reshape, splitRows, transpose } from './layout.ts';
import { blockCount, mover } from './rename.ts';
import { googleBackboneToTimm, timmBackboneToGoogle } from './google-hybrid.ts';
import { UserError } from '../errors.ts';

const same = (t: Tensor) => t;

/** [timm suffix, Google suffix, transpose?] inside one encoder block. */
const blockPairs: readonly [string, string, boolean][] = [
  ['norm1.weight', 'LayerNorm_0/scale', false],
  ['norm1.bias', 'LayerNorm_0/bias', false],
  ['attn.proj.bias', 'MultiHeadDotProductAttention_1/out/bias', false],
  ['norm2.weight', 'LayerNorm_2/scale', false],
  ['norm2.bias', 'LayerNorm_2/bias', false],
  ['mlp.fc1.weight', 'MlpBlock_3/Dense_0/kernel', true],
  ['mlp.fc1.bias', 'MlpBlock_3/Dense_0/bias', false],
  ['mlp.fc2.weight', 'MlpBlock_3/Dense_1/kernel', true],
  ['mlp.fc2.bias', 'MlpBlock_3/Dense_1/bias', false],
];

/** Top-level [timm, Google, transpose?]; `{norm}` is norm (class token) or fc_norm (average pooling). */
const topPairs: readonly [string, string, boolean][] = [
  ['cls_token', 'cls', false],
  ['pos_embed', 'Transformer/posembed_input/pos_embedding', false],
  ['patch_embed.proj.bias', 'embedding/bias', false],
  ['{norm}.weight', 'Transformer/encoder_norm/scale', false],
  ['{norm}.bias', 'Transformer/encoder_norm/bias', false],
  ['head.weight', 'head/kernel', true],
  ['head.bias', 'head/bias', false],
  ['pre_logits.fc.weight', 'pre_logits/kernel', true],
  ['pre_logits.fc.bias', 'pre_logits/bias', false],
];

const qkv = ['query', 'key', 'value'] as const;
const attn = (i: number) => `Transformer/encoderblock_${i}/MultiHeadDotProductAttention_1/`;

/** The head count recorded in a Google checkpoint (query kernel [D, H, hd]), if there is one. */
export function googleHeads(sd: StateDict): number | undefined {
  return sd.get(`${attn(0)}query/kernel`)?.shape[1];
}

/**
 * Converts Google .npz tensors to timm names and layouts. A checkpoint without `cls` is average-pooled, so its
 * encoder_norm becomes timm's fc_norm. Unrecognised names pass through unchanged, so checkWeights can report them.
 */
export function googleToTimm(g: StateDict): StateDict {
  const src = new Map(g);
  const out: StateDict = new Map();
  const move = mover(src, out);
  const norm = src.has('cls') ? 'norm' : 'fc_norm';
  for (const [t, n, tr] of topPairs) move(n, t.replace('{norm}', norm), tr ? transpose : same);
  move('embedding/kernel', 'patch_embed.proj.weight', (k) => permute(k, [3, 2, 0, 1]));
  googleBackboneToTimm(src, out);
  for (let i = 0, depth = blockCount(src.keys(), /^Transformer\/encoderblock_(\d+)\//); i < depth; i++) {
    const p = `Transformer/encoderblock_${i}/`;
    const b = `blocks.${i}.`;
    for (const [t, n, tr] of blockPairs) move(p + n, b + t, tr ? transpose : same);
    // [D, H, hd] kernels → [D, D] → [out, in]; [H, hd] biases → [D]
    for (const kind of ['kernel', 'bias'] as const) {
      const names = qkv.map((n) => `${attn(i)}${n}/${kind}`);
      const parts = names.map((n) => src.get(n));
      if (parts.every((t) => !t)) continue;
      const missing = names.filter((_, j) => !parts[j]);
      if (missing.length) throw new UserError(`Google weights lack ${missing.join(', ')}: the checkpoint is incomplete`);
      const flat = (parts as Tensor[]).map((t) => (
        kind === 'kernel' ? transpose(reshape(t, [t.shape[0]!, t.shape[0]!])) : reshape(t, [t.data.length])
      ));
      out.set(`${b}attn.qkv.${kind === 'kernel' ? 'weight' : 'bias'}`, concatRows(flat));
      names.forEach((n) => src.delete(n));
    }
    move(`${attn(i)}out/kernel`, `${b}attn.proj.weight`, (k) => transpose(reshape(k, [k.shape[0]! * k.shape[1]!, k.shape[2]!])));
  }
  return new Map([...out, ...src]);
}

/** Converts canonical (timm) tensors to Google .npz names and layouts; `numHeads` shapes the attention kernels. */
export function timmToGoogle(sd: StateDict, numHeads: number): StateDict {
  if (sd.has('fc_norm.weight') && sd.has('cls_token')) {
    throw new UserError(
      'Google .npz marks average pooling by leaving out the class token; a model with both cannot be saved as .npz: save it as timm or vitkit',
    );
  }
  const src = new Map(sd);
  const out: StateDict = new Map();
  const move = mover(src, out);
  const norm = src.has('cls_token') ? 'norm' : 'fc_norm';
  move('patch_embed.proj.weight', 'embedding/kernel', (w) => permute(w, [2, 3, 1, 0]));
  timmBackboneToGoogle(src, out);
  for (const [t, n, tr] of topPairs) move(t.replace('{norm}', norm), n, tr ? transpose : same);
  for (let i = 0, depth = blockCount(src.keys(), /^blocks\.(\d+)\./); i < depth; i++) {
    const p = `Transformer/encoderblock_${i}/`;
    const b = `blocks.${i}.`;
    for (const [t, n, tr] of blockPairs) move(b + t, p + n, tr ? transpose : same);
    const split = (name: string, f: (t: Tensor) => Tensor, kind: string) => {
      const fused = src.get(name);
      if (!fused) return;
      splitRows(fused, 3).forEach((t, j) => out.set(`${attn(i)}${qkv[j]}/${kind}`, f(t)));
      src.delete(name);
    };
    split(`${b}attn.qkv.weight`, (w) => reshape(transpose(w), [w.shape[1]!, numHeads, w.shape[0]! / numHeads]), 'kernel');
    split(`${b}attn.qkv.bias`, (v) => reshape(v, [numHeads, v.shape[0]! / numHeads]), 'bias');
    move(`${b}attn.proj.weight`, `${attn(i)}out/kernel`, (w) => reshape(transpose(w), [numHeads, w.shape[1]! / numHeads, w.shape[0]!]));
  }
  return new Map([...out, ...src]);
}
