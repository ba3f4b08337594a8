// fp16 inference graphs (model/fp16.ts) on onnxruntime's CPU execution provider: their form (float32 interface,
// float16 weights and compute, Softmax in float32) and their outputs against the float32 graph's on the fixtures.
//
// Tolerance: float16 has an 11-bit significand, so each value it stores or computes is within u = 2⁻¹¹ ≈ 4.9e-4
// of the exact one, relative. Those roundings are independent and partly cancel; through these micro models' one or
// two blocks (and a hybrid's ResNet stem) the outputs moved by 1.9e-4 to 2.5e-3 of their largest magnitude
// (bench/precision-accuracy.ts fixtures). The bound is 8u = 3.9e-3 of the float32 output's largest magnitude: above
// every measured case, and two orders of magnitude below what a wrong graph gives (a dropped bias, scale or residual
// moves outputs by O(1) of their scale). The float32 graph itself agrees with timm to 1e-6, so the same test also
// asserts the difference exceeds 1e-5: the graph really computes in float16.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inlineComposites } from '../../src/graph/graph.ts';
import { toOnnx } from '../../src/graph/onnx.ts';
import { type StateDict, type Tensor, tensor } from '../../src/graph/tensor.ts';
import { Classifier, loadModel } from '../../src/inference/classifier.ts';
import { type ViTConfig, embeddingOutput } from '../../src/model/config.ts';
import { FLOAT32_OPS, float16Graph } from '../../src/model/fp16.ts';
import { quantizeWeights } from '../../src/model/int8.ts';
import { type ViTOutputName, inferenceGraph } from '../../src/model/inference-graph.ts';
import { Session } from '../../src/runtime/session.ts';
import { loadCheckpoint } from '../../src/weights/checkpoint.ts';
import { FIXTURES, expected } from '../fixtures.ts';
import { FAMILIES, familyExpected, relErr } from './family-fixtures.ts';

const U = 2 ** -11;
const BOUND = 8 * U;

async function run(cfg: ViTConfig, weights: StateDict, images: Tensor, outputs: ViTOutputName[], float16: boolean): Promise<Record<string, Tensor>> {
  const session = await Session.create(toOnnx(inferenceGraph(cfg, weights, outputs, { kernel: 'plain', float16 })));
  const out = await session.run({ images });
  await session.release();
  return out;
}

const cases: [name: string, path: string, overrides: Partial<ViTConfig>, images: () => Tensor][] = [
  ['micro_p16_224 (timm)', `${FIXTURES}micro_p16_224/timm.safetensors`, { numHeads: 2 }, () => expected('micro_p16_224').get('input')!],
  ['micro_p8_64_avg (avg pooling)', `${FIXTURES}micro_p8_64_avg/timm.safetensors`, { numHeads: 3 }, () => expected('micro_p8_64_avg').get('input')!],
  ['hybrid_r26_32 (ResNetV2 stem)', `${FIXTURES}hybrid_r26_32/timm.safetensors`, { numHeads: 2 }, () => expected('hybrid_r26_32').get('input')!],
  ['DINOv2 with registers (layer scale)', `${FAMILIES}dinov2_reg/hf`, {}, () => familyExpected('dinov2_reg').get('input')!],
  ['BEiT (relative position bias, q/v bias)', `${FAMILIES}beit/hf`, {}, () => familyExpected('beit').get('input')!],
  ['SigLIP (MAP head)', `${FAMILIES}siglip/hf`, {}, () => familyExpected('siglip').get('input')!],
];

for (const [name, path, overrides, images] of cases) {
  test(`${name}: fp16 outputs within 8·2⁻¹¹ of float32's scale on the CPU`, async () => {
    const { config, weights } = loadCheckpoint(path, overrides);
    const out = config.numClasses > 0 ? 'logits' : embeddingOutput(config);
    const x = images();
    const [a, b] = [(await run(config, weights, x, [out], false))[out]!, (await run(config, weights, x, [out], true))[out]!];
    assert.equal(b.dtype, 'float32', 'callers see float32');
    const err = relErr(b, a);
    assert.ok(err < BOUND, `${err} ≥ ${BOUND}`);
    assert.ok(err > 1e-5, `${err}: no float16 rounding at all?`);
  });
}

test('the fp16 graph keeps a float32 interface, stores float weights as float16 and runs Softmax in float32', () => {
  const { config, weights } = loadCheckpoint(`${FIXTURES}micro_p16_224/timm.safetensors`, { numHeads: 2 });
  const f32 = inferenceGraph(config, weights, ['logits', 'pooled', 'attention'], { kernel: 'plain' });
  const g = float16Graph(f32);
  const sig = (vs: readonly { name: string; dtype: string; shape: readonly unknown[] }[]) => vs.map((v) => [v.name, v.dtype, v.shape]);
  assert.deepEqual(sig(g.inputs), sig(f32.inputs));
  assert.deepEqual(sig(g.outputs), sig(f32.outputs));
  for (const [name, t] of f32.initializers) {
    if (t.dtype === 'float32' && g.initializers.has(name)) assert.equal(g.initializers.get(name)!.dtype, 'float16', name);
  }
  assert.equal(g.initializers.get('blocks.0.attn.qkv.weight')!.dtype, 'float16');
  const nodes = inlineComposites(g.nodes);
  const matmuls = nodes.filter((n) => n.opType === 'MatMul');
  assert.ok(matmuls.length > 0 && matmuls.every((n) => n.inputs.every((x) => x!.dtype === 'float16')), 'MatMuls in float16');
  const softmaxes = nodes.filter((n) => n.opType === 'Softmax');
  assert.equal(softmaxes.length, config.depth);
  assert.ok(FLOAT32_OPS.has('Softmax') && softmaxes.every((n) => n.inputs[0]!.dtype === 'float32' && n.outputs[0]!.dtype === 'float32'));
  // one Cast of the images in; each block's scores up and probabilities down (one more for the attention output); each output out
  const casts = nodes.filter((n) => n.opType === 'Cast').length;
  assert.equal(casts, 1 + 2 * config.depth + g.outputs.length);
});

test('fp16 through loadModel and Classifier: float32 outputs, attention probabilities included', async () => {
  const path = `${FIXTURES}micro_p16_224/hf`;
  const images = expected('micro_p16_224').get('input') as Tensor<'float32'>;
  const fp16 = loadModel(path, { precision: 'fp16' });
  assert.equal(fp16.precision, 'fp16');
  assert.equal(fp16.weights.get('blocks.0.attn.qkv.weight')!.dtype, 'float32', 'weights stay float32 until the graph is built');
  const outputs = ['logits', 'attention'] as const;
  const [a, b] = await Promise.all([Classifier.create(loadModel(path), { outputs }), Classifier.create(fp16, { outputs })]);
  assert.equal(b.device, 'cpu');
  const [x, y] = [await a.run(images), await b.run(images)];
  assert.ok(relErr(y.logits!, x.logits!) < BOUND);
  // probabilities are at most 1: their absolute error is bounded by the same relative one
  assert.equal(y['attn.0']!.dtype, 'float32');
  assert.ok(relErr(y['attn.0']!, x['attn.0']!) < BOUND);
  await Promise.all([a.release(), b.release()]);
  // the same through Classifier's precision option on a model loaded in fp32
  const [c, d] = await Promise.all([
    Classifier.create(loadModel(path), { outputs: ['logits'], precision: 'fp16' }),
    Classifier.create(fp16, { outputs: ['logits'] }),
  ]);
  assert.equal(c.model.precision, 'fp16');
  assert.deepEqual((await c.run(images)).logits!.data, (await d.run(images)).logits!.data);
  await Promise.all([c.release(), d.release()]);
  // an int8 checkpoint's weights are dequantized for fp16
  const int8Loaded = loadModel(path, { precision: 'int8' });
  assert.equal(loadModel(path, { precision: 'fp16' }).weights.get('head.weight')!.dtype, 'float32');
  assert.throws(() => inferenceGraph(int8Loaded.config, int8Loaded.weights, ['logits'], { float16: true }), /int8/);
});

test('the pass refuses what it has no float16 form for: com.microsoft kernels, weights beyond ±65504', () => {
  const { config, weights } = loadCheckpoint(`${FIXTURES}micro_p16_224/timm.safetensors`, { numHeads: 2 });
  const huge = new Map(weights).set('head.bias', tensor('float32', weights.get('head.bias')!.shape, new Float32Array(config.numClasses).fill(7e4)));
  assert.throws(() => inferenceGraph(config, huge, ['logits'], { float16: true }), /'head\.bias' holds 70000, beyond float16's range/);
  assert.throws(() => float16Graph(inferenceGraph(config, weights, ['logits'], { kernel: 'fused' })), /com\.microsoft Attention has no float16 form/);
  assert.throws(() => float16Graph(inferenceGraph(config, quantizeWeights(config, weights), ['logits'])), /DynamicQuantizeMatMul|MultiHeadAttention/);
});
