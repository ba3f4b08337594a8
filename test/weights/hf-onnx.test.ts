// `vitkit convert --to hf --onnx` writes what transformers.js loads: its pipelines, offline, on the converted
// fixtures must rank the classes as vitkit does with the same probabilities, or give vitkit's embeddings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { env, pipeline } from '@huggingface/transformers';
import { preprocessFile } from '../../src/data/decode.ts';
import { Classifier, loadModel } from '../../src/inference/classifier.ts';
import { topK } from '../../src/inference/top-k.ts';
import { tempDir } from '../data/helpers.ts';
import { FIXTURES, expected } from '../fixtures.ts';
import { vitkit } from '../cli/run.ts';
import { checkConfig, defaultConfig } from '../../src/model/config.ts';
import { initParameters } from '../../src/model/init.ts';
import { saveCheckpoint } from '../../src/weights/checkpoint.ts';
import sharp from 'sharp';
import { FAMILIES, relErr, runModel } from '../model/family-fixtures.ts';

const MICRO = `${FIXTURES}micro_p16_224`;
const IMAGE = `${MICRO}/img_0.png`; // 224×224, the model's size: both resize nothing, so both see the same pixels

test('transformers.js runs the converted model offline and agrees with vitkit on the top 5', async () => {
  const models = tempDir('hf-onnx');
  const r = vitkit(['convert', `${MICRO}/hf`, join(models, 'micro'), '--to', 'hf', '--onnx']);
  assert.equal(r.status, 0, r.stderr);
  for (const f of ['config.json', 'model.safetensors', 'preprocessor_config.json', 'onnx/model.onnx', 'onnx/model_quantized.onnx']) {
    assert.ok(existsSync(join(models, 'micro', f)), f);
  }

  const model = loadModel(join(models, 'micro'));
  const classifier = await Classifier.create(model, { threads: 1 });
  const image = await preprocessFile(IMAGE, model.preprocess);
  const { logits } = await classifier.run({ ...image, shape: [1, ...image.shape] });
  await classifier.release();
  const ours = topK(logits!.data as Float32Array, 5, model.labels);

  env.allowRemoteModels = false;
  env.localModelPath = models;
  const classify = await pipeline('image-classification', 'micro', { dtype: 'fp32', device: 'cpu' });
  const theirs = (await classify(IMAGE, { top_k: 5 })) as { label: string; score: number }[];
  await classify.dispose();

  assert.deepEqual(theirs.map((p) => p.label), ours.map((p) => p.label));
  theirs.forEach((p, i) => assert.ok(Math.abs(p.score - ours[i]!.prob) < 1e-4, `${p.label}: ${p.score} vs ${ours[i]!.prob}`));

  // dtype 'q8' loads onnx/model_quantized.onnx: vitkit's int8 graph, which must give vitkit's own int8 answer
  const int8 = await Classifier.create(loadModel(join(models, 'micro'), { precision: 'int8' }), { threads: 1 });
  const { logits: logits8 } = await int8.run({ ...image, shape: [1, ...image.shape] });
  await int8.release();
  const ours8 = topK(logits8!.data as Float32Array, 5, model.labels);
  const q8 = await pipeline('image-classification', 'micro', { dtype: 'q8', device: 'cpu' });
  const theirs8 = (await q8(IMAGE, { top_k: 5 })) as { label: string; score: number }[];
  await q8.dispose();
  assert.deepEqual(theirs8.map((p) => p.label), ours8.map((p) => p.label));
  theirs8.forEach((p, i) => assert.ok(Math.abs(p.score - ours8[i]!.prob) < 1e-4, `q8 ${p.label}: ${p.score} vs ${ours8[i]!.prob}`));
});

test('id2label: ImageNet names for a 1000-class checkpoint without names, a trained one its classes; --onnx needs --to hf', () => {
  const dir = tempDir('hf-labels');
  const config = checkConfig({
    ...defaultConfig, imgSize: 8, patchSize: 4, inChans: 1, embedDim: 16, depth: 1, numHeads: 2, mlpDim: 32, numClasses: 1000,
  });
  saveCheckpoint(join(dir, 'in1k.safetensors'), { config, weights: initParameters(config) }, 'timm');
  const trained = { ...config, numClasses: 3 };
  saveCheckpoint(join(dir, 'trained.safetensors'), { config: trained, weights: initParameters(trained), labels: ['cat', 'dog', 'fox'] }, 'vitkit');
  const id2label = (name: string): Record<string, string> => {
    const r = vitkit(['convert', join(dir, `${name}.safetensors`), join(dir, name), '--to', 'hf', '--heads', '2']);
    assert.equal(r.status, 0, r.stderr);
    return (JSON.parse(readFileSync(join(dir, name, 'config.json'), 'utf8')) as { id2label: Record<string, string> }).id2label;
  };
  const imagenet = id2label('in1k');
  assert.deepEqual([imagenet['0'], imagenet['999'], Object.keys(imagenet).length], ['tench', 'toilet tissue', 1000]);
  assert.deepEqual(id2label('trained'), { 0: 'cat', 1: 'dog', 2: 'fox' });
  const pp = JSON.parse(readFileSync(join(dir, 'in1k', 'preprocessor_config.json'), 'utf8')) as {
    image_mean: number[];
    resample: number;
    size: object;
  };
  assert.deepEqual([pp.image_mean, pp.resample, pp.size], [[0.485, 0.456, 0.406], 2, { height: 8, width: 8 }]);
  const bad = vitkit(['convert', join(dir, 'in1k.safetensors'), join(dir, 'x.safetensors'), '--to', 'timm', '--onnx']);
  assert.match(bad.stderr, /--onnx adds onnx\/model\.onnx to a Hugging Face directory: use it with --to hf/);
});

test("a bare timm file converted with --mean/--std 0.5: transformers.js gives timm's top-1 in fp32 and q8", async () => {
  const models = tempDir('hf-onnx-05');
  const timm = `${MICRO}/timm.safetensors`; // says nothing about preprocessing; timm made it with mean = std = 0.5
  const half = vitkit([
    'convert', timm, join(models, 'half'), '--to', 'hf', '--onnx', '--heads', '2', '--mean', '0.5,0.5,0.5',
    '--std', '0.5,0.5,0.5',
  ]);
  assert.equal(half.status, 0, half.stderr);
  assert.equal(half.stderr, '', 'stated by the flags: no notice');
  const bare = vitkit(['convert', timm, join(models, 'imagenet'), '--to', 'hf', '--onnx', '--heads', '2']);
  assert.equal(bare.status, 0, bare.stderr);
  assert.match(
    bare.stderr,
    /^vitkit: note: .*timm\.safetensors does not say how its images were normalised: ImageNet's mean\/std are assumed; .*--mean\/--std/,
  );
  assert.equal(bare.stderr.trim().split('\n').length, 1, 'one notice');

  const reference = expected('micro_p16_224').get('logits')!; // timm's, on img_0 and img_1 normalised with 0.5
  const k = reference.shape[1]!;
  const softmax = (row: number): number[] => {
    const z = Array.from(reference.data.subarray(row * k, (row + 1) * k) as Float32Array);
    const e = z.map((v) => Math.exp(v - Math.max(...z)));
    return e.map((v) => v / e.reduce((a, b) => a + b, 0));
  };
  env.allowRemoteModels = false;
  env.localModelPath = models;
  const scores = async (name: string, dtype: 'fp32' | 'q8'): Promise<Map<string, number>[]> => {
    const classify = await pipeline('image-classification', name, { dtype, device: 'cpu' });
    const out: Map<string, number>[] = [];
    for (const i of [0, 1]) {
      const r = (await classify(`${MICRO}/img_${i}.png`, { top_k: k })) as { label: string; score: number }[];
      out.push(new Map(r.map((p) => [p.label, p.score])));
    }
    await classify.dispose();
    return out;
  };
  for (const dtype of ['fp32', 'q8'] as const) {
    const got = await scores('half', dtype);
    for (const i of [0, 1]) {
      const want = softmax(i);
      const top1 = String(want.indexOf(Math.max(...want)));
      assert.equal([...got[i]!.keys()][0], top1, `${dtype} img_${i}: timm's top-1`);
      // fp32 is timm's model to rounding; q8 is int8, so only near it
      const tol = dtype === 'fp32' ? 1e-4 : 0.05;
      want.forEach((p, c) =>
        assert.ok(Math.abs(got[i]!.get(String(c))! - p) < tol, `${dtype} img_${i} class ${c}: ${got[i]!.get(String(c))} vs timm's ${p}`),
      );
    }
  }
  // what the issue measured: ImageNet's normalisation (the old default) is a different model input
  const wrong = await scores('imagenet', 'fp32');
  const drift = Math.max(...[0, 1].flatMap((i) => softmax(i).map((p, c) => Math.abs(wrong[i]!.get(String(c))! - p))));
  assert.ok(drift > 1e-3, `ImageNet's mean/std should move the probabilities well past the fp32 tolerance, moved ${drift}`);
});

// The families (hf-families-write.ts): transformers.js 4.3 runs every one vitkit writes. Classifiers (DeiT distilled,
// BEiT, DINOv2's) through its image-classification pipeline; DINOv2 ± registers, SigLIP's and CLIP's towers through
// image-feature-extraction, which reads `pooler_output` with { pool: true } (model types it does not know, the
// towers', run as its generic encoder) and else CLIP's `image_embeds`. Each must give vitkit's output on one image.
test('transformers.js runs the families converted with --onnx: the classifiers\' probabilities, the towers\' embeddings', async () => {
  const models = tempDir('hf-onnx-families');
  const image = join(models, 'image.png'); // 28 px, the fixtures' size: neither side resizes
  const pixels = Buffer.from(Array.from({ length: 28 * 28 * 3 }, (_, i) => (i * 37 + (i % 28) * 11) % 256));
  await sharp(pixels, { raw: { width: 28, height: 28, channels: 3 } }).png().toFile(image);
  env.allowRemoteModels = false;
  env.localModelPath = models;
  const cases = [
    ['deit_distilled', 'image-classification'], ['beit', 'image-classification'], ['dinov2_cls', 'image-classification'],
    ['dinov2', 'pool'], ['dinov2_reg', 'pool'], ['siglip', 'pool'], ['clip', 'image_embeds'],
  ] as const;
  for (const [name, task] of cases) {
    const r = vitkit(['convert', `${FAMILIES}${name}/hf`, join(models, name), '--to', 'hf', '--onnx']);
    assert.equal(r.status, 0, r.stderr);
    for (const dtype of ['fp32', 'q8'] as const) {
      const model = loadModel(join(models, name), { precision: dtype === 'q8' ? 'int8' : 'fp32' });
      const x = await preprocessFile(image, model.preprocess);
      const ours = await runModel(model.config, model.weights, { ...x, shape: [1, ...x.shape] });
      if (task === 'image-classification') {
        const classify = await pipeline(task, name, { dtype, device: 'cpu' });
        const theirs = (await classify(image, { top_k: 5 })) as { label: string; score: number }[];
        await classify.dispose();
        const want = topK(ours.data as Float32Array, 5, model.labels);
        assert.deepEqual(theirs.map((p) => p.label), want.map((p) => p.label), `${name} ${dtype}`);
        theirs.forEach((p, i) => assert.ok(Math.abs(p.score - want[i]!.prob) < 1e-4, `${name} ${dtype} ${p.label}: ${p.score} vs ${want[i]!.prob}`));
      } else {
        const extract = await pipeline('image-feature-extraction', name, { dtype, device: 'cpu' });
        const theirs = await extract(image, { pool: task === 'pool' });
        await extract.dispose();
        assert.deepEqual(theirs.dims, ours.shape, `${name} ${dtype}`);
        const err = relErr({ dtype: 'float32', shape: ours.shape, data: theirs.data as Float32Array }, ours);
        assert.ok(err < 1e-4, `${name} ${dtype}: ${err}`); // the same graph on the same pixels
      }
    }
  }
});
