// The page's teach loop (here on onnxruntime-node) on the family's backbones: a DINOv2 with registers and layer
// scale, a SigLIP tower (MAP head; a new classifier head is added) and a BEiT (relative position bias) each learn a
// two-class toy set, whole-model, with LoRA or the last block, and the taught weights load back as a plain model.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { imageSet } from '../../src/data/image-set.ts';
import { Rng } from '../../src/rng.ts';
import { nodeEngine } from '../../src/runtime/node-engine.ts';
import { type TeachOptions, type TeachProgress, taughtWeights, teach, teachSession } from '../../src/train/teach.ts';
import { loadCheckpoint } from '../../src/weights/checkpoint.ts';
import { FAMILIES } from '../model/family-fixtures.ts';

const pre = { imgSize: 28, inChans: 3 as const, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], cropPct: 1 };

/** Class 0: dark noise, class 1: bright noise, `n` of each (28×28 RGB). */
function toySet(n: number, seed: number) {
  const rng = new Rng(seed);
  const px = 28 * 28 * 3;
  const images = new Uint8Array(2 * n * px);
  const labels = new Int32Array(2 * n);
  for (let i = 0; i < 2 * n; i++) {
    labels[i] = i % 2;
    for (let j = 0; j < px; j++) images[i * px + j] = (i % 2 ? 150 : 0) + rng.int(100);
  }
  return imageSet({ name: 'toy', classes: ['dark', 'bright'], images, labels, channels: 3, height: 28, width: 28 });
}

// (the toy set has no flip or crop: the last:1 runs train on the tokens entering the last block, computed once)
for (const [name, mode] of [
  ['dinov2_reg', 'full'],
  ['dinov2_reg', 'last:1'],
  ['siglip', 'lora:4'],
  ['siglip', 'last:1'],
  ['beit', 'full'],
] as const) {
  test(`teach (${mode}) on ${name}: the loss falls, and the taught model is a plain checkpoint`, async () => {
    const ckpt = loadCheckpoint(`${FAMILIES}${name}/hf`);
    const opts: TeachOptions = { mode, steps: 12, batch: 8, lr: mode === 'last:1' ? 2e-2 : 5e-3 }; // one block moves less per step
    const session = await teachSession(nodeEngine, { config: ckpt.config, weights: ckpt.weights, preprocess: pre }, 2, opts);
    const seen: TeachProgress[] = [];
    await teach(session, toySet(8, 1), pre, opts, (p) => void seen.push(p));
    assert.equal(seen.length, 12);
    assert.ok(seen.every((p) => Number.isFinite(p.loss)));
    const first = seen.slice(0, 3).reduce((s, p) => s + p.loss, 0);
    const last = seen.slice(-3).reduce((s, p) => s + p.loss, 0);
    assert.ok(last < 0.8 * first, `${name}: loss ${first / 3} → ${last / 3}`);
    const taught = await taughtWeights(session);
    assert.ok(![...taught.keys()].some((k) => k.includes('lora')), 'adapters merged');
    assert.deepEqual(taught.get('head.weight')!.shape, [2, ckpt.config.embedDim]);
    await session.release();
  });
}
