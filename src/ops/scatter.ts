// Element-wise indexed reads and writes along an axis: GatherElements and ScatterElements (reduction 'add'),
// each other's adjoint, with their gradient rules. MaxPool's gradient scatters through them (see pool.ts).
import { attr, type Value } from '../graph/graph.ts';
import { normAxis } from '../graph/shapes.ts';
import { outGrad, registerGrad } from './registry.ts';
import { zerosLike } from './shape.ts';

function checkIndices(op: string, data: Value, indices: Value): void {
  if (indices.dtype !== 'int64') throw new Error(`${op}: indices must be int64, got ${indices}`);
  if (indices.rank !== data.rank) throw new Error(`${op}: indices ${indices} and data ${data} differ in rank`);
}

/** out[…i…] = data[…indices[…i…]…] along `axis` (output shaped like indices). */
export function gatherElements(data: Value, indices: Value, axis: number): Value {
  checkIndices('GatherElements', data, indices);
  const a = normAxis('GatherElements', axis, data.rank);
  return data.graph.node('GatherElements', [data, indices], [{ dtype: data.dtype, shape: indices.shape }], { axis: attr.int(a) })[0]!;
}

/** A copy of data with updates[…i…] added at data[…indices[…i…]…] along `axis` (repeated indices accumulate). */
export function scatterAddElements(data: Value, indices: Value, updates: Value, axis: number): Value {
  checkIndices('ScatterElements', data, indices);
  const a = normAxis('ScatterElements', axis, data.rank);
  return data.graph.node('ScatterElements', [data, indices, updates], [{ dtype: data.dtype, shape: data.shape }], {
    axis: attr.int(a),
    reduction: attr.string('add'),
  })[0]!;
}

const axisOf = (attrs: Readonly<Record<string, { value: unknown }>>): number => (attrs.axis?.value as number | undefined) ?? 0;

// y = gather(x, idx): dx = scatter-add of dy into zeros at idx.
registerGrad({
  opType: 'GatherElements',
  vjp: (node, dys) => {
    const [x, idx] = node.inputs as [Value, Value];
    return [scatterAddElements(zerosLike(x), idx, outGrad(node, dys), axisOf(node.attrs)), null];
  },
});

// y = data + scatter-add(updates at idx): ddata = dy, dupdates = gather(dy, idx). Only reduction 'add' has this
// form (with 'none' the overwritten data elements get no gradient).
registerGrad({
  opType: 'ScatterElements',
  vjp: (node, dys, needs) => {
    const idx = node.inputs[1]!;
    const g = outGrad(node, dys);
    if (node.attrs.reduction?.value !== 'add') throw new Error(`ScatterElements gradient: only reduction 'add' is supported`);
    return [needs && !needs[0] ? null : g, null, needs && !needs[2] ? null : gatherElements(g, idx, axisOf(node.attrs))];
  },
});
