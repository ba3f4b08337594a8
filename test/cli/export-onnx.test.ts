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
  assert.deepEqual(bad.stderr.trim().split('\n'), [
    `vitkit: export-onnx: ${headless} has no classifier head, so no logits: export its features with --outputs pooled (or encoded)`,
  ]);
});

test('--triton REPO: config.pbtxt names the graph\'s input and outputs; version 1 is the plain export, 2 its int8 twin', async () => {
  const repo = join(tmp, 'triton');
  const ckpt = `${FIXTURES}micro_p16_224/hf`;
  const r = vitkit(['export-onnx', ckpt, '--triton', repo, '--model-name', 'micro', '--max-batch', '8', '--outputs', 'logits,pooled', '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), {
    input: ckpt,
    output: repo,
    model: 'micro',
    outputs: ['logits', 'pooled'],
    versions: [1, 2],
    max_batch: 8,
  });
  const config = readFileSync(join(repo, 'micro', 'config.pbtxt'), 'utf8');
  for (const line of ['name: "micro"', 'backend: "onnxruntime"', 'max_batch_size: 8', 'versions: [ 1, 2 ]', 'dynamic_batching {',
    'name: "images"\n    data_type: TYPE_FP32\n    dims: [ 3, 224, 224 ]', 'name: "logits"\n    data_type: TYPE_FP32\n    dims: [ 10 ]',
    'name: "pooled"\n    data_type: TYPE_FP32\n    dims: [ 64 ]']) assert.ok(config.includes(line), line);
  const plain = join(tmp, 'plain.onnx');
  assert.equal(vitkit(['export-onnx', ckpt, plain, '--outputs', 'logits,pooled']).status, 0);
  assert.deepEqual(readFileSync(join(repo, 'micro', '1', 'model.onnx')), readFileSync(plain));
  const images = new ort.Tensor('float32', Float32Array.from({ length: 2 * 3 * 224 * 224 }, (_, i) => Math.sin(i)), [2, 3, 224, 224]);
  const logitsOf = async (path: string) => {
    const s = await ort.InferenceSession.create(path);
    const { logits } = await s.run({ images });
    await s.release();
    return logits!.data as Float32Array;
  };
  const [f32, int8] = [await logitsOf(plain), await logitsOf(join(repo, 'micro', '2', 'model.onnx'))];
  const scale = Math.max(...f32.map(Math.abs));
  assert.ok(f32.every((v, i) => Math.abs(v - int8[i]!) < 0.05 * scale), 'int8 logits near the float ones');
  assert.ok(f32.some((v, i) => v !== int8[i]), 'and really int8');
  assert.match(vitkit(['export-onnx', ckpt, plain, '--triton', repo]).stderr, /--triton REPO instead of the path/);
});

test('--precision fp16 writes a float16 graph behind a float32 interface, half the size, with fp32\'s logits to 8·2⁻¹¹', async () => {
  const hf = `${FIXTURES}micro_p16_224/hf`;
  const [f32, f16] = [join(tmp, 'fp32.onnx'), join(tmp, 'fp16.onnx')];
  for (const [file, args] of [[f32, ['--device', 'webgpu']], [f16, ['--precision', 'fp16']]] as const) {
    const r = vitkit(['export-onnx', hf, file, '--json', ...args]);
    assert.equal(r.status, 0, r.stderr);
  }
  const [a, b] = [readFileSync(f32), readFileSync(f16)];
  assert.ok(b.length < 0.6 * a.length, `${b.length} vs ${a.length} bytes`);
  const images = new ort.Tensor('float32', new Float32Array(2 * 3 * 224 * 224).map((_, i) => Math.sin(i)), [2, 3, 224, 224]);
  const run = async (bytes: Buffer) => (await (await ort.InferenceSession.create(bytes)).run({ images })).logits!;
  const [x, y] = [await run(a), await run(b)];
  assert.equal(y.type, 'float32');
  const [want, got] = [x.data as Float32Array, y.data as Float32Array];
  const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const diff = want.reduce((m, v, i) => Math.max(m, Math.abs(v - got[i]!)), 0);
  assert.ok(diff < 8 * 2 ** -11 * scale && diff > 0, `${diff} of ${scale}`); // test/model/fp16.test.ts's bound
  const triton = vitkit(['export-onnx', hf, '--triton', join(tmp, 'repo'), '--precision', 'fp16']);
  assert.match(triton.stderr, /--triton writes a float32 and an int8 version; drop --precision fp16/);
});
