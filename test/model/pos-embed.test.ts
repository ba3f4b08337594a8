import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toOnnx } from '../../src/graph/onnx.ts';
import { atResolution, resamplePosEmbed } from '../../src/model/pos-embed.ts';
import { inferenceGraph } from '../../src/model/vit.ts';
import { Session } from '../../src/runtime/session.ts';
import { loadCheckpoint } from '../../src/weights/checkpoint.ts';
import { FIXTURES, expected, maxAbsDiff } from '../fixtures.ts';

const golden = expected('micro_p16_224');
const ckpt = () => loadCheckpoint(`${FIXTURES}micro_p16_224/hf`);

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
