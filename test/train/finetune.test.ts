// Fine-tuning (src/train/finetune.ts): the adapted model (plain and hybrid) against timm at another resolution,
// head replacement, headless and pre-logits checkpoints, bad input, and a short fine-tuning run with a frozen backbone.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type ImageSet, imageSet } from '../../src/data/image-set.ts';
import { resizeImageSet } from '../../src/data/resize-set.ts';
import { UserError } from '../../src/errors.ts';
import { toOnnx } from '../../src/graph/onnx.ts';
import { checkConfig, defaultConfig } from '../../src/model/config.ts';
import { initParameters } from '../../src/model/init.ts';
import { inferenceGraph } from '../../src/model/inference-graph.ts';
import { Rng } from '../../src/rng.ts';
import { Session } from '../../src/runtime/session.ts';
import { loadTrainCheckpoint } from '../../src/train/checkpoints.ts';
import { defaultAccumulation, describeAdaptation, loadPretrained } from '../../src/train/finetune.ts';
import type { TrainRecipe } from '../../src/train/recipe.ts';
import { train } from '../../src/train/trainer.ts';
import { loadCheckpoint, saveCheckpoint } from '../../src/weights/checkpoint.ts';
import { readSafetensors } from '../../src/weights/safetensors.ts';
import { FIXTURES, expected, maxAbsDiff } from '../fixtures.ts';

const golden = expected('micro_p16_224');
const micro = `${FIXTURES}micro_p16_224`;
const tmp = () => mkdtempSync(join(tmpdir(), 'vitkit-finetune-'));

// The references are timm's: a Hugging Face folder resamples as transformers does unless its rule is overridden
// (transformers' own is checked in test/model/families.test.ts).
const asTimm = { posResample: 'timm' } as const;

test('at 288 px with its own head kept, the adapted model gives timm\'s logits, from every checkpoint format', async () => {
  for (const [path, overrides] of [[`${micro}/hf`, asTimm], [`${micro}/timm.safetensors`, { numHeads: 2 }], [`${micro}/google.npz`, {}]] as const) {
    const m = loadPretrained(path, { numClasses: 10, imgSize: 288, keepHead: true }, overrides);
    assert.equal(m.config.imgSize, 288);
    const session = await Session.create(toOnnx(inferenceGraph(m.config, m.weights)), { threads: 1 });
    const out = await session.run({ images: golden.get('input_288')! });
    assert.ok(maxAbsDiff(out.logits!, golden.get('logits_288')!) < 1e-4, path);
    await session.release();
  }
});

test('hybrids at another resolution: the position embeddings are resampled to the new token grid, as timm does', async () => {
  const ref = readSafetensors(new URL('../fixtures/model/hybrid_resampled.safetensors', import.meta.url).pathname).tensors;
  for (const [key, model, size, heads, grids] of [
    ['stem', 'hybrid_stem_p2_32', 48, 3, '4×4 to 6×6'],
    ['r26', 'hybrid_r26_32', 96, 2, '8×8 to 12×12'],
  ] as const) {
    const m = loadPretrained(`${FIXTURES}${model}/timm.safetensors`, { numClasses: 10, imgSize: size, keepHead: true }, { numHeads: heads });
    assert.ok(maxAbsDiff(m.weights.get('pos_embed')!, ref.get(`${key}.pos_embed`)!) < 1e-6, key);
    const session = await Session.create(toOnnx(inferenceGraph(m.config, m.weights)), { threads: 1 });
    const out = await session.run({ images: ref.get(`${key}.input`)! });
    assert.ok(maxAbsDiff(out.logits!, ref.get(`${key}.logits`)!) < 1e-4, key);
    await session.release();
    assert.match(describeAdaptation(m.adapted, m.config).join('; '), new RegExp(`from ${grids} tokens \\(\\d+ → ${size} px, backbone and`));
  }
});

test('the pre-training head is replaced by a zero head for the new classes; the rest is the checkpoint, resampled', async () => {
  const ckpt = loadCheckpoint(`${micro}/hf`);
  const m = loadPretrained(`${micro}/hf`, { numClasses: 4, imgSize: 288 }, asTimm);
  assert.equal(m.config.numClasses, 4);
  assert.deepEqual(m.weights.get('head.weight')!.shape, [4, 64]);
  assert.deepEqual(m.weights.get('head.bias')!.shape, [4]);
  assert.ok((m.weights.get('head.weight')!.data as Float32Array).every((v) => v === 0));
  assert.ok(maxAbsDiff(m.weights.get('pos_embed')!, golden.get('pos_embed_288')!) < 1e-6);
  assert.deepEqual(m.weights.get('blocks.1.mlp.fc2.weight'), ckpt.weights.get('blocks.1.mlp.fc2.weight'));
  assert.deepEqual(m.adapted, { headClasses: 10, droppedPreLogits: 0, imgSize: 224 });
  assert.deepEqual(m.mean, [0.5, 0.5, 0.5]); // the HF directory's preprocessor config
  const said = describeAdaptation(m.adapted, m.config).join('; ');
  assert.match(said, /replaced the 10-class head with a zero-initialised 4-class head/);
  assert.match(said, /resampled the position embeddings from 14×14 to 18×18 patches \(224 → 288 px, patch 16 kept\)/);
  const session = await Session.create(toOnnx(inferenceGraph(m.config, m.weights)), { threads: 1 });
  const { logits } = await session.run({ images: golden.get('input_288')! });
  assert.deepEqual(logits!.shape, [2, 4]);
  assert.ok((logits!.data as Float32Array).every((v) => v === 0), 'a zero head gives zero logits');
  await session.release();
});

test('a headless checkpoint gets a head; a pre-logits layer is dropped; bad resolutions are UserErrors', () => {
  const dir = tmp();
  const small = checkConfig({
    ...defaultConfig, imgSize: 8, patchSize: 4, inChans: 1, embedDim: 16, depth: 1, numHeads: 2, mlpDim: 32, numClasses: 0,
  });
  saveCheckpoint(join(dir, 'headless.safetensors'), { config: small, weights: initParameters(small) }, 'vitkit');
  const headless = loadPretrained(join(dir, 'headless.safetensors'), { numClasses: 3 });
  assert.equal(headless.adapted.headClasses, 0);
  assert.deepEqual(headless.weights.get('head.weight')!.shape, [3, 16]);
  assert.match(describeAdaptation(headless.adapted, headless.config)[0]!, /added a zero-initialised 3-class head \(the checkpoint had none\)/);
  assert.deepEqual(headless.mean, [0.5]);
  const withPre = checkConfig({ ...small, numClasses: 5, preLogitsDim: 8 });
  saveCheckpoint(join(dir, 'pre.safetensors'), { config: withPre, weights: initParameters(withPre) }, 'vitkit');
  const pre = loadPretrained(join(dir, 'pre.safetensors'), { numClasses: 3 });
  assert.equal(pre.config.preLogitsDim, 0);
  assert.ok(![...pre.weights.keys()].some((k) => k.startsWith('pre_logits.')));
  assert.deepEqual(pre.weights.get('head.weight')!.shape, [3, 16]);
  assert.equal(pre.adapted.droppedPreLogits, 8);
  assert.throws(
    () => loadPretrained(join(dir, 'pre.safetensors'), { numClasses: 3, imgSize: 10 }),
    (e: unknown) => e instanceof UserError && /4-pixel patches: fine-tune at an --img-size that is a multiple of 4 \(got 10\)/.test(e.message),
  );
  assert.deepEqual([512, 64, 24, 37].map(defaultAccumulation), [16, 2, 1, 37]);
});

/** Two classes of 8×8 gray images: horizontal vs vertical stripes, with noise. */
function stripes(n: number, seed: number, name: string): ImageSet {
  const rng = new Rng(seed);
  const images = new Uint8Array(n * 64);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < 64; p++) images[i * 64 + p] = ((i % 2 ? p % 8 : p >> 3) % 2 ? 200 : 40) + Math.floor(rng.uniform() * 40);
  }
  return imageSet({ name, classes: ['h', 'v'], images, labels: Int32Array.from({ length: n }, (_, i) => i % 2), channels: 1, height: 8, width: 8 });
}

test('fine-tuning a frozen backbone at 12 px trains only the new head, by steps, and records where it came from', async () => {
  const dir = tmp();
  const pretrained = checkConfig({
    ...defaultConfig, imgSize: 8, patchSize: 4, inChans: 1, embedDim: 16, depth: 1, numHeads: 2, mlpDim: 32, numClasses: 5,
  });
  saveCheckpoint(join(dir, 'pre.safetensors'), { config: pretrained, weights: initParameters(pretrained, { seed: 4 }) }, 'vitkit');
  const m = loadPretrained(join(dir, 'pre.safetensors'), { numClasses: 2, imgSize: 12 });
  const data = {
    train: resizeImageSet(stripes(48, 1, 'train'), 12),
    test: resizeImageSet(stripes(16, 2, 'test'), 12),
    skipped: { malformed: 0, duplicates: 0 },
  };
  const recipe: TrainRecipe = {
    config: m.config,
    data: 'stripes',
    init: { kind: 'pretrained', checkpoint: join(dir, 'pre.safetensors'), format: m.format, adapted: m.adapted },
    epochs: 1,
    steps: 5, // not a whole number of epochs (3 per epoch): the run ends, and evaluates, part-way through epoch 2
    batch: 16,
    gradAccum: 2,
    optimizer: { kind: 'sgd', momentum: 0.9, weightDecay: 0 },
    lr: 0.1,
    schedule: 'cosine',
    warmupSteps: 1,
    clipNorm: 1,
    labelSmoothing: 0,
    seed: 0,
    augment: {},
    freeze: 'backbone',
    mean: m.mean,
    std: m.std,
  };
  const out = join(dir, 'run');
  const r = await train({ recipe, data, outDir: out, init: m.weights, workers: 0 });
  assert.equal(r.status, 'done');
  assert.equal(r.step, 5);
  assert.ok(Number.isFinite(r.testAcc));
  const ckpt = loadTrainCheckpoint(out);
  assert.deepEqual(ckpt.recipe.init, recipe.init);
  for (const [n, t] of m.weights) {
    if (n.startsWith('head.')) assert.ok((ckpt.state.get(n)!.data as Float32Array).some((v) => v !== 0), `${n} trained`);
    else assert.deepEqual(ckpt.state.get(n)!.data, t.data, `${n} frozen`);
  }
  await assert.rejects(train({ recipe, data, outDir: join(dir, 'again') }), /needs its adapted weights as run.init/);
});
