// Loss functions (src/autodiff/loss.ts): values against float64 references computed here in JS, and
// finite-difference checks of their gradients.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Graph } from '../../src/graph/graph.ts';
import { gradients } from '../../src/autodiff/grad.ts';
import { sigmoidCrossEntropy, softTargetCrossEntropy, softmaxCrossEntropy } from '../../src/autodiff/loss.ts';
import { fdCheck, randn, session } from '../ops/fd-check.ts';

const logits = [2.0, -1.0, 0.5, 0.3, 0.1, 0.2, -0.3, 3.0, 1.5, 1.4, -2.0, 0.0];
const labels = [0, 3, 1];
const [B, K] = [3, 4];

/** PyTorch's CrossEntropyLoss(label_smoothing=ε) per example: (1 − ε)·nll + ε·mean_k(−log p_k). */
function crossEntropyRef(eps: number): number[] {
  return labels.map((y, b) => {
    const row = logits.slice(b * K, b * K + K);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    const logp = row.map((v) => v - lse);
    return (1 - eps) * -logp[y]! + eps * (-logp.reduce((a, b) => a + b, 0) / K);
  });
}

async function runCE(eps: number) {
  const g = new Graph();
  const x = g.input('logits', 'float64', [B, K]);
  const ce = softmaxCrossEntropy(x, g.input('labels', 'int64', [B]), { labelSmoothing: eps });
  g.output(ce.loss, 'loss');
  g.output(ce.perExample, 'per');
  g.output(ce.correct, 'correct');
  return (await session(g)).run({
    logits: { dtype: 'float64', shape: [B, K], data: Float64Array.from(logits) },
    labels: { dtype: 'int64', shape: [B], data: BigInt64Array.from(labels, BigInt) },
  });
}

test('softmax cross-entropy matches a float64 reference, without and with label smoothing', async () => {
  for (const eps of [0, 0.1]) {
    const out = await runCE(eps);
    const ref = crossEntropyRef(eps);
    (out.per!.data as Float64Array).forEach((v, i) => assert.ok(Math.abs(v - ref[i]!) < 1e-14, `ε=${eps} example ${i}: ${v} vs ${ref[i]}`));
    const mean = ref.reduce((a, b) => a + b, 0) / B;
    assert.ok(Math.abs((out.loss!.data as Float64Array)[0]! - mean) < 1e-14);
    assert.deepEqual(out.loss!.shape, []);
    // argmax per row: 0, 3, 0 → correct for examples 0 and 1, not 2 (label 1).
    assert.deepEqual(Array.from(out.correct!.data as Float64Array), [1, 1, 0]);
  }
});

test('softmax cross-entropy gradient (finite differences), with and without smoothing', async () => {
  for (const eps of [0, 0.1, 0.5]) {
    await fdCheck(
      [
        { shape: [B, K], data: logits },
        { shape: [B], dtype: 'int64', data: labels },
      ],
      (x, y) => softmaxCrossEntropy(x, y!, { labelSmoothing: eps }).loss,
    );
  }
  await fdCheck(
    [
      { shape: [2, 5], graphShape: ['batch', 5] },
      { shape: [2], graphShape: ['batch'], dtype: 'int64', data: [4, 0] },
    ],
    (x, y) => softmaxCrossEntropy(x, y!).perExample,
  );
});

test('softmax cross-entropy is stable for huge float32 logits and accepts int32 labels', async () => {
  const g = new Graph();
  const x = g.input('logits', 'float32', [2, 3]);
  const ce = softmaxCrossEntropy(x, g.input('labels', 'int32', [2]));
  g.output(ce.loss, 'loss');
  g.output(gradients(ce.loss, [x])[0]!, 'grad');
  const out = await (await session(g)).run({
    logits: { dtype: 'float32', shape: [2, 3], data: Float32Array.of(1000, -1000, 0, 500, 800, 0) },
    labels: { dtype: 'int32', shape: [2], data: Int32Array.of(0, 0) },
  });
  const loss = (out.loss!.data as Float32Array)[0]!;
  assert.ok(Math.abs(loss - 150) < 1e-3, `loss ${loss}`); // example 0: 0; example 1: 800 − 500
  assert.ok((out.grad!.data as Float32Array).every(Number.isFinite));
});

test('softmax cross-entropy rejects bad shapes and smoothing', () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [2, 3]);
  assert.throws(() => softmaxCrossEntropy(x, g.input('l', 'int64', [3])), /labels must be int64 \[2\]/);
  assert.throws(() => softmaxCrossEntropy(x, g.input('m', 'int64', [2]), { labelSmoothing: 1 }), /label smoothing/);
});

const sigmoidRef = (x: number[], t: number[], b: number) =>
  x.reduce((s, v, i) => s - (t[i]! * Math.log(1 / (1 + Math.exp(-v))) + (1 - t[i]!) * Math.log(1 - 1 / (1 + Math.exp(-v)))), 0) / b;

test('sigmoid cross-entropy: value (sum over classes, mean over batch), gradient at zero logits, FD', async () => {
  const t = [1, 0, 0, 1, 0.3, 0, 1, 1, 0, 0, 0, 1];
  const g = new Graph();
  const x = g.input('x', 'float64', [B, K]);
  const tt = g.input('t', 'float64', [B, K]);
  const loss = sigmoidCrossEntropy(x, tt).loss;
  g.output(loss, 'loss');
  g.output(gradients(loss, [x])[0]!, 'grad');
  const s = await session(g);
  const out = await s.run({
    x: { dtype: 'float64', shape: [B, K], data: Float64Array.from(logits) },
    t: { dtype: 'float64', shape: [B, K], data: Float64Array.from(t) },
  });
  assert.ok(Math.abs((out.loss!.data as Float64Array)[0]! - sigmoidRef(logits, t, B)) < 1e-13);
  // Zero logits (a zero-initialised head): the gradient is exactly (σ(0) − t)/B = (0.5 − t)/B.
  const zero = await s.run({
    x: { dtype: 'float64', shape: [B, K], data: new Float64Array(B * K) },
    t: { dtype: 'float64', shape: [B, K], data: Float64Array.from(t) },
  });
  (zero.grad!.data as Float64Array).forEach((v, i) => assert.ok(Math.abs(v - (0.5 - t[i]!) / B) < 1e-15));
  await fdCheck(
    [
      { shape: [B, K], data: Array.from(randn([B, K], 3), (v) => 4 * v) },
      { shape: [B, K], data: t, wrt: false },
    ],
    (a, b) => sigmoidCrossEntropy(a, b!).loss,
  );
});

/** Soft targets: a Mixup-style blend of smoothed one-hot rows (each row sums to 1). */
const soft = [0.7, 0.1, 0.1, 0.1, 0.05, 0.05, 0.3, 0.6, 0.25, 0.25, 0.25, 0.25];

test('soft-target cross-entropy: value against a float64 reference, equals label smoothing on smoothed one-hot targets', async () => {
  const g = new Graph();
  const x = g.input('logits', 'float64', [B, K]);
  const ce = softTargetCrossEntropy(x, g.input('t', 'float64', [B, K]));
  g.output(ce.loss, 'loss');
  g.output(ce.correct, 'correct');
  const s = await session(g);
  const run = async (t: number[]) =>
    s.run({
      logits: { dtype: 'float64', shape: [B, K], data: Float64Array.from(logits) },
      t: { dtype: 'float64', shape: [B, K], data: Float64Array.from(t) },
    });
  const ref = labels.map((_, b) => {
    const row = logits.slice(b * K, b * K + K);
    const lse = Math.log(row.reduce((a, v) => a + Math.exp(v), 0));
    return -row.reduce((a, v, k) => a + soft[b * K + k]! * (v - lse), 0);
  });
  const out = await run(soft);
  assert.ok(Math.abs((out.loss!.data as Float64Array)[0]! - ref.reduce((a, b) => a + b, 0) / B) < 1e-14);
  // argmax of logits 0, 3, 0 against the targets' argmax 0, 3, 0 (the first of the tied row 2).
  assert.deepEqual(Array.from(out.correct!.data as Float64Array), [1, 1, 1]);
  const eps = 0.1;
  const smoothed = labels.flatMap((y) => Array.from({ length: K }, (_, k) => (k === y ? 1 - eps : 0) + eps / K));
  const viaTargets = (await run(smoothed)).loss!.data as Float64Array;
  const viaLabels = (await runCE(eps)).loss!.data as Float64Array;
  assert.ok(Math.abs(viaTargets[0]! - viaLabels[0]!) < 1e-14);
});

test('soft-target cross-entropy gradient (finite differences) with respect to logits and targets', async () => {
  await fdCheck([{ shape: [B, K], data: logits }, { shape: [B, K], data: soft }], (x, t) => softTargetCrossEntropy(x, t!).loss);
  const g = new Graph();
  assert.throws(
    () => softTargetCrossEntropy(g.input('x', 'float32', [2, 3]), g.input('t', 'float32', [2, 4])),
    /targets t: float32\[2, 4\] must be float32\[2, 3\]/,
  );
});
