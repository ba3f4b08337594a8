// Finite-difference checks of the attention composite's rule (the rowsum(dO ⊙ O) form of the softmax backward), in
// float64: through its output, through its probabilities, and through both at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph } from '../../src/graph/graph.ts';
import { toOnnx } from '../../src/graph/onnx.ts';
import { attention } from '../../src/ops/attention.ts';
import { add } from '../../src/ops/elementwise.ts';
import { reduceSum } from '../../src/ops/reduce.ts';
import { fdCheck } from './fd-check.ts';

const qkv = [{ shape: [2, 2, 3, 4] }, { shape: [2, 2, 3, 4] }, { shape: [2, 2, 3, 4] }];

test('attention: gradients of q, k, v through the attended values', async () => {
  await fdCheck(qkv, (q, k, v) => attention(q!, k!, v!, 0.5).out);
});

test('attention: gradients through the probabilities alone, and through values and probabilities together', async () => {
  await fdCheck([...qkv.slice(0, 2), { ...qkv[2]!, wrt: false }], (q, k, v) => attention(q!, k!, v!, 0.7).probs);
  await fdCheck(qkv, (q, k, v) => {
    const a = attention(q!, k!, v!, 0.5);
    return add(reduceSum(a.out, [-1], true), a.probs); // [.., T, 1] + [.., T, T]
  });
});

test('attention is one composite node to autodiff and standard ops to onnxruntime', () => {
  const g = new Graph();
  const [q, k, v] = ['q', 'k', 'v'].map((n) => g.input(n, 'float32', ['batch', 3, 5, 8]));
  const a = attention(q!, k!, v!, 0.25);
  assert.deepEqual(g.nodes.map((n) => n.opType), ['Attention']);
  assert.deepEqual(a.probs.shape, ['batch', 3, 5, 5]);
  assert.ok(toOnnx(g).length > 0);
  assert.throws(() => attention(q!, g.input('k2', 'float32', ['batch', 3, 5, 4]), v!, 1), /does not match q/);
});
