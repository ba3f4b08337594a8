// CLIP's text tower against transformers (test/fixtures/clip-zero-shot, made by its make_fixtures.py): given token
// ids, text_embeds (CLIPModel.get_text_features) and pooler_output within 1e-5 of their scale — float32 on both
// sides over two micro blocks, so what differs is summation order (~1e-7); a wrong pooling position, mask or
// activation misses by 1e-1 or more. Both of transformers' pooling rules: the first end token, and the argmax of the
// ids for legacy configs (eos_token_id 2), on a row where the two disagree.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { toOnnx } from '../../src/graph/onnx.ts';
import type { Tensor } from '../../src/graph/tensor.ts';
import { LEGACY_EOS_ID, clipTextGraph, clipTextLinearLayers, clipTextParameterShapes } from '../../src/model/clip-text.ts';
import { quantizeLayers } from '../../src/model/int8.ts';
import { Session } from '../../src/runtime/session.ts';
import { readClipText } from '../../src/weights/clip-text.ts';
import { relErr } from './family-fixtures.ts';
import { ZERO_SHOT, zeroShotExpected } from './clip-fixtures.ts';

const expected = zeroShotExpected();

for (const [folder, eos] of [['model', 643], ['legacy', LEGACY_EOS_ID]] as const) {
  test(`${folder}/: text tower on given ids equals transformers (text_embeds, pooler_output) within 1e-5`, async () => {
    const { config, weights } = readClipText(`${ZERO_SHOT}${folder}`);
    assert.equal(config.eosTokenId, eos);
    assert.deepEqual(
      { ...config },
      {
        vocabSize: 644, maxPositions: 77, embedDim: 32, depth: 2, numHeads: 2, mlpDim: 128, layerNormEps: 1e-5, mlp: 'quick_gelu',
        projectionDim: 16, eosTokenId: eos,
      },
    );
    const session = await Session.create(toOnnx(clipTextGraph(config, weights, ['text_embeds', 'pooled', 'encoded'])));
    const out = await session.run({ input_ids: expected.get(`${folder}.ids`)! });
    const embeds = relErr(out.text_embeds!, expected.get(`${folder}.ids_text_embeds`)!);
    const pooled = relErr(out.pooled!, expected.get(`${folder}.ids_pooled`)!);
    assert.ok(embeds < 1e-5 && pooled < 1e-5, `text_embeds ${embeds}, pooled ${pooled}`);
    assert.deepEqual(out.encoded!.shape, [3, 9, 32]);
  });
}

test('the pooling rule is the config\'s: the other rule pools another position on the legacy row and misses', async () => {
  const { config, weights } = readClipText(`${ZERO_SHOT}legacy`);
  const session = await Session.create(toOnnx(clipTextGraph({ ...config, eosTokenId: 643 }, weights)));
  const out = await session.run({ input_ids: expected.get('legacy.ids')! });
  const want = expected.get('legacy.ids_text_embeds')!;
  const row = (t: Tensor, r: number): Tensor => ({ dtype: 'float32', shape: [16], data: (t.data as Float32Array).subarray(r * 16, (r + 1) * 16) });
  assert.ok(relErr(row(out.text_embeds!, 0), row(want, 0)) < 1e-5, 'rows with an end token pool the same position');
  assert.ok(relErr(row(out.text_embeds!, 1), row(want, 1)) > 0.1, 'row 1 has no end token: argmax and first-eos differ');
});

test('one graph runs any token count: padding after the end token leaves text_embeds unchanged (causal mask)', async () => {
  const { config, weights } = readClipText(`${ZERO_SHOT}model`);
  const session = await Session.create(toOnnx(clipTextGraph(config, weights)));
  const ids = expected.get('model.ids')! as Tensor<'int64'>;
  const [rows, t] = ids.shape as [number, number];
  const padded = new BigInt64Array(rows * 20).fill(643n);
  for (let r = 0; r < rows; r++) padded.set(ids.data.subarray(r * t, (r + 1) * t), r * 20);
  const out = await session.run({ input_ids: { dtype: 'int64', shape: [rows, 20], data: padded } });
  const err = relErr(out.text_embeds!, expected.get('model.ids_text_embeds')!);
  assert.ok(err < 1e-5, `padded to 20: ${err}`);
});

test('int8 and float16 text towers stay close to float32 (quantization/rounding error, not a broken graph)', async () => {
  const { config, weights } = readClipText(`${ZERO_SHOT}model`);
  const input = { input_ids: expected.get('model.ids')! };
  const want = expected.get('model.ids_text_embeds')!;
  const run = async (g: ReturnType<typeof clipTextGraph>) => (await (await Session.create(toOnnx(g))).run(input)).text_embeds!;
  const fp16 = relErr(await run(clipTextGraph(config, weights, ['text_embeds'], { float16: true })), want);
  // float16 keeps 11 significant bits: 2⁻¹¹ ≈ 4.9e-4 per rounding; 5.3e-4 measured; fp16.test.ts's bound of 8·2⁻¹¹
  assert.ok(fp16 < 8 * 2 ** -11, `fp16 ${fp16}`);
  const int8 = relErr(await run(clipTextGraph(config, quantizeLayers(weights, clipTextLinearLayers(config)))), want);
  // per-channel int8 weights, per-tensor uint8 activations: 1.4e-2 measured; the families' int8 bound (0.05), and
  // not float32's error (the weights did go through int8)
  assert.ok(int8 < 0.05 && int8 > 1e-5, `int8 ${int8}`);
});

test('clipTextParameterShapes names every tensor the loader gives, with its shape', () => {
  const { config, weights } = readClipText(`${ZERO_SHOT}model`);
  const shapes = clipTextParameterShapes(config);
  assert.deepEqual([...weights.keys()].sort(), [...shapes.keys()].sort());
  for (const [name, t] of weights) assert.deepEqual(t.shape, shapes.get(name), name);
});

test('at ViT-B/32\'s size the text tower has transformers\' parameter count (text_model + text_projection)', () => {
  const manifest = JSON.parse(readFileSync(`${ZERO_SHOT}manifest.json`, 'utf8')) as { b32_text_params: number };
  const b32 = {
    vocabSize: 49408, maxPositions: 77, embedDim: 512, depth: 12, numHeads: 8, mlpDim: 2048, layerNormEps: 1e-5,
    mlp: 'quick_gelu', projectionDim: 512, eosTokenId: 2,
  } as const;
  const count = [...clipTextParameterShapes(b32).values()].reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
  assert.equal(count, manifest.b32_text_params);
});
