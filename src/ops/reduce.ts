// Reductions over axes (opset 18: axes given as an input tensor).
import type { Dim, Value } from '../graph/graph.ts';
import { normAxis } from '../graph/shapes.ts';

function reduce(op: string, x: Value, axes: readonly number[] | 'all', keepDims: boolean): Value {
  const norm = axes === 'all' ? x.shape.map((_, i) => i) : axes.map((a) => normAxis(op, a, x.rank));
  const shape: Dim[] = [];
  x.shape.forEach((d, i) => {
    if (!norm.includes(i)) shape.push(d);
    else if (keepDims) shape.push(1);
  });
  const axesT = x.graph.constant({ dtype: 'int64', shape: [norm.length], data: BigInt64Array.from(norm, BigInt) }, 'axes');
  return x.graph.node(op, [x, axesT], [{ dtype: x.dtype, shape }], { keepdims: { type: 'int', value: keepDims ? 1 : 0 } })[0]!;
}

export const reduceSum = (x: Value, axes: readonly number[] | 'all', keepDims = false): Value => reduce('ReduceSum', x, axes, keepDims);
export const reduceMean = (x: Value, axes: readonly number[] | 'all', keepDims = false): Value => reduce('ReduceMean', x, axes, keepDims);
export const reduceMax = (x: Value, axes: readonly number[] | 'all', keepDims = false): Value => reduce('ReduceMax', x, axes, keepDims);
export const reduceSumSquare = (x: Value, axes: readonly number[] | 'all', keepDims = false): Value =>
  reduce('ReduceSumSquare', x, axes, keepDims);
