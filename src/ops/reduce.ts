// Reductions over axes (opset 18: axes given as an input tensor) and ArgMax, with their gradient rules.
import { attr, type Dim, type Node, type Value } from '../graph/graph.ts';
import { normAxis } from '../graph/shapes.ts';
import { cast, div, equal, mul } from './elementwise.ts';
import { constInts, outGrad, registerGrad, registerNonDifferentiable } from './registry.ts';
import { expandTo, unsqueeze } from './shape.ts';

function reduce(op: string, x: Value, axes: readonly number[] | 'all', keepDims: boolean): Value {
  const norm = axes === 'all' ? x.shape.map((_, i) => i) : axes.map((a) => normAxis(op, a, x.rank));
  // An empty axes input means "reduce everything" in ONNX; refuse it rather than surprise the caller.
  if (norm.length === 0) throw new Error(`${op}: no axes to reduce for ${x} (pass 'all' to reduce every axis)`);
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

/** Index of the largest element along an axis (int64; the first one on ties). Not differentiable. */
export function argMax(x: Value, axis = -1, keepDims = false): Value {
  const a = normAxis('ArgMax', axis, x.rank);
  const shape = keepDims ? x.shape.map((d, i) => (i === a ? 1 : d)) : x.shape.filter((_, i) => i !== a);
  return x.graph.node('ArgMax', [x], [{ dtype: 'int64', shape }], { axis: attr.int(a), keepdims: attr.int(keepDims ? 1 : 0) })[0]!;
}

// ---- gradient rules ----

/** The reduced axes of a Reduce* node (all axes when the axes input is absent). */
function reducedAxes(node: Node): number[] {
  const x = node.inputs[0]!;
  const given = node.inputs[1] ? constInts(node, 1) : [];
  if (given.length === 0) {
    if (node.attrs.noop_with_empty_axes?.value === 1) return [];
    return x.shape.map((_, i) => i);
  }
  return given.map((a) => normAxis(node.opType, a, x.rank)).sort((a, b) => a - b);
}

/** The output gradient with the reduced axes restored as 1s, then broadcast to the input's shape. */
function spread(node: Node, g: Value, axes: readonly number[]): Value {
  const keep = node.attrs.keepdims?.value ?? 1;
  const gk = keep === 0 && axes.length > 0 ? unsqueeze(g, axes) : g;
  return expandTo(gk, node.inputs[0]!);
}

/** The data input's gradient, and null for the (optional) axes input. */
function withNulls(node: Node, dx: Value): (Value | null)[] {
  return [dx, ...node.inputs.slice(1).map(() => null)];
}

function keptOutput(node: Node, axes: readonly number[]): Value {
  const y = node.outputs[0]!;
  const keep = node.attrs.keepdims?.value ?? 1;
  return keep === 0 && axes.length > 0 ? unsqueeze(y, axes) : y;
}

registerGrad({
  opType: 'ReduceSum',
  vjp: (node, dys) => withNulls(node, spread(node, outGrad(node, dys), reducedAxes(node))),
});

registerGrad({
  opType: 'ReduceMean',
  vjp: (node, dys) => {
    const x = node.inputs[0]!;
    const axes = reducedAxes(node);
    return withNulls(node, spread(node, div(outGrad(node, dys), reducedCount(x, node.outputs[0]!, axes)), axes));
  },
});

/** How many elements each output of a reduction summarises: a constant, or Size(x)/Size(y) at run time. */
function reducedCount(x: Value, y: Value, axes: readonly number[]): Value | number {
  const dims = axes.map((a) => x.shape[a]!);
  if (dims.every((d) => typeof d === 'number')) return (dims as number[]).reduce((n, d) => n * d, 1);
  const size = (v: Value) => v.graph.node('Size', [v], [{ dtype: 'int64', shape: [] }])[0]!;
  return cast(div(size(x), size(y)), x.dtype);
}

registerGrad({
  opType: 'ReduceSumSquare',
  vjp: (node, dys) => withNulls(node, mul(spread(node, outGrad(node, dys), reducedAxes(node)), mul(node.inputs[0]!, 2))),
});

// ReduceMax: the gradient goes to the maximal elements, split evenly between ties (as PyTorch's amax).
registerGrad({
  opType: 'ReduceMax',
  vjp: (node, dys) => {
    const x = node.inputs[0]!;
    const axes = reducedAxes(node);
    const mask = cast(equal(x, keptOutput(node, axes)), x.dtype);
    const count = reduceSum(mask, axes.length ? axes : 'all', true);
    const keep = node.attrs.keepdims?.value ?? 1;
    const g = outGrad(node, dys);
    const gk = keep === 0 && axes.length > 0 ? unsqueeze(g, axes) : g;
    return withNulls(node, mul(mask, div(gk, count)));
  },
});

registerNonDifferentiable('ArgMax', 'ArgMin');
