// The teach loop the browser page runs, here on onnxruntime-node: it learns a two-class toy set, stops when asked,
// trains only the head in head mode, and classifies pixels exactly as preprocess() + the eval graph do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { imageSet } from '../../src/data/image-set.ts';
import { preprocess } from '../../src/data/preprocess.ts';
import { rawImage } from '../../src/data/raw-image.ts';
import { checkConfig, defaultConfig } from '../../src/model/config.ts';
import { initParameters } from '../../src/model/init.ts';
import { Rng } from '../../src/rng.ts';
import { nodeEngine } from '../../src/runtime/node-engine.ts';
import { parameterShapes } from '../../src/model/params.ts';
import {
  TEACH_LR, type TeachOptions, type TeachProgress, classifyPixels, taughtWeights, teach, teachLearningRate, teachSelection, teachSession,
} from '../../src/train/teach.ts';

const config = checkConfig({
  ...defaultConfig, imgSize: 8, patchSize: 4, inChans: 1, embedDim: 16, depth: 1, numHeads: 2, mlpDim: 32, numClasses: 5,
});
const pre = { imgSize: 8, inChans: 1 as const, mean: [0.5], std: [0.5], cropPct: 1 };
const base = { config, weights: initParameters(config, { seed: 1 }), preprocess: pre };

/** Class 0: dark noise, class 1: bright noise, `n` of each (8×8 gray). */
function toySet(n: number, seed: number) {
  const rng = new Rng(seed);
  const images = new Uint8Array(2 * n * 64);
  const labels = new Int32Array(2 * n);
  for (let i = 0; i < 2 * n; i++) {
    labels[i] = i % 2;
    for (let j = 0; j < 64; j++) images[i * 64 + j] = (i % 2 ? 150 : 0) + rng.int(100);
  }
  return imageSet({ name: 'toy', classes: ['dark', 'bright'], images, labels, channels: 1, height: 8, width: 8 });
}

test('a full teach run drives the loss down and classifies new images of both classes', async () => {
  const opts: TeachOptions = { mode: 'full', steps: 30, batch: 8, lr: 1e-2, flip: true, padCrop: 1 };
  const session = await teachSession(nodeEngine, base, 2, opts);
  assert.equal(session.config.numClasses, 2);
  const seen: TeachProgress[] = [];
  const last = await teach(session, toySet(10, 1), pre, opts, (p) => void seen.push(p));
  assert.equal(last?.step, 30);
  assert.deepEqual(seen.map((p) => p.step), Array.from({ length: 30 }, (_, i) => i + 1));
  assert.ok(seen.every((p) => p.imagesPerSec > 0 && p.lr > 0));
  assert.ok(seen[29]!.loss < 0.5 * seen[0]!.loss, `loss ${seen[0]!.loss} → ${seen[29]!.loss}`);
  const held = toySet(20, 2);
  const logits = await classifyPixels(session, held.images, pre);
  const right = [...held.labels].filter((l, i) => Number(logits[2 * i + 1]! > logits[2 * i]!) === l).length;
  assert.ok(right >= 38, `${right} of 40`);
  await session.release();
});

test('stopping ends the run between steps; head mode updates the head alone', async () => {
  const opts: TeachOptions = { mode: 'head', steps: 50, batch: 4 };
  const session = await teachSession(nodeEngine, base, 3, opts);
  let steps = 0;
  const last = await teach(session, toySet(4, 3), pre, opts, () => void steps++, () => steps >= 3);
  assert.equal(last?.step, 3);
  const after = session.parameters();
  for (const [name, t] of base.weights) {
    if (name.startsWith('head.')) continue;
    assert.deepEqual(after.get(name)!.data, t.data, `${name} is frozen in head mode`);
  }
  assert.ok((after.get('head.weight')!.data as Float32Array).some((v) => v !== 0), 'the zero head learnt');
  await session.release();
});

test('classifyPixels gives the eval graph\'s logits on preprocess()\'s input', async () => {
  const session = await teachSession(nodeEngine, base, 2, { mode: 'full', batch: 2 });
  const set = toySet(1, 4);
  const x = new Float32Array(2 * 64);
  for (let i = 0; i < 2; i++) {
    const img = rawImage(set.images.slice(i * 64, (i + 1) * 64), 8, 8, 1);
    x.set(preprocess(img, pre).data, i * 64);
  }
  const ref = await session.evaluate(x, new BigInt64Array(2));
  assert.deepEqual(await classifyPixels(session, set.images, pre), ref.logits.data);
  await assert.rejects(classifyPixels(session, new Uint8Array(65), pre), /not a whole number/);
  await session.release();
});

test('cheap teach modes: last:1 and lora:4 learn, leave the frozen weights alone, and save a plain merged model', async () => {
  for (const mode of ['last:1', 'lora:4'] as const) {
    const opts: TeachOptions = { mode, steps: 30, batch: 8, lr: 1e-2 }; // as the full run above: the toy base is untrained
    const session = await teachSession(nodeEngine, base, 2, opts);
    const seen: TeachProgress[] = [];
    await teach(session, toySet(10, 1), pre, opts, (p) => void seen.push(p));
    assert.ok(seen[29]!.loss < 0.5 * seen[0]!.loss, `${mode}: loss ${seen[0]!.loss} → ${seen[29]!.loss}`);
    const after = session.parameters();
    assert.deepEqual(after.get('patch_embed.proj.weight')!.data, base.weights.get('patch_embed.proj.weight')!.data, `${mode}: frozen`);
    const saved = await taughtWeights(session);
    assert.deepEqual([...saved.keys()], [...parameterShapes(session.config).keys()], `${mode}: a plain model`);
    if (mode === 'lora:4') {
      assert.deepEqual(after.get('blocks.0.attn.qkv.weight')!.data, base.weights.get('blocks.0.attn.qkv.weight')!.data);
      assert.notDeepEqual(saved.get('blocks.0.attn.qkv.weight')!.data, base.weights.get('blocks.0.attn.qkv.weight')!.data, 'adapters merged');
    }
    await session.release();
  }
  assert.equal(teachLearningRate('lora:8'), TEACH_LR.lora);
  assert.throws(() => teachSelection('lora:x' as never), /'lora:x' needs a positive integer/);
});

test('without flip and crop, head and last:1 teach on the frozen part computed once: the weights and logits of the uncached run', async () => {
  const deeper = checkConfig({ ...config, depth: 2, layerScale: true, regTokens: 1 }); // DINOv2's switches: folded, kept
  // layer scale at 0.5, not timm's 1e-5: the class token must see the image for a head to learn in 8 steps
  const weights = new Map(
    [...initParameters(deeper, { seed: 2 })].map(([n, t]) => [
      n,
      n.endsWith('.gamma') ? { ...t, data: new Float32Array(t.data.length).fill(0.5) } : t,
    ]),
  );
  const two = { config: deeper, weights, preprocess: pre };
  const set = toySet(6, 5);
  const held = toySet(3, 6);
  for (const [mode, input] of [['head', 'features'], ['last:1', 'tokens']] as const) {
    const opts: TeachOptions = { mode, steps: 8, batch: 4, lr: 1e-2 };
    const run = async (o: TeachOptions) => {
      const session = await teachSession(nodeEngine, two, 2, o);
      await teach(session, set, pre, o, () => {});
      const out = { input: session.input.name, weights: session.parameters(), logits: await classifyPixels(session, held.images, pre) };
      await session.release();
      return out;
    };
    const cached = await run(opts);
    const uncached = await run({ ...opts, cacheFeatures: false });
    assert.deepEqual([cached.input, uncached.input], [input, 'images'], mode);
    const flipped = await teachSession(nodeEngine, two, 2, { ...opts, flip: true });
    assert.equal(flipped.input.name, 'images', 'flip: nothing cached');
    await flipped.release();
    // the frozen part from the inference graph rounds differently (fused attention): float32 rounding, not a step
    for (const [name, t] of uncached.weights) {
      const a = cached.weights.get(name)!.data as Float32Array;
      const scale = Math.max(1e-3, ...Array.from(t.data as Float32Array, Math.abs));
      (t.data as Float32Array).forEach((v, i) => assert.ok(Math.abs(v - a[i]!) <= 1e-5 * scale, `${mode}: ${name}[${i}]`));
    }
    uncached.logits.forEach((v, i) => assert.ok(Math.abs(v - cached.logits[i]!) <= 1e-5 * Math.max(1, Math.abs(v)), `${mode}: logit ${i}`));
    assert.ok(Math.max(...Array.from(cached.weights.get('head.weight')!.data as Float32Array, Math.abs)) > 1e-3, `${mode}: the head learnt`);
  }
});
