// Multihead attention pooling (MAP, SigLIP's head; timm's AttentionPoolLatent): a learned probe attends over all
// tokens, then a residual MLP refines the result, o = a + MLP(LN(a)) with a = proj(softmax(q·kᵀ/√hd)·v).
import type { Dim, Value } from '../graph/graph.ts';
import { add, mul } from '../ops/elementwise.ts';
import { matmul } from '../ops/matmul.ts';
import { layerNorm, softmax } from '../ops/nn.ts';
import { reshape, split, transpose } from '../ops/shape.ts';
import type { MlpKind } from './config.ts';
import { mlpHidden } from './mlp.ts';

/** What the head needs from the encoder: its parameters by timm name and its linear layers (float32 or int8). */
export interface MapHeadSource {
  readonly param: (name: string) => Value;
  readonly dense: (x: Value, layer: string, bias: boolean) => Value;
}

/** Pools tokens `x` [B, T, D] (after the final norm) to [B, D] with `heads` heads, as timm's `attn_pool`. */
export function mapPool(x: Value, heads: number, eps: number, mlp: MlpKind | undefined, src: MapHeadSource): Value {
  const [, t, d] = x.shape as [Dim, number, number];
  const hd = d / heads;
  const { param: p, dense } = src;
  const q = transpose(reshape(dense(p('attn_pool.latent'), 'attn_pool.q', true), [1, 1, heads, hd]), [0, 2, 1, 3]); // [1, H, 1, hd]
  const [k, v] = split(dense(x, 'attn_pool.kv', true), 2, [d, d]) as [Value, Value]; // [B, T, D] each (keys first)
  const perHead = (y: Value) => transpose(reshape(y, [0, t, heads, hd]), [0, 2, 1, 3]); // [B, H, T, hd]
  const kT = transpose(reshape(k, [0, t, heads, hd]), [0, 2, 3, 1]); // [B, H, hd, T]
  const probs = softmax(mul(matmul(q, kT), 1 / Math.sqrt(hd))); // [B, H, 1, T]: the probe's attention over tokens
  const pooled = reshape(transpose(matmul(probs, perHead(v)), [0, 2, 1, 3]), [0, 1, d]); // [B, H, 1, hd] → [B, 1, D]
  const a = dense(pooled, 'attn_pool.proj', true);
  const h = layerNorm(a, p('attn_pool.norm.weight'), p('attn_pool.norm.bias'), eps);
  const out = add(a, dense(mlpHidden(dense(h, 'attn_pool.mlp.fc1', true), mlp), 'attn_pool.mlp.fc2', true)); // [B, 1, D]
  return reshape(out, [0, d]); // [B, D]
}
