// The IR's node scopes, composites and addOutputs (src/graph/graph.ts), and how toOnnx writes them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph, inlineComposites } from '../../src/graph/graph.ts';
import { toOnnx } from '../../src/graph/onnx.ts';
import { add, mul } from '../../src/ops/elementwise.ts';

test('scopes tag the nodes built inside them (innermost wins) and start their ONNX node names', () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [2]);
  g.inScope('outer', () => g.inScope('grad.Mul', () => mul(x, 2)));
  g.output(add(x, 1), 'y');
  assert.deepEqual(g.nodes.map((n) => n.scope), ['grad.Mul', undefined, undefined]); // Mul, Add, the output's Identity
  assert.ok(Buffer.from(toOnnx(g)).includes('grad.Mul/Mul_0'));
});

test('a composite is one node to the graph and its body to onnxruntime; its body may read only its inputs', () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [2]);
  const other = g.input('other', 'float32', [2]);
  const [y] = g.composite('Twice', [x], () => [mul(add(x, 1), 2)]);
  assert.deepEqual(g.nodes.map((n) => n.opType), ['Twice']);
  assert.deepEqual(inlineComposites(g.nodes).map((n) => n.opType), ['Add', 'Mul']);
  g.output(y!, 'y');
  assert.ok(!Buffer.from(toOnnx(g)).includes('Twice'));
  assert.throws(() => g.composite('Bad', [x], () => [add(x, other)]), /body reads 'other', which is not one of its inputs/);
});

test('addOutputs gives a node optional outputs and attributes in place', () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [2]);
  add(x, 1);
  const node = g.nodes[0]!;
  const [extra] = g.addOutputs(node, [{ dtype: 'float32', shape: [1] }], { note: { type: 'int', value: 1 } });
  assert.equal(g.nodes[0]!.outputs[1], extra);
  assert.equal(g.nodes[0]!.attrs.note?.value, 1);
  assert.throws(() => g.addOutputs(node, []), /is not in this graph/);
});
