// CLIP zero-shot end to end against transformers (test/fixtures/clip-zero-shot, make_fixtures.py): labels through
// the pipeline's template and the tokenizer (padded to the longest), both towers, logits_per_image and its softmax.
// Tolerance 1e-5 of scale: float32 on both sides, two micro blocks per tower (measured ≤ 1.1e-6); a wrong token, pad,
// pooling position or normalisation misses by far more.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Tensor } from '../../src/graph/tensor.ts';
import { DEFAULT_TEMPLATE, ZeroShotClassifier, fillTemplate, zeroShotLogits } from '../../src/inference/zero-shot.ts';
import { UserError } from '../../src/errors.ts';
import { readSafetensors, writeSafetensors } from '../../src/weights/safetensors.ts';
import { relErr } from '../model/family-fixtures.ts';
import { ZERO_SHOT, zeroShotExpected } from '../model/clip-fixtures.ts';
import { assertWebGpu, needsWebGpu } from '../webgpu.ts';

const expected = zeroShotExpected();
const manifest = JSON.parse(readFileSync(`${ZERO_SHOT}manifest.json`, 'utf8')) as { template: string; label_sets: string[][] };
const loaded: ZeroShotClassifier[] = [];
after(() => Promise.all(loaded.map((z) => z.release())));

const open = async (folder: string) => {
  const z = await ZeroShotClassifier.load(`${ZERO_SHOT}${folder}`);
  loaded.push(z);
  return z;
};

for (const folder of ['model', 'legacy']) {
  test(`${folder}/: every label set equals transformers' CLIPModel (ids, text_embeds, logits_per_image, softmax)`, async () => {
    assert.equal(manifest.template, DEFAULT_TEMPLATE);
    const z = await open(folder);
    const pixels = expected.get('pixel_values')! as Tensor<'float32'>;
    assert.ok(relErr(await z.embedImages(pixels), expected.get(`${folder}.image_embeds`)!) < 1e-5, 'image_embeds');
    for (const [s, labels] of manifest.label_sets.entries()) {
      const key = `${folder}.set${s}`;
      const texts = await z.embedLabels(labels);
      assert.deepEqual(texts.prompts, labels.map((l) => `This is a photo of ${l}.`));
      assert.deepEqual(z.tokenize(texts.prompts), expected.get(`${key}.input_ids`), `${key}: token ids, padded to the longest`);
      assert.ok(relErr(texts.embeds, expected.get(`${key}.text_embeds`)!) < 1e-5, `${key}: text_embeds`);
      const want = expected.get(`${key}.logits_per_image`)! as Tensor<'float32'>;
      const results = await z.classify(pixels, labels);
      const [n, l] = want.shape as [number, number];
      assert.equal(results.length, n);
      results.forEach((ranked, i) => {
        const row = want.data.subarray(i * l, (i + 1) * l);
        const max = Math.max(...row);
        const sum = row.reduce((a, v) => a + Math.exp(v - max), 0);
        assert.deepEqual(ranked.map((p) => p.label), [...ranked].sort((a, b) => b.prob - a.prob).map((p) => p.label));
        for (const p of ranked) {
          assert.equal(p.label, labels[p.index]);
          assert.ok(Math.abs(p.logit - row[p.index]!) < 1e-5 * Math.max(...row.map(Math.abs)), `${key}: logit ${p.logit} vs ${row[p.index]}`);
          assert.ok(Math.abs(p.prob - Math.exp(row[p.index]! - max) / sum) < 1e-5, `${key}: prob of ${p.label}`);
        }
      });
    }
  });
}

test('images as files: the PNGs through the folder\'s CLIP preprocessing give transformers\' image_embeds', async () => {
  const z = await open('model');
  const files = [0, 1].map((i) => `${ZERO_SHOT}img${i}.png`);
  assert.ok(relErr(await z.embedImages(files), expected.get('model.image_embeds')!) < 1e-5);
});

test('embedTexts takes texts as they are; embedLabels reused across classify calls gives the same ranking', async () => {
  const z = await open('model');
  const labels = manifest.label_sets[0]!;
  const prompts = labels.map((l) => fillTemplate(DEFAULT_TEMPLATE, l));
  assert.ok(relErr(await z.embedTexts(prompts), expected.get('model.set0.text_embeds')!) < 1e-5);
  const pixels = expected.get('pixel_values')! as Tensor<'float32'>;
  assert.deepEqual(await z.classify(pixels, await z.embedLabels(labels)), await z.classify(pixels, labels));
});

test('zeroShotLogits: cosine similarity times exp(logit scale)', () => {
  const img: Tensor<'float32'> = { dtype: 'float32', shape: [1, 2], data: Float32Array.of(3, 4) };
  const txt: Tensor<'float32'> = { dtype: 'float32', shape: [2, 2], data: Float32Array.of(1, 0, -4, 3) };
  const out = zeroShotLogits(img, txt, Math.log(10));
  assert.ok(Math.abs(out.data[0]! - 6) < 1e-5 && Math.abs(out.data[1]! - 0) < 1e-5, `${out.data}`);
});

test('bad input is a one-line UserError: a template without one {}, no labels, towers of different widths', async () => {
  assert.throws(() => fillTemplate('a photo', 'cat'), (e: Error) => e instanceof UserError && /exactly once/.test(e.message));
  assert.throws(() => fillTemplate('{} and {}', 'cat'), UserError);
  assert.equal(fillTemplate('a {} here', 'cat'), 'a cat here');
  const z = await open('model');
  await assert.rejects(z.embedTexts([]), (e: Error) => e instanceof UserError && /no labels/.test(e.message));
  // a text projection of another width than the image tower's: refused at load, not a shape error at run time
  const dir = mkdtempSync(join(tmpdir(), 'vitkit-zero-shot-'));
  for (const f of readdirSync(`${ZERO_SHOT}model`)) copyFileSync(`${ZERO_SHOT}model/${f}`, join(dir, f));
  const tensors = readSafetensors(join(dir, 'model.safetensors')).tensors;
  tensors.set('text_projection.weight', { dtype: 'float32', shape: [8, 32], data: new Float32Array(256) });
  writeSafetensors(join(dir, 'model.safetensors'), tensors, {}, { force: true });
  await assert.rejects(
    ZeroShotClassifier.load(dir),
    (e: Error) => e instanceof UserError && /embedding \(16 wide\) and the text tower's \(8\) differ/.test(e.message),
  );
});

// On WebGPU (SwiftShader in CI, test/webgpu.ts) both towers run on the device, the text tower's end-token search
// (ArgMax, Equal on int64 ids) wherever onnxruntime places it: logits_per_image within 1e-4 of scale, the bound of
// test/inference/webgpu.test.ts (float32 on both devices, reduced in different orders).
test('--device webgpu: both towers on the GPU give transformers\' logits_per_image', needsWebGpu, async () => {
  assertWebGpu();
  const z = await ZeroShotClassifier.load(`${ZERO_SHOT}model`, { device: 'webgpu' });
  loaded.push(z);
  assert.equal(z.device, 'webgpu');
  const labels = manifest.label_sets[1]!;
  const results = await z.classify(expected.get('pixel_values')! as Tensor<'float32'>, labels);
  const logits: Tensor<'float32'> = {
    dtype: 'float32', shape: [results.length, labels.length],
    data: Float32Array.from(results.flatMap((r) => [...r].sort((a, b) => a.index - b.index).map((p) => p.logit))),
  };
  const err = relErr(logits, expected.get('model.set1.logits_per_image')!);
  assert.ok(err < 1e-4, `${err}`);
});
