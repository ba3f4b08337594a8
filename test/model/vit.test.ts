// Golden tests: every micro model, in every format the fixtures ship, gives timm's logits, pooled features and
// per-layer attention within 1e-4.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toOnnx } from '../../src/graph/onnx.ts';
import { Graph } from '../../src/graph/graph.ts';
import { preset, presets } from '../../src/model/config.ts';
import { initParameters } from '../../src/model/init.ts';
import { buildViT, inputParams } from '../../src/model/vit.ts';
import { inferenceGraph } from '../../src/model/inference-graph.ts';
import { Session } from '../../src/runtime/session.ts';
import { loadCheckpoint } from '../../src/weights/checkpoint.ts';
import { FIXTURES, expected, maxAbsDiff } from '../fixtures.ts';

const cases: Record<string, string[]> = {
  micro_p16_224: ['timm.safetensors', 'google.npz', 'hf'],
  micro_p8_64_avg: ['timm.safetensors'],
  micro_gray_p4_28: ['timm.safetensors', 'google.npz', 'hf'],
};
const heads: Record<string, number> = { micro_p16_224: 2, micro_p8_64_avg: 3, micro_gray_p4_28: 4 };
const eps: Record<string, number> = { micro_p16_224: 1e-6, micro_p8_64_avg: 1e-6, micro_gray_p4_28: 1e-5 };

for (const [model, formats] of Object.entries(cases)) {
  const golden = expected(model);
  for (const format of formats) {
    test(`${model}/${format} matches timm`, async () => {
      // A timm state dict cannot say heads or epsilon, an npz not epsilon: pass them as the CLI flags would.
      const overrides =
        format === 'timm.safetensors'
          ? { numHeads: heads[model], layerNormEps: eps[model] }
          : format === 'google.npz'
            ? { layerNormEps: eps[model] }
            : {};
      const { config, weights } = loadCheckpoint(`${FIXTURES}${model}/${format}`, overrides);
      const session = await Session.create(toOnnx(inferenceGraph(config, weights, ['logits', 'pooled', 'attention'])));
      const out = await session.run({ images: golden.get('input')! });
      assert.ok(maxAbsDiff(out.logits!, golden.get('logits')!) < 1e-4, 'logits');
      assert.ok(maxAbsDiff(out.pooled!, golden.get('pooled')!) < 1e-4, 'pooled');
      for (let i = 0; i < config.depth; i++) assert.ok(maxAbsDiff(out[`attn.${i}`]!, golden.get(`attn.${i}`)!) < 1e-4, `attn.${i}`);
    });
  }
}

test('input shape errors are raised at build time', () => {
  const cfg = preset('vit_tiny_patch16_224', { depth: 1 });
  const g = new Graph();
  const images = g.input('images', 'float32', [2, 3, 200, 200]);
  assert.throws(
    () => buildViT(cfg, images, { params: inputParams(g) }),
    /ViT input is images: float32\[2, 3, 200, 200\], expected \[2, 3, 224, 224\]/,
  );
});

test('every preset builds', () => {
  for (const [name, cfg] of Object.entries(presets)) {
    const g = new Graph();
    const v = buildViT(cfg, g.input('images', 'float32', ['batch', 3, cfg.imgSize, cfg.imgSize]), { params: inputParams(g) });
    assert.deepEqual(v.pooled.shape, ['batch', cfg.embedDim], name);
    assert.equal(v.attention.length, cfg.depth, name);
  }
});

test('a tiny forward has no NaN', async () => {
  const g = new Graph();
  const cfg = preset('vit_tiny_patch16_224', { imgSize: 32, depth: 2, numClasses: 5 });
  const images = g.input('images', 'float32', [2, 3, 32, 32]);
  g.output(buildViT(cfg, images, { params: inputParams(g) }).logits!, 'logits');
  const weights = initParameters(cfg, { seed: 1 });
  const session = await Session.create(toOnnx(g));
  const data = Float32Array.from({ length: 2 * 3 * 32 * 32 }, (_, i) => Math.sin(i));
  const out = await session.run({ images: { dtype: 'float32', shape: [2, 3, 32, 32], data }, ...Object.fromEntries(weights) });
  assert.ok((out.logits!.data as Float32Array).every(Number.isFinite));
});
