// vitkit export-onnx: the model's preprocessing and class names in the ONNX metadata, --json, and a checkpoint
// without a head exporting its features (logits asked of it: one line).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { checkConfig, defaultConfig } from '../../src/model/config.ts';
import { initParameters } from '../../src/model/init.ts';
import { saveCheckpoint } from '../../src/weights/checkpoint.ts';
import { tempDir } from '../data/helpers.ts';
import { FIXTURES } from '../fixtures.ts';
import { onnxMetadata } from '../graph/proto-fields.ts';
import { vitkit } from './run.ts';

const tmp = tempDir('export-onnx');

test('metadata_props: the checkpoint preprocessing, overridden by flags, and its class names; --json', () => {
  const out = join(tmp, 'micro.onnx');
  const r = vitkit(['export-onnx', `${FIXTURES}micro_p16_224/hf`, out, '--crop-pct', '0.9', '--interpolation', 'bicubic', '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '', 'the folder states its normalisation: no notice');
  const json = JSON.parse(r.stdout);
  const bytes = readFileSync(out);
  assert.deepEqual(json, { input: `${FIXTURES}micro_p16_224/hf`, output: out, outputs: ['logits'], precision: 'fp32', bytes: bytes.length });
  const meta = onnxMetadata(bytes);
  assert.deepEqual(JSON.parse(meta.preprocess!), {
    image_size: 224, resize: 'shorter-crop', crop_pct: 0.9, interpolation: 'bicubic', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5],
  });
  assert.deepEqual(JSON.parse(meta.labels!), Array.from({ length: 10 }, (_, i) => `class_${i}`));

  const labels = join(tmp, 'labels.txt');
  writeFileSync(labels, Array.from({ length: 10 }, (_, i) => `n${i}`).join('\n'));
  const bare = vitkit(['export-onnx', `${FIXTURES}micro_p16_224/timm.safetensors`, join(tmp, 'bare.onnx'), '--heads', '2', '--labels', labels]);
  assert.equal(bare.status, 0, bare.stderr);
  assert.match(bare.stderr, /^vitkit: note: .*timm\.safetensors does not say how its images were normalised/);
  assert.equal(bare.stderr.trim().split('\n').length, 1);
  const m = onnxMetadata(readFileSync(join(tmp, 'bare.onnx')));
  assert.deepEqual([JSON.parse(m.preprocess!).mean, JSON.parse(m.labels!)[9]], [[0.485, 0.456, 0.406], 'n9']);
});

test('a checkpoint without a head exports its pooled features; logits are a one-line error', async () => {
  const cfg = checkConfig({ ...defaultConfig, imgSize: 16, patchSize: 8, embedDim: 16, depth: 1, numHeads: 2, mlpDim: 32, numClasses: 0 });
  const headless = join(tmp, 'headless.safetensors');
  saveCheckpoint(headless, { config: cfg, weights: initParameters(cfg), preprocess: { mean: [0.5], std: [0.5], resize: 'shorter-crop' } }, 'vitkit');
  const out = join(tmp, 'features.onnx');
  const r = vitkit(['export-onnx', headless, out]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /outputs: pooled/);
  const session = await ort.InferenceSession.create(out);
  const { pooled } = await session.run({ images: new ort.Tensor('float32', new Float32Array(2 * 3 * 16 * 16).fill(0.1), [2, 3, 16, 16]) });
  assert.deepEqual(pooled!.dims, [2, 16]);
  await session.release();
  assert.equal(onnxMetadata(readFileSync(out)).labels, undefined, 'no classes, no labels');

  const bad = vitkit(['export-onnx', headless, join(tmp, 'logits.onnx'), '--outputs', 'pooled,logits']);
  assert.equal(bad.status, 1);
  assert.deepEqual(bad.stderr.trim().split('\n'), [`vitkit: export-onnx: ${headless} has no classifier head, so no logits: export its features with --outputs pooled (or encoded)`]);
});
