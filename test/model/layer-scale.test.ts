// Layer scale folded into attn.proj / mlp.fc2 at inference: the folded graph computes what the unfolded one does
// (float32 and int8, per-channel and per-tensor scales, negative gains included), has no layer-scale Mul left, and
// leaves the caller's weights (training's, a checkpoint's) as they were.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Graph, inlineComposites } from '../../src/graph/graph.ts';
import { toOnnx } from '../../src/graph/onnx.ts';
import { type StateDict, type Tensor, tensor } from '../../src/graph/tensor.ts';
import type { ViTConfig } from '../../src/model/config.ts';
import { int8Linear, isQuantized, quantizeWeights } from '../../src/model/int8.ts';
import { foldLayerScale } from '../../src/model/layer-scale.ts';
import { buildViT, initializerParams } from '../../src/model/vit.ts';
import { inferenceGraph } from '../../src/model/inference-graph.ts';
import { Rng } from '../../src/rng.ts';
import { Session } from '../../src/runtime/session.ts';
import { loadCheckpoint } from '../../src/weights/checkpoint.ts';
import { FAMILIES, familyExpected, relErr } from './family-fixtures.ts';

// timm's DINOv2 fixture, with gains drawn from N(0, 1): trained ones are far from the 1e-5 they start at, and
// some are negative, so a fold that dropped γ, its sign or the bias's share would show.
const { config, weights: timm } = loadCheckpoint(`${FAMILIES}dinov2/timm.safetensors`, { numHeads: 2 });
const rng = new Rng(3);
const weights: StateDict = new Map(timm);
for (const [name, t] of timm) {
  if (name.endsWith('.gamma')) weights.set(name, tensor('float32', t.shape, Float32Array.from({ length: t.data.length }, () => rng.normal())));
}
const images = familyExpected('dinov2').get('input')!;

/** Pooled features of the unfolded model: layer scale as its own Mul after each branch (as training builds it). */
function unfolded(cfg: ViTConfig, w: StateDict): Graph {
  const g = new Graph('vit');
  const x = g.input('images', 'float32', [images.shape[0]!, cfg.inChans, cfg.imgSize, cfg.imgSize]);
  const v = buildViT(cfg, x, { params: initializerParams(g, w), linear: isQuantized(w) ? int8Linear(g, w) : undefined });
  g.output(v.pooled, 'pooled');
  return g;
}

async function pooled(g: Graph): Promise<Tensor> {
  const session = await Session.create(toOnnx(g), { threads: 2 });
  const out = (await session.run({ images })).pooled!;
  await session.release();
  return out;
}

const variants: [string, StateDict, number][] = [
  // float32: the same products summed in another order, so equal to rounding (measured 1e-7)
  ['float32', weights, 1e-5],
  // int8: the same integers and scales times γ, so also equal to rounding (measured 9e-8); the margin is for a
  // rounding-level change in the residual stream that moves a downstream input across a quantization step. A lost
  // sign of γ measured 5e-2, an unscaled bias 0.49.
  ['int8 per channel', quantizeWeights(config, weights), 5e-3],
  ['int8 per tensor', quantizeWeights(config, weights, { perTensor: true }), 5e-3],
];
for (const [name, w, tolerance] of variants) {
  test(`${name}: the folded inference graph gives the unfolded model's features`, async () => {
    const folded = inferenceGraph(config, w, ['pooled'], { kernel: 'plain' });
    const names = (g: Graph) => inlineComposites(g.nodes).flatMap((n) => n.inputs.map((x) => x?.name ?? ''));
    assert.ok(!names(folded).some((n) => n.endsWith('.gamma')), 'no layer-scale gain is left in the graph');
    const muls = (g: Graph) => inlineComposites(g.nodes).filter((n) => n.opType === 'Mul').length;
    const reference = unfolded(config, w);
    assert.equal(muls(reference) - muls(folded), 2 * config.depth);
    const err = relErr(await pooled(folded), await pooled(reference));
    assert.ok(err < tolerance, `${name}: ${err}`);
  });
}

test('the fold makes new tensors: the weights given (a checkpoint, a training state) keep γ and their values', () => {
  const before = new Map(weights);
  const { config: cfg, weights: folded } = foldLayerScale(config, weights);
  assert.equal(cfg.layerScale, false);
  assert.equal(config.layerScale, true);
  assert.deepEqual([...weights.entries()], [...before.entries()]);
  assert.ok(!folded.has('blocks.0.ls1.gamma') && weights.has('blocks.0.ls1.gamma'));
  assert.notEqual(folded.get('blocks.0.attn.proj.weight'), weights.get('blocks.0.attn.proj.weight'));
  assert.equal(folded.get('blocks.0.attn.qkv.weight'), weights.get('blocks.0.attn.qkv.weight'), 'other layers are shared');
  const plain = { ...config, layerScale: false };
  assert.deepEqual(foldLayerScale(plain, timm), { config: plain, weights: timm }, 'nothing to fold: returned as given');
});
