// Layout ops: Reshape, Transpose, Concat, Slice, Gather, Expand, Unsqueeze, Squeeze, Identity, Pad, Shape,
// ConstantOfShape, with their gradient rules, and sumTo (the adjoint of broadcasting). The bottom of src/ops: it
// imports no other op family.
import { attr, type Dim, type Shape, type Value } from '../graph/graph.ts';
import { broadcastShapes, normAxis } from '../graph/shapes.ts';
import { type DType, type Tensor, formatShape } from '../graph/tensor.ts';
import { constInts, outGrad, registerGrad, registerNonDifferentiable } from './registry.ts';

function int64s(x: Value, values: readonly number[], prefix: string): Value {
  return x.graph.constant({ dtype: 'int64', shape: [values.length], data: BigInt64Array.from(values, BigInt) }, prefix);
}

/**
 * Reshape with ONNX semantics: 0 copies the input dim at that position, -1 is inferred.
 * Symbolic dims may only be carried through by 0 (e.g. [0, N, D] keeps a dynamic batch).
 */
export function reshape(x: Value, shape: readonly number[], name?: string): Value {
  const out: Dim[] = shape.map((d, i) => (d === 0 ? x.shape[i]! : d));
  const known = (s: readonly Dim[]) => s.reduce<number>((n, d) => n * (typeof d === 'number' && d > 0 ? d : 1), 1);
  const symIn = x.shape.filter((d) => typeof d === 'string');
  const symOut = out.filter((d) => typeof d === 'string');
  if (symIn.length !== symOut.length || symIn.some((d, i) => d !== symOut[i])) {
    throw new Error(`Reshape: symbolic dims of ${formatShape(x.shape)} must be kept with 0 in ${formatShape(shape)}`);
  }
  const inferred = out.indexOf(-1);
  if (inferred >= 0) {
    if (known(x.shape) % known(out) !== 0) throw new Error(`Reshape: cannot reshape ${formatShape(x.shape)} to ${formatShape(shape)}`);
    out[inferred] = known(x.shape) / known(out);
  }
  if (known(out) !== known(x.shape)) throw new Error(`Reshape: cannot reshape ${formatShape(x.shape)} to ${formatShape(shape)}`);
  return x.graph.node('Reshape', [x, int64s(x, shape, 'shape')], [{ dtype: x.dtype, shape: out, name }])[0]!;
}

export function transpose(x: Value, perm: readonly number[]): Value {
  const sorted = [...perm].sort((a, b) => a - b);
  if (perm.length !== x.rank || sorted.some((p, i) => p !== i)) {
    throw new Error(`Transpose: perm ${formatShape(perm)} is not a permutation of rank ${x.rank} (${x})`);
  }
  return x.graph.node('Transpose', [x], [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]!) }], { perm: attr.ints(perm) })[0]!;
}

export function concat(xs: readonly Value[], axis: number): Value {
  const first = xs[0];
  if (!first) throw new Error('Concat: no inputs');
  const a = normAxis('Concat', axis, first.rank);
  let total = 0;
  for (const x of xs) {
    const ok = x.rank === first.rank && x.dtype === first.dtype && x.shape.every((d, i) => i === a || d === first.shape[i]);
    if (!ok) throw new Error(`Concat: ${x} does not fit ${first} along axis ${axis}`);
    const d = x.shape[a];
    if (typeof d !== 'number') throw new Error(`Concat: axis ${axis} of ${x} is symbolic`);
    total += d;
  }
  const shape = first.shape.map((d, i) => (i === a ? total : d));
  return first.graph.node('Concat', xs, [{ dtype: first.dtype, shape }], { axis: attr.int(a) })[0]!;
}

/**
 * Splits along an axis into consecutive parts of the given sizes (one pass, where several Slices would read x each),
 * the parts named by `names` where it gives one.
 */
export function split(x: Value, axis: number, sizes: readonly number[], names: readonly (string | undefined)[] = []): Value[] {
  const a = normAxis('Split', axis, x.rank);
  const total = sizes.reduce((p, n) => p + n, 0);
  if (x.shape[a] !== total || sizes.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error(`Split: sizes [${sizes.join(', ')}] do not add up to axis ${axis} of ${x}`);
  }
  const outs = sizes.map((n, k) => ({ dtype: x.dtype, shape: x.shape.map((d, i) => (i === a ? n : d)), name: names[k] }));
  const splitT = x.graph.constant({ dtype: 'int64', shape: [sizes.length], data: BigInt64Array.from(sizes, BigInt) }, 'split');
  return x.graph.node('Split', [x, splitT], outs, { axis: attr.int(a) });
}

/** Slices [start, end) along each given axis (step 1; negative indices count from the end). */
export function slice(x: Value, axes: readonly number[], starts: readonly number[], ends: readonly number[]): Value {
  const shape = [...x.shape];
  const norm = axes.map((ax, i) => {
    const a = normAxis('Slice', ax, x.rank);
    const d = x.shape[a];
    if (typeof d !== 'number') throw new Error(`Slice: axis ${ax} of ${x} is symbolic`);
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
    const s = clamp(starts[i]!);
    const e = clamp(ends[i]!);
    if (e <= s) throw new Error(`Slice: empty range [${starts[i]}, ${ends[i]}) on axis ${ax} of ${x}`);
    shape[a] = e - s;
    return [a, s, e] as const;
  });
  const inputs = [x, int64s(x, norm.map((n) => n[1]), 'starts'), int64s(x, norm.map((n) => n[2]), 'ends'), int64s(x, norm.map((n) => n[0]), 'axes')];
  return x.graph.node('Slice', inputs, [{ dtype: x.dtype, shape }])[0]!;
}

/** Gathers along an axis with int64 indices (output shape: x's dims with `axis` replaced by the indices' dims). */
export function gather(x: Value, indices: Value, axis = 0): Value {
  if (indices.dtype !== 'int64' && indices.dtype !== 'int32') throw new Error(`Gather: indices must be integers, got ${indices}`);
  const a = normAxis('Gather', axis, x.rank);
  const shape = [...x.shape.slice(0, a), ...indices.shape, ...x.shape.slice(a + 1)];
  return x.graph.node('Gather', [x, indices], [{ dtype: x.dtype, shape }], { axis: attr.int(a) })[0]!;
}

/** Gathers one index along an axis, dropping that axis (a scalar index). */
export function take(x: Value, index: number, axis = 0): Value {
  const idx = x.graph.constant({ dtype: 'int64', shape: [], data: BigInt64Array.of(BigInt(index)) }, 'index');
  return gather(x, idx, axis);
}

export function expand(x: Value, shape: readonly number[]): Value {
  const out = broadcastShapes('Expand', x.shape, shape);
  return x.graph.node('Expand', [x, int64s(x, shape, 'shape')], [{ dtype: x.dtype, shape: out }])[0]!;
}

export function unsqueeze(x: Value, axes: readonly number[]): Value {
  const rank = x.rank + axes.length;
  const norm = axes.map((a) => normAxis('Unsqueeze', a, rank)).sort((a, b) => a - b);
  const shape: Dim[] = [...x.shape];
  for (const a of norm) shape.splice(a, 0, 1);
  return x.graph.node('Unsqueeze', [x, int64s(x, norm, 'axes')], [{ dtype: x.dtype, shape }])[0]!;
}

export function squeeze(x: Value, axes: readonly number[]): Value {
  const norm = axes.map((a) => normAxis('Squeeze', a, x.rank));
  for (const a of norm) if (x.shape[a] !== 1) throw new Error(`Squeeze: axis ${a} of ${x} is not 1`);
  const shape = x.shape.filter((_, i) => !norm.includes(i));
  return x.graph.node('Squeeze', [x, int64s(x, norm, 'axes')], [{ dtype: x.dtype, shape }])[0]!;
}

export function identity(x: Value, name?: string): Value {
  return x.graph.node('Identity', [x], [{ dtype: x.dtype, shape: x.shape, name }])[0]!;
}

// ---- helpers the gradient rules use (also public builders) ----

/** The runtime shape of a value as an int64 vector (ONNX Shape). */
export function shapeOf(x: Value): Value {
  return x.graph.node('Shape', [x], [{ dtype: 'int64', shape: [x.rank] }])[0]!;
}

/** A shape as a value: a constant when static, otherwise Shape(like). */
function shapeInput(like: Value): Value {
  return like.shape.every((d) => typeof d === 'number') ? int64s(like, like.dims, 'shape') : shapeOf(like);
}

/** A tensor of `like`'s shape and dtype filled with one value (ONNX ConstantOfShape; a scalar constant for rank 0). */
export function fillLike(like: Value, value: number): Value {
  const g = like.graph;
  if (like.rank === 0) return g.scalar(value, like.dtype);
  const t = fillTensor(like.dtype, value);
  return g.node('ConstantOfShape', [shapeInput(like)], [{ dtype: like.dtype, shape: like.shape }], { value: { type: 'tensor', value: t } })[0]!;
}

function fillTensor(dtype: DType, value: number): Tensor {
  switch (dtype) {
    case 'float32':
      return { dtype, shape: [1], data: Float32Array.of(value) };
    case 'float64':
      return { dtype, shape: [1], data: Float64Array.of(value) };
    case 'int64':
      return { dtype, shape: [1], data: BigInt64Array.of(BigInt(value)) };
    case 'int32':
      return { dtype, shape: [1], data: Int32Array.of(value) };
    default:
      return { dtype, shape: [1], data: Uint8Array.of(value) };
  }
}

export const zerosLike = (like: Value): Value => fillLike(like, 0);
export const onesLike = (like: Value): Value => fillLike(like, 1);

/** Reshapes `x` to `like`'s shape (a constant shape when static, Shape(like) at run time otherwise). */
export function reshapeTo(x: Value, like: Value): Value {
  if (sameDims(x.shape, like.shape)) return x;
  if (like.shape.every((d) => typeof d === 'number')) return reshape(x, like.dims);
  return x.graph.node('Reshape', [x, shapeOf(like)], [{ dtype: x.dtype, shape: like.shape }])[0]!;
}

/** Broadcasts `x` to `like`'s shape. */
export function expandTo(x: Value, like: Value): Value {
  if (sameDims(x.shape, like.shape)) return x;
  const shape = broadcastShapes('Expand', x.shape, like.shape);
  if (!sameDims(shape, like.shape)) throw new Error(`Expand: ${x} does not broadcast to ${like}`);
  return x.graph.node('Expand', [x, shapeInput(like)], [{ dtype: x.dtype, shape }])[0]!;
}

/**
 * Sums a broadcast result back down to `shape`, the adjoint of expandTo (every broadcasting op's gradient uses it):
 * sums the leading axes `shape` lacks and the axes where `shape` has 1 but `x` does not. It writes its ReduceSum node
 * itself rather than through reduce.ts, whose gradient rules build on this module.
 */
export function sumTo(x: Value, shape: Shape): Value {
  const lead = x.rank - shape.length;
  if (lead < 0) throw new Error(`sumTo: ${x} has lower rank than ${formatShape(shape)}`);
  const axes: number[] = [];
  x.shape.forEach((d, i) => {
    const t = i < lead ? undefined : shape[i - lead];
    if (t === undefined || (t === 1 && d !== 1)) axes.push(i);
    else if (t !== d) throw new Error(`sumTo: ${x} does not broadcast from ${formatShape(shape)}`);
  });
  if (axes.length === 0) return x;
  const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const summed = x.graph.node('ReduceSum', [x, int64s(x, axes, 'axes')], [{ dtype: x.dtype, shape: kept }], { keepdims: attr.int(1) })[0]!;
  return lead > 0 ? squeeze(summed, Array.from({ length: lead }, (_, i) => i)) : summed;
}

/** Zero-pads with [begin_0, …, begin_{r-1}, end_0, …, end_{r-1}] elements (ONNX Pad, constant mode). */
export function pad(x: Value, pads: readonly number[]): Value {
  if (pads.length !== 2 * x.rank || pads.some((p) => !Number.isInteger(p) || p < 0)) {
    throw new Error(`Pad: pads ${formatShape(pads)} do not fit ${x} (need ${2 * x.rank} non-negative integers)`);
  }
  const shape = x.shape.map((d, i) => {
    const extra = pads[i]! + pads[i + x.rank]!;
    if (extra === 0) return d;
    if (typeof d !== 'number') throw new Error(`Pad: axis ${i} of ${x} is symbolic`);
    return d + extra;
  });
  return x.graph.node('Pad', [x, int64s(x, pads, 'pads')], [{ dtype: x.dtype, shape }])[0]!;
}

function sameDims(a: readonly Dim[], b: readonly Dim[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function staticDim(op: string, x: Value, axis: number): number {
  const d = x.shape[axis];
  if (typeof d !== 'number') throw new Error(`${op} gradient: axis ${axis} of ${x} is symbolic`);
  return d;
}

// ---- gradient rules ----

registerGrad({ opType: 'Identity', vjp: (node, dys) => [outGrad(node, dys)] });

registerGrad({ opType: 'Reshape', vjp: (node, dys) => [reshapeTo(outGrad(node, dys), node.inputs[0]!), null] });

registerGrad({
  opType: 'Transpose',
  vjp: (node, dys) => {
    const x = node.inputs[0]!;
    const perm = (node.attrs.perm?.value as readonly number[] | undefined) ?? x.shape.map((_, i) => x.rank - 1 - i);
    const inverse: number[] = [];
    perm.forEach((p, i) => (inverse[p] = i));
    return [transpose(outGrad(node, dys), inverse)];
  },
});

registerGrad({
  opType: 'Concat',
  vjp: (node, dys, needs) => {
    const g = outGrad(node, dys);
    const axis = normAxis('Concat', node.attrs.axis!.value as number, g.rank);
    let offset = 0;
    return node.inputs.map((x, i) => {
      const d = staticDim('Concat', x!, axis);
      const start = offset;
      offset += d;
      return needs && !needs[i] ? null : slice(g, [axis], [start], [start + d]);
    });
  },
});

// Slice (step 1): the gradient is the output gradient zero-padded back to the input's extent.
// Split's gradient is the Concat of its outputs' gradients, zeros for outputs the loss does not reach.
registerGrad({
  opType: 'Split',
  vjp: (node, dys) => {
    const axis = node.attrs.axis!.value as number;
    return [concat(node.outputs.map((y, i) => dys[i] ?? fillLike(y, 0)), axis), null];
  },
});

registerGrad({
  opType: 'Slice',
  vjp: (node, dys) => {
    const x = node.inputs[0]!;
    const starts = constInts(node, 1);
    const ends = constInts(node, 2);
    const axes = node.inputs[3] ? constInts(node, 3) : starts.map((_, i) => i);
    if (node.inputs[4] && constInts(node, 4).some((s) => s !== 1)) throw new Error('Slice gradient: only step 1 is supported');
    const pads = new Array<number>(2 * x.rank).fill(0);
    axes.forEach((ax, i) => {
      const a = normAxis('Slice', ax, x.rank);
      const d = staticDim('Slice', x, a);
      const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
      const s = clamp(starts[i]!);
      pads[a] = s;
      pads[a + x.rank] = d - Math.max(clamp(ends[i]!), s);
    });
    return [pad(outGrad(node, dys), pads), null, null, null, null].slice(0, node.inputs.length);
  },
});

// Gather: a constant scalar index (ViT's class token, q/k/v) scatters by zero-padding; any other indices
// scatter-add with ScatterND (reduction 'add', so repeated indices accumulate).
registerGrad({
  opType: 'Gather',
  vjp: (node, dys) => {
    const [x, indices] = node.inputs as [Value, Value];
    const g = outGrad(node, dys);
    const a = normAxis('Gather', (node.attrs.axis?.value as number | undefined) ?? 0, x.rank);
    const init = x.graph.initializers.get(indices.name);
    if (init && indices.rank === 0) {
      const d = staticDim('Gather', x, a);
      const i = Number(init.data[0]!);
      const at = i < 0 ? i + d : i;
      const pads = new Array<number>(2 * x.rank).fill(0);
      pads[a] = at;
      pads[a + x.rank] = d - at - 1;
      return [pad(unsqueeze(g, [a]), pads), null];
    }
    return [scatterAddAlong(x, indices, g, a), null];
  },
});

/** Σ of g's slices into zeros shaped like x at `indices` along axis a (the adjoint of Gather). */
function scatterAddAlong(x: Value, indices: Value, g: Value, a: number): Value {
  const ri = indices.rank;
  const front = (v: Value, perm: number[]) => (perm.every((p, i) => p === i) ? v : transpose(v, perm));
  // x → [d_a, pre, post]; g → [I, pre, post].
  const xPerm = [a, ...x.shape.keys()].filter((i, k) => k === 0 || i !== a);
  const gPerm = [
    ...Array.from({ length: ri }, (_, k) => a + k),
    ...Array.from({ length: a }, (_, k) => k),
    ...Array.from({ length: g.rank - a - ri }, (_, k) => a + ri + k),
  ];
  const zeros = front(zerosLike(x), xPerm);
  const idx = unsqueeze(indices.dtype === 'int64' ? indices : castInt64(indices), [ri]);
  const scattered = x.graph.node('ScatterND', [zeros, idx, front(g, gPerm)], [{ dtype: x.dtype, shape: zeros.shape }], {
    reduction: attr.string('add'),
  })[0]!;
  const inverse: number[] = [];
  xPerm.forEach((p, i) => (inverse[p] = i));
  return front(scattered, inverse);
}

// ScatterND with reduction 'add' (Gather's adjoint above, found in the backward of BEiT's relative bias gather):
// y = data + scatter(updates), so d data = g and d updates = g gathered at the same indices.
registerGrad({
  opType: 'ScatterND',
  vjp: (node, dys) => {
    if (node.attrs.reduction?.value !== 'add') {
      throw new Error(`ScatterND: only reduction 'add' has a gradient rule, got ${String(node.attrs.reduction?.value ?? 'none')}`);
    }
    const [, indices, updates] = node.inputs as [Value, Value, Value];
    const g = outGrad(node, dys);
    return [g, null, g.graph.node('GatherND', [g, indices], [{ dtype: g.dtype, shape: updates.shape }])[0]!];
  },
});

function castInt64(v: Value): Value {
  return v.graph.node('Cast', [v], [{ dtype: 'int64', shape: v.shape }], { to: attr.int(7) })[0]!;
}

registerGrad({ opType: 'Expand', vjp: (node, dys) => [sumTo(outGrad(node, dys), node.inputs[0]!.shape), null] });

registerGrad({
  opType: 'Unsqueeze',
  vjp: (node, dys) => [reshapeTo(outGrad(node, dys), node.inputs[0]!), null],
});

registerGrad({
  opType: 'Squeeze',
  vjp: (node, dys) => [reshapeTo(outGrad(node, dys), node.inputs[0]!), ...(node.inputs.length > 1 ? [null] : [])],
});

// Pad (constant mode, non-negative pads): the gradient is the slice of the output gradient that x filled.
registerGrad({
  opType: 'Pad',
  vjp: (node, dys, needs) => {
    const x = node.inputs[0]!;
    if (needs?.[2]) throw new Error('Pad gradient: a differentiated constant_value is not supported');
    if ((node.attrs.mode?.value ?? 'constant') !== 'constant') throw new Error('Pad gradient: only constant mode is supported');
    const pads = constInts(node, 1);
    const axes = node.inputs[3] ? constInts(node, 3).map((a) => normAxis('Pad', a, x.rank)) : x.shape.map((_, i) => i);
    if (pads.some((p) => p < 0)) throw new Error('Pad gradient: negative pads are not supported');
    const starts = axes.map((_, i) => pads[i]!);
    const ends = axes.map((a, i) => pads[i]! + staticDim('Pad', x, a));
    const g = outGrad(node, dys);
    return [slice(g, axes, starts, ends), ...node.inputs.slice(1).map(() => null)];
  },
});

registerNonDifferentiable('Shape', 'ConstantOfShape', 'Size');
