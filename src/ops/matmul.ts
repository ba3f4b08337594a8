// Matrix products with numpy semantics: batch dims broadcast, 1-D operands promoted; and MatMul's gradient.
import type { Dim, Value } from '../graph/graph.ts';
import { broadcastShapes } from '../graph/shapes.ts';
import { outGrad, registerGrad } from './registry.ts';
import { sumTo, transpose } from './shape.ts';

export function matmul(a: Value, b: Value): Value {
  if (a.dtype !== b.dtype) throw new Error(`MatMul: dtypes differ (${a} vs ${b})`);
  if (a.rank < 2 || b.rank < 2) throw new Error(`MatMul: vitkit uses rank ≥ 2 operands, got ${a} and ${b}`);
  const [m, k] = a.shape.slice(-2) as [Dim, Dim];
  const [k2, n] = b.shape.slice(-2) as [Dim, Dim];
  if (k !== k2) throw new Error(`MatMul: inner dims differ: ${a} × ${b}`);
  const batch = broadcastShapes('MatMul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  return a.graph.node('MatMul', [a, b], [{ dtype: a.dtype, shape: [...batch, m, n] }])[0]!;
}

/** Swaps the last two axes. */
function t(x: Value): Value {
  const perm = x.shape.map((_, i) => i);
  perm.splice(-2, 2, x.rank - 1, x.rank - 2);
  return transpose(x, perm);
}

/** [..., r, c] → [(...)·r, c] (the leading dims may be symbolic; their product gets a symbolic name). */
function flatten2d(x: Value): Value {
  const lead = x.shape.slice(0, -1);
  const rows = lead.every((d) => typeof d === 'number') ? (lead as number[]).reduce((p, d) => p * d, 1) : lead.join('*');
  const c = x.shape[x.rank - 1]!;
  const shape = x.graph.constant({ dtype: 'int64', shape: [2], data: BigInt64Array.of(-1n, BigInt(c)) }, 'shape');
  return x.graph.node('Reshape', [x, shape], [{ dtype: x.dtype, shape: [rows, c] }])[0]!;
}

// C = A·B: dA = dC·Bᵀ, dB = Aᵀ·dC, each summed over the batch dims its operand was broadcast along.
// A shared [k, n] weight applied to a batch of rows (x·Wᵀ in every linear layer) gets its gradient from one
// [k, rows]·[rows, n] product instead of a batch of products summed afterwards.
registerGrad({
  opType: 'MatMul',
  vjp: (node, dys, needs) => {
    const [a, b] = node.inputs as [Value, Value];
    const g = outGrad(node, dys);
    const da = needs && !needs[0] ? null : sumTo(matmul(g, t(b)), a.shape);
    let db: Value | null = null;
    if (!needs || needs[1]) {
      db = b.rank === 2 && a.rank > 2 ? matmul(t(flatten2d(a)), flatten2d(g)) : sumTo(matmul(t(a), g), b.shape);
    }
    return [da, db];
  },
});
