// Elementwise ops with ONNX broadcasting: arithmetic, unary maths, comparisons, Where, Cast.
import type { Value } from '../graph/graph.ts';
import { broadcastShapes } from '../graph/shapes.ts';
import type { DType } from '../graph/tensor.ts';

/** A value, or a number turned into a scalar constant of the other operand's dtype. */
export type Operand = Value | number;

function pair(op: string, a: Operand, b: Operand): [Value, Value] {
  if (typeof a === 'number' && typeof b === 'number') throw new Error(`${op}: at least one operand must be a graph value`);
  const x = typeof a === 'number' ? (b as Value).graph.scalar(a, (b as Value).dtype) : a;
  const y = typeof b === 'number' ? x.graph.scalar(b, x.dtype) : b;
  if (x.dtype !== y.dtype) throw new Error(`${op}: dtypes differ (${x} vs ${y})`);
  return [x, y];
}

function binary(op: string, a: Operand, b: Operand, outType?: DType): Value {
  const [x, y] = pair(op, a, b);
  const shape = broadcastShapes(op, x.shape, y.shape);
  return x.graph.node(op, [x, y], [{ dtype: outType ?? x.dtype, shape }])[0]!;
}

function unary(op: string, x: Value): Value {
  return x.graph.node(op, [x], [{ dtype: x.dtype, shape: x.shape }])[0]!;
}

export const add = (a: Operand, b: Operand): Value => binary('Add', a, b);
export const sub = (a: Operand, b: Operand): Value => binary('Sub', a, b);
export const mul = (a: Operand, b: Operand): Value => binary('Mul', a, b);
export const div = (a: Operand, b: Operand): Value => binary('Div', a, b);
export const pow = (a: Value, b: Operand): Value => binary('Pow', a, b);
export const max = (a: Operand, b: Operand): Value => binary('Max', a, b);
export const min = (a: Operand, b: Operand): Value => binary('Min', a, b);
export const equal = (a: Operand, b: Operand): Value => binary('Equal', a, b, 'bool');
export const less = (a: Operand, b: Operand): Value => binary('Less', a, b, 'bool');
export const greater = (a: Operand, b: Operand): Value => binary('Greater', a, b, 'bool');

export const neg = (x: Value): Value => unary('Neg', x);
export const sqrt = (x: Value): Value => unary('Sqrt', x);
export const exp = (x: Value): Value => unary('Exp', x);
export const log = (x: Value): Value => unary('Log', x);
export const tanh = (x: Value): Value => unary('Tanh', x);
export const erf = (x: Value): Value => unary('Erf', x);
export const sigmoid = (x: Value): Value => unary('Sigmoid', x);
export const reciprocal = (x: Value): Value => unary('Reciprocal', x);
export const abs = (x: Value): Value => unary('Abs', x);
export const relu = (x: Value): Value => unary('Relu', x);

/** Elementwise select: cond ? a : b, all three broadcast together. */
export function where(cond: Value, a: Operand, b: Operand): Value {
  if (cond.dtype !== 'bool') throw new Error(`Where: condition must be bool, got ${cond}`);
  const [x, y] = pair('Where', a, b);
  const shape = broadcastShapes('Where', cond.shape, broadcastShapes('Where', x.shape, y.shape));
  return x.graph.node('Where', [cond, x, y], [{ dtype: x.dtype, shape }])[0]!;
}

const onnxType: Record<DType, number> = { float32: 1, uint8: 2, int32: 6, int64: 7, bool: 9, float64: 11 };

export function cast(x: Value, to: DType): Value {
  if (x.dtype === to) return x;
  return x.graph.node('Cast', [x], [{ dtype: to, shape: x.shape }], { to: { type: 'int', value: onnxType[to] } })[0]!;
}
