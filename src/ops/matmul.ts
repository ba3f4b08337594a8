// Matrix products with numpy semantics: batch dims broadcast, 1-D operands promoted.
import type { Dim, Value } from '../graph/graph.ts';
import { broadcastShapes } from '../graph/shapes.ts';

export function matmul(a: Value, b: Value): Value {
  if (a.dtype !== b.dtype) throw new Error(`MatMul: dtypes differ (${a} vs ${b})`);
  if (a.rank < 2 || b.rank < 2) throw new Error(`MatMul: vitkit uses rank ≥ 2 operands, got ${a} and ${b}`);
  const [m, k] = a.shape.slice(-2) as [Dim, Dim];
  const [k2, n] = b.shape.slice(-2) as [Dim, Dim];
  if (k !== k2) throw new Error(`MatMul: inner dims differ: ${a} × ${b}`);
  const batch = broadcastShapes('MatMul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  return a.graph.node('MatMul', [a, b], [{ dtype: a.dtype, shape: [...batch, m, n] }])[0]!;
}
