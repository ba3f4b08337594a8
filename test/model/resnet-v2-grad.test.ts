// Gradients through the hybrid's backbone in float64: GroupNorm and weight standardisation (composites of ops that
// have rules), and a micro hybrid ViT's loss with respect to the images and every parameter.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { softmaxCrossEntropy } from '../../src/autodiff/loss.ts';
import { gradients } from '../../src/autodiff/grad.ts';
import { Graph } from '../../src/graph/graph.ts';
import type { Tensor } from '../../src/graph/tensor.ts';
import { type ViTConfig, checkConfig, defaultConfig } from '../../src/model/config.ts';
import { initParameters } from '../../src/model/init.ts';
import { parameterShapes } from '../../src/model/params.ts';
import { groupNorm, standardize } from '../../src/model/resnet-v2.ts';
import { buildViT, inputParams } from '../../src/model/vit.ts';
import { type FdArg, fdCheck, randn, session } from '../ops/fd-check.ts';

test('GroupNorm (32 groups of 2 channels) w.r.t. input, scale and bias', async () => {
  await fdCheck([{ shape: [2, 64, 3, 2] }, { shape: [64] }, { shape: [64] }], (x, w, b) => groupNorm(x, w!, b!), { maxCoords: 40 });
});

test('weight standardisation per output channel', async () => {
  await fdCheck([{ shape: [4, 3, 3, 3] }], (w) => standardize(w), { maxCoords: 40 });
});

/** 8 px → stem (32 ch, 4×4 → pooled 2×2) → one bottleneck stage (128 ch) → 1×1 projection: 4 tokens of width 8. */
const micro: ViTConfig = checkConfig({
  ...defaultConfig, imgSize: 8, patchSize: 1, inChans: 2, embedDim: 8, depth: 1, numHeads: 2, mlpDim: 12, numClasses: 3,
  backbone: { stemChs: 32, layers: [2], channels: [128] },
});

test('micro hybrid ViT in float64: loss gradients match finite differences for the images and every parameter', async () => {
  const shapes = [...parameterShapes(micro)];
  const args: FdArg[] = [
    { name: 'images', shape: [2, 2, 8, 8] },
    { name: 'labels', shape: [2], dtype: 'int64', data: [1, 2] },
    ...shapes.map(([name, shape], i): FdArg => ({
      name,
      shape,
      data: Array.from(randn(shape, 50 + i), (x) => (/norm\d?\.weight$/.test(name) ? 1 + 0.3 * x : 0.4 * x)),
    })),
  ];
  await fdCheck(args, (images, labels, ...ps) => {
    const byName = new Map(shapes.map(([n], i) => [n, ps[i]!]));
    const v = buildViT(micro, images, { params: (n) => byName.get(n)! });
    return softmaxCrossEntropy(v.logits!, labels!, { labelSmoothing: 0.1 }).loss;
  }, { maxCoords: 3 });
});

test("float32 training graphs (onnxruntime's own Conv, ConvTranspose kernels) give the float64-checked gradients", async () => {
  const grads = async (dtype: 'float32' | 'float64') => {
    const g = new Graph();
    const v = buildViT(micro, g.input('images', dtype, [2, 2, 8, 8]), { params: (n, shape) => g.input(n, dtype, shape) });
    const ce = softmaxCrossEntropy(v.logits!, g.input('labels', 'int64', [2]));
    const params = g.inputs.filter((i) => i.name !== 'images' && i.name !== 'labels');
    gradients(ce.loss, params).forEach((d) => g.output(d));
    const feeds: Record<string, Tensor> = { labels: { dtype: 'int64', shape: [2], data: BigInt64Array.of(0n, 2n) } };
    for (const [k, t] of [['images', { shape: [2, 2, 8, 8], data: randn([2, 2, 8, 8], 1) }], ...initialWeights()] as const) {
      feeds[k] =
        dtype === 'float32' ? { dtype, shape: t.shape, data: Float32Array.from(t.data) } : { dtype, shape: t.shape, data: Float64Array.from(t.data) };
    }
    return { out: await (await session(g)).run(feeds), params };
  };
  const [a, b] = [await grads('float32'), await grads('float64')];
  for (const p of a.params) {
    const x = a.out[`grad.${p.name}`]!.data;
    const y = b.out[`grad.${p.name}`]!.data as Float64Array;
    const scale = Math.max(...Array.from(y, Math.abs));
    const err = Math.max(...Array.from(y, (v, i) => Math.abs(v - Number(x[i]))));
    assert.ok(err <= 1e-4 * scale, `${p.name}: ${err} of ${scale}`);
  }
});

/** The micro hybrid's initial weights, with each block's last GroupNorm scale at 0.5 instead of 0 (see below). */
function initialWeights(): [string, { shape: readonly number[]; data: Float32Array }][] {
  const weights = initParameters(micro, { seed: 3 });
  // zero_init_last zeroes each block's last GroupNorm scale, which stops the gradient of the layers before it.
  for (const [k, t] of weights) if (k.endsWith('norm3.weight')) (t.data as Float32Array).fill(0.5);
  return [...weights].map(([k, t]) => [k, { shape: t.shape, data: t.data as Float32Array }]);
}

test('micro hybrid in float32 with a symbolic batch: every parameter gets a finite, non-zero gradient', async () => {
  const g = new Graph();
  const v = buildViT(micro, g.input('images', 'float32', ['batch', 2, 8, 8]), { params: inputParams(g) });
  const ce = softmaxCrossEntropy(v.logits!, g.input('labels', 'int64', ['batch']));
  const params = g.inputs.filter((i) => i.name !== 'images' && i.name !== 'labels');
  gradients(ce.loss, params).forEach((d) => g.output(d));
  const out = await (await session(g)).run({
    images: { dtype: 'float32', shape: [3, 2, 8, 8], data: Float32Array.from(randn([3, 2, 8, 8], 1)) },
    labels: { dtype: 'int64', shape: [3], data: BigInt64Array.of(0n, 2n, 1n) },
    ...Object.fromEntries(initialWeights().map(([k, t]) => [k, { dtype: 'float32' as const, ...t }])),
  });
  for (const p of params) {
    const d = out[`grad.${p.name}`]!.data as Float32Array;
    assert.ok(d.every(Number.isFinite) && d.some((x) => x !== 0), `gradient of ${p.name}`);
  }
});
