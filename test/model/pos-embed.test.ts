import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toOnnx } from '../../src/graph/onnx.ts';
import { atResolution, resamplePosEmbed } from '../../src/model/pos-embed.ts';
import type { PosResample } from '../../src/model/config.ts';
import { inferenceGraph } from '../../src/model/inference-graph.ts';
import { Session } from '../../src/runtime/session.ts';
import { loadCheckpoint } from '../../src/weights/checkpoint.ts';
import { FIXTURES, expected, maxAbsDiff } from '../fixtures.ts';
import { FAMILIES, familyExpected, relErr } from './family-fixtures.ts';
import type { Tensor } from '../../src/graph/tensor.ts';

const golden = expected('micro_p16_224');
const ckpt = () => loadCheckpoint(`${FIXTURES}micro_p16_224/timm.safetensors`, { numHeads: 2, layerNormEps: 1e-6 });

test('pos-embed resampling 14×14 → 18×18 equals timm (bicubic, antialiased, class token kept)', () => {
  const out = resamplePosEmbed(ckpt().weights.get('pos_embed')!, 18, 1);
  assert.deepEqual(out.shape, [1, 325, 64]);
  assert.ok(maxAbsDiff(out, golden.get('pos_embed_288')!) < 1e-6);
});

test('the model at 288 px gives timm logits', async () => {
  const c = ckpt();
  const { config, weights } = atResolution(c.config, c.weights, 288);
  assert.equal(config.imgSize, 288);
  const session = await Session.create(toOnnx(inferenceGraph(config, weights)));
  const out = await session.run({ images: golden.get('input_288')! });
  assert.ok(maxAbsDiff(out.logits!, golden.get('logits_288')!) < 1e-4);
});

test('resampling to the same grid is the identity, downsampling keeps the mean of a constant field', () => {
  const c = ckpt();
  assert.equal(atResolution(c.config, c.weights, 224).weights, c.weights);
  const flat = { dtype: 'float32' as const, shape: [1, 1 + 16, 2], data: new Float32Array(34).fill(3) };
  const down = resamplePosEmbed(flat, 3, 1);
  assert.ok((down.data as Float32Array).every((v) => Math.abs(v - 3) < 1e-6));
  assert.throws(() => resamplePosEmbed({ ...flat, shape: [1, 17, 2] }, 3, 0), /not \[1, 0 \+ g·g, D\]/);
});

test("Hugging Face folders' pos_embed at 42 and 21 px equals transformers' interpolate_pos_encoding (not timm's)", () => {
  for (const name of ['vit', 'deit_distilled', 'dinov2', 'dinov2_cls', 'dinov2_reg', 'clip', 'siglip']) {
    const c = loadCheckpoint(`${FAMILIES}${name}/hf`);
    for (const [size, key] of [[42, 'hf.pos_alt'], [21, 'hf.pos_small']] as const) {
      const n = (size / 7) ** 2 * 32;
      // DINOv2 with registers: vitkit folds the class entry into the class token (noEmbedClass); compare the patches'
      const patches = (t: Tensor) => ({ ...t, shape: [n], data: t.data.slice(t.data.length - n) });
      const want = patches(familyExpected(name).get(key)!);
      const got = (rule: PosResample) => patches(atResolution({ ...c.config, posResample: rule }, c.weights, size).weights.get('pos_embed')!);
      const err = relErr(got(c.config.posResample!), want);
      assert.ok(err < 1e-6, `${name} at ${size} px: ${err}`); // float32 rounding of a 16-tap sum
      // the other rule misses by far more than that (Dinov2WithRegisters is the type that resamples as timm does)
      const other = relErr(got(c.config.posResample === 'timm' ? 'transformers' : 'timm'), want);
      assert.ok(other > 1e-2, `${name} at ${size} px, the other rule: ${other}`);
    }
  }
});

test('transformers\' rule: the same grid is kept exactly, a constant field stays constant up and down', () => {
  const flat = { dtype: 'float32' as const, shape: [1, 1 + 16, 2], data: new Float32Array(34).fill(3) };
  for (const g of [2, 3, 6, 9]) {
    const out = resamplePosEmbed(flat, g, 1, 'transformers');
    assert.ok((out.data as Float32Array).every((v) => Math.abs(v - 3) < 1e-6), `grid ${g}`);
  }
  const ramp = { ...flat, data: Float32Array.from({ length: 34 }, (_, i) => i * 0.25 - 2) };
  assert.deepEqual(resamplePosEmbed(ramp, 4, 1, 'transformers').data, ramp.data);
});
