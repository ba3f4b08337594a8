// Multi-head self-attention as onnxruntime kernels (com.microsoft contrib ops): scaled scores, softmax and the
// weighted sum in one node, with no per-head transposes and no [B, H, T, T] tensor written out between ops.
// Inference only (they have no gradient rules) and only where the attention probabilities are not asked for:
// the kernels do not output them.
import type { Dim, Graph, Value } from '../graph/graph.ts';
import { type StateDict, formatShape, tensor } from '../graph/tensor.ts';
import { slice, split } from '../ops/shape.ts';
import { int8Columns } from './int8.ts';
import type { AttentionKernel } from './inference-graph.ts';
import type { LinearSource } from './vit.ts';

/**
 * Builds block `block`'s attention on normalised tokens `x` [B, T, D], from the q/k/v projection to the heads'
 * weighted values [B, T, D] (before the output projection); `dense` builds the model's linear layers. With
 * `queries`, only the first `queries` tokens attend (to all T): [B, queries, D].
 */
export type AttentionSource = (x: Value, block: string, dense: LinearSource, queries?: number) => Value;

/**
 * The q/k/v projection and the attention in one node, over the q/k/v weights in `weights` (which become initializers
 * of `g`): com.microsoft Attention for float32 weights; for int8 ones, QAttention after a DynamicQuantizeLinear of
 * `x` (the quantization DynamicQuantizeMatMul does inside). Either writes q, k and v straight into per-head blocks:
 * no Split and no transposes between the projection and the attention.
 */
export function fusedAttention(g: Graph, weights: StateDict, heads: number): AttentionSource {
  return (x, block, dense, queries) => {
    // neither kernel takes fewer queries than keys: a few queries go through MultiHeadAttention
    if (queries) return multiHeadAttention(heads, weights.has(`${block}.attn.qkv.bias`))(x, block, dense, queries);
    const w = weights.get(`${block}.attn.qkv.weight`)!;
    const [out3, d] = w.shape as [number, number];
    if (x.shape[2] !== d || out3 !== 3 * d) throw new Error(`fused attention '${block}': input ${x} does not fit weight ${formatShape(w.shape)}`);
    const b = weights.get(`${block}.attn.qkv.bias`) ?? tensor('float32', [out3], new Float32Array(out3));
    const bias = g.initializer(`${block}.attn.qkv.bias`, b);
    const attrs = { num_heads: { type: 'int', value: heads } } as const;
    const out = [{ dtype: 'float32', shape: x.shape }] as const;
    if (w.dtype === 'int8') {
      const q = int8Columns(g, weights, `${block}.attn.qkv`);
      const [xq, xScale, xZero] = g.node('DynamicQuantizeLinear', [x], [
        { dtype: 'uint8', shape: x.shape }, { dtype: 'float32', shape: [] }, { dtype: 'uint8', shape: [] },
      ]) as [Value, Value, Value];
      const inputs = [xq, q.weight, bias, xScale, q.scale, null, xZero, q.zeroPoint];
      return g.node('QAttention', inputs, out, attrs, 'com.microsoft')[0]!;
    }
    if (w.dtype !== 'float32') throw new Error(`fused attention needs float32 or int8 q/k/v weights, got ${w.dtype} '${block}.attn.qkv.weight'`);
    // The kernel takes the weight as [D, 3D] (x·W) where timm stores [3D, D] (x·Wᵀ).
    const src = w.data as Float32Array;
    const t = new Float32Array(src.length);
    for (let o = 0; o < out3; o++) for (let i = 0; i < d; i++) t[i * out3 + o] = src[o * d + i]!;
    const wt = g.initializer(`${block}.attn.qkv.weight.t`, tensor('float32', [d, out3], t));
    return g.node('Attention', [x, wt, bias], out, attrs, 'com.microsoft')[0]!;
  };
}

/**
 * com.microsoft MultiHeadAttention on q, k and v from the model's own q/k/v projection (so an int8 projection
 * stays int8): one Split, then the attention in one node.
 */
export function multiHeadAttention(heads: number, qkvBias: boolean): AttentionSource {
  return (x, block, dense, queries) => {
    const [b, t, d] = x.shape as [Dim, number, number];
    const [q, k, v] = split(dense(x, `${block}.attn.qkv`, qkvBias), 2, [d, d, d]) as [Value, Value, Value]; // [B, T, D] each
    const attrs = { num_heads: { type: 'int', value: heads } } as const;
    const out = [{ dtype: 'float32', shape: [b, queries ?? t, d] }] as const;
    return x.graph.node('MultiHeadAttention', [queries ? slice(q, [1], [0], [queries]) : q, k, v], out, attrs, 'com.microsoft')[0]!;
  };
}

/**
 * The attention kernel for a device. On WebGPU, plain ops: the EP runs the com.microsoft Attention and
 * MultiHeadAttention kernels too, but their logits were up to 8e-3 off the CPU's on the fixtures (3.7e-2 on a Ti/16)
 * where the plain graph's were within 1.5e-6 (docs/gpu.md). On the CPU, the measured fastest for the precision.
 */
export function attentionKernelFor(device: 'cpu' | 'webgpu'): AttentionKernel | undefined {
  return device === 'webgpu' ? 'plain' : undefined;
}
