// Golden tests: every micro model, in every format the fixtures ship, gives timm's logits, pooled features and
// per-layer attention within 1e-4.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toOnnx } from '../../src/graph/onnx.ts';
import { Graph, inlineComposites } from '../../src/graph/graph.ts';
import { preset, presets } from '../../src/model/config.ts';
import { initParameters } from '../../src/model/init.ts';
import { type ViTOutputName, buildViT, inferenceGraph, inputParams, prefixGraph } from '../../src/model/vit.ts';
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
        format === 'timm.safetensors' ? { numHeads: heads[model], layerNormEps: eps[model] } : format === 'google.npz' ? { layerNormEps: eps[model] } : {};
      const { config, weights } = loadCheckpoint(`${FIXTURES}${model}/${format}`, overrides);
      const session = await Session.create(toOnnx(inferenceGraph(config, weights, ['logits', 'pooled', 'attention'])));
      const out = await session.run({ images: golden.get('input')! });
      assert.ok(maxAbsDiff(out.logits!, golden.get('logits')!) < 1e-4, 'logits');
      assert.ok(maxAbsDiff(out.pooled!, golden.get('pooled')!) < 1e-4, 'pooled');
      for (let i = 0; i < config.depth; i++) assert.ok(maxAbsDiff(out[`attn.${i}`]!, golden.get(`attn.${i}`)!) < 1e-4, `attn.${i}`);
    });
  }
}

test('a symbolic batch runs any batch size', async () => {
  const { config, weights } = loadCheckpoint(`${FIXTURES}micro_gray_p4_28/hf`);
  const session = await Session.create(toOnnx(inferenceGraph(config, weights)));
  const input = expected('micro_gray_p4_28').get('input')!;
  const one = { ...input, shape: [1, 1, 28, 28], data: (input.data as Float32Array).subarray(0, 784) };
  const both = await session.run({ images: input });
  const first = await session.run({ images: one });
  assert.ok(maxAbsDiff(first.logits!, { ...both.logits!, data: (both.logits!.data as Float32Array).subarray(0, 10) }) < 1e-6);
});

test('input shape errors are raised at build time', () => {
  const cfg = preset('vit_tiny_patch16_224', { depth: 1 });
  const g = new Graph();
  const images = g.input('images', 'float32', [2, 3, 200, 200]);
  assert.throws(() => buildViT(cfg, images, { params: inputParams(g) }), /ViT input is images: float32\[2, 3, 200, 200\], expected \[2, 3, 224, 224\]/);
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

test('class-token pooling: the last block computes the class token only, with the same logits', async () => {
  const { config, weights } = loadCheckpoint(`${FIXTURES}micro_p16_224/timm.safetensors`, { numHeads: 2 });
  const input = expected('micro_p16_224').get('input')!;
  const run = async (outputs: ViTOutputName[]) => {
    const graph = inferenceGraph(config, weights, outputs);
    const session = await Session.create(toOnnx(graph));
    const out = await session.run({ images: input });
    await session.release();
    // the tokens of each MLP hidden layer [B, T, mlpDim] and attention output [B, T, D]: 1 in the last block if pruned
    const nodes = inlineComposites(graph.nodes);
    const hidden = nodes.flatMap((n) => n.outputs).filter((v) => v.shape[2] === config.mlpDim).map((v) => v.shape[1]);
    const attention = nodes.filter((n) => n.opType.endsWith('Attention')).map((n) => n.outputs[0]!.shape[1]);
    return { out, tokens: [hidden[0], hidden.at(-1), attention[0], attention.at(-1)] };
  };
  const pruned = await run(['logits', 'pooled']);
  const full = await run(['logits', 'pooled', 'encoded']); // every token's output asked for: nothing pruned
  const t = (config.imgSize / config.patchSize) ** 2 + 1;
  assert.deepEqual(pruned.tokens, [t, 1, t, 1]);
  assert.deepEqual(full.tokens, [t, t, t, t]);
  assert.deepEqual(full.out.encoded!.shape, [2, t, config.embedDim]);
  assert.ok(maxAbsDiff(pruned.out.logits!, full.out.logits!) < 1e-6 && maxAbsDiff(pruned.out.pooled!, full.out.pooled!) < 1e-6);
});

test('prefixGraph: the tokens entering block k are the inference graph’s tokens leaving block k−1, any kernel, any family', async () => {
  const dinov2 = { ...preset('vit_small_patch14_reg4_dinov2'), imgSize: 28, patchSize: 7, embedDim: 32, depth: 3, numHeads: 2, mlpDim: 64 };
  const { config, weights } = loadCheckpoint(`${FIXTURES}micro_p16_224/timm.safetensors`, { numHeads: 2 });
  for (const [cfg, w, images] of [
    [config, weights, expected('micro_p16_224').get('input')!],
    [dinov2, initParameters(dinov2, { seed: 3 }), { dtype: 'float32' as const, shape: [2, 3, 28, 28], data: Float32Array.from({ length: 2 * 3 * 28 * 28 }, (_, i) => Math.sin(i)) }],
  ] as const) {
    const all = await Session.create(toOnnx(inferenceGraph(cfg, w, ['tokens'], { kernel: 'plain' })));
    const tokens = await all.run({ images });
    await all.release();
    for (const kernel of ['plain', 'fused'] as const) {
      for (let k = 1; k <= cfg.depth; k++) {
        const prefix = await Session.create(toOnnx(prefixGraph(cfg, w, k, { kernel })));
        const out = (await prefix.run({ images }))['tokens']!;
        await prefix.release();
        assert.deepEqual(out.shape, tokens[`tokens.${k - 1}`]!.shape);
        assert.ok(maxAbsDiff(out, tokens[`tokens.${k - 1}`]!) < 1e-5, `${kernel}, block ${k}`);
      }
    }
  }
  assert.throws(() => prefixGraph(config, weights, config.depth + 1), /block 3 is not one of the model's 0…2/);
});
