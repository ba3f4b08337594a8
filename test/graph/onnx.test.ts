// The ONNX encoder (src/graph/onnx.ts): graphs using every attribute type, initializer dtype, symbolic
// dims, an optional omitted input and named outputs are accepted by onnxruntime and compute the expected values.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Graph, attr } from '../../src/graph/graph.ts';
import { OPSET, toOnnx } from '../../src/graph/onnx.ts';
import { add, where } from '../../src/ops/elementwise.ts';
import { matmul } from '../../src/ops/matmul.ts';
import { gather, transpose } from '../../src/ops/shape.ts';
import { Session } from '../../src/runtime/session.ts';

test('a graph with float32/float64/int64/int32/bool initializers and int/ints/float/string/tensor attributes runs', async () => {
  const g = new Graph('roundtrip');
  const x = g.input('x', 'float32', ['batch', 3]);
  const w = g.initializer('w', { dtype: 'float32', shape: [3, 2], data: Float32Array.of(1, 2, 3, 4, 5, 6) });
  const b = g.initializer('b', { dtype: 'float32', shape: [2], data: Float32Array.of(0.5, -0.5) });
  const y = transpose(add(matmul(x, w), b), [1, 0]); // ints attribute; [2, batch]
  const leaky = g.node('LeakyRelu', [y], [{ dtype: 'float32', shape: y.shape }], { alpha: attr.float(0.25) })[0]!; // float
  const y64 = g.node('Cast', [leaky], [{ dtype: 'float64', shape: y.shape }], { to: attr.int(11) })[0]!; // int
  const idx = g.initializer('idx', { dtype: 'int32', shape: [1], data: Int32Array.of(1) });
  const row = gather(y64, idx, 0); // int32 indices; [1, batch]
  const mask = g.initializer('mask', { dtype: 'bool', shape: [1, 1], data: Uint8Array.of(1) });
  const picked = where(mask, row, 0);
  const shape = g.initializer('shape', { dtype: 'int64', shape: [2], data: BigInt64Array.of(2n, 2n) });
  const filled = g.node('ConstantOfShape', [shape], [{ dtype: 'float64', shape: [2, 2] }], {
    value: { type: 'tensor', value: { dtype: 'float64', shape: [1], data: Float64Array.of(7.5) } }, // tensor
  })[0]!;
  const padded = g.node(
    'Pad',
    [filled, g.constant({ dtype: 'int64', shape: [4], data: BigInt64Array.of(0n, 1n, 0n, 0n) }), null],
    [{ dtype: 'float64', shape: [2, 3] }],
    {
      mode: attr.string('constant'), // string; the omitted constant_value input is encoded as ''
    },
  )[0]!;
  g.output(picked, 'picked');
  g.output(padded, 'padded');
  g.output(x, 'x_copy'); // an input as an output goes through an Identity

  const bytes = toOnnx(g);
  assert.ok(bytes.length > 100);
  assert.ok(OPSET >= 17);
  const s = await Session.create(bytes, { threads: 1 });
  assert.deepEqual([...s.inputNames], ['x']);
  assert.deepEqual([...s.outputNames], ['picked', 'padded', 'x_copy']);
  const out = await s.run({ x: { dtype: 'float32', shape: [2, 3], data: Float32Array.of(1, 0, 0, 0, 0, -1) } });
  // x·w + b = [[1.5, 1.5], [-5.5, -6.5]]; transposed row 1 = [1.5, -6.5]; LeakyRelu → [1.5, -1.625].
  assert.deepEqual(out.picked!.shape, [1, 2]);
  assert.deepEqual(Array.from(out.picked!.data as Float64Array), [1.5, -1.625]);
  assert.deepEqual(Array.from(out.padded!.data as Float64Array), [0, 7.5, 7.5, 0, 7.5, 7.5]);
  assert.deepEqual(Array.from(out.x_copy!.data as Float32Array), [1, 0, 0, 0, 0, -1]);
});

test('value names must be unique', () => {
  const g = new Graph();
  g.input('x', 'float32', [1]);
  assert.throws(() => g.input('x', 'float32', [1]), /already has a value named 'x'/);
  const other = new Graph().input('y', 'float32', [1]);
  assert.throws(() => add(g.inputs[0]!, other), /belongs to another graph/);
});
