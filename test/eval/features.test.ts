import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { loadDataset } from '../../src/data/load-dataset.ts';
import { evalSource } from '../../src/eval/evaluate.ts';
import { checkFeaturePair, extractFeatures, featureCacheDir } from '../../src/eval/features.ts';
import { Classifier, loadModel } from '../../src/inference/classifier.ts';
import { saveCheckpoint } from '../../src/weights/checkpoint.ts';
import { FIXTURES } from '../fixtures.ts';

const CHECKPOINT = `${FIXTURES}micro_gray_p4_28/hf`; // 28 px, 1 channel, 10 classes: fast on mnist
const PER_CLASS = 3;
let dir: string;
let savedEnv: string | undefined;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'vitkit-features-'));
  savedEnv = process.env.VITKIT_CACHE_DIR;
  process.env.VITKIT_CACHE_DIR = join(dir, 'cache');
});

after(() => {
  if (savedEnv === undefined) delete process.env.VITKIT_CACHE_DIR;
  else process.env.VITKIT_CACHE_DIR = savedEnv;
  rmSync(dir, { recursive: true, force: true });
});

test('the cache lives under VITKIT_CACHE_DIR, else XDG_CACHE_HOME, else ~/.cache', () => {
  assert.equal(featureCacheDir({ VITKIT_CACHE_DIR: '/v', XDG_CACHE_HOME: '/x' }), '/v/features');
  assert.equal(featureCacheDir({ XDG_CACHE_HOME: '/x' }), '/x/vitkit/features');
  assert.match(featureCacheDir({}), /\.cache\/vitkit\/features$/);
});

test('features of mnist through the micro ViT: computed once, then read from the cache, equal to a direct run', async () => {
  const model = loadModel(CHECKPOINT);
  const progress: string[] = [];
  const onProgress = (s: string, done: number, total: number) => progress.push(`${s} ${done}/${total}`);
  const first = await extractFeatures(model, 'mnist', ['train', 'test'], { perClass: PER_CLASS, batch: 8, onProgress });
  assert.deepEqual(first.map((f) => [f.split, f.cached, f.n, f.dim]), [['train', false, 30, 32], ['test', false, 30, 32]]);
  assert.deepEqual(progress.slice(0, 4), ['train 8/30', 'train 16/30', 'train 24/30', 'train 30/30']);
  assert.equal(readdirSync(featureCacheDir()).length, 2);

  const second = await extractFeatures(loadModel(CHECKPOINT), 'mnist', ['test', 'train'], { perClass: PER_CLASS });
  assert.deepEqual(second.map((f) => [f.split, f.cached]), [['test', true], ['train', true]]);
  assert.deepEqual(second[0]!.features, first[1]!.features);
  assert.deepEqual(second[0]!.labels, first[1]!.labels);
  assert.deepEqual(second[0]!.classes, first[1]!.classes);
  checkFeaturePair(second[1]!, second[0]!);

  // reference: the first PER_CLASS test images of each class through evaluate.ts's source and the Classifier
  const labels = (await loadDataset('mnist')).test.labels;
  const seen = new Int32Array(10);
  const indices = [...labels.keys()].filter((i) => seen[labels[i]!]!++ < PER_CLASS);
  const source = await evalSource('mnist', model.preprocess);
  const classifier = await Classifier.create(model, { outputs: ['pooled'], threads: 1 });
  const pooled = (await classifier.run(await source.load(indices))).pooled!;
  await classifier.release();
  assert.deepEqual([...first[1]!.labels], indices.map((i) => source.labels[i]));
  const diff = Math.max(...[...first[1]!.features].map((v, i) => Math.abs(v - (pooled.data as Float32Array)[i]!)));
  assert.ok(diff < 1e-5, `max difference ${diff}`);

  // another per-class limit is another entry
  const fewer = await extractFeatures(model, 'mnist', ['test'], { perClass: 1 });
  assert.equal(fewer[0]!.cached, false);
  assert.deepEqual(fewer[0]!.features, first[1]!.features.filter((_, i) => [0, 3, 6, 9, 12, 15, 18, 21, 24, 27].includes(Math.floor(i / 32))));
});

test('a checkpoint without a head gives the same pooled features', async () => {
  const model = loadModel(CHECKPOINT);
  const path = join(dir, 'headless.safetensors');
  const weights = new Map([...model.weights].filter(([name]) => !name.startsWith('head.')));
  const { mean, std, resize } = model.preprocess;
  saveCheckpoint(path, { config: { ...model.config, numClasses: 0 }, weights, preprocess: { mean: mean!, std: std!, resize: resize! } }, 'vitkit');
  const headless = loadModel(path);
  assert.equal(headless.config.numClasses, 0);
  const [mine] = await extractFeatures(headless, 'mnist', ['test'], { perClass: PER_CLASS, cache: false });
  const [ref] = await extractFeatures(model, 'mnist', ['test'], { perClass: PER_CLASS });
  assert.equal(ref!.cached, true);
  assert.deepEqual(mine!.features, ref!.features);
});

test('a split ImageFolder: files read with the model transform; test labels follow the train classes by name', async () => {
  const root = join(dir, 'folder');
  const image = (seed: number) => Buffer.from(Array.from({ length: 32 * 32 }, (_, i) => (i * seed) % 256));
  const files: [string, number][] = [['train/a/1.png', 3], ['train/a/2.png', 5], ['train/b/1.png', 7], ['test/b/1.png', 7]];
  for (const [file, seed] of files) {
    mkdirSync(join(root, file, '..'), { recursive: true });
    await sharp(image(seed), { raw: { width: 32, height: 32, channels: 1 } }).png().toFile(join(root, file));
  }
  const [train, test] = await extractFeatures(loadModel(CHECKPOINT), root, ['train', 'test'], { cache: false });
  assert.deepEqual(train!.classes, ['a', 'b']);
  assert.deepEqual([...train!.labels], [0, 0, 1]);
  assert.deepEqual(test!.classes, ['a', 'b']);
  assert.deepEqual([...test!.labels], [1]); // test/ has only b: its own index 0 maps to train's 1
  assert.deepEqual(test!.features, train!.features.slice(2 * 32)); // the same image as train/b/1.png
});

test('bad extraction options are UserErrors', async () => {
  const model = loadModel(CHECKPOINT);
  await assert.rejects(extractFeatures(model, 'mnist', ['test'], { perClass: 0 }), /per-class limit 0 is invalid/);
  await assert.rejects(extractFeatures(model, 'no-such-dataset', ['test'], { cache: false }), /unknown dataset 'no-such-dataset'/);
});
