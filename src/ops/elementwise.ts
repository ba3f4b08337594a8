// Elementwise ops with ONNX broadcasting: arithmetic, unary maths, comparisons, Where, Cast, with their
// gradient rules (a broadcast operand's gradient is summed back to its shape with sumTo).
import type { Node, Value } from '../graph/graph.ts';
import { elemType } from '../graph/onnx.ts';
import { broadcastShapes } from '../graph/shapes.ts';
import type { DType } from '../graph/tensor.ts';
import { sumTo } from './shape.ts';
import { outGrad, registerGrad, registerNonDifferentiable } from './registry.ts';

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
export const sign = (x: Value): Value => unary('Sign', x);
/** log(1 + eˣ), computed stably by onnxruntime (used by the sigmoid cross-entropy). */
export const softplus = (x: Value): Value => unary('Softplus', x);

/** Elementwise select: cond ? a : b, all three broadcast together. */
export function where(cond: Value, a: Operand, b: Operand): Value {
  if (cond.dtype !== 'bool') throw new Error(`Where: condition must be bool, got ${cond}`);
  const [x, y] = pair('Where', a, b);
  const shape = broadcastShapes('Where', cond.shape, broadcastShapes('Where', x.shape, y.shape));
  return x.graph.node('Where', [cond, x, y], [{ dtype: x.dtype, shape }])[0]!;
}

export function cast(x: Value, to: DType): Value {
  if (x.dtype === to) return x;
  return x.graph.node('Cast', [x], [{ dtype: to, shape: x.shape }], { to: { type: 'int', value: elemType[to] } })[0]!;
}

// ---- gradient rules ----

type Grads = (Value | null)[];

/** A binary broadcasting op's rule from the unbroadcast gradients of each operand. */
function binaryRule(opType: string, da: (g: Value, node: Node) => Value, db: (g: Value, node: Node) => Value): void {
  registerGrad({
    opType,
    vjp: (node, dys, needs): Grads => {
      const g = outGrad(node, dys);
      const [a, b] = node.inputs as [Value, Value];
      return [
        needs && !needs[0] ? null : sumTo(da(g, node), a.shape),
        needs && !needs[1] ? null : sumTo(db(g, node), b.shape),
      ];
    },
  });
}

const input = (node: Node, i: number): Value => node.inputs[i]!;
const output = (node: Node): Value => node.outputs[0]!;

binaryRule('Add', (g) => g, (g) => g);
binaryRule('Sub', (g) => g, (g) => neg(g));
binaryRule('Mul', (g, n) => mul(g, input(n, 1)), (g, n) => mul(g, input(n, 0)));
// d(a/b)/db = −a/b² = −y/b.
binaryRule('Div', (g, n) => div(g, input(n, 1)), (g, n) => neg(div(mul(g, output(n)), input(n, 1))));
// d(aᵇ)/da = b·aᵇ⁻¹; d(aᵇ)/db = aᵇ·ln a (only built when the exponent depends on a differentiated value).
binaryRule('Pow', (g, n) => mul(g, mul(input(n, 1), pow(input(n, 0), sub(input(n, 1), 1)))), (g, n) => mul(g, mul(output(n), log(input(n, 0)))));

// Max/Min: the gradient goes to the selected operand; ties split it evenly (as PyTorch).
function selectRule(opType: string, wins: (a: Value, b: Value) => Value): void {
  const weightA = (n: Node): Value => {
    const [a, b] = n.inputs as [Value, Value];
    return add(cast(wins(a, b), a.dtype), mul(cast(equal(a, b), a.dtype), 0.5));
  };
  binaryRule(opType, (g, n) => mul(g, weightA(n)), (g, n) => mul(g, sub(1, weightA(n))));
}
selectRule('Max', greater);
selectRule('Min', less);

function unaryRule(opType: string, dx: (g: Value, x: Value, y: Value) => Value): void {
  registerGrad({ opType, vjp: (node, dys) => [dx(outGrad(node, dys), input(node, 0), output(node))] });
}

unaryRule('Neg', (g) => neg(g));
unaryRule('Sqrt', (g, _x, y) => div(mul(g, 0.5), y));
unaryRule('Exp', (g, _x, y) => mul(g, y));
unaryRule('Log', (g, x) => div(g, x));
unaryRule('Tanh', (g, _x, y) => mul(g, sub(1, mul(y, y))));
// d erf(x)/dx = 2/√π · e^(−x²): built from Exp, so the backward needs no Erf kernel.
unaryRule('Erf', (g, x) => mul(g, mul(exp(neg(mul(x, x))), 2 / Math.sqrt(Math.PI))));
unaryRule('Sigmoid', (g, _x, y) => mul(g, mul(y, sub(1, y))));
unaryRule('Reciprocal', (g, _x, y) => neg(mul(g, mul(y, y))));
unaryRule('Abs', (g, x) => mul(g, sign(x))); // 0 at x = 0, as PyTorch
unaryRule('Relu', (g, x) => where(greater(x, 0), g, 0)); // 0 at x = 0, as PyTorch
unaryRule('Softplus', (g, x) => mul(g, sigmoid(x)));

// Where(cond, a, b): cond is not differentiable; each branch gets the gradient where it was selected.
registerGrad({
  opType: 'Where',
  vjp: (node, dys, needs): Grads => {
    const g = outGrad(node, dys);
    const [cond, a, b] = node.inputs as [Value, Value, Value];
    return [
      null,
      needs && !needs[1] ? null : sumTo(where(cond, g, 0), a.shape),
      needs && !needs[2] ? null : sumTo(where(cond, 0, g), b.shape),
    ];
  },
});

const isFloat = (d: DType): boolean => d === 'float32' || d === 'float64';
// Cast between float types passes the gradient back in the input's type; casts to or from integers stop it.
registerGrad({
  opType: 'Cast',
  vjp: (node, dys) => {
    const x = input(node, 0);
    const g = dys[0];
    return [g && isFloat(x.dtype) && isFloat(g.dtype) ? cast(g, x.dtype) : null];
  },
});

registerNonDifferentiable('Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Sign');
