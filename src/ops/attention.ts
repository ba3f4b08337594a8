// Multi-head scaled dot-product attention, softmax(s·q·kᵀ)·v, as one composite op with its own gradient rule.
//
// Why a composite: composed from MatMul and Softmax rules, the backward takes the softmax's row sums as
// Σ_j P_ij·dP_ij over the [B, H, T, T] probabilities (two extra passes over the largest tensor of a block). Knowing
// that O = P·v, the same sums are Σ_d dO_id·O_id over [B, H, T, hd]. The rule also orders every product so that
// each transposed operand feeds a MatMul directly, which onnxruntime folds into FusedMatMul (transA/transB, with
// the scale as its alpha).
//
// Memory, which a training step spends mostly on what the forward pass keeps for the backward: the op returns the
// attended values with the heads moved next to their features ([..., T, H, hd], ready to merge into [..., T, D]
// by a free reshape), so the rule's row sums read the very tensor the output projection keeps, instead of a
// second, head-major copy of it; and the rule recomputes P rather than keeping it (see below).
import type { Value } from '../graph/graph.ts';
import { COMPOSITE } from '../graph/graph.ts';
import { add, mul, sub } from './elementwise.ts';
import { matmul } from './matmul.ts';
import { softmax } from './nn.ts';
import { reduceSum } from './reduce.ts';
import { registerGrad } from './registry.ts';
import { transpose } from './shape.ts';

export interface Attention {
  /** [..., T, H, hd] the attended values P·v, heads beside their features. */
  readonly out: Value;
  /** [..., H, T, T] the attention probabilities P = softmax(scale·q·kᵀ). */
  readonly probs: Value;
}

/** Swaps two axes, counted from the end (-1 the last). */
function swap(x: Value, a: number, b: number): Value {
  const perm = x.shape.map((_, i) => i);
  [perm[x.rank + a], perm[x.rank + b]] = [perm[x.rank + b]!, perm[x.rank + a]!];
  return transpose(x, perm);
}

/** The last two axes swapped. */
const t = (x: Value): Value => swap(x, -2, -1);
/** Heads ↔ tokens: [..., H, T, hd] ↔ [..., T, H, hd]. */
const headsToTokens = (x: Value): Value => swap(x, -3, -2);

/** softmax(scale·q·kᵀ)·v over q, k, v [..., H, T, hd] (heads, then tokens, then features; e.g. [B, H, T, hd]). */
export function attention(q: Value, k: Value, v: Value, scale: number): Attention {
  if (q.rank < 3) throw new Error(`attention: q ${q} needs at least 3 axes [..., H, T, hd]`);
  for (const x of [k, v]) {
    if (x.rank !== q.rank || x.dtype !== q.dtype || x.shape.some((d, i) => d !== q.shape[i])) {
      throw new Error(`attention: ${x} does not match q ${q} (q, k and v are [..., H, T, hd] alike)`);
    }
  }
  const [out, probs] = q.graph.composite('Attention', [q, k, v], () => {
    const p = softmax(mul(matmul(q, t(k)), scale)); // [..., H, T, T]
    return [headsToTokens(matmul(p, v)), p];
  }, { scale: { type: 'float', value: scale } });
  return { out: out!, probs: probs! };
}

// With S = scale·q·kᵀ, P = softmax(S), O = P·v (returned as O' with heads and tokens swapped) and output gradients
// dO' (and dP', when P itself reaches the loss), dO = dO' swapped back:
//   dv = Pᵀ·dO,  dP = dO·vᵀ (+ dP'),  dS = P ⊙ (dP − rowsum(dO ⊙ O) (− rowsum(dP' ⊙ P))),
//   dq = scale·dS·k,  dk = scale·dSᵀ·q,
// with rowsum(dO ⊙ O) taken in the swapped layout (a sum over hd either way) and only its [..., T, H, 1] result moved.
registerGrad({
  opType: 'Attention',
  domain: COMPOSITE,
  vjp: (node, dys, needs) => {
    const [q, k, v] = node.inputs as [Value, Value, Value];
    const [o, p0] = node.outputs as [Value, Value];
    const scale = node.attrs.scale!.value as number;
    const [dO, dPext] = dys;
    const need = (i: number): boolean => !needs || !!needs[i];
    // P is recomputed from q and k unless the loss reads it directly: kept from the forward pass, one [.., T, T]
    // tensor per block stays alive until the backward reaches it, the largest saved activation of a ViT step (12 ×
    // 15 MB for Ti/16 at batch 32; PyTorch's flash attention keeps none). The recomputation costs one q·kᵀ product
    // and a softmax per block. The scale goes on q here (on the product in the forward) so that onnxruntime's
    // common-subexpression elimination, which runs before its fusions, cannot merge the two and keep P after all.
    const p = dPext ? p0 : softmax(matmul(mul(q, scale), t(k)));
    const dOh = dO ? headsToTokens(dO) : null; // [..., H, T, hd]
    let dP: Value | null = dOh ? matmul(dOh, t(v)) : null;
    let rows: Value | null = dO ? headsToTokens(reduceSum(mul(dO, o), [-1], true)) : null;
    if (dPext) {
      dP = dP ? add(dP, dPext) : dPext;
      const ext = reduceSum(mul(dPext, p), [-1], true);
      rows = rows ? add(rows, ext) : ext;
    }
    const dS = mul(p, sub(dP!, rows!));
    return [
      need(0) ? mul(matmul(dS, k), scale) : null,
      need(1) ? mul(matmul(t(dS), q), scale) : null,
      need(2) && dOh ? matmul(t(p), dOh) : null,
    ];
  },
});
