// Scaled dot-product attention, softmax(s·q·kᵀ)·v, as one composite op with its own gradient rule.
//
// Why a composite: composed from MatMul and Softmax rules, the backward takes the softmax's row sums as
// Σ_j P_ij·dP_ij over the [B, H, T, T] probabilities (two extra passes over the largest tensor of a block). Knowing
// that O = P·v, the same sums are Σ_d dO_id·O_id over [B, H, T, hd]. The rule also orders every product so that
// each transposed operand feeds a MatMul directly, which onnxruntime folds into FusedMatMul (transA/transB, with
// the scale as its alpha): no stand-alone Transpose runs inside attention, forward or backward.
import type { Value } from '../graph/graph.ts';
import { COMPOSITE } from '../graph/graph.ts';
import { add, mul, sub } from './elementwise.ts';
import { matmul } from './matmul.ts';
import { softmax } from './nn.ts';
import { reduceSum } from './reduce.ts';
import { registerGrad } from './registry.ts';
import { transpose } from './shape.ts';

export interface Attention {
  /** [..., T, hd] the attended values P·v. */
  readonly out: Value;
  /** [..., T, T] the attention probabilities P = softmax(scale·q·kᵀ). */
  readonly probs: Value;
}

/** Swaps the last two axes. */
function t(x: Value): Value {
  const perm = x.shape.map((_, i) => i);
  perm.splice(-2, 2, x.rank - 1, x.rank - 2);
  return transpose(x, perm);
}

/** softmax(scale·q·kᵀ)·v over q, k, v [..., T, hd] (heads as leading batch axes, e.g. [B, H, T, hd]). */
export function attention(q: Value, k: Value, v: Value, scale: number): Attention {
  for (const x of [k, v]) {
    if (x.rank !== q.rank || x.dtype !== q.dtype || x.shape.some((d, i) => d !== q.shape[i])) {
      throw new Error(`attention: ${x} does not match q ${q} (q, k and v are [..., T, hd] alike)`);
    }
  }
  const [out, probs] = q.graph.composite('Attention', [q, k, v], () => {
    const p = softmax(mul(matmul(q, t(k)), scale)); // [..., T, T]
    return [matmul(p, v), p];
  }, { scale: { type: 'float', value: scale } });
  return { out: out!, probs: probs! };
}

// With S = scale·q·kᵀ, P = softmax(S), O = P·v and output gradients dO (and dP', when P itself reaches the loss):
//   dv = Pᵀ·dO,  dP = dO·vᵀ (+ dP'),  dS = P ⊙ (dP − rowsum(dO ⊙ O) (− rowsum(dP' ⊙ P))),
//   dq = scale·dS·k,  dk = scale·dSᵀ·q.
registerGrad({
  opType: 'Attention',
  domain: COMPOSITE,
  vjp: (node, dys, needs) => {
    const [q, k, v] = node.inputs as [Value, Value, Value];
    const [o, p] = node.outputs as [Value, Value];
    const scale = node.attrs.scale!.value as number;
    const [dO, dPext] = dys;
    const need = (i: number): boolean => !needs || !!needs[i];
    let dP: Value | null = dO ? matmul(dO, t(v)) : null;
    let rows: Value | null = dO ? reduceSum(mul(dO, o), [-1], true) : null;
    if (dPext) {
      dP = dP ? add(dP, dPext) : dPext;
      const ext = reduceSum(mul(dPext, p), [-1], true);
      rows = rows ? add(rows, ext) : ext;
    }
    const dS = mul(p, sub(dP!, rows!));
    return [
      need(0) ? mul(matmul(dS, k), scale) : null,
      need(1) ? mul(matmul(t(dS), q), scale) : null,
      need(2) && dO ? matmul(t(p), dO) : null,
    ];
  },
});
