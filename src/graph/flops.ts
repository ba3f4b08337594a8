// The arithmetic of a graph's matrix products, counted from its static shapes: what a graph costs whatever engine
// runs it, so a benchmark can say how far a measured speed-up is from what the work itself allows.
import { type Node, inlineComposites } from './graph.ts';
import { numel } from './tensor.ts';

/** One product's multiply-adds: each output element takes K of them, K the contracted length. */
function productMultiplyAdds(n: Node): number {
  const out = n.outputs[0]!.dims;
  if (n.opType === 'Conv') return numel(out) * numel(n.inputs[1]!.dims.slice(1)); // K = C_in/group × kernel area
  const a = n.inputs[0]!.dims; // MatMul: A [..., M, K] (or a K-vector), the output [..., M, N]
  return numel(out) * a[a.length - 1]!;
}

/**
 * Multiply-adds of the matrix products (MatMul, Conv: where a ViT's arithmetic is; elementwise ops, norms, softmax and
 * the int8 kernels are not counted) in `nodes`, composites by their bodies. Shapes must be static (a fixed batch).
 */
export function multiplyAdds(nodes: readonly Node[]): number {
  let total = 0;
  for (const n of inlineComposites(nodes)) if (n.opType === 'MatMul' || n.opType === 'Conv') total += productMultiplyAdds(n);
  return total;
}
