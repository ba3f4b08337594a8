// vitkit checkpoints as bytes (what the browser reads and downloads) are the files Node reads and writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolvePreprocessOptions } from '../../src/data/preprocess.ts';
import { loadModel } from '../../src/inference/classifier.ts';
import { checkConfig, defaultConfig } from '../../src/model/config.ts';
import { initParameters } from '../../src/model/init.ts';
import { saveCheckpoint } from '../../src/weights/checkpoint.ts';
import { encodeSafetensors } from '../../src/weights/safetensors-codec.ts';
import { decodeVitkit, encodeVitkit, savedPreprocess } from '../../src/weights/vitkit-format.ts';

const config = checkConfig({
  ...defaultConfig, imgSize: 8, patchSize: 4, inChans: 1, embedDim: 16, depth: 1, numHeads: 2, mlpDim: 32, numClasses: 2,
});
const weights = initParameters(config, { seed: 4 });
const content = { config, weights, labels: ['cat', 'dog'], preprocess: { mean: [0.5], std: [0.25], cropPct: 1, resize: 'shorter-crop' as const } };

test('encodeVitkit writes the bytes saveCheckpoint writes, and decodeVitkit reads them back', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'vitkit-format-')), 'm.safetensors');
  saveCheckpoint(path, content, 'vitkit');
  const bytes = Buffer.concat(encodeVitkit(content));
  assert.deepEqual(readFileSync(path), bytes);
  const back = decodeVitkit(bytes, 'm.safetensors');
  assert.deepEqual(back.config, config);
  assert.deepEqual(back.labels, content.labels);
  assert.deepEqual(back.preprocess, content.preprocess);
  for (const [n, t] of weights) assert.deepEqual(back.weights.get(n)!.data, t.data, n);
});

test('decodeVitkit refuses files that are not vitkit checkpoints, or miss a weight, naming the file', () => {
  assert.throws(() => decodeVitkit(Buffer.concat(encodeSafetensors(weights)), 'timm.safetensors'), /timm\.safetensors is not a vitkit checkpoint/);
  const missing = new Map(weights);
  missing.delete('head.bias');
  assert.throws(() => decodeVitkit(Buffer.concat(encodeVitkit({ ...content, weights: missing })), 'cut.safetensors'), /cut\.safetensors.*head\.bias/);
  assert.throws(() => decodeVitkit(new Uint8Array(4), 'tiny.safetensors'), /tiny\.safetensors is truncated/);
});

test('savedPreprocess records what loadModel turns back into the same preprocessing', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'vitkit-format-')), 'm.safetensors');
  const options = { imgSize: 8, inChans: 1 as const, mean: [0.4], std: [0.3], resize: 'squash' as const };
  saveCheckpoint(path, { ...content, preprocess: savedPreprocess(options) }, 'vitkit');
  assert.deepEqual(resolvePreprocessOptions(loadModel(path).preprocess), resolvePreprocessOptions(options));
});
