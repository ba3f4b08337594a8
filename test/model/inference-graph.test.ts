// Whole inference graphs (model/inference-graph.ts): any batch size, class-token pruning, the prefix below a block.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toOnnx } from '../../src/graph/onnx.ts';
import { inlineComposites } from '../../src/graph/graph.ts';
import { preset } from '../../src/model/config.ts';
import { initParameters } from '../../src/model/init.ts';
import { type ViTOutputName, inferenceGraph, prefixGraph } from '../../src/model/inference-graph.ts';
import { Session } from '../../src/runtime/session.ts';
import { loadCheckpoint } from '../../src/weights/checkpoint.ts';
import { FIXTURES, expected, maxAbsDiff } from '../fixtures.ts';

test('a symbolic batch runs any batch size', async () => {
  const { config, weights } = loadCheckpoint(`${FIXTURES}micro_gray_p4_28/hf`);
  const session = await Session.create(toOnnx(inferenceGraph(config, weights)));
  const input = expected('micro_gray_p4_28').get('input')!;
  const one = { ...input, shape: [1, 1, 28, 28], data: (input.data as Float32Array).subarray(0, 784) };
  const both = await session.run({ images: input });
  const first = await session.run({ images: one });
  assert.ok(maxAbsDiff(first.logits!, { ...both.logits!, data: (both.logits!.data as Float32Array).subarray(0, 10) }) < 1e-6);
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
    [
      dinov2,
      initParameters(dinov2, { seed: 3 }),
      { dtype: 'float32' as const, shape: [2, 3, 28, 28], data: Float32Array.from({ length: 2 * 3 * 28 * 28 }, (_, i) => Math.sin(i)) },
    ],
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
