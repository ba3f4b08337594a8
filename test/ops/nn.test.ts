// Finite-difference checks of Softmax, LogSoftmax, LayerNormalization, GELU and a multi-head self-attention
// block built like src/model/vit.ts's selfAttention, in float64.
import { test } from 'node:test';
import { type Dim, type Value, attr } from '../../src/graph/graph.ts';
import { attention } from '../../src/ops/attention.ts';
import { add } from '../../src/ops/elementwise.ts';
import { gelu, layerNorm, linear, logSoftmax, softmax } from '../../src/ops/nn.ts';
import { reshape, split, transpose } from '../../src/ops/shape.ts';
import { fdCheck, randn } from './fd-check.ts';

test('Softmax along the last axis and along a middle axis', async () => {
  await fdCheck([{ shape: [2, 5] }], (x) => softmax(x));
  await fdCheck([{ shape: [2, 3, 4] }], (x) => softmax(x, 1));
});

test('LogSoftmax, including large logits', async () => {
  await fdCheck([{ shape: [3, 4] }], (x) => logSoftmax(x));
  await fdCheck([{ shape: [3, 4], data: Array.from(randn([3, 4], 3), (v) => 30 * v) }], (x) => logSoftmax(x, 0));
});

test('LayerNormalization (its rule reuses the Mean/InvStdDev outputs) with scale and bias, eps 1e-6 and 1e-5', async () => {
  await fdCheck([{ shape: [2, 3, 5] }, { shape: [5] }, { shape: [5] }], (x, s, b) => layerNorm(x, s!, b!, 1e-6));
  await fdCheck([{ shape: [4, 6], data: Array.from(randn([4, 6], 4), (v) => 3 * v + 1) }, { shape: [6] }, { shape: [6] }], (x, s, b) =>
    layerNorm(x, s!, b!, 1e-5),
  );
});

test('LayerNormalization without the optional bias input, normalising the last two axes', async () => {
  await fdCheck([{ shape: [2, 3, 4] }, { shape: [3, 4] }], (x, s) =>
    x.graph.node('LayerNormalization', [x, s!], [{ dtype: 'float64', shape: x.shape }], { axis: attr.int(1), epsilon: attr.float(1e-5) })[0]!);
});

// GELU's Erf runs as fd-check's float64 series (onnxruntime has no float64 Erf kernel; see fd-check.ts).
test('GELU (the composite from nn.ts, with its own rule)', async () => {
  await fdCheck([{ shape: [3, 5], data: Array.from(randn([3, 5], 5), (v) => 2 * v) }], gelu);
});

/** vit.ts's multi-head self-attention: qkv linear, split, heads, attention composite, merge, proj. */
function selfAttention(x: Value, qkvW: Value, qkvB: Value, projW: Value, projB: Value, heads: number): Value {
  const [, t, d] = x.shape as [Dim, number, number];
  const hd = d / heads;
  const [q, k, v] = split(linear(x, qkvW, qkvB), 2, [d, d, d]).map((y) => transpose(reshape(y, [0, t, heads, hd]), [0, 2, 1, 3])); // [B, H, T, hd]
  const { out } = attention(q!, k!, v!, 1 / Math.sqrt(hd));
  return linear(reshape(out, [0, t, d]), projW, projB); // [B, T, H, hd] → [B, T, D]
}

test('multi-head self-attention block (pre-norm residual, as a ViT block) w.r.t. input and every parameter', async () => {
  const [b, t, d, heads] = [2, 3, 4, 2];
  await fdCheck(
    [{ shape: [b, t, d] }, { shape: [3 * d, d] }, { shape: [3 * d] }, { shape: [d, d] }, { shape: [d] }, { shape: [d] }, { shape: [d] }],
    (x, qw, qb, pw, pb, nw, nb) => add(x, selfAttention(layerNorm(x, nw!, nb!, 1e-6), qw!, qb!, pw!, pb!, heads)),
    { maxCoords: 24 },
  );
});

test('self-attention with a symbolic batch', async () => {
  const [t, d] = [3, 4];
  await fdCheck(
    [{ shape: [2, t, d], graphShape: ['batch', t, d] }, { shape: [3 * d, d] }, { shape: [3 * d] }, { shape: [d, d] }, { shape: [d] }],
    (x, qw, qb, pw, pb) => selfAttention(x, qw!, qb!, pw!, pb!, 2),
    { maxCoords: 16 },
  );
});
