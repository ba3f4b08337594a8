// Finite-difference checks of the reductions' gradient rules (src/ops/reduce.ts), in float64.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Graph, attr } from '../../src/graph/graph.ts';
import { gradients } from '../../src/autodiff/grad.ts';
import { mul } from '../../src/ops/elementwise.ts';
import * as rd from '../../src/ops/reduce.ts';
import { fdCheck, randn, session } from './fd-check.ts';

test('ReduceSum over one axis, several axes, all axes; with and without keepdims', async () => {
  await fdCheck([{ shape: [2, 3, 4] }], (x) => rd.reduceSum(x, [1]));
  await fdCheck([{ shape: [2, 3, 4] }], (x) => rd.reduceSum(x, [0, 2], true));
  await fdCheck([{ shape: [2, 3, 4] }], (x) => rd.reduceSum(x, [-1, 0]));
  await fdCheck([{ shape: [2, 3] }], (x) => rd.reduceSum(mul(x, x), 'all'));
});

test('Reduce ops without the optional axes input reduce every axis', async () => {
  for (const op of ['ReduceSum', 'ReduceMean', 'ReduceSumSquare', 'ReduceMax']) {
    await fdCheck([{ shape: [2, 3] }], (x) => x.graph.node(op, [x], [{ dtype: 'float64', shape: [] }], { keepdims: attr.int(0) })[0]!);
  }
});

test('ReduceMean, including over a symbolic batch axis', async () => {
  await fdCheck([{ shape: [2, 3, 4] }], (x) => rd.reduceMean(x, [1, 2]));
  await fdCheck([{ shape: [2, 3, 4] }], (x) => rd.reduceMean(x, [2], true));
  await fdCheck([{ shape: [3, 4], graphShape: ['batch', 4] }], (x) => rd.reduceMean(x, [0]));
});

test('ReduceSumSquare', async () => {
  await fdCheck([{ shape: [2, 3, 4] }], (x) => rd.reduceSumSquare(x, [0, 2]));
  await fdCheck([{ shape: [3, 4] }], (x) => rd.reduceSumSquare(x, [1], true));
});

test('ReduceMax with distinct values (≥ 0.05 apart); ties split the gradient evenly', async () => {
  const spread = Array.from({ length: 24 }, (_, i) => ((i * 7) % 24) * 0.1 + 0.01 * randn([1], i)[0]!);
  await fdCheck([{ shape: [2, 3, 4], data: spread }], (x) => rd.reduceMax(x, [2]));
  await fdCheck([{ shape: [2, 3, 4], data: spread }], (x) => rd.reduceMax(x, [0, 1], true));

  const g = new Graph();
  const x = g.input('x', 'float64', [2, 3]);
  const [dx] = gradients(rd.reduceSum(rd.reduceMax(x, [1]), 'all'), [x]);
  g.output(dx!);
  const out = await (await session(g)).run({ x: { dtype: 'float64', shape: [2, 3], data: Float64Array.of(1, 5, 5, 2, 0, 1) } });
  assert.deepEqual(Array.from(out['grad.x']!.data as Float64Array), [0, 0.5, 0.5, 1, 0, 0]);
});

test('an empty axis list is refused (ONNX would reduce everything)', () => {
  const g = new Graph();
  assert.throws(() => rd.reduceSum(g.input('x', 'float64', [2, 3, 4]), []), /no axes/);
});

test('ArgMax has no gradient rule output (non-differentiable)', async () => {
  const g = new Graph();
  const x = g.input('x', 'float64', [2, 3]);
  const am = rd.argMax(x, 1);
  assert.equal(am.dtype, 'int64');
  assert.deepEqual(am.shape, [2]);
  const [dx] = gradients(rd.reduceSum(x, 'all'), [x]);
  assert.deepEqual(dx!.shape, [2, 3]);
});
