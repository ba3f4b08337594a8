// Finite-difference checks of every elementwise gradient rule (src/ops/elementwise.ts), in float64.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Graph, attr } from '../../src/graph/graph.ts';
import { gradients } from '../../src/autodiff/grad.ts';
import * as ew from '../../src/ops/elementwise.ts';
import { reduceSum } from '../../src/ops/reduce.ts';
import { erf64, erfSeries, fdCheck, randn, session } from './fd-check.ts';

const positive = (shape: number[], seed: number) => Array.from(randn(shape, seed), (v) => 0.5 + Math.abs(v));

test('Add, Sub, Mul, Div broadcast [3,1] with [1,4] and [2,3,4] with [4]', async () => {
  for (const op of [ew.add, ew.sub, ew.mul]) {
    await fdCheck([{ shape: [3, 1] }, { shape: [1, 4] }], op);
    await fdCheck([{ shape: [2, 3, 4] }, { shape: [4] }], op);
    await fdCheck([{ shape: [4] }, { shape: [2, 3, 4] }], op);
  }
  await fdCheck([{ shape: [3, 1] }, { shape: [1, 4], data: positive([1, 4], 3) }], ew.div);
  await fdCheck([{ shape: [2, 3, 4] }, { shape: [3, 1], data: positive([3, 1], 4) }], ew.div);
});

test('number operands become constants with no gradient', async () => {
  await fdCheck([{ shape: [2, 3] }], (x) => ew.div(ew.sub(2, ew.mul(x, 3)), 1.5));
});

test('Pow with a constant exponent, and with a differentiated exponent', async () => {
  for (const p of [2, 3, 2.5, -1.5]) await fdCheck([{ shape: [2, 3], data: positive([2, 3], 5) }], (x) => ew.pow(x, p));
  await fdCheck([{ shape: [3, 1], data: positive([3, 1], 6) }, { shape: [1, 4] }], (a, b) => ew.pow(a, b!));
});

test('Max and Min with broadcasting (inputs ≥ 0.05 apart), and ties split the gradient evenly', async () => {
  const a = randn([3, 4], 7);
  const b = Array.from(randn([4], 8), (v, i) => (Math.abs(v - a[i]!) < 0.05 ? v + 0.1 : v));
  for (const op of [ew.max, ew.min]) await fdCheck([{ shape: [3, 4], data: a }, { shape: [4], data: b }], op);

  const g = new Graph();
  const x = g.input('x', 'float64', [2]);
  const y = g.input('y', 'float64', [2]);
  const [dx, dy] = gradients(reduceSum(ew.max(x, y), 'all'), [x, y]);
  g.output(dx!);
  g.output(dy!);
  const out = await (await session(g)).run({
    x: { dtype: 'float64', shape: [2], data: Float64Array.of(1, 2) },
    y: { dtype: 'float64', shape: [2], data: Float64Array.of(1, 3) },
  });
  assert.deepEqual(Array.from(out['grad.x']!.data as Float64Array), [0.5, 0]);
  assert.deepEqual(Array.from(out['grad.y']!.data as Float64Array), [0.5, 1]);
});

test('unary maths: Neg Exp Tanh Sigmoid Softplus on any input; Sqrt Log Reciprocal on positive ones', async () => {
  for (const op of [ew.neg, ew.exp, ew.tanh, ew.sigmoid, ew.softplus]) await fdCheck([{ shape: [2, 5] }], op);
  for (const op of [ew.sqrt, ew.log, ew.reciprocal]) await fdCheck([{ shape: [2, 5], data: positive([2, 5], 9) }], op);
  await fdCheck([{ shape: [2, 5], data: Array.from(positive([2, 5], 9), (v, i) => (i % 2 ? -v : v)) }], ew.reciprocal);
});

test('Abs and Relu away from their kink at 0', async () => {
  for (const op of [ew.abs, ew.relu]) await fdCheck([{ shape: [3, 4], data: randn([3, 4], 10, 0.05) }], op);
});

// onnxruntime has no float64 Erf kernel: fd-check lowers float64 Erf nodes to a float64 series (erfSeries)
// after gradients() has applied the Erf rule, so L and its finite differences use a float64 erf accurate to
// ~1e-15 while the gradient under test is the Erf rule's 2/√π·e^(−x²). The series itself is checked here.
test('the float64 erf used for the Erf rule check matches reference values to 1e-15', async () => {
  const ref: [number, number][] = [
    [0.5, 0.5204998778130465],
    [1, 0.8427007929497149],
    [2, 0.9953222650189527],
    [3, 0.9999779095030014],
    [-1.5, -0.9661051464753108],
    [0.01, 0.011283415555849618],
  ];
  for (const [x, v] of ref) assert.ok(Math.abs(erf64(x) - v) <= 1e-15, `erf64(${x}) = ${erf64(x)}, expected ${v}`);
  const g = new Graph();
  const x = g.input('x', 'float64', [ref.length]);
  g.output(erfSeries(x), 'y');
  const out = await (await session(g)).run({ x: { dtype: 'float64', shape: [ref.length], data: Float64Array.from(ref, (r) => r[0]) } });
  (out.y!.data as Float64Array).forEach((v, i) => assert.ok(Math.abs(v - ref[i]![1]) <= 1e-15, `erfSeries(${ref[i]![0]}) = ${v}`));
});

test('Erf (forward lowered to the float64 series, see above)', async () => {
  await fdCheck([{ shape: [3, 4], data: Array.from(randn([3, 4], 11), (v) => 1.5 * v) }], ew.erf);
});

test('Where: gradient to the selected branch; the condition (a comparison) gets none', async () => {
  const c = [0.5, -0.7, 1.2];
  await fdCheck([{ shape: [3, 1], data: c, wrt: false }, { shape: [3, 4] }, { shape: [4] }], (cv, a, b) => ew.where(ew.greater(cv!, 0), a!, b!));
  await fdCheck([{ shape: [3, 4] }], (a) => ew.where(ew.less(a, 0.1), ew.mul(a, a), 2));
  await fdCheck([{ shape: [3, 4] }], (a) => ew.where(ew.equal(a, 0.25), 1, ew.exp(a)));
});

test('Cast between float types passes the gradient back (float64 → float64 here; the float32 path exactly)', async () => {
  await fdCheck([{ shape: [2, 3] }], (x) => ew.mul(x.graph.node('Cast', [x], [{ dtype: 'float64', shape: x.shape }], { to: attr.int(11) })[0]!, x));
  // Through float32, FD would measure float32 rounding; check the gradient of Σ cast32(x)·r exactly instead.
  const g = new Graph();
  const x = g.input('x', 'float64', [3]);
  const r = g.constant({ dtype: 'float32', shape: [3], data: Float32Array.of(0.1, -2, 3.5) });
  const [dx] = gradients(reduceSum(ew.mul(ew.cast(x, 'float32'), r), 'all'), [x]);
  g.output(dx!);
  const out = await (await session(g)).run({ x: { dtype: 'float64', shape: [3], data: Float64Array.of(1, 2, 3) } });
  assert.deepEqual(Array.from(out['grad.x']!.data as Float64Array), Array.from(Float32Array.of(0.1, -2, 3.5)));
});

test('Identity and a value used several times accumulate gradients', async () => {
  await fdCheck([{ shape: [2, 3] }], (x) =>
    ew.add(ew.mul(x, x), ew.mul(x.graph.node('Identity', [x], [{ dtype: x.dtype, shape: x.shape }])[0]!, ew.tanh(x))),
  );
});
