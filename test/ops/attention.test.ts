// Finite-difference checks of the attention composite's rule (the rowsum(dO ⊙ O) form of the softmax backward, with
// the probabilities recomputed), in float64: through its output, through its probabilities, and through both at
// once; and a check that onnxruntime's optimiser leaves the recomputation in place.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { gradients } from '../../src/autodiff/grad.ts';
import { ortSessionOptions } from '../../src/runtime/session.ts';
import { Graph, type Value } from '../../src/graph/graph.ts';
import { toOnnx } from '../../src/graph/onnx.ts';
import { attention } from '../../src/ops/attention.ts';
import { add } from '../../src/ops/elementwise.ts';
import { reduceSum } from '../../src/ops/reduce.ts';
import { transpose } from '../../src/ops/shape.ts';
import { fdCheck } from './fd-check.ts';
import { protoField } from '../graph/proto-fields.ts';

const qkv = [{ shape: [2, 2, 3, 4] }, { shape: [2, 2, 3, 4] }, { shape: [2, 2, 3, 4] }];

test('attention: gradients of q, k, v through the attended values', async () => {
  await fdCheck(qkv, (q, k, v) => attention(q!, k!, v!, 0.5).out);
});

test('attention: gradients through the probabilities alone, and through values and probabilities together', async () => {
  await fdCheck([...qkv.slice(0, 2), { ...qkv[2]!, wrt: false }], (q, k, v) => attention(q!, k!, v!, 0.7).probs);
  await fdCheck(qkv, (q, k, v) => {
    const a = attention(q!, k!, v!, 0.5);
    return add(transpose(reduceSum(a.out, [-1], true), [0, 2, 1, 3]), a.probs); // [B, T, H, 1] → [B, H, T, 1], + [B, H, T, T]
  });
});

test('attention is one composite node to autodiff and standard ops to onnxruntime', () => {
  const g = new Graph();
  const [q, k, v] = ['q', 'k', 'v'].map((n) => g.input(n, 'float32', ['batch', 3, 5, 8]));
  const a = attention(q!, k!, v!, 0.25);
  assert.deepEqual(g.nodes.map((n) => n.opType), ['Attention']);
  assert.deepEqual(a.out.shape, ['batch', 5, 3, 8]);
  assert.deepEqual(a.probs.shape, ['batch', 3, 5, 5]);
  assert.ok(toOnnx(g).length > 0);
  assert.throws(() => attention(q!, g.input('k2', 'float32', ['batch', 3, 5, 4]), v!, 1), /does not match q/);
  assert.throws(() => attention(...(['q3', 'k3', 'v3'].map((n) => g.input(n, 'float32', [5, 8])) as [Value, Value, Value]), 1), /at least 3 axes/);
});

/** op_type of every node of an ONNX model's graph (ModelProto.graph is field 7, GraphProto.node 1, NodeProto.op_type 4). */
function opTypes(model: Uint8Array): string[] {
  return protoField(protoField(model, 7)[0]!, 1).map((node) => new TextDecoder().decode(protoField(node, 4)[0]));
}

// Kept from the forward pass, P = softmax(s·q·kᵀ) would stay alive from the forward to the backward of its block, so
// the rule recomputes it. Written identically, onnxruntime's common-subexpression elimination would merge the two
// computations back into one and keep P after all; the graph onnxruntime optimises must still have two softmaxes.
test('attention: the backward recomputes the probabilities, and onnxruntime keeps both softmaxes', async () => {
  const g = new Graph();
  const [q, k, v] = ['q', 'k', 'v'].map((n) => g.input(n, 'float32', [2, 3, 5, 8]));
  const loss = reduceSum(attention(q!, k!, v!, 0.25).out, 'all');
  gradients(loss, [q!, k!, v!]).forEach((d, i) => g.output(d, `d${'qkv'[i]}`));
  const dir = mkdtempSync(join(tmpdir(), 'vitkit-attention-'));
  try {
    const optimized = join(dir, 'optimized.onnx');
    const session = await ort.InferenceSession.create(toOnnx(g), { ...ortSessionOptions({ threads: 1 }), optimizedModelFilePath: optimized });
    await session.release();
    assert.equal(opTypes(readFileSync(optimized)).filter((t) => t === 'Softmax').length, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
