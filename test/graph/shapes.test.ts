// Shapes are checked when the graph is built: errors name the op and the offending shapes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Graph } from '../../src/graph/graph.ts';
import { broadcastShapes } from '../../src/graph/shapes.ts';
import { add, mul, where } from '../../src/ops/elementwise.ts';
import { matmul } from '../../src/ops/matmul.ts';
import { layerNorm } from '../../src/ops/nn.ts';
import { concat, gather, pad, reshape, slice, squeeze, transpose } from '../../src/ops/shape.ts';

const g = new Graph();
const a = g.input('a', 'float32', [2, 3, 4]);
const b = g.input('b', 'float32', [5, 6]);

test('MatMul: inner dims must agree, batch dims broadcast', () => {
  assert.throws(() => matmul(a, b), /MatMul: inner dims differ: a: float32\[2, 3, 4\] × b: float32\[5, 6\]/);
  const c = g.input('c', 'float32', [3, 4, 2]);
  assert.throws(() => matmul(a, c), /MatMul: shapes \[2\] and \[3\] do not broadcast/);
  assert.deepEqual(matmul(g.input('d', 'float32', [2, 1, 3, 4]), g.input('e', 'float32', [5, 4, 2])).shape, [2, 5, 3, 2]);
});

test('Concat: every input must match except along the axis', () => {
  assert.throws(
    () => concat([a, g.input('f', 'float32', [2, 5, 5])], 1),
    /Concat: f: float32\[2, 5, 5\] does not fit a: float32\[2, 3, 4\] along axis 1/,
  );
  assert.deepEqual(concat([a, g.input('h', 'float32', [2, 5, 4])], 1).shape, [2, 8, 4]);
});

test('Reshape: impossible sizes, and symbolic dims that are not kept', () => {
  assert.throws(() => reshape(a, [5, -1]), /Reshape: cannot reshape \[2, 3, 4\] to \[5, -1\]/);
  assert.throws(() => reshape(a, [3, 3]), /Reshape: cannot reshape \[2, 3, 4\] to \[3, 3\]/);
  const s = g.input('s', 'float32', ['batch', 4]);
  assert.throws(() => reshape(s, [-1]), /Reshape: symbolic dims/);
  assert.deepEqual(reshape(a, [0, -1]).shape, [2, 12]);
});

test('broadcasting errors name the op and both shapes', () => {
  assert.throws(() => add(a, b), /Add: shapes \[2, 3, 4\] and \[5, 6\] do not broadcast/);
  assert.throws(() => mul(a, g.input('i64', 'float64', [4])), /Mul: dtypes differ/);
  assert.throws(() => broadcastShapes('Op', ['batch', 3], ['other', 3]), /Op: shapes \[batch, 3\] and \[other, 3\]/);
  assert.throws(() => where(a as never, a, a), /Where: condition must be bool/);
});

test('layout ops reject bad permutations, squeezes, slices, pads, indices and LayerNorm parameters', () => {
  assert.throws(() => transpose(a, [0, 0, 1]), /Transpose: perm \[0, 0, 1\] is not a permutation of rank 3/);
  assert.throws(() => squeeze(a, [1]), /Squeeze: axis 1 of a: float32\[2, 3, 4\] is not 1/);
  assert.throws(() => slice(a, [2], [3], [3]), /Slice: empty range \[3, 3\) on axis 2/);
  assert.throws(() => slice(a, [3], [0], [1]), /Slice: axis 3 out of range for rank 3/);
  assert.throws(() => pad(a, [1, 1]), /Pad: pads \[1, 1\] do not fit a/);
  assert.throws(() => gather(a, a), /Gather: indices must be integers/);
  assert.throws(() => layerNorm(a, b, b, 1e-6), /LayerNormalization: b: float32\[5, 6\] does not fit the last axis of a/);
});
