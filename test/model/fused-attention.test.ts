// The fused attention kernels (com.microsoft Attention, QAttention, MultiHeadAttention) give timm's logits, on
// onnxruntime-node and -web, and are used only where the attention probabilities are not asked for.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ortWeb from 'onnxruntime-web';
import { inlineComposites } from '../../src/graph/graph.ts';
import { toOnnx } from '../../src/graph/onnx.ts';
import { type Tensor, tensor } from '../../src/graph/tensor.ts';
import { quantizeWeights } from '../../src/model/int8.ts';
import { inferenceGraph } from '../../src/model/inference-graph.ts';
import { Session } from '../../src/runtime/session.ts';
import { loadCheckpoint } from '../../src/weights/checkpoint.ts';
import { FIXTURES, expected, maxAbsDiff } from '../fixtures.ts';

const micro = { micro_p16_224: { numHeads: 2 }, micro_gray_p4_28: { numHeads: 4, layerNormEps: 1e-5 }, micro_p8_64_avg: { numHeads: 3 } } as const;

for (const [model, overrides] of Object.entries(micro)) for (const [kernel, op] of [['fused', 'Attention'], ['mha', 'MultiHeadAttention']] as const) {
  test(`${model}: the ${kernel} attention kernel gives timm's logits and pooled features`, async () => {
    const golden = expected(model);
    const { config, weights } = loadCheckpoint(`${FIXTURES}${model}/timm.safetensors`, overrides);
    const graph = inferenceGraph(config, weights, ['logits', 'pooled'], { kernel });
    const nodes = inlineComposites(graph.nodes);
    // a class-token model's last block attends with the class token's query only, which only MultiHeadAttention takes
    const last = kernel === 'fused' && config.pool === 'token' ? 1 : 0;
    assert.equal(nodes.filter((n) => n.opType === op && n.domain === 'com.microsoft').length, config.depth - last);
    assert.equal(nodes.filter((n) => n.opType === 'MultiHeadAttention').length, kernel === 'mha' ? config.depth : last);
    assert.ok(!nodes.some((n) => n.opType === 'Softmax'));
    const session = await Session.create(toOnnx(graph), { threads: 2 });
    const out = await session.run({ images: golden.get('input')! });
    await session.release();
    assert.ok(maxAbsDiff(out.logits!, golden.get('logits')!) < 1e-4, 'logits');
    assert.ok(maxAbsDiff(out.pooled!, golden.get('pooled')!) < 1e-4, 'pooled');
  });
}

test('asking for attention probabilities keeps the plain attention graph', () => {
  const { config, weights } = loadCheckpoint(`${FIXTURES}micro_p16_224/timm.safetensors`, micro.micro_p16_224);
  const nodes = inlineComposites(inferenceGraph(config, weights, ['logits', 'attention']).nodes);
  assert.ok(!nodes.some((n) => n.domain === 'com.microsoft'));
  assert.equal(nodes.filter((n) => n.opType === 'Softmax').length, config.depth);
});

test('int8 weights: fused is QAttention over the int8 q/k/v projection, mha a MultiHeadAttention after it; both agree', async () => {
  const golden = expected('micro_p16_224');
  const { config, weights } = loadCheckpoint(`${FIXTURES}micro_p16_224/timm.safetensors`, micro.micro_p16_224);
  const q = quantizeWeights(config, weights);
  const logits: Tensor[] = [];
  // [kernel, its op, in how many blocks, int8 linear layers outside it]: patch embedding and head, per block those
  // outside the attention node, and in the last block (class token only, see above) MultiHeadAttention's q/k/v
  const kernels = [
    ['fused', 'QAttention', config.depth - 1, 3 + 3 * config.depth],
    ['mha', 'MultiHeadAttention', config.depth, 2 + 4 * config.depth],
  ] as const;
  for (const [kernel, op, blocks, linear] of kernels) {
    const graph = inferenceGraph(config, q, ['logits'], { kernel });
    const nodes = inlineComposites(graph.nodes);
    assert.equal(nodes.filter((n) => n.opType === 'DynamicQuantizeMatMul').length, linear, kernel);
    assert.equal(nodes.filter((n) => n.opType === op && n.domain === 'com.microsoft').length, blocks, kernel);
    const session = await Session.create(toOnnx(graph), { threads: 2 });
    logits.push((await session.run({ images: golden.get('input')! })).logits!);
    await session.release();
  }
  // The same per-tensor uint8 quantization of the block's input and the same int8 products: rounding apart, equal
  // (a wrong column layout or scale would be off by the logits' own size, ~1).
  assert.ok(maxAbsDiff(logits[0]!, logits[1]!) < 1e-5, `fused vs mha: ${maxAbsDiff(logits[0]!, logits[1]!)}`);
});

for (const kernel of ['fused', 'mha'] as const) {
  test(`onnxruntime-web runs the ${kernel} graph with the same logits, float32 and int8`, async () => {
    const golden = expected('micro_p16_224');
    const { config, weights } = loadCheckpoint(`${FIXTURES}micro_p16_224/timm.safetensors`, micro.micro_p16_224);
    ortWeb.env.wasm.numThreads = 1;
    const input = golden.get('input')! as Tensor<'float32'>;
    const onWeb = async (w: typeof weights) => {
      const web = await ortWeb.InferenceSession.create(toOnnx(inferenceGraph(config, w, ['logits'], { kernel })), { executionProviders: ['wasm'] });
      const out = await web.run({ images: new ortWeb.Tensor('float32', input.data, [...input.shape]) });
      await web.release();
      return tensor('float32', [2, 10], out.logits!.data as Float32Array);
    };
    assert.ok(maxAbsDiff(await onWeb(weights), golden.get('logits')!) < 1e-4);
    const q = quantizeWeights(config, weights);
    const session = await Session.create(toOnnx(inferenceGraph(config, q, ['logits'], { kernel })), { threads: 1 });
    const node = (await session.run({ images: input })).logits!;
    await session.release();
    assert.ok(maxAbsDiff(await onWeb(q), node) < 1e-5, 'int8: web vs node');
  });
}
