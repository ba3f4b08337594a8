// Layout ops: Reshape, Transpose, Concat, Slice, Gather, Expand, Unsqueeze, Squeeze, Identity.
import { attr, type Dim, type Value } from '../graph/graph.ts';
import { broadcastShapes, normAxis } from '../graph/shapes.ts';
import { formatShape } from '../graph/tensor.ts';

function int64s(x: Value, values: readonly number[], prefix: string): Value {
  return x.graph.constant({ dtype: 'int64', shape: [values.length], data: BigInt64Array.from(values, BigInt) }, prefix);
}

/**
 * Reshape with ONNX semantics: 0 copies the input dim at that position, -1 is inferred.
 * Symbolic dims may only be carried through by 0 (e.g. [0, N, D] keeps a dynamic batch).
 */
export function reshape(x: Value, shape: readonly number[]): Value {
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
  return x.graph.node('Reshape', [x, int64s(x, shape, 'shape')], [{ dtype: x.dtype, shape: out }])[0]!;
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
