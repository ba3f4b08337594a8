// Multi-head self-attention as one onnxruntime kernel (com.microsoft Attention): the q/k/v projection, scaled
// scores, softmax and the weighted sum in one node, with no per-head transposes or [B, H, T, T] tensor written
// out between ops. Inference only (it has no gradient rule) and only where the attention probabilities are not
// asked for: the kernel does not output them.
import type { Graph, Value } from '../graph/graph.ts';
import { type StateDict, formatShape, tensor } from '../graph/tensor.ts';

/** Builds block `block`'s attention (before the output projection) on normalised tokens `x` [B, T, D]. */
export type AttentionSource = (x: Value, block: string) => Value;

/** Attention nodes over the float32 q/k/v weights in `weights`, which become initializers of `g`. */
export function fusedAttention(g: Graph, weights: StateDict, heads: number): AttentionSource {
  return (x, block) => {
    const w = weights.get(`${block}.attn.qkv.weight`)!;
    if (w.dtype !== 'float32') throw new Error(`fused attention needs float32 q/k/v weights, got ${w.dtype} '${block}.attn.qkv.weight'`);
    const [out3, d] = w.shape as [number, number];
    if (x.shape[2] !== d || out3 !== 3 * d) throw new Error(`fused attention '${block}': input ${x} does not fit weight ${formatShape(w.shape)}`);
    // The kernel takes the weight as [D, 3D] (x·W) where timm stores [3D, D] (x·Wᵀ).
    const src = w.data as Float32Array;
    const t = new Float32Array(src.length);
    for (let o = 0; o < out3; o++) for (let i = 0; i < d; i++) t[i * out3 + o] = src[o * d + i]!;
    const wt = g.initializer(`${block}.attn.qkv.weight.t`, tensor('float32', [d, out3], t));
    const b = weights.get(`${block}.attn.qkv.bias`) ?? tensor('float32', [out3], new Float32Array(out3));
    const bias = g.initializer(`${block}.attn.qkv.bias`, b);
    const attrs = { num_heads: { type: 'int', value: heads } } as const;
    return g.node('Attention', [x, wt, bias], [{ dtype: 'float32', shape: x.shape }], attrs, 'com.microsoft')[0]!;
  };
}
